// RegistryClient against real docker-registry instances on 127.0.0.1 (spawned here, killed in
// teardown). Skips when /usr/bin/docker-registry (or skopeo/openssl/htpasswd) is missing.
#include "images/registry_client.hpp"
#include "../common/require.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "images/content_store.hpp"
#include "images/digest.hpp"
#include "images/manifest.hpp"
#include "images/reference.hpp"

extern char** environ;

namespace hanok::images {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* kRegistryBin = "/usr/bin/docker-registry";

bool have_tools() {
  for (const char* p : {kRegistryBin, "/usr/bin/skopeo", "/usr/bin/openssl", "/usr/bin/htpasswd"}) {
    if (access(p, X_OK) != 0) return false;
  }
  return true;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hanok-regtest-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run(const std::string& cmd) {
  int rc = std::system(("timeout 120 " + cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// One docker-registry process; killed (its pid only) on destruction.
class RegistryProcess {
 public:
  struct Options {
    std::string htpasswd;  // file
    std::string cert, key;
  };
  RegistryProcess(const fs::path& storage, const Options& opt = {}) : port_(free_port()) {
    std::ostringstream c;
    c << "version: 0.1\nlog:\n  level: info\n"
      << "storage:\n  filesystem:\n    rootdirectory: " << storage.string() << "\n"
      << "http:\n  addr: 127.0.0.1:" << port_ << "\n  secret: hanok-test\n";
    if (!opt.cert.empty()) {
      c << "  tls:\n    certificate: " << opt.cert << "\n    key: " << opt.key << "\n";
    }
    if (!opt.htpasswd.empty()) {
      c << "auth:\n  htpasswd:\n    realm: hanok\n    path: " << opt.htpasswd << "\n";
    }
    write_file(dir_.path / "config.yml", c.str());
    log_ = (dir_.path / "registry.log").string();
    std::string config = (dir_.path / "config.yml").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<std::string> args = {kRegistryBin, "serve", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, kRegistryBin, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn docker-registry failed");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!port_open(port_)) {
      if (std::chrono::steady_clock::now() > deadline || waitpid(pid_, nullptr, WNOHANG) != 0) {
        stop();
        throw std::runtime_error("docker-registry did not start: " + read_file(log_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~RegistryProcess() { stop(); }
  int port() const { return port_; }
  std::string hostport() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(log_); }

 private:
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  TempDir dir_;
  int port_;
  std::string log_;
  pid_t pid_ = -1;
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// An OCI layout with "single" (one linux/amd64 image, two layers) and "multi" (an index of
// linux/amd64 and linux/arm64).
void make_layout(const fs::path& dir) {
  auto blob = [&](const std::string& data) {
    Digest d = sha256_of(data);
    write_file(dir / "blobs" / "sha256" / std::string(d.hex()), data);
    return json{{"digest", d.str()}, {"size", data.size()}};
  };
  auto image = [&](const std::string& arch, std::vector<std::string> layers) {
    json diff_ids = json::array(), layer_descs = json::array();
    for (const auto& l : layers) {
      json d = blob(l);
      diff_ids.push_back(d["digest"]);
      d["mediaType"] = "application/vnd.oci.image.layer.v1.tar";
      layer_descs.push_back(d);
    }
    json config = {{"architecture", arch},
                   {"os", "linux"},
                   {"config", json::object()},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    json cd = blob(config.dump());
    cd["mediaType"] = "application/vnd.oci.image.config.v1+json";
    json m = {
        {"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", cd}, {"layers", layer_descs}};
    json md = blob(m.dump());
    md["mediaType"] = kOciManifest;
    md["platform"] = {{"os", "linux"}, {"architecture", arch}};
    return md;
  };
  json single = image("amd64", {random_bytes(3 << 20, 1), "hello layer\n"});
  single.erase("platform");
  single["annotations"] = {{"org.opencontainers.image.ref.name", "single"}};
  json index = {
      {"schemaVersion", 2},
      {"mediaType", kOciIndex},
      {"manifests", {image("amd64", {"amd64 layer\n"}), image("arm64", {"arm64 layer\n"})}}};
  json id = blob(index.dump());
  id["mediaType"] = kOciIndex;
  id["annotations"] = {{"org.opencontainers.image.ref.name", "multi"}};
  write_file(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_file(dir / "index.json", json{{"schemaVersion", 2}, {"manifests", {single, id}}}.dump());
}

class RegistryClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_tools()) return;
    shared_ = new Shared();
    make_layout(shared_->tmp.path / "layout");
    shared_->storage = shared_->tmp.path / "storage";
    fs::create_directories(shared_->storage);
    shared_->plain = std::make_unique<RegistryProcess>(shared_->storage);
    std::string layout = (shared_->tmp.path / "layout").string();
    std::string dest = "docker://" + shared_->plain->hostport() + "/hanok/";
    run("skopeo copy --dest-tls-verify=false oci:" + layout + ":single " + dest + "single:latest");
    run("skopeo copy --all --dest-tls-verify=false oci:" + layout + ":multi " + dest +
        "multi:latest");
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  void SetUp() override {
    HANOK_REQUIRE(shared_ != nullptr, "docker-registry, skopeo, openssl or htpasswd missing");
  }

  static Reference ref(const std::string& hostport, const std::string& rest) {
    return parse_reference(hostport + "/" + rest);
  }
  static std::string plain() { return shared_->plain->hostport(); }

  struct Shared {
    TempDir tmp;
    fs::path storage;
    std::unique_ptr<RegistryProcess> plain;
  };
  static Shared* shared_;
  TempDir tmp_;
};
RegistryClientTest::Shared* RegistryClientTest::shared_ = nullptr;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RegistryAuthParse, BearerAndBasic) {
  auto c = detail::parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params["service"], "registry.docker.io");
  EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull");
  c = detail::parse_www_authenticate(R"(Basic realm="hanok", Bearer realm=x, error="a\"b")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "hanok");
  EXPECT_EQ(c[1].params["realm"], "x");
  EXPECT_EQ(c[1].params["error"], "a\"b");
}

TEST_F(RegistryClientTest, ManifestByTagAndDigestWithLocalhostHttpFallback) {
  RegistryClient client({}, {});
  auto r = client.fetch_manifest(ref(plain(), "hanok/single:latest"), std::nullopt);
  EXPECT_EQ(r.media_type, kOciManifest);
  EXPECT_EQ(r.endpoint, "http://" + plain());  // https tried first, then plain http
  EXPECT_EQ(r.digest, sha256_of(r.body));
  Manifest m = parse_manifest(r.body, r.media_type);
  EXPECT_EQ(m.layers.size(), 2u);

  auto by_digest =
      client.fetch_manifest(ref(plain(), "hanok/single@" + r.digest.str()), std::nullopt);
  EXPECT_EQ(by_digest.body, r.body);
  EXPECT_EQ(by_digest.digest, r.digest);

  // "localhost" is treated like 127.0.0.1.
  auto local =
      client.fetch_manifest(parse_reference("localhost:" + std::to_string(shared_->plain->port()) +
                                            "/hanok/single:latest"),
                            std::nullopt);
  EXPECT_EQ(local.digest, r.digest);

  std::string err =
      error_of([&] { client.fetch_manifest(ref(plain(), "hanok/nope:latest"), std::nullopt); });
  EXPECT_NE(err.find("pull " + plain() + "/hanok/nope:latest: not found"), std::string::npos)
      << err;
}

TEST_F(RegistryClientTest, IndexPlatformSelection) {
  RegistryClient client({}, {});
  auto reference = ref(plain(), "hanok/multi:latest");
  auto r = client.fetch_manifest(reference, std::nullopt);
  ASSERT_TRUE(is_index_media_type(r.media_type)) << r.media_type;
  Index index = parse_index(r.body, r.media_type);
  ASSERT_EQ(index.manifests.size(), 2u);
  const Descriptor& arm = select_platform(index, Platform{"linux", "arm64", ""});
  auto m = client.fetch_manifest_by_digest(reference, arm.digest, std::nullopt);
  EXPECT_EQ(m.digest, arm.digest);
  Manifest manifest = parse_manifest(m.body, m.media_type);
  ContentStore store((tmp_.path / "store").string());
  client.fetch_blob(reference, manifest.config, store, std::nullopt);
  EXPECT_NE(store.read(manifest.config.digest).find("arm64"), std::string::npos);
}

TEST_F(RegistryClientTest, BlobFetchIntoStore) {
  RegistryClient client({}, {});
  auto reference = ref(plain(), "hanok/single:latest");
  auto r = client.fetch_manifest(reference, std::nullopt);
  Manifest m = parse_manifest(r.body, r.media_type);
  ContentStore store((tmp_.path / "store").string());
  client.fetch_blob(reference, m.config, store, std::nullopt);
  for (const auto& l : m.layers) client.fetch_blob(reference, l, store, std::nullopt);
  EXPECT_TRUE(store.has(m.config.digest));
  for (const auto& l : m.layers) {
    ASSERT_TRUE(store.has(l.digest));
    EXPECT_EQ(store.size(l.digest), l.size);
  }
  uint64_t before = client.blob_downloads();
  client.fetch_blob(reference, m.layers[0], store, std::nullopt);  // present: no request
  EXPECT_EQ(client.blob_downloads(), before);
}

TEST_F(RegistryClientTest, CorruptedBlobIsRejected) {
  fs::path storage = tmp_.path / "storage";
  fs::copy(shared_->storage, storage, fs::copy_options::recursive);
  RegistryProcess reg(storage);
  RegistryClient client({}, {});
  auto reference = ref(reg.hostport(), "hanok/single:latest");
  auto r = client.fetch_manifest(reference, std::nullopt);
  Manifest m = parse_manifest(r.body, r.media_type);
  const Descriptor& layer = m.layers[1];
  std::string hex(layer.digest.hex());
  fs::path data = storage / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
  ASSERT_TRUE(fs::exists(data));
  write_file(data, std::string(layer.size, 'X'));  // same size, other bytes
  ContentStore store((tmp_.path / "store").string());
  std::string err = error_of([&] { client.fetch_blob(reference, layer, store, std::nullopt); });
  EXPECT_NE(err.find("digest mismatch"), std::string::npos) << err;
  EXPECT_NE(err.find(layer.digest.str()), std::string::npos) << err;
  EXPECT_FALSE(store.has(layer.digest));
}

TEST_F(RegistryClientTest, BasicAuth) {
  std::string htpasswd = (tmp_.path / "htpasswd").string();
  run("htpasswd -Bbc " + htpasswd + " hanok hanok-pass");
  RegistryProcess reg(shared_->storage, {htpasswd, "", ""});
  auto reference = ref(reg.hostport(), "hanok/single:latest");
  {
    RegistryClient client({}, {});
    Credentials good;
    good.username = "hanok";
    good.password = "hanok-pass";
    auto r = client.fetch_manifest(reference, good);
    Manifest m = parse_manifest(r.body, r.media_type);
    ContentStore store((tmp_.path / "store").string());
    client.fetch_blob(reference, m.config, store, good);
    EXPECT_TRUE(store.has(m.config.digest));
  }
  {
    // base64 "auth" from the default credentials lookup.
    std::string asked;
    RegistryClient client({}, [&](const std::string& registry) {
      asked = registry;
      Credentials c;
      c.auth = "aGFub2s6aGFub2stcGFzcw==";  // hanok:hanok-pass
      return std::optional<Credentials>(c);
    });
    EXPECT_NO_THROW(client.fetch_manifest(reference, std::nullopt));
    EXPECT_EQ(asked, reg.hostport());
  }
  {
    RegistryClient client({}, {});
    Credentials bad;
    bad.username = "hanok";
    bad.password = "wrong";
    Credentials good;
    good.username = "hanok";
    good.password = "hanok-pass";
    EXPECT_NO_THROW(client.fetch_manifest(reference, good));
    // What good credentials got is not reused for other credentials (nor anonymous ones).
    std::string err = error_of([&] { client.fetch_manifest(reference, bad); });
    EXPECT_EQ(err, "pull " + reg.hostport() +
                       "/hanok/single:latest: unauthorized: wrong username or "
                       "password");
    err = error_of([&] { client.fetch_manifest(reference, std::nullopt); });
    EXPECT_NE(err.find("unauthorized: authentication required"), std::string::npos) << err;
  }
}

TEST_F(RegistryClientTest, HttpsWithCaFile) {
  fs::path d = tmp_.path;
  std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  run("openssl req -x509 " + ec + " -keyout " + (d / "ca.key").string() + " -out " +
      (d / "ca.pem").string() + " -days 2 -subj /CN=hanok-test-ca");
  run("openssl req " + ec + " -keyout " + (d / "server.key").string() + " -out " +
      (d / "server.csr").string() + " -subj /CN=127.0.0.1");
  write_file(d / "ext.cnf", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  run("openssl x509 -req -in " + (d / "server.csr").string() + " -CA " + (d / "ca.pem").string() +
      " -CAkey " + (d / "ca.key").string() + " -CAcreateserial -out " +
      (d / "server.pem").string() + " -days 2 -extfile " + (d / "ext.cnf").string());
  RegistryProcess reg(shared_->storage,
                      {"", (d / "server.pem").string(), (d / "server.key").string()});
  auto reference = ref(reg.hostport(), "hanok/single:latest");

  RegistryClient client({RegistryHost{reg.hostport(), {}, false, (d / "ca.pem").string()}}, {});
  auto r = client.fetch_manifest(reference, std::nullopt);
  EXPECT_EQ(r.endpoint, "https://" + reg.hostport());
  Manifest m = parse_manifest(r.body, r.media_type);
  ContentStore store((tmp_.path / "store").string());
  client.fetch_blob(reference, m.layers[1], store, std::nullopt);
  EXPECT_TRUE(store.has(m.layers[1].digest));

  // Configured, secure, without the CA: the certificate is rejected (no http fallback).
  RegistryClient strict({RegistryHost{reg.hostport(), {}, false, ""}}, {});
  std::string err = error_of([&] { strict.fetch_manifest(reference, std::nullopt); });
  EXPECT_NE(err.find("https://" + reg.hostport()), std::string::npos) << err;
}

TEST_F(RegistryClientTest, MirrorsInOrder) {
  int dead1 = free_port(), dead2 = free_port();
  std::string domain = "127.0.0.1:" + std::to_string(dead1);
  RegistryHost host{
      domain, {"http://127.0.0.1:" + std::to_string(dead2), "http://" + plain() + "/"}, false, ""};
  RegistryClient client({host}, {});
  auto reference = ref(domain, "hanok/single:latest");
  auto r = client.fetch_manifest(reference, std::nullopt);
  EXPECT_EQ(r.endpoint, "http://" + plain());
  Manifest m = parse_manifest(r.body, r.media_type);
  ContentStore store((tmp_.path / "store").string());
  client.fetch_blob(reference, m.config, store, std::nullopt);
  EXPECT_TRUE(store.has(m.config.digest));

  // Longest prefix wins: a more specific entry with no mirrors hides them.
  RegistryClient specific({host, RegistryHost{domain + "/hanok", {}, false, ""}}, {});
  std::string err = error_of([&] { specific.fetch_manifest(reference, std::nullopt); });
  EXPECT_NE(err.find("https://" + domain), std::string::npos) << err;
}

TEST_F(RegistryClientTest, ConcurrentFetchDownloadsOnce) {
  RegistryClient client({}, {});
  auto reference = ref(plain(), "hanok/single:latest");
  auto r = client.fetch_manifest(reference, std::nullopt);
  Manifest m = parse_manifest(r.body, r.media_type);
  const Descriptor& big = m.layers[0];
  ContentStore store((tmp_.path / "store").string());
  std::string e1, e2;
  std::thread t1([&] { e1 = error_of([&] { client.fetch_blob(reference, big, store, {}); }); });
  std::thread t2([&] { e2 = error_of([&] { client.fetch_blob(reference, big, store, {}); }); });
  t1.join();
  t2.join();
  EXPECT_EQ(e1, "(no error)");
  EXPECT_EQ(e2, "(no error)");
  EXPECT_TRUE(store.has(big.digest));
  EXPECT_EQ(client.blob_downloads(), 1u);
}

}  // namespace
}  // namespace hanok::images

namespace hanok::images {
namespace {

// Against rootfs-fixtures/registry.sh + push-images.sh, when HANOK_TEST_REGISTRY_STATE names
// their STATE_DIR (ports from HANOK_REGISTRY_{HTTP,HTTPS,AUTH}_PORT as the scripts use them).

}  // namespace
}  // namespace hanok::images

namespace hanok::images {
namespace {

// A fake registry + token server (python3) for the bearer flow: 401 with a Bearer challenge,
// GET /token with basic auth or POST /token with a refresh token, then the manifest.
const char* kFakeBearerRegistry = R"PY(
import base64, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
port = int(sys.argv[1])
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
             "digest": "sha256:" + "a" * 64, "size": 2}, "layers": []}).encode()
stats = {"token": 0}
lock = threading.Lock()
good = "Basic " + base64.b64encode(b"hanok:hanok-pass").decode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body=b"", ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def token(self, ok, key):
        with lock: stats["token"] += 1
        if ok: self.reply(200, json.dumps({key: "tok-123"}).encode())
        else: self.reply(401, b'{"details":"bad credentials"}')
    def do_GET(self):
        u = urlparse(self.path); q = parse_qs(u.query)
        if u.path == "/stats": return self.reply(200, json.dumps(stats).encode())
        if u.path == "/token":
            ok = (self.headers.get("Authorization") == good and q.get("service") == ["svc"]
                  and q.get("scope") == ["repository:hanok/b:pull"])
            return self.token(ok, "token")
        if self.headers.get("Authorization") == "Bearer tok-123":
            return self.reply(200, manifest, "application/vnd.oci.image.manifest.v1+json")
        self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   extra=[("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",service="svc",scope="repository:hanok/b:pull"' % port)])
    def do_POST(self):
        body = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
        ok = body.get("grant_type") == ["refresh_token"] and body.get("refresh_token") == ["refresh-xyz"]
        self.token(ok, "access_token")
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
)PY";

class FakeBearerRegistry {
 public:
  FakeBearerRegistry() : port_(free_port()) {
    write_file(dir_.path / "fake.py", kFakeBearerRegistry);
    std::string script = (dir_.path / "fake.py").string(), port = std::to_string(port_);
    std::vector<char*> argv = {const_cast<char*>("python3"), script.data(), port.data(), nullptr};
    if (posix_spawn(&pid_, "/usr/bin/python3", nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("posix_spawn python3 failed");
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!port_open(port_)) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("fake registry");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~FakeBearerRegistry() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string hostport() const { return "127.0.0.1:" + std::to_string(port_); }
  int token_requests() const {
    std::string out = (dir_.path / "stats.json").string();
    run("curl -sf -o " + out + " http://" + hostport() + "/stats");
    return json::parse(read_file(out))["token"].get<int>();
  }

 private:
  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

TEST(RegistryClientBearer, TokenFlow) {
  HANOK_REQUIRE(access("/usr/bin/python3", X_OK) == 0 && access("/usr/bin/curl", X_OK) == 0,
                "python3 or curl missing");
  FakeBearerRegistry fake;
  Reference ref = parse_reference(fake.hostport() + "/hanok/b:latest");
  RegistryClient client({}, {});
  Credentials good;
  good.username = "hanok";
  good.password = "hanok-pass";
  auto r = client.fetch_manifest(ref, good);
  EXPECT_EQ(r.media_type, kOciManifest);
  client.fetch_manifest(ref, good);  // the token is cached
  EXPECT_EQ(fake.token_requests(), 1);

  Credentials refresh;
  refresh.identity_token = "refresh-xyz";
  EXPECT_NO_THROW(client.fetch_manifest(ref, refresh));
  Credentials token;
  token.registry_token = "tok-123";
  EXPECT_NO_THROW(client.fetch_manifest(ref, token));
  EXPECT_EQ(fake.token_requests(), 2);

  Credentials bad = good;
  bad.password = "nope";
  EXPECT_EQ(
      error_of([&] { client.fetch_manifest(ref, bad); }),
      "pull " + fake.hostport() + "/hanok/b:latest: unauthorized: wrong username or password");
}

}  // namespace
}  // namespace hanok::images
