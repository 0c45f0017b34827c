// The fixture of the hanokd CRI tests: one fake registry serving the busybox fixture image for
// a whole suite, a private hanokd per test (its own socket, root and state), the CRI client
// library, and the helpers the tests share to look at what a user sees.
#pragma once

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../common/require.hpp"
#include "cri_client.hpp"
#include "harness.hpp"
#include "isolate/files.hpp"
#include "isolate/spawn.hpp"
#include "isolate/unique_fd.hpp"
#include "registry_tools.hpp"

namespace hanok::test {

namespace v1 = runtime::v1;
using cri::client::CriClient;
using cri::client::CriError;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t kMiB = 1 << 20;
// A well-formed id that no pod or container has.
inline const std::string kUnknownId =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Small helpers.

// The code and message of a client call: OK when it did not throw.
struct CallOutcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
};

template <typename Call>
inline CallOutcome outcome_of(Call&& call) {
  try {
    call();
    return {};
  } catch (const CriError& e) {
    return {e.code(), e.what()};
  }
}

inline std::string code_name(grpc::StatusCode code) {
  static const std::map<grpc::StatusCode, std::string> names = {
      {grpc::StatusCode::OK, "OK"},
      {grpc::StatusCode::CANCELLED, "CANCELLED"},
      {grpc::StatusCode::UNKNOWN, "UNKNOWN"},
      {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
      {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"},
      {grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
      {grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS"},
      {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"},
      {grpc::StatusCode::INTERNAL, "INTERNAL"},
      {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE"}};
  auto it = names.find(code);
  return it != names.end() ? it->second : "code " + std::to_string(static_cast<int>(code));
}

// gtest output of an outcome: "NOT_FOUND: ContainerStatus: container ... not found".
inline std::ostream& operator<<(std::ostream& out, const CallOutcome& outcome) {
  return out << code_name(outcome.code) << ": " << outcome.message;
}

#define EXPECT_CODE(expected, call)                                                          \
  do {                                                                                       \
    CallOutcome outcome_ = outcome_of([&] { call; });                                        \
    EXPECT_EQ(code_name(outcome_.code), code_name(expected)) << #call << " -> " << outcome_; \
  } while (0)

// Polls `condition` every 20 ms until it holds (true) or `timeout` passed (false).
inline bool poll_until(const std::function<bool()>& condition, Clock::duration timeout) {
  auto until = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

inline std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string joined(const std::vector<std::string>& items,
                          const std::string& separator = " ") {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

// The mount points of /proc/self/mountinfo at or below `dir`.
inline std::vector<std::string> mounts_below(const std::string& dir) {
  std::vector<std::string> found;
  std::istringstream lines(isolate::read_file_if_exists("/proc/self/mountinfo").value_or(""));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    // Octal escapes (\040 for a space) are left as they are: test dirs have none.
    if (mount_point == dir || mount_point.rfind(dir + "/", 0) == 0) found.push_back(mount_point);
  }
  return found;
}

// Unmounts what a failed test may have left below `dir`, deepest first (before removing it).
inline void unmount_below(const std::string& dir) {
  auto mounts = mounts_below(dir);
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& mount_point : mounts) ::umount2(mount_point.c_str(), MNT_DETACH);
}

inline off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

inline bool cgroup_v2_host() {
  return isolate::path_exists("/sys/fs/cgroup/cgroup.controllers");
}

// Where a pod's own cgroup (hanokd's default parent "/hanok/<pod id>") is, in every hierarchy.
inline std::vector<std::string> pod_cgroup_dirs(const std::string& pod_id) {
  if (cgroup_v2_host()) return {"/sys/fs/cgroup/hanok/" + pod_id};
  std::vector<std::string> dirs;
  for (const auto& hierarchy : entries_of("/sys/fs/cgroup")) {
    std::string root = "/sys/fs/cgroup/" + hierarchy;
    if (std::filesystem::is_directory(root) && !std::filesystem::is_symlink(root)) {
      dirs.push_back(root + "/hanok/" + pod_id);
    }
  }
  return dirs;
}

// The pod cgroup in the hierarchy that holds memory: the unified root or the v1 memory one.
inline std::string pod_memory_cgroup(const std::string& pod_id) {
  return cgroup_v2_host() ? "/sys/fs/cgroup/hanok/" + pod_id
                          : "/sys/fs/cgroup/memory/hanok/" + pod_id;
}

inline std::vector<cri::client::LogLine> read_log(const std::string& path) {
  return cri::client::parse_cri_log(isolate::read_file_if_exists(path).value_or(""));
}

inline std::vector<std::string> log_messages(const std::string& path,
                                             const std::string& stream = "") {
  return cri::client::log_messages(read_log(path), stream);
}

inline bool log_has(const std::string& path, const std::string& message) {
  auto messages = log_messages(path);
  return std::find(messages.begin(), messages.end(), message) != messages.end();
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::vector<std::string> ids_of(const std::vector<v1::Container>& containers) {
  std::vector<std::string> ids;
  for (const auto& container : containers) ids.push_back(container.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

inline std::vector<std::string> ids_of(const std::vector<v1::PodSandbox>& pods) {
  std::vector<std::string> ids;
  for (const auto& pod : pods) ids.push_back(pod.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

inline std::vector<std::string> sorted(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  return items;
}

// The host's /etc/shadow as a user would compare it: its bytes and its modification time.
struct FileSnapshot {
  std::string content;
  timespec mtime{};
  bool operator==(const FileSnapshot& other) const {
    return content == other.content && mtime.tv_sec == other.mtime.tv_sec &&
           mtime.tv_nsec == other.mtime.tv_nsec;
  }
};

inline FileSnapshot snapshot_of(const std::string& path) {
  FileSnapshot snapshot;
  snapshot.content = isolate::read_file_if_exists(path).value_or("");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) snapshot.mtime = st.st_mtim;
  return snapshot;
}

// Reads a GetContainerEvents stream on a thread of its own until destroyed.
class EventCollector {
 public:
  explicit EventCollector(v1::RuntimeService::Stub& stub) {
    context_.set_deadline(std::chrono::system_clock::now() + 120s);
    reader_thread_ = std::thread([this, &stub] {
      v1::GetEventsRequest request;
      auto reader = stub.GetContainerEvents(&context_, request);
      v1::ContainerEventResponse event;
      while (reader->Read(&event)) {
        std::lock_guard lock(mutex_);
        events_.push_back(event);
        changed_.notify_all();
      }
      reader->Finish();
    });
  }
  ~EventCollector() {
    context_.TryCancel();
    reader_thread_.join();
  }
  EventCollector(const EventCollector&) = delete;
  EventCollector& operator=(const EventCollector&) = delete;

  // The event types received for one container, oldest first.
  std::vector<v1::ContainerEventType> types_for(const std::string& id) {
    std::lock_guard lock(mutex_);
    std::vector<v1::ContainerEventType> types;
    for (const auto& event : events_) {
      if (event.container_id() == id) types.push_back(event.container_event_type());
    }
    return types;
  }
  // Every event so far, oldest first.
  std::vector<v1::ContainerEventResponse> all() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Waits until `count` events of the container arrived.
  bool wait_for(const std::string& id, size_t count, Clock::duration timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return static_cast<size_t>(std::count_if(events_.begin(), events_.end(), [&](const auto& e) {
               return e.container_id() == id;
             })) >= count;
    });
  }

 private:
  grpc::ClientContext context_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::ContainerEventResponse> events_;
  std::thread reader_thread_;
};

inline std::string event_names(const std::vector<v1::ContainerEventType>& types) {
  std::vector<std::string> names;
  for (auto type : types) names.push_back(v1::ContainerEventType_Name(type));
  return joined(names);
}

// Sends `request` to 127.0.0.1:`port` and returns all it answers until it closes the connection
// (or 5 s pass without a byte); "" when nothing listens there.
inline std::string loopback_exchange(int port, const std::string& request) {
  isolate::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "";
  (void)::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd.get(), buffer, sizeof buffer, 0)) > 0) answer.append(buffer, n);
  return answer;
}

// Where a test's daemon keeps its root: /var/tmp, unless that is an overlayfs (as in the test
// VM), where the image store's overlay mounts could not stack: then /run.
inline std::string scratch_base() {
  struct statfs fs {};
  constexpr long kOverlayfsMagic = 0x794c7630;
  if (::statfs("/var/tmp", &fs) == 0 && static_cast<long>(fs.f_type) == kOverlayfsMagic) {
    return "/run";
  }
  return "/var/tmp";
}

// ---------------------------------------------------------------------------------------------
// The fixture: one fake registry serving the busybox fixture for the whole suite; a hanokd per
// test (state under /run, root, socket and logs under the test's dir).

struct Pod {
  std::string id;
  v1::PodSandboxConfig config;
};

class CriFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    char dir_template[] = "/var/tmp/hanok-cri-runtime-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) return;
    suite_dir_ = dir_template;
    make_layout(suite_dir_ + "/busybox", {"--from", fixture_rootfs()});
    registry_ = std::make_unique<FakeRegistry>(
        std::vector<std::string>{"hanok/busybox=" + suite_dir_ + "/busybox"},
        suite_dir_ + "/registry.jsonl");
  }
  static void TearDownTestSuite() {
    registry_.reset();
    if (!suite_dir_.empty()) isolate::remove_tree(suite_dir_);
    suite_dir_.clear();
  }

  void SetUp() override {
    HANOK_REQUIRE(::geteuid() == 0, "needs root");
    ASSERT_TRUE(registry_ != nullptr) << "the suite's fake registry did not start";
    std::string dir_template = scratch_base() + "/hanok-cri-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    current_dir_ = dir_;
    isolate::make_dirs(cni_dir(), 0755);
    // A pod needs a network config (RunPodSandbox fails without one, as containerd's): the
    // loopback plugin alone, which gives no address; a test of networks writes its own first
    // (an earlier name), or removes this one.
    isolate::write_file_atomic(loopback_network(),
                               R"({"cniVersion": "0.4.0", "name": "loopback-only",
                                   "plugins": [{"type": "loopback"}]})",
                               0644);
    char state_template[] = "/run/hanok-test-XXXXXX";
    ASSERT_NE(::mkdtemp(state_template), nullptr);
    state_ = state_template;
  }

  void TearDown() override {
    // What a failed test left: its pods (and their containers) through the daemon first.
    if (client_ && daemon_ && daemon_->pid() > 0) {
      try {
        for (const auto& pod : client_->list_pods()) {
          client_->stop_pod(pod.id());
          client_->remove_pod(pod.id());
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cleaning up the test's pods: " << e.what();
      }
    }
    client_.reset();
    if (daemon_) daemon_->stop();
    daemon_.reset();
    for (const auto& dir : {state_, dir_}) {
      if (dir.empty()) continue;
      unmount_below(dir);
      isolate::remove_tree(dir);
    }
  }

  static std::string image() { return registry_->host() + "/hanok/busybox:latest"; }
  static std::string cni_dir() { return current_dir_ + "/cni"; }
  static std::string loopback_network() { return cni_dir() + "/99-loopback.conflist"; }
  std::string daemon_dir() const { return dir_ + "/daemon"; }
  std::string image_root() const { return daemon_dir() + "/root"; }

  // hanokd's TOML: `top_level` keys first (a key after a [[table]] header would belong to it),
  // then an insecure registry entry for the suite's registry and for `more_registries`.
  static std::string daemon_config(const std::string& top_level,
                                   const std::vector<std::string>& more_registries) {
    std::string toml = top_level + "\n";
    // The test's own CNI config dir (empty unless the test writes a network there), never the
    // node's /etc/cni/net.d.
    if (top_level.find("cni_conf_dir") == std::string::npos) {
      toml = "cni_conf_dir = \"" + cni_dir() + "\"\n" + toml;
    }
    std::vector<std::string> hosts = more_registries;
    hosts.insert(hosts.begin(), registry_->host());
    for (const auto& host : hosts) {
      toml += "[[registries]]\nprefix = \"" + host + "\"\ninsecure = true\n";
    }
    return toml;
  }

  // Starts the test's hanokd (again, on the same socket, root and state, after a kill) and
  // pulls the busybox image into it.
  // hanokd on the test's socket, root and state (a restart when they hold a killed one's), and
  // a client of it; started means answering (TestDaemon).
  ::testing::AssertionResult launch_daemon(const std::string& top_level_toml = "",
                                           const std::vector<std::string>& more_registries = {}) {
    client_.reset();
    daemon_.reset();
    // A socket file left by a killed daemon would look like the new one's.
    ::unlink((daemon_dir() + "/hanok.sock").c_str());
    daemon_ =
        std::make_unique<TestDaemon>(daemon_dir(), daemon_config(top_level_toml, more_registries),
                                     std::vector<std::string>{"--state", state_});
    if (!daemon_->started()) {
      return ::testing::AssertionFailure() << "hanokd did not start: " << daemon_->log();
    }
    client_ = std::make_unique<CriClient>(daemon_->socket(), std::chrono::seconds(60));
    return ::testing::AssertionSuccess();
  }

  // A daemon launched, with the test image pulled.
  ::testing::AssertionResult start_daemon(const std::string& top_level_toml = "",
                                          const std::vector<std::string>& more_registries = {}) {
    if (auto launched = launch_daemon(top_level_toml, more_registries); !launched) return launched;
    try {
      client_->pull(image());
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "pull " << image() << ": " << e.what();
    }
    return ::testing::AssertionSuccess();
  }

  CriClient& cri() { return *client_; }

  v1::PodSandboxConfig pod_config(const std::string& name) const {
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_namespace_("cri-runtime-test");
    config.mutable_metadata()->set_uid("uid-" + name);
    config.mutable_metadata()->set_attempt(0);
    config.set_log_directory(dir_ + "/logs/" + name);
    return config;
  }

  static v1::ContainerConfig container_config(const std::string& name, const std::string& script) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(image());
    for (const char* arg : {"sh", "-c"}) config.add_command(arg);
    config.add_command(script);
    config.set_log_path(name + ".log");
    return config;
  }

  Pod run_pod(const v1::PodSandboxConfig& config) { return {cri().run_pod(config), config}; }
  Pod run_pod(const std::string& name) { return run_pod(pod_config(name)); }

  std::string create(const Pod& pod, const v1::ContainerConfig& config) {
    return cri().create_container(pod.id, config, pod.config);
  }
  // Creates and starts.
  std::string run(const Pod& pod, const v1::ContainerConfig& config) {
    std::string id = create(pod, config);
    cri().start_container(id);
    return id;
  }

  std::string log_path_of(const std::string& id) {
    return cri().container_status(id).status().log_path();
  }

  // `sh -c script` in the container: its response (the call must succeed).
  v1::ExecSyncResponse shell(const std::string& id, const std::string& script,
                             int64_t timeout_s = 20) {
    return cri().exec_sync(id, {"sh", "-c", script}, timeout_s);
  }
  // The stdout of a command that must exit 0, without its last newline.
  std::string output_of(const std::string& id, const std::string& script) {
    auto response = shell(id, script);
    EXPECT_EQ(response.exit_code(), 0) << script << ": " << response.stderr();
    std::string out = response.stdout();
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // Every process of a container, seen from the host: those whose cwd is not below their root.
  std::string processes_outside_root(const std::string& id) {
    auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
    std::string cgroup = info.value("cgroupsPath", "");
    std::string outside;
    std::string procs_dir =
        cgroup_v2_host() ? "/sys/fs/cgroup" + cgroup : "/sys/fs/cgroup/pids" + cgroup;
    auto procs = isolate::read_file_if_exists(procs_dir + "/cgroup.procs").value_or("");
    std::istringstream lines(procs);
    for (pid_t pid; lines >> pid;) {
      if (!cwd_inside_root(pid)) outside += " " + std::to_string(pid);
    }
    return outside;
  }

  // Nothing of the pod is left: hanokd's state subdirectories are empty, nothing is mounted
  // below the state dir or the image root, and the pod's cgroup is gone.
  void expect_nothing_left(const std::string& pod_id) {
    for (const char* sub : {"pods", "containers", "exits", "runtime"}) {
      EXPECT_EQ(joined(entries_of(state_ + "/" + sub)), "") << "left in " << state_ << "/" << sub;
    }
    EXPECT_EQ(joined(mounts_below(state_), "\n"), "") << "mounts left below the state dir";
    EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "") << "mounts left below the root";
    for (const auto& cgroup : pod_cgroup_dirs(pod_id)) {
      EXPECT_FALSE(isolate::path_exists(cgroup)) << "the pod's cgroup is left: " << cgroup;
    }
  }

  static inline std::string suite_dir_;
  static inline std::string current_dir_;  // dir_ of the running test
  static inline std::unique_ptr<FakeRegistry> registry_;

  std::string dir_;
  std::string state_;
  std::unique_ptr<TestDaemon> daemon_;
  std::unique_ptr<CriClient> client_;
};

// A container that runs until killed, doing nothing (its shell is not PID 1 in a pod's PID
// namespace; `exec` makes sleep the process the stop signal reaches).
inline constexpr const char* kIdle = "exec sleep 100000";

}  // namespace hanok::test
