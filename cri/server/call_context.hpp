// Private to cri/: what every RPC handler does around its work: a StopToken from the call (the
// client cancelled, its deadline, the daemon stopping), and one log line per call (debug with
// its duration; error with the status when it fails; never a credential).
#pragma once

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <string>

#include "images/stop_token.hpp"
#include "isolate/error.hpp"

namespace hanok::cri {

// Stops when the client cancelled or went away, at the call's deadline, or when the daemon
// stops (`stopping`).
images::StopToken stop_token_for(grpc::ServerContext* context, const std::atomic<bool>& stopping);

// Throws Error(Invalid) when the call has no deadline (CheckpointPod and RestorePod: "the caller
// must set a deadline").
void require_deadline(grpc::ServerContext* context, const char* method);

// The gRPC code of a typed error (isolate::Error kinds, images::Stopped, RegistryError).
grpc::StatusCode status_code_of(const std::exception& error);
const char* status_code_name(grpc::StatusCode code);

// Runs `handler` (which returns a grpc::Status, or throws: then INTERNAL-or-typed with the text),
// logging the call: "<Method> <key>: ok in 12 ms" at debug, "<Method> <key>: <CODE>: <message>"
// at error.
template <typename Handler>
grpc::Status logged_call(const char* method, const std::string& key, Handler&& handler) {
  auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  try {
    status = handler();
  } catch (const std::exception& e) {
    status = grpc::Status(status_code_of(e), e.what());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (status.ok()) {
    spdlog::debug("{} {}: ok in {} ms", method, key, ms);
  } else {
    spdlog::error("{} {}: {}: {} ({} ms)", method, key, status_code_name(status.error_code()),
                  status.error_message(), ms);
  }
  return status;
}

}  // namespace hanok::cri
