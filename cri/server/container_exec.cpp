// Exec: checks the request and answers a URL of the streaming server, where the client runs the
// command (see stream_exec.cpp).
#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"
#include "stream_server.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

// The stdio flags of an exec or attach, as the kubelet's streaming server checks them.
void validate_stream_flags(bool in, bool out, bool err, bool tty) {
  if (tty && err) throw Error(ErrorKind::Invalid, "tty and stderr cannot both be true");
  if (!in && !out && !err) {
    throw Error(ErrorKind::Invalid, "one of stdin, stdout, or stderr must be set");
  }
}

// The running container `id_or_prefix` names (its full id).
std::string running_container(RuntimeCore& core, const std::string& id_or_prefix) {
  std::string id = core.resolve_container(id_or_prefix);
  auto container = core.find_container(id);
  if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
  if (container->state() != runtime::v1::CONTAINER_RUNNING) {
    throw Error(ErrorKind::NotRunning, "container " + id + " is not running");
  }
  return id;
}

grpc::Status RuntimeService::Exec(grpc::ServerContext*, const runtime::v1::ExecRequest* request,
                                  runtime::v1::ExecResponse* response) {
  return logged_call("Exec", request->container_id(), [&] {
    if (request->cmd_size() == 0) throw Error(ErrorKind::Invalid, "cmd: must not be empty");
    validate_stream_flags(request->stdin(), request->stdout(), request->stderr(), request->tty());
    StreamTarget target;
    target.kind = StreamTarget::Kind::Exec;
    target.exec = *request;
    target.exec.set_container_id(running_container(core_, request->container_id()));
    response->set_url(streaming_.url_for(std::move(target)));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
