#include <sys/stat.h>

#include "call_context.hpp"
#include "cri/image_service.hpp"
#include "isolate/clock.hpp"

namespace hanok::cri {

namespace {
void add_usage(const std::string& mountpoint, uint64_t bytes, uint64_t inodes, int64_t timestamp,
               google::protobuf::RepeatedPtrField<runtime::v1::FilesystemUsage>& list) {
  auto* entry = list.Add();
  entry->set_timestamp(timestamp);
  entry->mutable_fs_id()->set_mountpoint(mountpoint);
  entry->mutable_used_bytes()->set_value(bytes);
  entry->mutable_inodes_used()->set_value(inodes);
}

bool same_filesystem(const std::string& a, const std::string& b) {
  struct stat first {};
  struct stat second {};
  if (::stat(a.c_str(), &first) != 0 || ::stat(b.c_str(), &second) != 0) return true;
  return first.st_dev == second.st_dev;
}
}  // namespace

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                                       runtime::v1::ImageFsInfoResponse* response) {
  return logged_call("ImageFsInfo", "", [&] {
    int64_t now = isolate::unix_now_ns();
    // Images as recorded when their layers were committed; the containers' writable layers as
    // the stats collector last walked them (never walked here: a container may hold a million
    // files).
    images::FsUsage images = store_.image_usage();
    StatsCollector::LayerUsage layers = layers_.all_layers();
    const std::string& layers_root = layers_.layers_root();
    // The kubelet (1.30, 1.31) takes a container filesystem in the answer for a split image
    // filesystem, compares the mountpoints as strings, and then ranks no pod for eviction: so
    // the container filesystem is reported only when it is another filesystem (as containerd),
    // and otherwise the image filesystem's figures include the writable layers (as containerd's
    // snapshotter usage does).
    if (same_filesystem(images.mountpoint, layers_root)) {
      add_usage(images.mountpoint, images.used_bytes + layers.bytes,
                images.inodes_used + layers.inodes, now, *response->mutable_image_filesystems());
    } else {
      add_usage(images.mountpoint, images.used_bytes, images.inodes_used, now,
                *response->mutable_image_filesystems());
      add_usage(layers_root, layers.bytes, layers.inodes, now,
                *response->mutable_container_filesystems());
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
