#include "harness.hpp"
#include "../common/require.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <algorithm>

#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "oci/spec.hpp"

extern char** environ;

namespace hanok::test {

std::string fixture_rootfs() {
  return HANOK_FIXTURE_ROOTFS;
}
std::string hanok_binary() {
  // HANOK_TEST_BINARY runs the suite against another build (an older one, to see a test fail).
  const char* other = ::getenv("HANOK_TEST_BINARY");
  return other != nullptr && *other != '\0' ? other : HANOK_BINARY;
}

namespace {
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const auto& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}
}  // namespace

Result run_program(const std::vector<std::string>& argv,
                   const std::vector<std::string>& dirs_from_fd3) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  for (size_t i = 0; i < dirs_from_fd3.size(); ++i) {
    posix_spawn_file_actions_addopen(&actions, static_cast<int>(3 + i), dirs_from_fd3[i].c_str(),
                                     O_RDONLY | O_DIRECTORY, 0);
  }
  pid_t pid = -1;
  auto args = c_argv(argv);
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  Result result;
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    result.err = "posix_spawn failed";
    return result;
  }
  // Read until the program exits, not until EOF: a created container's init inherits the
  // pipes and keeps them open after `hanok create` returns.
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  char buffer[4096];
  int status = 0;
  bool exited = false;
  // Bounded: a program that never ends fails the test instead of hanging the suite.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    if (!exited && std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << argv[0] << " did not end within 120 s; killing it";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
    }
    int ready = ::poll(fds, 2, exited ? 0 : 20);
    if (ready < 0 && errno != EINTR) break;
    bool got_data = false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      } else {
        got_data = true;
        (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
      }
    }
    if (fds[0].fd < 0 && fds[1].fd < 0) break;
    if (exited && !got_data) break;
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
  }
  for (auto& entry : fds) {
    if (entry.fd >= 0) ::close(entry.fd);
  }
  if (!exited) ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void ContainerTest::SetUp() {
  HANOK_REQUIRE(::geteuid() == 0, "privileged integration tests need root");
  char bundle_template[] = "/var/tmp/hanok-it-XXXXXX";
  bundle_ = ::mkdtemp(bundle_template);
  ::chmod(bundle_.c_str(), 0711);  // a user-namespaced container's root must reach its rootfs
  char state_template[] = "/run/hanok-it-XXXXXX";
  state_root_ = ::mkdtemp(state_template);
  cgroup_parent_ = "/" + state_root_.substr(state_root_.rfind('/') + 1);
  ASSERT_NO_FATAL_FAILURE(make_private_rootfs());
  config_ = oci::default_spec_json();
  config_["root"]["path"] = rootfs_;
  config_["process"]["terminal"] = false;
  set_args({"true"});
}

void ContainerTest::TearDown() {
  for (pid_t pid : background_) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  if (!state_root_.empty()) {
    for (const auto& id : ids_) hanok({"delete", "--force", id});
    isolate::remove_tree(state_root_);
  }
  extra_cgroups_.push_back(cgroup_parent_);
  for (const auto& path : extra_cgroups_) {
    try {
      isolate::cgroup::open_cgroup(path)->destroy();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "removing test cgroup " << path << ": " << e.what();
    }
  }
  for (auto it = test_mounts_.rbegin(); it != test_mounts_.rend(); ++it) {
    if (::umount2(it->c_str(), MNT_DETACH) != 0) ADD_FAILURE() << "umount " << *it;
  }
  if (!bundle_.empty()) isolate::remove_tree(bundle_);
}

void ContainerTest::make_private_rootfs() {
  rootfs_ = bundle_ + "/rootfs";
  std::string layer = bundle_ + "/layer";
  ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(layer.c_str(), 0700), 0);
  ASSERT_EQ(::mount("tmpfs", layer.c_str(), "tmpfs", 0, "size=64m,mode=0700"), 0)
      << "tmpfs on " << layer << ": " << std::strerror(errno);
  test_mounts_.push_back(layer);
  ASSERT_EQ(::mkdir((layer + "/upper").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((layer + "/work").c_str(), 0755), 0);
  std::string options =
      "lowerdir=" + fixture_rootfs() + ",upperdir=" + layer + "/upper,workdir=" + layer + "/work";
  if (::mount("overlay", rootfs_.c_str(), "overlay", 0, options.c_str()) == 0) {
    test_mounts_.push_back(rootfs_);
    return;
  }
  Result copy = run_program({"/bin/cp", "-a", "-T", fixture_rootfs(), rootfs_});
  ASSERT_EQ(copy.exit_code, 0) << "copy the fixture rootfs: " << copy.err;
}

