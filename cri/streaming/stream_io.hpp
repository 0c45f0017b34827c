// Private to cri/: moving bytes between a streaming session and the fds of a process or a
// socket: writes that give up when told to stop, and the pump from a client's stream into an
// fd that exec and attach share.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "stream_transport.hpp"

namespace hanok::cri {

// Writes all of `data` to a non-blocking fd, waiting while it is full; false when it failed or
// `stop` was set meanwhile.
bool write_fully(int fd, std::string_view data, const std::atomic<bool>& stop);

// Copies what the client sends on `stream` into `fd` until the client finishes the stream (or
// `stop`); returns whether the client finished it (rather than the fd failing).
bool pump_stream_to_fd(StreamTransport& session, uint32_t stream, int fd,
                       const std::atomic<bool>& stop);

// Reads from `fd` (non-blocking) what is there now, up to 256 KiB, and passes it on to `sink`;
// false at EOF or an error, or when the sink failed (returned false).
bool forward_available(int fd, const std::function<bool(std::string_view)>& sink);

}  // namespace hanok::cri
