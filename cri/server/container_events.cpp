#include <spdlog/spdlog.h>

#include "cri/runtime_service.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::GetContainerEvents(
    grpc::ServerContext* context, const runtime::v1::GetEventsRequest*,
    grpc::ServerWriter<runtime::v1::ContainerEventResponse>* writer) {
  auto subscription = core_.events().subscribe();
  spdlog::debug("GetContainerEvents: a subscriber joined");
  grpc::Status status = grpc::Status::OK;
  while (!context->IsCancelled() && !core_.stopping()) {
    auto event = subscription->next(std::chrono::milliseconds(500));
    if (event) {
      if (!writer->Write(*event)) break;
    } else if (subscription->overflowed()) {
      status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "this subscriber fell too far behind the container events");
      break;
    }
  }
  core_.events().unsubscribe(subscription);
  spdlog::debug("GetContainerEvents: a subscriber left");
  return status;
}

}  // namespace hanok::cri
