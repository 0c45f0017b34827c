#include "call_context.hpp"

#include "images/registry_client.hpp"

namespace hanok::cri {

images::StopToken stop_token_for(grpc::ServerContext* context, const std::atomic<bool>& stopping) {
  auto deadline = images::StopToken::Clock::time_point::max();
  auto remote = context->deadline();
  if (remote != std::chrono::system_clock::time_point::max()) {
    auto left = remote - std::chrono::system_clock::now();
    deadline = images::StopToken::Clock::now() +
               std::chrono::duration_cast<images::StopToken::Clock::duration>(left);
  }
  return images::StopToken(
      [context, &stopping] { return stopping.load() || context->IsCancelled(); }, deadline);
}

void require_deadline(grpc::ServerContext* context, const char* method) {
  if (context->deadline() == std::chrono::system_clock::time_point::max()) {
    throw isolate::Error(isolate::ErrorKind::Invalid,
                         std::string(method) + ": the call must have a deadline");
  }
}

grpc::StatusCode status_code_of(const std::exception& error) {
  if (const auto* stopped = dynamic_cast<const images::Stopped*>(&error)) {
    return stopped->reason() == images::StopReason::Cancelled ? grpc::StatusCode::CANCELLED
                                                              : grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  if (const auto* registry = dynamic_cast<const images::RegistryError*>(&error)) {
    switch (registry->kind()) {
      case images::RegistryError::Kind::NotFound:
        return grpc::StatusCode::NOT_FOUND;
      case images::RegistryError::Kind::Unauthorized:
        return grpc::StatusCode::UNAUTHENTICATED;
      case images::RegistryError::Kind::Network:
        return grpc::StatusCode::UNAVAILABLE;
      default:
        return grpc::StatusCode::UNKNOWN;
    }
  }
  switch (isolate::kind_of(error)) {
    case isolate::ErrorKind::Invalid:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case isolate::ErrorKind::NotFound:
      return grpc::StatusCode::NOT_FOUND;
    case isolate::ErrorKind::AlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case isolate::ErrorKind::NotRunning:
    case isolate::ErrorKind::WrongState:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case isolate::ErrorKind::Internal:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

const char* status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace hanok::cri
