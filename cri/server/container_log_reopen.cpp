#include <fcntl.h>
#include <sys/socket.h>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/unix_socket.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

grpc::Status RuntimeService::ReopenContainerLog(
    grpc::ServerContext*, const runtime::v1::ReopenContainerLogRequest* request,
    runtime::v1::ReopenContainerLogResponse*) {
  return logged_call("ReopenContainerLog", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw Error(ErrorKind::NotRunning, "container " + id + " is not running");
    }
    // The monitor's socket, through the bundle's fd: its path fits a sockaddr however long the
    // state dir's is.
    isolate::UniqueFd bundle(::open(container->bundle().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!bundle) isolate::throw_sys("open the bundle", container->bundle());
    isolate::UniqueFd monitor = isolate::connect_unix(
        isolate::fd_path(bundle.get()) + "/monitor.sock", SOCK_SEQPACKET, "reach the monitor at");
    timeval timeout{10, 0};
    ::setsockopt(monitor.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::send(monitor.get(), "R", 1, MSG_NOSIGNAL) != 1) {
      isolate::throw_sys("ask the monitor to reopen", container->log_path());
    }
    char reply[512];
    ssize_t n = ::recv(monitor.get(), reply, sizeof reply, 0);
    if (n <= 0) isolate::throw_sys("hear from the monitor of", id);
    std::string answer(reply, static_cast<size_t>(n));
    if (answer != "ok") throw Error(ErrorKind::Internal, "reopen the log: " + answer);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
