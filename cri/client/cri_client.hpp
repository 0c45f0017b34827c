// A small CRI client over a unix socket: what hanokctl and the tests use to drive a CRI runtime
// (hanokd, or containerd) as the kubelet and crictl do. Every call has a deadline; a failed call
// throws CriError with its gRPC code and message.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime_v1.grpc.pb.h"

namespace hanok::cri::client {

class CriError : public std::runtime_error {
 public:
  CriError(const std::string& call, const grpc::Status& status);
  grpc::StatusCode code() const { return code_; }

 private:
  grpc::StatusCode code_;
};

class CriClient {
 public:
  // "unix:///run/x.sock" or a plain socket path.
  explicit CriClient(const std::string& endpoint,
                     std::chrono::seconds timeout = std::chrono::seconds(120));

  runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
  runtime::v1::ImageService::Stub& images() { return *images_; }
  // A context with this client's deadline.
  std::unique_ptr<grpc::ClientContext> context() const;
  std::unique_ptr<grpc::ClientContext> context(std::chrono::seconds timeout) const;

  runtime::v1::VersionResponse version();
  runtime::v1::StatusResponse status(bool verbose = false);
  std::string pull(const std::string& image);
  std::vector<runtime::v1::Image> list_images();

  std::string run_pod(const runtime::v1::PodSandboxConfig& config);
  void stop_pod(const std::string& id);
  void remove_pod(const std::string& id);
  runtime::v1::PodSandboxStatusResponse pod_status(const std::string& id, bool verbose = false);
  std::vector<runtime::v1::PodSandbox> list_pods(const runtime::v1::PodSandboxFilter& filter = {});

  std::string create_container(const std::string& pod_id,
                               const runtime::v1::ContainerConfig& config,
                               const runtime::v1::PodSandboxConfig& pod_config);
  void start_container(const std::string& id);
  void stop_container(const std::string& id, int64_t timeout_s);
  void remove_container(const std::string& id);
  runtime::v1::ContainerStatusResponse container_status(const std::string& id,
                                                        bool verbose = false);
  std::vector<runtime::v1::Container> list_containers(
      const runtime::v1::ContainerFilter& filter = {});
  runtime::v1::ExecSyncResponse exec_sync(const std::string& id,
                                          const std::vector<std::string>& cmd,
                                          int64_t timeout_s = 0);
  void reopen_log(const std::string& id);
  void update_resources(const std::string& id, const runtime::v1::LinuxContainerResources& r);

  // Polls ContainerStatus until `state` (true) or `timeout` (false).
  bool wait_for_state(const std::string& id, runtime::v1::ContainerState state,
                      std::chrono::milliseconds timeout);

 private:
  std::chrono::seconds timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
};

// A CRI message read from JSON as crictl's config files are written (field names in either the
// proto's snake_case or JSON's lowerCamelCase). Throws std::invalid_argument naming the file.
void message_from_json(const std::string& json, google::protobuf::Message& message,
                       const std::string& what);
std::string json_of(const google::protobuf::Message& message);

// The kubelet's log line parts of a CRI log file: "<time> <stream> <P|F> <text>".
struct LogLine {
  std::string time;
  std::string stream;
  char tag = 'F';
  std::string text;
};
std::vector<LogLine> parse_cri_log(const std::string& content);
// The lines the program wrote, P parts joined, per stream ("stdout", "stderr", or "" for both).
std::vector<std::string> log_messages(const std::vector<LogLine>& lines,
                                      const std::string& stream = "");

}  // namespace hanok::cri::client
