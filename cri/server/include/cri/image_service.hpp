// The CRI ImageService over images::ImageStore. One file per RPC in src/image_*.cpp.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <set>
#include <string>

#include "images/image_store.hpp"
#include "runtime_v1.grpc.pb.h"
#include "stats_collector.hpp"

namespace hanok::cri {

class ImageService final : public runtime::v1::ImageService::Service {
 public:
  // `pinned`: image names (normalised as the kubelet's) reported pinned; `stopping` is set when
  // the daemon stops (pulls end).
  // `layers`: the containers' writable layers as the stats collector last walked them.
  ImageService(images::ImageStore& store, const StatsCollector& layers,
               std::set<std::string> pinned, const std::atomic<bool>& stopping)
      : store_(store), layers_(layers), pinned_(std::move(pinned)), stopping_(stopping) {}

  grpc::Status ListImages(grpc::ServerContext* context,
                          const runtime::v1::ListImagesRequest* request,
                          runtime::v1::ListImagesResponse* response) override;
  grpc::Status StreamImages(grpc::ServerContext* context,
                            const runtime::v1::StreamImagesRequest* request,
                            grpc::ServerWriter<runtime::v1::StreamImagesResponse>* writer) override;
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
  // The CRI Image of an image: id, tags, digests, size, uid or username, pinned.
  void fill_image(const images::ImageInfo& info, runtime::v1::Image& image) const;

  images::ImageStore& store_;
  const StatsCollector& layers_;
  std::set<std::string> pinned_;
  const std::atomic<bool>& stopping_;
};

// An image config's User ("1000", "1000:1000", "www-data", "99999999999999999999"): a uid when it
// is a number a uid can be (below 2^32), else a user name, as containerd reads it.
struct ImageUser {
  std::optional<int64_t> uid;
  std::string username;
};
ImageUser image_user(const std::string& config_json);

}  // namespace hanok::cri
