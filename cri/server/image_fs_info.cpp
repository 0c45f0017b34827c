#include <time.h>

#include "call_context.hpp"
#include "cri/image_service.hpp"

namespace hanok::cri {

namespace {
void add_usage(const images::FsUsage& usage, int64_t timestamp,
               google::protobuf::RepeatedPtrField<runtime::v1::FilesystemUsage>& list) {
  auto* entry = list.Add();
  entry->set_timestamp(timestamp);
  entry->mutable_fs_id()->set_mountpoint(usage.mountpoint);
  entry->mutable_used_bytes()->set_value(usage.used_bytes);
  entry->mutable_inodes_used()->set_value(usage.inodes_used);
}
}  // namespace

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                                       runtime::v1::ImageFsInfoResponse* response) {
  return logged_call("ImageFsInfo", "", [&] {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    int64_t timestamp = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
    // Images as recorded when their layers were committed; the containers' writable layers
    // where they live.
    add_usage(store_.image_usage(), timestamp, *response->mutable_image_filesystems());
    add_usage(store_.container_usage(), timestamp, *response->mutable_container_filesystems());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
