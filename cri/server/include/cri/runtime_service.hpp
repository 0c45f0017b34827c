// The CRI RuntimeService: pods and containers. One file per RPC in src/ (pod_*.cpp,
// container_*.cpp, runtime_*.cpp), all working through one RuntimeCore. Calls that later work
// implements (checkpoints)
// answer UNIMPLEMENTED: gRPC's default for a method not overridden here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "runtime_v1.grpc.pb.h"

namespace hanok::cri {

inline constexpr const char* kRuntimeName = "hanok";
inline constexpr const char* kCriApiVersion = "v1";

class RuntimeCore;
class StreamingServer;

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  RuntimeService(RuntimeCore& core, StreamingServer& streaming)
      : core_(core), streaming_(streaming) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Version(Ctx*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse*) override;
  grpc::Status Status(Ctx*, const runtime::v1::StatusRequest*,
                      runtime::v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(Ctx*, const runtime::v1::RuntimeConfigRequest*,
                             runtime::v1::RuntimeConfigResponse*) override;
  grpc::Status UpdateRuntimeConfig(Ctx*, const runtime::v1::UpdateRuntimeConfigRequest*,
                                   runtime::v1::UpdateRuntimeConfigResponse*) override;

  grpc::Status RunPodSandbox(Ctx*, const runtime::v1::RunPodSandboxRequest*,
                             runtime::v1::RunPodSandboxResponse*) override;
  grpc::Status StopPodSandbox(Ctx*, const runtime::v1::StopPodSandboxRequest*,
                              runtime::v1::StopPodSandboxResponse*) override;
  grpc::Status RemovePodSandbox(Ctx*, const runtime::v1::RemovePodSandboxRequest*,
                                runtime::v1::RemovePodSandboxResponse*) override;
  grpc::Status PodSandboxStatus(Ctx*, const runtime::v1::PodSandboxStatusRequest*,
                                runtime::v1::PodSandboxStatusResponse*) override;
  grpc::Status ListPodSandbox(Ctx*, const runtime::v1::ListPodSandboxRequest*,
                              runtime::v1::ListPodSandboxResponse*) override;
  grpc::Status PodSandboxStats(Ctx*, const runtime::v1::PodSandboxStatsRequest*,
                               runtime::v1::PodSandboxStatsResponse*) override;
  grpc::Status ListPodSandboxStats(Ctx*, const runtime::v1::ListPodSandboxStatsRequest*,
                                   runtime::v1::ListPodSandboxStatsResponse*) override;
  grpc::Status StreamPodSandboxStats(
      Ctx*, const runtime::v1::StreamPodSandboxStatsRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxStatsResponse>*) override;
  grpc::Status ListMetricDescriptors(Ctx*, const runtime::v1::ListMetricDescriptorsRequest*,
                                     runtime::v1::ListMetricDescriptorsResponse*) override;
  grpc::Status ListPodSandboxMetrics(Ctx*, const runtime::v1::ListPodSandboxMetricsRequest*,
                                     runtime::v1::ListPodSandboxMetricsResponse*) override;
  grpc::Status StreamPodSandboxMetrics(
      Ctx*, const runtime::v1::StreamPodSandboxMetricsRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxMetricsResponse>*) override;
  grpc::Status UpdatePodSandboxResources(Ctx*, const runtime::v1::UpdatePodSandboxResourcesRequest*,
                                         runtime::v1::UpdatePodSandboxResourcesResponse*) override;
  grpc::Status StreamPodSandboxes(
      Ctx*, const runtime::v1::StreamPodSandboxesRequest*,
      grpc::ServerWriter<runtime::v1::StreamPodSandboxesResponse>*) override;

  grpc::Status CreateContainer(Ctx*, const runtime::v1::CreateContainerRequest*,
                               runtime::v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(Ctx*, const runtime::v1::StartContainerRequest*,
                              runtime::v1::StartContainerResponse*) override;
  grpc::Status StopContainer(Ctx*, const runtime::v1::StopContainerRequest*,
                             runtime::v1::StopContainerResponse*) override;
  grpc::Status RemoveContainer(Ctx*, const runtime::v1::RemoveContainerRequest*,
                               runtime::v1::RemoveContainerResponse*) override;
  grpc::Status ListContainers(Ctx*, const runtime::v1::ListContainersRequest*,
                              runtime::v1::ListContainersResponse*) override;
  grpc::Status StreamContainers(
      Ctx*, const runtime::v1::StreamContainersRequest*,
      grpc::ServerWriter<runtime::v1::StreamContainersResponse>*) override;
  grpc::Status ContainerStatus(Ctx*, const runtime::v1::ContainerStatusRequest*,
                               runtime::v1::ContainerStatusResponse*) override;
  grpc::Status UpdateContainerResources(Ctx*, const runtime::v1::UpdateContainerResourcesRequest*,
                                        runtime::v1::UpdateContainerResourcesResponse*) override;
  grpc::Status ReopenContainerLog(Ctx*, const runtime::v1::ReopenContainerLogRequest*,
                                  runtime::v1::ReopenContainerLogResponse*) override;
  grpc::Status ExecSync(Ctx*, const runtime::v1::ExecSyncRequest*,
                        runtime::v1::ExecSyncResponse*) override;
  grpc::Status Exec(Ctx*, const runtime::v1::ExecRequest*, runtime::v1::ExecResponse*) override;
  grpc::Status Attach(Ctx*, const runtime::v1::AttachRequest*,
                      runtime::v1::AttachResponse*) override;
  grpc::Status PortForward(Ctx*, const runtime::v1::PortForwardRequest*,
                           runtime::v1::PortForwardResponse*) override;
  grpc::Status ContainerStats(Ctx*, const runtime::v1::ContainerStatsRequest*,
                              runtime::v1::ContainerStatsResponse*) override;
  grpc::Status ListContainerStats(Ctx*, const runtime::v1::ListContainerStatsRequest*,
                                  runtime::v1::ListContainerStatsResponse*) override;
  grpc::Status StreamContainerStats(
      Ctx*, const runtime::v1::StreamContainerStatsRequest*,
      grpc::ServerWriter<runtime::v1::StreamContainerStatsResponse>*) override;
  grpc::Status GetContainerEvents(
      Ctx*, const runtime::v1::GetEventsRequest*,
      grpc::ServerWriter<runtime::v1::ContainerEventResponse>*) override;
  grpc::Status CheckpointContainer(Ctx*, const runtime::v1::CheckpointContainerRequest*,
                                   runtime::v1::CheckpointContainerResponse*) override;
  grpc::Status CheckpointPod(Ctx*, const runtime::v1::CheckpointPodRequest*,
                             runtime::v1::CheckpointPodResponse*) override;
  grpc::Status RestorePod(Ctx*, const runtime::v1::RestorePodRequest*,
                          runtime::v1::RestorePodResponse*) override;

 private:
  RuntimeCore& core_;
  StreamingServer& streaming_;
};

}  // namespace hanok::cri
