// Tools of the image tests: a fake registry (test/tools/fake_registry.py) that can record what
// it is asked, answer slowly or ask for credentials; synthetic image layouts
// (test/tools/make_layout.py); and a hanokd of the test's own.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime_v1.grpc.pb.h"

namespace hanok::test {

class FakeRegistry {
 public:
  // `images`: "repo/name=LAYOUT_DIR"; `extra`: more flags (--rate N, --basic U:P).
  FakeRegistry(const std::vector<std::string>& images, const std::string& record_file,
               const std::vector<std::string>& extra = {});
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // Every request recorded so far, oldest first.
  std::vector<nlohmann::json> requests() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string record_file_;
};

// Runs make_layout.py DIR ARGS...; ADD_FAILURE on failure.
void make_layout(const std::string& dir, const std::vector<std::string>& args);

// A hanokd of the test's own (private socket, root and state below `dir`) with `config_toml`.
class TestDaemon {
 public:
  TestDaemon(const std::string& dir, const std::string& config_toml,
             const std::vector<std::string>& extra_flags = {});
  ~TestDaemon();
  TestDaemon(const TestDaemon&) = delete;
  TestDaemon& operator=(const TestDaemon&) = delete;

  bool started() const { return started_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  // The daemon's stderr so far.
  std::string log() const;
  runtime::v1::ImageService::Stub& images() { return *images_; }
  // A stub on a connection of its own (for a call that may outlive stop()).
  std::unique_ptr<runtime::v1::ImageService::Stub> new_images_stub() const;
  runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
  // SIGTERM, then waits up to `seconds`; returns the wait status, or -1 if it had to be killed.
  int stop(int seconds = 20);

 private:
  std::string dir_;
  std::string socket_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool started_ = false;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
};

}  // namespace hanok::test
