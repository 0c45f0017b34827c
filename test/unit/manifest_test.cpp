#include "images/manifest.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace hanok::images {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');
const std::string kD = "sha256:" + std::string(64, 'd');

std::string oci_manifest(bool with_media_type = true) {
  return std::string("{\"schemaVersion\":2,") +
         (with_media_type ? "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," : "") +
         "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
         kA + "\",\"size\":1234}," +
         "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
         "\"digest\":\"" +
         kB +
         "\",\"size\":100},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
         "\"digest\":\"" +
         kC + "\",\"size\":5000000000}]}";
}

const char* kDockerManifestDoc = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
             "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
  "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9,
              "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]
})";

std::string index_doc(const std::string& media_type, const std::string& entries) {
  return "{\"schemaVersion\":2,\"mediaType\":\"" + media_type + "\",\"manifests\":[" + entries +
         "]}";
}

std::string entry(const std::string& digest, const std::string& platform_json) {
  std::string s = "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" +
                  digest + "\",\"size\":500";
  if (!platform_json.empty()) s += ",\"platform\":" + platform_json;
  return s + "}";
}

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ManifestTest, ParsesOciManifest) {
  Manifest m = parse_manifest(oci_manifest(), kOciManifest);
  EXPECT_EQ(m.media_type, kOciManifest);
  EXPECT_EQ(m.config.media_type, "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m.config.digest.str(), kA);
  EXPECT_EQ(m.config.size, 1234u);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest.str(), kB);
  EXPECT_EQ(m.layers[0].size, 100u);
  EXPECT_EQ(m.layers[1].size, 5000000000u);
  EXPECT_FALSE(m.layers[0].platform.has_value());
}

TEST(ManifestTest, MediaTypeFromDocumentWhenNotGiven) {
  EXPECT_EQ(parse_manifest(oci_manifest(), "").media_type, kOciManifest);
  EXPECT_EQ(parse_manifest(kDockerManifestDoc, "").media_type, kDockerManifest);
  EXPECT_EQ(parse_manifest(kDockerManifestDoc, "application/json").media_type, kDockerManifest);
  // OCI allows the field to be absent.
  EXPECT_EQ(parse_manifest(oci_manifest(false), "").media_type, kOciManifest);
  EXPECT_EQ(parse_manifest(oci_manifest(false), kOciManifest).media_type, kOciManifest);
  // Content-Type parameters are ignored.
  EXPECT_EQ(
      parse_manifest(oci_manifest(), std::string(kOciManifest) + "; charset=utf-8").media_type,
      kOciManifest);
}

TEST(ManifestTest, ParsesDockerSchema2) {
  Manifest m = parse_manifest(kDockerManifestDoc, kDockerManifest);
  EXPECT_EQ(m.media_type, kDockerManifest);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(layer_compression(m.layers[0].media_type), Compression::Gzip);
}

TEST(ManifestTest, RejectsSchema1) {
  std::string schema1 = R"({"schemaVersion":1,"name":"library/busybox","tag":"latest",
    "fsLayers":[],"history":[]})";
  EXPECT_NE(error_of([&] {
              parse_manifest(schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws");
            }).find("schema1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_manifest(schema1, "application/vnd.docker.distribution.manifest.v1+json");
            }).find("schema1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_manifest(schema1, ""); }).find("schemaVersion"),
            std::string::npos);
}

TEST(ManifestTest, Errors) {
  EXPECT_NE(error_of([] { parse_manifest("{not json", kOciManifest); }).find("invalid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_manifest("[]", kOciManifest); }).find("not a JSON object"),
            std::string::npos);
  // An index given to parse_manifest.
  EXPECT_NE(error_of([] { parse_manifest(index_doc(kOciIndex, ""), ""); }).find("is an index"),
            std::string::npos);
  // Served type disagrees with the document.
  EXPECT_NE(error_of([] { parse_manifest(oci_manifest(), kDockerManifest); }).find("mediaType"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_manifest(oci_manifest(), "application/x-foo");
            }).find("application/x-foo"),
            std::string::npos);

  std::string bad_digest = oci_manifest();
  bad_digest.replace(bad_digest.find(kC), kC.size(), "sha256:zzz");
  EXPECT_NE(error_of([&] {
              parse_manifest(bad_digest, kOciManifest);
            }).find("manifest: layers[1].digest: "),
            std::string::npos)
      << error_of([&] { parse_manifest(bad_digest, kOciManifest); });

  std::string negative = oci_manifest();
  negative.replace(negative.find("\"size\":100"), 10, "\"size\":-1");
  EXPECT_NE(
      error_of([&] { parse_manifest(negative, kOciManifest); }).find("manifest: layers[0].size: "),
      std::string::npos);

  std::string no_config =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})";
  EXPECT_NE(error_of([&] { parse_manifest(no_config, ""); }).find("manifest: config: missing"),
            std::string::npos);

  std::string layers_not_array = oci_manifest();
  layers_not_array.replace(layers_not_array.find("\"layers\":["), 10, "\"layers\":{\"x\":[");
  layers_not_array += "}";
  EXPECT_THROW(parse_manifest(layers_not_array, ""), std::runtime_error);

  std::string no_media_type = oci_manifest();
  no_media_type.replace(no_media_type.find("\"mediaType\":\"application/vnd.oci.image.layer"), 11,
                        "\"mediaTypeX\"");
  EXPECT_NE(error_of([&] {
              parse_manifest(no_media_type, "");
            }).find("manifest: layers[0].mediaType: missing"),
            std::string::npos)
      << error_of([&] { parse_manifest(no_media_type, ""); });
}