void ContainerTest::write_config() {
  isolate::write_file_atomic(bundle_ + "/config.json", config_.dump(2), 0644);
}

void ContainerTest::prepare_config_for(const std::vector<std::string>& args) {
  bool creates = std::find(args.begin(), args.end(), "run") != args.end() ||
                 std::find(args.begin(), args.end(), "create") != args.end();
  if (!creates) return;
  auto& linux = config_["linux"];
  std::string current = linux.value("cgroupsPath", "");
  if (current.empty() || current.rfind(cgroup_parent_ + "/", 0) == 0) {
    linux["cgroupsPath"] = cgroup_parent_ + "/" + args.back();
  }
}

Result ContainerTest::hanok(const std::vector<std::string>& args,
                            const std::vector<std::string>& dirs_from_fd3) {
  prepare_config_for(args);
  write_config();
  std::vector<std::string> argv = {hanok_binary(), "--root", state_root_};
  argv.insert(argv.end(), args.begin(), args.end());
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "run" || args[i] == "create") ids_.push_back(args.back());
  }
  return run_program(argv, dirs_from_fd3);
}

Result ContainerTest::run_container(const std::string& id) {
  return hanok({"run", "--bundle", bundle_, id});
}

pid_t ContainerTest::spawn_hanok(const std::vector<std::string>& args, int* stdout_fd) {
  prepare_config_for(args);
  write_config();
  std::vector<std::string> argv = {hanok_binary(), "--root", state_root_};
  argv.insert(argv.end(), args.begin(), args.end());
  ids_.push_back(args.back());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  int out[2] = {-1, -1};
  if (stdout_fd != nullptr && ::pipe2(out, O_CLOEXEC) == 0) {
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  auto c_args = c_argv(argv);
  posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (stdout_fd != nullptr) {
    ::close(out[1]);
    *stdout_fd = out[0];
  }
  background_.push_back(pid);
  return pid;
}

int ContainerTest::wait_background(pid_t pid) {
  // Bounded: a container that never ends fails the test instead of hanging the suite.
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "hanok (pid " << pid << ") did not end within 60 s; killing it";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      std::erase(background_, pid);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::erase(background_, pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

nlohmann::json ContainerTest::state(const std::string& id) {
  Result result = hanok({"state", id});
  if (result.exit_code != 0) return nullptr;
  return nlohmann::json::parse(result.out);
}

bool ContainerTest::wait_for_status(const std::string& id, const std::string& status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto doc = state(id);
    if (!doc.is_null() && doc["status"] == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool process_running(pid_t pid) {
  try {
    std::string stat = isolate::read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  } catch (const std::exception&) {
    return false;
  }
}

bool cwd_inside_root(pid_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  isolate::UniqueFd root(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  isolate::UniqueFd dir(::open((proc + "/cwd").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st {};
  if (!root || !dir || ::fstat(root.get(), &root_st) != 0) return true;  // gone
  for (int level = 0; level < 4096; ++level) {
    struct stat here {};
    if (::fstat(dir.get(), &here) != 0) return false;
    if (here.st_dev == root_st.st_dev && here.st_ino == root_st.st_ino) return true;
    isolate::UniqueFd up(::openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat above {};
    if (!up || ::fstat(up.get(), &above) != 0) return false;
    if (above.st_dev == here.st_dev && above.st_ino == here.st_ino) return false;  // the top
    dir = std::move(up);
  }
  return false;
}

std::string status_field(const std::string& status_text, const std::string& key) {
  std::istringstream lines(status_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      size_t start = value.find_first_not_of(" \t");
      return start == std::string::npos ? "" : value.substr(start);
    }
  }
  return {};
}

}  // namespace hanok::test
