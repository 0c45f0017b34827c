// Attach: checks the request and answers a URL of the streaming server, where the client
// attaches to the container's stdio through its monitor (see stream_attach.cpp).
#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"
#include "stream_server.hpp"

namespace hanok::cri {

void validate_stream_flags(bool in, bool out, bool err, bool tty);
std::string running_container(RuntimeCore& core, const std::string& id_or_prefix);

grpc::Status RuntimeService::Attach(grpc::ServerContext*, const runtime::v1::AttachRequest* request,
                                    runtime::v1::AttachResponse* response) {
  return logged_call("Attach", request->container_id(), [&] {
    validate_stream_flags(request->stdin(), request->stdout(), request->stderr(), request->tty());
    StreamTarget target;
    target.kind = StreamTarget::Kind::Attach;
    target.attach = *request;
    target.attach.set_container_id(running_container(core_, request->container_id()));
    response->set_url(streaming_.url_for(std::move(target)));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
