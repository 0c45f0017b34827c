#include "remote_command.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace hanok::cri {

using nlohmann::json;

const std::vector<std::string>& remote_command_protocols() {
  static const std::vector<std::string> protocols = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                                     "v2.channel.k8s.io", "channel.k8s.io"};
  return protocols;
}

ChannelProtocol channel_protocol(const std::string& name) {
  if (name == "v4.channel.k8s.io") return ChannelProtocol::V4;
  if (name == "v3.channel.k8s.io") return ChannelProtocol::V3;
  if (name == "v2.channel.k8s.io") return ChannelProtocol::V2;
  return ChannelProtocol::V1;
}

CommandStreams await_command_streams(spdy::Session& session, ChannelProtocol protocol,
                                     const StreamOptions& options, std::chrono::seconds timeout) {
  CommandStreams streams;
  streams.protocol = protocol;
  bool resizes = options.tty && protocol >= ChannelProtocol::V3;
  size_t expected = 1 + (options.stdin ? 1 : 0) + (options.stdout ? 1 : 0) +
                    (options.stderr && !options.tty ? 1 : 0) + (resizes ? 1 : 0);
  size_t received = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (received < expected) {
    auto stream = session.next_stream(deadline);
    if (!stream) {
      throw std::runtime_error("timed out waiting for the client to open its streams (" +
                               std::to_string(received) + " of " + std::to_string(expected) + ")");
    }
    std::string type = spdy::header_value(stream->headers, "streamtype");
    std::optional<uint32_t>* slot = nullptr;
    // Only the streams the request asked for count.
    if (type == "error") slot = &streams.error;
    if (type == "stdin" && options.stdin) slot = &streams.stdin;
    if (type == "stdout" && options.stdout) slot = &streams.stdout;
    if (type == "stderr" && options.stderr && !options.tty) slot = &streams.stderr;
    if (type == "resize" && resizes) slot = &streams.resize;
    if (slot == nullptr || slot->has_value()) {
      session.reset(stream->id, spdy::kRstProtocolError);  // unknown or twice: not counted
      continue;
    }
    *slot = stream->id;
    ++received;
  }
  session.refuse_new_streams();
  return streams;
}

CommandStreams websocket_channels(ChannelProtocol protocol, const StreamOptions& options) {
  CommandStreams channels;
  channels.protocol = protocol;
  if (options.stdin) channels.stdin = 0;
  if (options.stdout) channels.stdout = 1;
  if (options.stderr && !options.tty) channels.stderr = 2;
  channels.error = 3;
  if (options.tty) channels.resize = 4;
  return channels;
}

std::string command_status_json(const CommandOutcome& outcome) {
  json status = {{"metadata", json::object()}};
  if (outcome.error.empty() && outcome.exit_code.value_or(0) == 0) {
    status["status"] = "Success";
    return status.dump();
  }
  status["status"] = "Failure";
  if (outcome.error.empty()) {
    std::string code = std::to_string(*outcome.exit_code);
    status["message"] = "command terminated with non-zero exit code: error executing command " +
                        outcome.command + ", exit code " + code;
    status["reason"] = "NonZeroExitCode";
    status["details"] = {{"causes", json::array({{{"reason", "ExitCode"}, {"message", code}}})}};
  } else {
    status["message"] = "Internal error occurred: " + outcome.error;
    status["reason"] = "InternalError";
    status["code"] = 500;
    status["details"] = {{"causes", json::array({{{"message", outcome.error}}})}};
  }
  return status.dump();
}

void write_command_status(StreamTransport& session, const CommandStreams& streams,
                          const CommandOutcome& outcome) {
  if (!streams.error) return;
  std::string message;
  if (streams.protocol == ChannelProtocol::V4) {
    message = command_status_json(outcome);
  } else if (!outcome.error.empty()) {
    message = outcome.error;
  } else if (outcome.exit_code.value_or(0) != 0) {
    message = "command terminated with non-zero exit code: error executing command " +
              outcome.command + ", exit code " + std::to_string(*outcome.exit_code);
  }
  if (!message.empty()) session.write(*streams.error, message);
  session.finish(*streams.error);
}

std::vector<ResizeDecoder::Size> ResizeDecoder::feed(const std::string& bytes) {
  std::vector<Size> sizes;
  pending_ += bytes;
  for (;;) {
    size_t start = pending_.find('{');
    if (start == std::string::npos) {
      pending_.clear();
      break;
    }
    size_t end = pending_.find('}', start);
    if (end == std::string::npos) {
      pending_.erase(0, start);
      if (pending_.size() > 4096) pending_.clear();  // no object is that long
      break;
    }
    json message = json::parse(pending_.substr(start, end - start + 1), nullptr, false);
    pending_.erase(0, end + 1);
    if (!message.is_object()) continue;
    auto number = [&](const char* key) -> unsigned {
      auto it = message.find(key);
      if (it == message.end() || !it->is_number_unsigned()) return 0;
      return static_cast<unsigned>(std::min<uint64_t>(it->get<uint64_t>(), 0xFFFF));
    };
    sizes.push_back({number("Width"), number("Height")});
  }
  return sizes;
}

}  // namespace hanok::cri