TEST(ManifestIndexTest, ParsesOciIndexAndSelects) {
  std::string doc = index_doc(
      kOciIndex, entry(kA, R"({"os":"linux","architecture":"amd64"})") + "," +
                     entry(kB, R"({"os":"linux","architecture":"arm64","variant":"v8"})") + "," +
                     entry(kC, R"({"os":"windows","architecture":"amd64"})"));
  Index idx = parse_index(doc, "");
  EXPECT_EQ(idx.media_type, kOciIndex);
  ASSERT_EQ(idx.manifests.size(), 3u);
  ASSERT_TRUE(idx.manifests[1].platform.has_value());
  EXPECT_EQ(idx.manifests[1].platform->variant, "v8");

  EXPECT_EQ(select_platform(idx).digest.str(), kA);
  EXPECT_EQ(select_platform(idx, Platform{"linux", "arm64", ""}).digest.str(), kB);
  EXPECT_EQ(select_platform(idx, Platform{"linux", "arm64", "v8"}).digest.str(), kB);
  EXPECT_EQ(select_platform(idx, Platform{"windows", "amd64", ""}).digest.str(), kC);
  std::string err = error_of([&] { select_platform(idx, Platform{"linux", "arm64", "v7"}); });
  EXPECT_EQ(err,
            "no manifest for linux/arm64/v7 in the index (have: linux/amd64, linux/arm64/v8, "
            "windows/amd64)");
  EXPECT_NE(error_of([&] {
              select_platform(idx, Platform{"linux", "s390x", ""});
            }).find("no manifest for linux/s390x"),
            std::string::npos);
}

TEST(ManifestIndexTest, VariantPreference) {
  std::string doc = index_doc(
      kOciIndex, entry(kA, R"({"os":"linux","architecture":"arm","variant":"v6"})") + "," +
                     entry(kB, R"({"os":"linux","architecture":"arm","variant":"v7"})"));
  Index idx = parse_index(doc, kOciIndex);
  EXPECT_EQ(select_platform(idx, Platform{"linux", "arm", ""}).digest.str(), kA);
  EXPECT_EQ(select_platform(idx, Platform{"linux", "arm", "v7"}).digest.str(), kB);
}

TEST(ManifestIndexTest, EntriesWithoutPlatformAreSkipped) {
  std::string doc = index_doc(
      kOciIndex, entry(kD, "") + "," + entry(kA, R"({"os":"linux","architecture":"amd64"})"));
  Index idx = parse_index(doc, kOciIndex);
  EXPECT_EQ(select_platform(idx).digest.str(), kA);

  Index only_unknown = parse_index(index_doc(kOciIndex, entry(kD, "")), kOciIndex);
  EXPECT_EQ(error_of([&] { select_platform(only_unknown); }),
            "no manifest for linux/amd64 in the index (have: (no platform))");
  Index empty = parse_index(index_doc(kOciIndex, ""), kOciIndex);
  EXPECT_EQ(error_of([&] { select_platform(empty); }),
            "no manifest for linux/amd64 in the index (have: none)");
}

TEST(ManifestIndexTest, DockerManifestList) {
  std::string doc =
      index_doc(kDockerManifestList,
                R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                R"("digest":")" +
                    kB + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}})");
  Index idx = parse_index(doc, kDockerManifestList);
  EXPECT_EQ(idx.media_type, kDockerManifestList);
  EXPECT_EQ(select_platform(idx).media_type, kDockerManifest);
}

TEST(ManifestIndexTest, Errors) {
  EXPECT_NE(error_of([] { parse_index(oci_manifest(), ""); }).find("not an index"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_index(
                  R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})",
                  "");
            }).find("index: manifests: missing"),
            std::string::npos);
  std::string bad_platform = index_doc(kOciIndex, entry(kA, R"({"os":"linux"})"));
  EXPECT_NE(error_of([&] {
              parse_index(bad_platform, "");
            }).find("index: manifests[0].platform.architecture: missing"),
            std::string::npos)
      << error_of([&] { parse_index(bad_platform, ""); });
  std::string v3 = R"({"schemaVersion":3,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                   R"("manifests":[]})";
  EXPECT_NE(error_of([&] { parse_index(v3, ""); }).find("schemaVersion"), std::string::npos);
}

TEST(ManifestTest, IsIndexMediaType) {
  EXPECT_TRUE(is_index_media_type(kOciIndex));
  EXPECT_TRUE(is_index_media_type(kDockerManifestList));
  EXPECT_FALSE(is_index_media_type(kOciManifest));
  EXPECT_FALSE(is_index_media_type(kDockerManifest));
  EXPECT_FALSE(is_index_media_type(""));
}

TEST(ManifestTest, LayerCompression) {
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar"), Compression::None);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar+gzip"), Compression::Gzip);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.v1.tar+zstd"), Compression::Zstd);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar"),
            Compression::None);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Compression::Gzip);
  EXPECT_EQ(layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
            Compression::Zstd);
  EXPECT_EQ(layer_compression("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Compression::Gzip);
  EXPECT_EQ(layer_compression("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
            Compression::Gzip);
  EXPECT_EQ(error_of([] { layer_compression("application/vnd.example.layer+lz4"); }),
            "unsupported layer media type \"application/vnd.example.layer+lz4\"");
}

}  // namespace
}  // namespace hanok::images
