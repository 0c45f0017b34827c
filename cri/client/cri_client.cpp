#include "cri_client.hpp"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <thread>

namespace hanok::cri::client {

namespace rt = runtime::v1;

CriError::CriError(const std::string& call, const grpc::Status& status)
    : std::runtime_error(call + ": " + status.error_message()), code_(status.error_code()) {}

namespace {
void check(const char* call, const grpc::Status& status) {
  if (!status.ok()) throw CriError(call, status);
}
}  // namespace

CriClient::CriClient(const std::string& endpoint, std::chrono::seconds timeout)
    : timeout_(timeout) {
  std::string target = endpoint.rfind("unix://", 0) == 0 ? endpoint : "unix://" + endpoint;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  channel_ = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  runtime_ = rt::RuntimeService::NewStub(channel_);
  images_ = rt::ImageService::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> CriClient::context() const {
  return context(timeout_);
}

std::unique_ptr<grpc::ClientContext> CriClient::context(std::chrono::seconds timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

rt::VersionResponse CriClient::version() {
  rt::VersionRequest request;
  request.set_version("0.1.0");
  rt::VersionResponse response;
  check("Version", runtime_->Version(context().get(), request, &response));
  return response;
}

rt::StatusResponse CriClient::status(bool verbose) {
  rt::StatusRequest request;
  request.set_verbose(verbose);
  rt::StatusResponse response;
  check("Status", runtime_->Status(context().get(), request, &response));
  return response;
}

std::string CriClient::pull(const std::string& image) {
  rt::PullImageRequest request;
  request.mutable_image()->set_image(image);
  rt::PullImageResponse response;
  check("PullImage", images_->PullImage(context().get(), request, &response));
  return response.image_ref();
}

std::vector<rt::Image> CriClient::list_images() {
  rt::ListImagesRequest request;
  rt::ListImagesResponse response;
  check("ListImages", images_->ListImages(context().get(), request, &response));
  return {response.images().begin(), response.images().end()};
}

std::string CriClient::run_pod(const rt::PodSandboxConfig& config) {
  rt::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  rt::RunPodSandboxResponse response;
  check("RunPodSandbox", runtime_->RunPodSandbox(context().get(), request, &response));
  return response.pod_sandbox_id();
}

void CriClient::stop_pod(const std::string& id) {
  rt::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  rt::StopPodSandboxResponse response;
  check("StopPodSandbox", runtime_->StopPodSandbox(context().get(), request, &response));
}

void CriClient::remove_pod(const std::string& id) {
  rt::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(id);
  rt::RemovePodSandboxResponse response;
  check("RemovePodSandbox", runtime_->RemovePodSandbox(context().get(), request, &response));
}

rt::PodSandboxStatusResponse CriClient::pod_status(const std::string& id, bool verbose) {
  rt::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(id);
  request.set_verbose(verbose);
  rt::PodSandboxStatusResponse response;
  check("PodSandboxStatus", runtime_->PodSandboxStatus(context().get(), request, &response));
  return response;
}

std::vector<rt::PodSandbox> CriClient::list_pods(const rt::PodSandboxFilter& filter) {
  rt::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  rt::ListPodSandboxResponse response;
  check("ListPodSandbox", runtime_->ListPodSandbox(context().get(), request, &response));
  return {response.items().begin(), response.items().end()};
}

std::string CriClient::create_container(const std::string& pod_id,
                                        const rt::ContainerConfig& config,
                                        const rt::PodSandboxConfig& pod_config) {
  rt::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = pod_config;
  rt::CreateContainerResponse response;
  check("CreateContainer", runtime_->CreateContainer(context().get(), request, &response));
  return response.container_id();
}

void CriClient::start_container(const std::string& id) {
  rt::StartContainerRequest request;
  request.set_container_id(id);
  rt::StartContainerResponse response;
  check("StartContainer", runtime_->StartContainer(context().get(), request, &response));
}

void CriClient::stop_container(const std::string& id, int64_t timeout_s) {
  rt::StopContainerRequest request;
  request.set_container_id(id);
  request.set_timeout(timeout_s);
  rt::StopContainerResponse response;
  check("StopContainer",
        runtime_->StopContainer(context(timeout_ + std::chrono::seconds(timeout_s)).get(), request,
                                &response));
}

void CriClient::remove_container(const std::string& id) {
  rt::RemoveContainerRequest request;
  request.set_container_id(id);
  rt::RemoveContainerResponse response;
  check("RemoveContainer", runtime_->RemoveContainer(context().get(), request, &response));
}

rt::ContainerStatusResponse CriClient::container_status(const std::string& id, bool verbose) {
  rt::ContainerStatusRequest request;
  request.set_container_id(id);
  request.set_verbose(verbose);
  rt::ContainerStatusResponse response;
  check("ContainerStatus", runtime_->ContainerStatus(context().get(), request, &response));
  return response;
}

std::vector<rt::Container> CriClient::list_containers(const rt::ContainerFilter& filter) {
  rt::ListContainersRequest request;
  *request.mutable_filter() = filter;
  rt::ListContainersResponse response;
  check("ListContainers", runtime_->ListContainers(context().get(), request, &response));
  return {response.containers().begin(), response.containers().end()};
}

rt::ExecSyncResponse CriClient::exec_sync(const std::string& id,
                                          const std::vector<std::string>& cmd, int64_t timeout_s) {
  rt::ExecSyncRequest request;
  request.set_container_id(id);
  for (const auto& arg : cmd) request.add_cmd(arg);
  request.set_timeout(timeout_s);
  rt::ExecSyncResponse response;
  check("ExecSync", runtime_->ExecSync(context(timeout_ + std::chrono::seconds(timeout_s)).get(),
                                       request, &response));
  return response;
}

void CriClient::reopen_log(const std::string& id) {
  rt::ReopenContainerLogRequest request;
  request.set_container_id(id);
  rt::ReopenContainerLogResponse response;
  check("ReopenContainerLog", runtime_->ReopenContainerLog(context().get(), request, &response));
}

void CriClient::update_resources(const std::string& id,
                                 const rt::LinuxContainerResources& resources) {
  rt::UpdateContainerResourcesRequest request;
  request.set_container_id(id);
  *request.mutable_linux() = resources;
  rt::UpdateContainerResourcesResponse response;
  check("UpdateContainerResources",
        runtime_->UpdateContainerResources(context().get(), request, &response));
}

bool CriClient::wait_for_state(const std::string& id, rt::ContainerState state,
                               std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (container_status(id).status().state() == state) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void message_from_json(const std::string& json, google::protobuf::Message& message,
                       const std::string& what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message, options);
  if (!status.ok()) throw std::invalid_argument(what + ": " + std::string(status.message()));
}

std::string json_of(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return text;
}

std::vector<LogLine> parse_cri_log(const std::string& content) {
  std::vector<LogLine> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(start, end - start);
    start = end + 1;
    size_t a = line.find(' ');
    size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos || b + 2 > line.size()) continue;
    LogLine parsed;
    parsed.time = line.substr(0, a);
    parsed.stream = line.substr(a + 1, b - a - 1);
    parsed.tag = line[b + 1];
    parsed.text = b + 3 <= line.size() ? line.substr(b + 3) : "";
    lines.push_back(std::move(parsed));
  }
  return lines;
}

std::vector<std::string> log_messages(const std::vector<LogLine>& lines,
                                      const std::string& stream) {
  std::vector<std::string> messages;
  std::map<std::string, std::string> pending;  // per stream: P parts so far
  for (const auto& line : lines) {
    if (!stream.empty() && line.stream != stream) continue;
    std::string& part = pending[line.stream];
    part += line.text;
    if (line.tag == 'F') {
      messages.push_back(part);
      part.clear();
    }
  }
  for (const auto& [name, part] : pending) {
    if (!part.empty()) messages.push_back(part);
  }
  return messages;
}

}  // namespace hanok::cri::client
