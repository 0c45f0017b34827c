// The exec latency of the pod benchmark: the Exec call, the SPDY upgrade on the URL it answers,
// `true` in the container and its exit status on the error stream, as a kubelet client does it.
#pragma once

#include <string>

#include "cri_client.hpp"

namespace hanok::bench {

// Milliseconds from the Exec call to the end of the command's error stream. Throws when the
// command did not succeed or the server broke the protocol.
double timed_exec(cri::client::CriClient& client, const std::string& container_id);

}  // namespace hanok::bench
