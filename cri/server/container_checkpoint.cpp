#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>

#include "call_context.hpp"
#include "checkpoint_archive.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

// The archive's location: absolute, in an existing directory.
void check_location(const std::string& location, const std::string& field) {
  if (location.empty() || location[0] != '/') {
    throw Error(ErrorKind::Invalid,
                field + ": must be an absolute path (got \"" + location + "\")");
  }
  std::string parent = location.substr(0, location.rfind('/'));
  struct stat st {};
  if (::stat(parent.empty() ? "/" : parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Invalid, field + ": directory " + parent + " does not exist");
  }
}

}  // namespace

grpc::Status RuntimeService::CheckpointContainer(
    grpc::ServerContext* context, const runtime::v1::CheckpointContainerRequest* request,
    runtime::v1::CheckpointContainerResponse*) {
  return logged_call("CheckpointContainer", request->container_id(), [&] {
    check_location(request->location(), "location");
    auto timeout = checkpoint_timeout(request->timeout(), "timeout");
    auto stop = stop_token_for(context, core_.stopping());
    std::string id = core_.resolve_container(request->container_id());
    IdLock lock = core_.locks().lock(id);
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw Error(ErrorKind::WrongState, "container " + id + " is not running");
    }
    require_criu("checkpoint container " + id);
    {
      // Its processes and its files as of one moment; the scratch files on the archive's disk.
      PausedContainers paused(core_.runtime());
      paused.pause(id);
      const std::string& location = request->location();
      write_checkpoint_archive(core_.checkpoint_tools(), *container, location,
                               location.substr(0, std::max<size_t>(location.rfind('/'), 1)),
                               timeout, stop);
      paused.resume_all();
    }
    spdlog::info("container {} checkpointed to {}", id, request->location());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
