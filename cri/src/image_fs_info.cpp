#include <time.h>

#include "cri/image_service.hpp"

namespace hanok::cri {

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                                       runtime::v1::ImageFsInfoResponse* response) {
  try {
    images::FsUsage usage = store_.usage();
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    // Images and container layers share the root: one file system, reported for both.
    for (auto* list :
         {response->mutable_image_filesystems(), response->mutable_container_filesystems()}) {
      auto* entry = list->Add();
      entry->set_timestamp(static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec);
      entry->mutable_fs_id()->set_mountpoint(usage.mountpoint);
      entry->mutable_used_bytes()->set_value(usage.used_bytes);
      entry->mutable_inodes_used()->set_value(usage.inodes_used);
    }
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("image fs info: ") + e.what());
  }
}

}  // namespace hanok::cri
