#include "images/reference.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hanok::images {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Case {
  std::string input;
  std::string domain;
  std::string path;
  std::string tag;
  std::string digest;
  std::string str;
};

class ReferenceNormalise : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceNormalise, Parses) {
  const Case& c = GetParam();
  Reference r = parse_reference(c.input);
  EXPECT_EQ(r.domain, c.domain);
  EXPECT_EQ(r.path, c.path);
  EXPECT_EQ(r.tag, c.tag);
  EXPECT_EQ(r.digest, c.digest);
  EXPECT_EQ(r.str(), c.str);
  EXPECT_EQ(r.name(), c.domain + "/" + c.path);
  // Normalising twice is a fixed point.
  EXPECT_EQ(parse_reference(r.str()).str(), r.str());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReferenceNormalise,
    ::testing::Values(
        Case{"busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Case{"busybox:1.36", "docker.io", "library/busybox", "1.36", "",
             "docker.io/library/busybox:1.36"},
        Case{"library/busybox:1.36", "docker.io", "library/busybox", "1.36", "",
             "docker.io/library/busybox:1.36"},
        Case{"docker.io/library/busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Case{"docker.io/busybox", "docker.io", "library/busybox", "latest", "",
             "docker.io/library/busybox:latest"},
        Case{"index.docker.io/busybox:1", "docker.io", "library/busybox", "1", "",
             "docker.io/library/busybox:1"},
        Case{"index.docker.io/user/app", "docker.io", "user/app", "latest", "",
             "docker.io/user/app:latest"},
        Case{"user/app:v1", "docker.io", "user/app", "v1", "", "docker.io/user/app:v1"},
        Case{"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"},
        Case{"localhost:5000/a/b:c", "localhost:5000", "a/b", "c", "", "localhost:5000/a/b:c"},
        Case{"127.0.0.1:5000/x@sha256:" + kHex, "127.0.0.1:5000", "x", "", "sha256:" + kHex,
             "127.0.0.1:5000/x@sha256:" + kHex},
        Case{"127.0.0.1:5000/x:1.0@sha256:" + kHex, "127.0.0.1:5000", "x", "1.0", "sha256:" + kHex,
             "127.0.0.1:5000/x@sha256:" + kHex},
        Case{"busybox@sha256:" + kHex, "docker.io", "library/busybox", "", "sha256:" + kHex,
             "docker.io/library/busybox@sha256:" + kHex},
        Case{"registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", "",
             "registry.k8s.io/pause:3.9"},
        Case{"registry.k8s.io/e2e-test-images/busybox:1.29-2", "registry.k8s.io",
             "e2e-test-images/busybox", "1.29-2", "",
             "registry.k8s.io/e2e-test-images/busybox:1.29-2"},
        Case{"quay.io/a_b/c__d/e.f/g-h---i:Tag_1.x-y", "quay.io", "a_b/c__d/e.f/g-h---i",
             "Tag_1.x-y", "", "quay.io/a_b/c__d/e.f/g-h---i:Tag_1.x-y"},
        Case{"my-registry.example.com:443/team/app:_x", "my-registry.example.com:443", "team/app",
             "_x", "", "my-registry.example.com:443/team/app:_x"},
        Case{"Registry.Example.COM/app", "Registry.Example.COM", "app", "latest", "",
             "Registry.Example.COM/app:latest"},
        Case{"[::1]:5000/app:1", "[::1]:5000", "app", "1", "", "[::1]:5000/app:1"}));

TEST(ReferenceTest, TaggedAccessor) {
  EXPECT_EQ(parse_reference("busybox").tagged(), "docker.io/library/busybox:latest");
  EXPECT_EQ(parse_reference("busybox@sha256:" + kHex).tagged(), "");
  EXPECT_EQ(parse_reference("busybox:1@sha256:" + kHex).tagged(), "docker.io/library/busybox:1");
}

TEST(ReferenceTest, TagMaxLength) {
  std::string tag(128, 'a');
  EXPECT_EQ(parse_reference("busybox:" + tag).tag, tag);
  EXPECT_THROW(parse_reference("busybox:" + tag + "a"), ReferenceError);
}

std::string error_of(const std::string& text) {
  try {
    parse_reference(text);
  } catch (const ReferenceError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ReferenceTest, UppercaseRejectedWithReason) {
  EXPECT_EQ(error_of("Foo"), "invalid image reference \"Foo\": repository name must be lowercase");
  EXPECT_NE(error_of("docker.io/library/BusyBox").find("must be lowercase"), std::string::npos);
  EXPECT_NE(error_of("localhost:5000/App").find("must be lowercase"), std::string::npos);
}

TEST(ReferenceTest, InvalidReferencesRejected) {
  for (const std::string& bad : {std::string(""),
                                 std::string("a:b:c"),
                                 std::string(":tag"),
                                 std::string("busybox:"),
                                 std::string("busybox:-tag"),
                                 std::string("busybox:ta/g"),
                                 std::string("busybox@"),
                                 std::string("busybox@sha256:abc"),
                                 std::string("busybox@md5:" + kHex),
                                 std::string("busybox@sha256:" + std::string(64, 'A')),
                                 std::string("/busybox"),
                                 std::string("busybox/"),
                                 std::string("a//b"),
                                 std::string("-a/b"),
                                 std::string("a-/b"),
                                 std::string("a/b_"),
                                 std::string("a/b..c"),
                                 std::string("a/b___c"),
                                 std::string("localhost:port/a"),
                                 std::string("local_host.com/a"),
                                 std::string("-bad.com/a"),
                                 std::string("example.com:/a"),
                                 std::string("example.com/"),
                                 std::string("busy box"),
                                 kHex,
                                 std::string(300, 'a')}) {
    EXPECT_THROW(parse_reference(bad), ReferenceError) << "accepted: " << bad;
    EXPECT_EQ(error_of(bad).rfind("invalid image reference \"" + bad + "\": ", 0), 0u)
        << error_of(bad);
  }
}

TEST(ReferenceTest, ErrorsNameTheReason) {
  EXPECT_NE(error_of("a:b:c").find("invalid repository path component \"a:b\""), std::string::npos)
      << error_of("a:b:c");
  EXPECT_NE(error_of("busybox:-x").find("invalid tag"), std::string::npos);
  EXPECT_NE(error_of("busybox@sha256:abc").find("64 hex digits"), std::string::npos);
  EXPECT_NE(error_of("busybox@md5:" + kHex).find("unsupported digest algorithm"),
            std::string::npos);
  EXPECT_NE(error_of(kHex).find("64-byte hexadecimal"), std::string::npos);
}

}  // namespace
}  // namespace hanok::images
