// Private to cri/: the remote command protocol that exec and attach share, as the kubelet's
// streaming server speaks it over SPDY (apimachinery's remotecommand): the channel protocol
// versions, the streams a client opens for a request (error, stdin, stdout, stderr, resize),
// terminal size messages, and the final status on the error stream (v4: a metav1.Status, with
// reason NonZeroExitCode and an ExitCode cause for a failed command; before v4: its text).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spdy_session.hpp"
#include "stream_transport.hpp"

namespace hanok::cri {

enum class ChannelProtocol { V1, V2, V3, V4 };

// What the exec/attach request asked for.
struct StreamOptions {
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
  bool tty = false;
};

// The protocols served, preferred first ("v4.channel.k8s.io", ...).
const std::vector<std::string>& remote_command_protocols();
ChannelProtocol channel_protocol(const std::string& name);

struct CommandStreams {
  ChannelProtocol protocol = ChannelProtocol::V4;
  std::optional<uint32_t> error, stdin, stdout, stderr, resize;
};

// The channels of a WebSocket session for `options` (0 stdin, 1 stdout, 2 stderr, 3 error,
// 4 resize), with the error channel's meaning of `protocol`.
CommandStreams websocket_channels(ChannelProtocol protocol, const StreamOptions& options);

// Waits (until `timeout`) for every stream `options` call for; throws std::runtime_error naming
// what is missing when the client did not open them in time.
CommandStreams await_command_streams(spdy::Session& session, ChannelProtocol protocol,
                                     const StreamOptions& options, std::chrono::seconds timeout);

// How the command ended, for the error stream.
struct CommandOutcome {
  std::optional<int> exit_code;  // set when the command ran
  std::string error;             // set when it could not run, or the session failed
  std::string command;           // for the message: "[sh -c exit 3]"
};
// Writes the outcome on the error stream (if the client opened one) and finishes it.
void write_command_status(StreamTransport& session, const CommandStreams& streams,
                          const CommandOutcome& outcome);
// The JSON written for v4 (a metav1.Status).
std::string command_status_json(const CommandOutcome& outcome);

// Terminal sizes from the resize stream: JSON objects {"Width": W, "Height": H}, one after
// the other, in whatever pieces the frames cut them.
class ResizeDecoder {
 public:
  struct Size {
    unsigned width = 0;
    unsigned height = 0;
  };
  std::vector<Size> feed(const std::string& bytes);

 private:
  std::string pending_;
};

}  // namespace hanok::cri
