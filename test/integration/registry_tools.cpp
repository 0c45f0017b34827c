#include "registry_tools.hpp"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "isolate/files.hpp"

extern char** environ;

namespace hanok::test {

namespace {
std::string tool(const std::string& name) {
  return std::string(HANOK_TEST_TOOLS) + "/" + name;
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

bool wait_exit(pid_t pid, int& status, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}
}  // namespace

FakeRegistry::FakeRegistry(const std::vector<std::string>& images, const std::string& record_file,
                           const std::vector<std::string>& extra)
    : record_file_(record_file) {
  std::vector<std::string> args = {"/usr/bin/python3", tool("fake_registry.py"), "--record",
                                   record_file};
  for (const auto& image : images) {
    args.push_back("--image");
    args.push_back(image);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe";
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  auto argv = c_argv(args);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    ADD_FAILURE() << "cannot start the fake registry";
    pid_ = -1;
    return;
  }
  // "ready <port>\n"
  std::string line;
  pollfd entry{out[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&entry, 1, 10000) > 0) {
    char buffer[64];
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    line.append(buffer, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (line.rfind("ready ", 0) != 0) {
    ADD_FAILURE() << "the fake registry did not start: " << line;
    return;
  }
  port_ = std::stoi(line.substr(6));
}

FakeRegistry::~FakeRegistry() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::vector<nlohmann::json> FakeRegistry::requests() const {
  std::vector<nlohmann::json> result;
  auto text = isolate::read_file_if_exists(record_file_);
  if (!text) return result;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) result.push_back(nlohmann::json::parse(line));
  }
  return result;
}

void make_layout(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", tool("make_layout.py"), dir};
  argv.insert(argv.end(), args.begin(), args.end());
  Result made = run_program(argv);
  if (made.exit_code != 0) ADD_FAILURE() << "make_layout.py: " << made.err;
}

TestDaemon::TestDaemon(const std::string& dir, const std::string& config_toml,
                       const std::vector<std::string>& extra_flags)
    : dir_(dir), socket_(dir + "/hanok.sock"), log_path_(dir + "/hanokd.log") {
  isolate::make_dirs(dir_, 0700);
  isolate::write_file_atomic(dir_ + "/hanok.toml", config_toml, 0600);
  // The test's own dirs, unless `extra_flags` names others ("--root", "--socket", ...).
  std::vector<std::pair<std::string, std::string>> flags = {{"--config", dir_ + "/hanok.toml"},
                                                            {"--socket", socket_},
                                                            {"--root", dir_ + "/root"},
                                                            {"--state", dir_ + "/state"}};
  std::vector<std::string> rest;
  for (size_t i = 0; i < extra_flags.size(); ++i) {
    auto known = std::find_if(flags.begin(), flags.end(),
                              [&](const auto& flag) { return flag.first == extra_flags[i]; });
    if (known != flags.end() && i + 1 < extra_flags.size()) {
      known->second = extra_flags[++i];
      if (known->first == "--socket") socket_ = known->second;
    } else {
      rest.push_back(extra_flags[i]);
    }
  }
  std::vector<std::string> args = {hanok_binary() + "d"};
  for (const auto& [flag, value] : flags) {
    args.push_back(flag);
    args.push_back(value);
  }
  args.insert(args.end(), rest.begin(), rest.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  auto argv = c_argv(args);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    ADD_FAILURE() << "cannot start hanokd";
    return;
  }
  for (int i = 0; i < 400 && !isolate::path_exists(socket_); ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;  // exited: started_ stays false, log() says why
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto channel = grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
  images_ = runtime::v1::ImageService::NewStub(channel);
  runtime_ = runtime::v1::RuntimeService::NewStub(channel);
  // The socket file exists a moment before hanokd serves on it: started is when it answers.
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  runtime::v1::VersionRequest request;
  runtime::v1::VersionResponse response;
  started_ = isolate::path_exists(socket_) && runtime_->Version(&context, request, &response).ok();
}

TestDaemon::~TestDaemon() {
  if (pid_ > 0) stop(20);
}

std::unique_ptr<runtime::v1::ImageService::Stub> TestDaemon::new_images_stub() const {
  return runtime::v1::ImageService::NewStub(
      grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials()));
}

std::string TestDaemon::log() const {
  return isolate::read_file_if_exists(log_path_).value_or("");
}

int TestDaemon::stop(int seconds) {
  if (pid_ <= 0) return -1;
  // The test's connection goes first (hanokd gives open connections a few seconds to close).
  images_.reset();
  runtime_.reset();
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool exited = wait_exit(pid_, status, std::chrono::seconds(seconds));
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    status = -1;
  }
  pid_ = -1;
  return status;
}

}  // namespace hanok::test
