// Private to cri/: the streamed list calls (StreamPodSandboxes, StreamContainers, ...) send
// their items in chunks: a message is written once it holds 256 items or 1 MiB, so that a node
// with thousands of containers never builds one message past gRPC's size limit, nor holds more
// than a chunk of converted items at a time.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>

namespace hanok::cri {

template <typename Response>
class ChunkedWriter {
 public:
  static constexpr size_t kMaxItems = 256;
  static constexpr size_t kMaxBytes = 1 << 20;

  ChunkedWriter(grpc::ServerContext* context, grpc::ServerWriter<Response>* writer)
      : context_(context), writer_(writer) {}

  // The chunk to add the next item to (after writing the full one); false when the client is
  // gone or a write failed.
  bool ready() {
    if (items_ < kMaxItems && chunk_.ByteSizeLong() < kMaxBytes) return ok_;
    return flush();
  }
  Response& chunk() {
    ++items_;
    return chunk_;
  }
  // Writes what is left; the call's status.
  grpc::Status finish() {
    if (items_ > 0) flush();
    if (!ok_) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    return grpc::Status::OK;
  }

 private:
  bool flush() {
    if (!ok_) return false;
    if (context_->IsCancelled() || !writer_->Write(chunk_)) ok_ = false;
    chunk_.Clear();
    items_ = 0;
    return ok_;
  }

  grpc::ServerContext* context_;
  grpc::ServerWriter<Response>* writer_;
  Response chunk_;
  size_t items_ = 0;
  bool ok_ = true;
};

}  // namespace hanok::cri
