// The CRI ImageService over images::ImageStore. One file per RPC in src/image_*.cpp.
#pragma once

#include <grpcpp/grpcpp.h>

#include "images/image_store.hpp"
#include "runtime_v1.grpc.pb.h"

namespace hanok::cri {

class ImageService final : public runtime::v1::ImageService::Service {
 public:
  explicit ImageService(images::ImageStore& store) : store_(store) {}

  grpc::Status ListImages(grpc::ServerContext* context,
                          const runtime::v1::ListImagesRequest* request,
                          runtime::v1::ListImagesResponse* response) override;
  grpc::Status ImageStatus(grpc::ServerContext* context,
                           const runtime::v1::ImageStatusRequest* request,
                           runtime::v1::ImageStatusResponse* response) override;
  grpc::Status PullImage(grpc::ServerContext* context, const runtime::v1::PullImageRequest* request,
                         runtime::v1::PullImageResponse* response) override;
  grpc::Status RemoveImage(grpc::ServerContext* context,
                           const runtime::v1::RemoveImageRequest* request,
                           runtime::v1::RemoveImageResponse* response) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* context,
                           const runtime::v1::ImageFsInfoRequest* request,
                           runtime::v1::ImageFsInfoResponse* response) override;

 private:
  images::ImageStore& store_;
};

// The CRI Image message of an image: id, tags, digests, size, uid or username from its config.
void fill_image(const images::ImageInfo& info, runtime::v1::Image& image);

}  // namespace hanok::cri
