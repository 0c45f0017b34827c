// The streaming room (cri/streaming) tested alone: a StreamingServer serves a fake StreamHandler
// of this file's own, with no pod, container, store or runtime behind it. The test clients,
// written apart from the server (test/tools/spdy_client.py and ws_client.py), speak the
// kubelet's protocols to the URLs url_for() answers, as crictl and the kubelet would: SPDY/3.1
// and WebSocket, the channel protocols and their final status, port forwarding, TLS, and what
// the server refuses.
//
// The fake "container" behind every URL: exec runs cmd[0] as one of a few fake programs (upper:
// stdin back upper-cased; echo: its words; exit: an exit code; refuse: a runtime error; wait: stays
// until the client ends its stdin), says on stderr where it ran, and ends with the status on the
// error stream (remote_command's write_command_status, as hanokd's handler ends). Attach greets
// and echoes the client's input. Port forwarding is the room's own PortForwarder, with the fake
// pod as its connector: the pod listens on ports 8080 and 9090 (others refused), a forwarded
// connection answering "port P: " and then what the client sent, upper-cased.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "isolate/pipe.hpp"
#include "isolate/spawn.hpp"
#include "isolate/unique_fd.hpp"
#include "port_forward.hpp"
#include "remote_command.hpp"
#include "spdy_session.hpp"
#include "stream_server.hpp"

namespace hanok::test {
namespace {

using namespace std::chrono_literals;
using cri::CommandOutcome;
using cri::CommandStreams;
using cri::StreamTarget;
using cri::StreamTransport;
using nlohmann::json;
namespace v1 = runtime::v1;

const std::vector<uint16_t> kServedPorts = {8080, 9090};

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The handler the server hands its sessions to: fake programs, a fake attach, a fake pod's ports.
// What it saw is kept for the tests to check.
class FakeHandler final : public cri::StreamHandler {
 public:
  void exec(StreamTransport& session, const CommandStreams& streams,
            const v1::ExecRequest& request) override {
    std::vector<std::string> cmd(request.cmd().begin(), request.cmd().end());
    std::string program = cmd.empty() ? "" : cmd[0];
    {
      std::lock_guard lock(mutex_);
      ++execs_;
      if (program == "wait") waiting_ = true;
      changed_.notify_all();
    }
    CommandOutcome outcome;
    outcome.command = "[";
    for (size_t i = 0; i < cmd.size(); ++i) outcome.command += (i ? " " : "") + cmd[i];
    outcome.command += "]";
    auto out = [&](const std::string& text) {
      if (streams.stdout) session.write(*streams.stdout, text);
    };
    // With a terminal and a resize stream (v3 and later), the first size the client sends.
    if (request.tty() && streams.resize) {
      cri::ResizeDecoder decoder;
      for (std::string data = session.read(*streams.resize); !data.empty();
           data = session.read(*streams.resize)) {
        auto sizes = decoder.feed(data);
        if (sizes.empty()) continue;
        out("terminal " + std::to_string(sizes[0].width) + "x" + std::to_string(sizes[0].height) +
            "\r\n");
        break;
      }
      session.stop_reading(*streams.resize);
    }
    if (program == "upper") {
      if (streams.stdin) {
        for (std::string data = session.read(*streams.stdin); !data.empty();
             data = session.read(*streams.stdin)) {
          out(upper(data));
        }
      }
      outcome.exit_code = cmd.size() > 1 ? std::stoi(cmd[1]) : 0;
    } else if (program == "echo") {
      std::string words;
      for (size_t i = 1; i < cmd.size(); ++i) words += (i > 1 ? " " : "") + cmd[i];
      out(words + "\n");
      outcome.exit_code = 0;
    } else if (program == "exit") {
      outcome.exit_code = std::stoi(cmd.at(1));
    } else if (program == "wait") {
      while (streams.stdin && !session.read(*streams.stdin).empty()) {
      }
      std::lock_guard lock(mutex_);
      alive_after_wait_ = session.alive();
      changed_.notify_all();
    } else {
      outcome.error = "fake runtime: no program \"" + program + "\"";
    }
    if (streams.stderr)
      session.write(*streams.stderr, program + " in " + request.container_id() + "\n");
    for (const auto& stream : {streams.stdout, streams.stderr}) {
      if (stream) session.finish(*stream);
    }
    cri::write_command_status(session, streams, outcome);
  }

  void attach(StreamTransport& session, const CommandStreams& streams,
              const v1::AttachRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      ++attaches_;
    }
    if (streams.stdout)
      session.write(*streams.stdout, "attached to " + request.container_id() + "\n");
    if (streams.stderr) {
      session.write(*streams.stderr, "attach stderr of " + request.container_id() + "\n");
    }
    if (streams.stdin) {
      for (std::string data = session.read(*streams.stdin); !data.empty();
           data = session.read(*streams.stdin)) {
        if (streams.stdout) session.write(*streams.stdout, data);
      }
    }
    for (const auto& stream : {streams.stdout, streams.stderr}) {
      if (stream) session.finish(*stream);
    }
    cri::write_command_status(session, streams, CommandOutcome{});
  }

  // Port forwarding is the room's PortForwarder; the fake pod is only its connector.
  void port_forward(cri::spdy::Session& session, const v1::PortForwardRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      forwarded_pods_.push_back(request.pod_sandbox_id());
    }
    cri::PortForwarder forwarder(session, "fake pod " + request.pod_sandbox_id(),
                                 pod_connector(request.pod_sandbox_id()));
    forwarder.run_spdy(session);
  }

  void port_forward_websocket(StreamTransport& transport, const v1::PortForwardRequest& request,
                              const std::vector<uint16_t>& ports) override {
    {
      std::lock_guard lock(mutex_);
      forwarded_pods_.push_back(request.pod_sandbox_id());
      websocket_ports_ = ports;
    }
    cri::PortForwarder forwarder(transport, "fake pod " + request.pod_sandbox_id(),
                                 pod_connector(request.pod_sandbox_id()));
    forwarder.run_websocket(ports);
  }

  // The fake pod's listeners end when the room closes its side of their sockets, which it does
  // before its sessions end (and the server, which waits for them, is gone before the handler).
  ~FakeHandler() override {
    for (auto& listener : listeners_) listener.join();
  }

  int execs() {
    std::lock_guard lock(mutex_);
    return execs_;
  }
  int attaches() {
    std::lock_guard lock(mutex_);
    return attaches_;
  }
  std::vector<std::string> forwarded_pods() {
    std::lock_guard lock(mutex_);
    return forwarded_pods_;
  }
  std::vector<uint16_t> websocket_ports() {
    std::lock_guard lock(mutex_);
    return websocket_ports_;
  }
  // The connections the room asked the fake pod for, as "pod:port", in the order asked.
  std::vector<std::string> connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  // Whether a "wait" exec started (within `timeout`).
  bool await_waiting(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_; });
  }
  // Whether the session still worked when the "wait" exec's stdin ended; nullopt before then.
  std::optional<bool> alive_after_wait() {
    std::lock_guard lock(mutex_);
    return alive_after_wait_;
  }

 private:
  // The fake pod `pod` as the room's PortForwarder reaches it: a connection to port 8080 or
  // 9090 is one end of a socket pair whose other end a listener thread serves ("port P: ", then
  // the client's bytes upper-cased, until the client's end); other ports refuse.
  cri::PortConnector pod_connector(const std::string& pod) {
    return [this, pod](uint16_t port) {
      {
        std::lock_guard lock(mutex_);
        connections_.push_back(pod + ":" + std::to_string(port));
      }
      if (std::find(kServedPorts.begin(), kServedPorts.end(), port) == kServedPorts.end()) {
        throw std::runtime_error("nothing listens on port " + std::to_string(port));
      }
      int ends[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        throw std::system_error(errno, std::generic_category(), "socketpair");
      }
      isolate::UniqueFd client(ends[0]);
      auto served = std::make_shared<isolate::UniqueFd>(ends[1]);
      std::lock_guard lock(mutex_);
      listeners_.emplace_back([served, port] { serve_port(served->get(), port); });
      return client;
    };
  }

  static bool send_all(int fd, const std::string& text) {
    for (size_t sent = 0; sent < text.size();) {
      ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // One connection to the fake pod's port, served until the room's end reaches EOF.
  static void serve_port(int fd, uint16_t port) {
    if (!send_all(fd, "port " + std::to_string(port) + ": ")) return;
    char buffer[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      if (!send_all(fd, upper(std::string(buffer, static_cast<size_t>(n))))) return;
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  int execs_ = 0;
  int attaches_ = 0;
  bool waiting_ = false;
  std::optional<bool> alive_after_wait_;
  std::vector<std::string> forwarded_pods_;
  std::vector<uint16_t> websocket_ports_;
  std::vector<std::string> connections_;
  std::vector<std::thread> listeners_;
};

// A test client (a script of test/tools) run with its stdout on a pipe and its stderr kept for
// the failure message; what it printed, parsed.
class ClientProcess {
 public:
  ClientProcess(const std::string& script, const std::string& url,
                const std::vector<std::string>& args) {
    isolate::SpawnRequest request;
    request.argv = {"/usr/bin/python3", std::string(HANOK_TEST_TOOLS) + "/" + script, url};
    request.argv.insert(request.argv.end(), args.begin(), args.end());
    auto out = isolate::make_pipe("a test client's stdout");
    errors_.reset(::memfd_create("client-stderr", MFD_CLOEXEC));
    request.stdout_fd = out.write.get();
    request.stderr_fd = errors_.get();
    pid_ = isolate::spawn_program(request);
    output_ = std::move(out.read);
  }
  ~ClientProcess() { kill(); }
  ClientProcess(const ClientProcess&) = delete;
  ClientProcess& operator=(const ClientProcess&) = delete;

  // What it printed once it ended (killed after 90 s): the JSON object, or {} after a failure.
  json result() {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + 90s;
    char buffer[4096];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{output_.get(), POLLIN, 0};
      int ready = left.count() > 0 ? ::poll(&pfd, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        ADD_FAILURE() << "the client did not end within 90 s";
        break;
      }
      ssize_t n = ::read(output_.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buffer, static_cast<size_t>(n));
    }
    kill();
    std::string errors(64 * 1024, '\0');
    ssize_t n = ::pread(errors_.get(), errors.data(), errors.size(), 0);
    errors.resize(n > 0 ? static_cast<size_t>(n) : 0);
    auto parsed = json::parse(text, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << "stdout: " << text << "\nstderr: " << errors;
    return parsed.is_object() ? parsed : json::object();
  }

  // Ends it now (if it still runs) and reaps it.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    isolate::wait_program(pid_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  isolate::UniqueFd output_;
  isolate::UniqueFd errors_;
};

json spdy_client(const std::string& url, const std::vector<std::string>& args = {}) {
  return ClientProcess("spdy_client.py", url, args).result();
}
json ws_client(const std::string& url, const std::vector<std::string>& args = {}) {
  return ClientProcess("ws_client.py", url, args).result();
}
// The metav1.Status a v4 client found on the error stream.
json status_of(const json& result) {
  return json::parse(result.value("error", ""), nullptr, false);
}

int port_of(const std::string& url) {
  auto colon = url.find(':', url.find("//") + 2);
  return std::stoi(url.substr(colon + 1));
}
std::string path_of(const std::string& url) {
  return url.substr(url.find('/', url.find("//") + 2));
}

// Everything the server at 127.0.0.1:`port` answers `request` until it closes (or within 10 s).
std::string raw_exchange(int port, const std::string& request) {
  isolate::UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ADD_FAILURE() << "connect to 127.0.0.1:" << port;
    return "";
  }
  timeval timeout{10, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::send(socket.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  return answer;
}

// Whether something accepts TCP connections at 127.0.0.1:`port`.
bool accepts(int port) {
  isolate::UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

class StreamingServerTest : public ::testing::Test {
 protected:
  std::string exec_url(const std::string& id, const std::vector<std::string>& cmd, bool in,
                       bool out, bool err, bool tty = false) {
    return server_->url_for(exec_target(id, cmd, in, out, err, tty));
  }
  static StreamTarget exec_target(const std::string& id, const std::vector<std::string>& cmd,
                                  bool in, bool out, bool err, bool tty = false) {
    StreamTarget target;
    target.kind = StreamTarget::Kind::Exec;
    target.exec.set_container_id(id);
    for (const auto& arg : cmd) target.exec.add_cmd(arg);
    target.exec.set_stdin(in);
    target.exec.set_stdout(out);
    target.exec.set_stderr(err);
    target.exec.set_tty(tty);
    return target;
  }
  std::string attach_url(const std::string& id, bool in, bool out, bool err) {
    StreamTarget target;
    target.kind = StreamTarget::Kind::Attach;
    target.attach.set_container_id(id);
    target.attach.set_stdin(in);
    target.attach.set_stdout(out);
    target.attach.set_stderr(err);
    return server_->url_for(target);
  }
  std::string forward_url(const std::string& pod, const std::vector<int>& ports) {
    StreamTarget target;
    target.kind = StreamTarget::Kind::PortForward;
    target.port_forward.set_pod_sandbox_id(pod);
    for (int port : ports) target.port_forward.add_port(port);
    return server_->url_for(target);
  }

  FakeHandler handler_;  // outlives the server, whose sessions use it
  std::unique_ptr<cri::StreamingServer> server_ =
      std::make_unique<cri::StreamingServer>(handler_, "127.0.0.1:0");
};

TEST_F(StreamingServerTest, ExecOverSpdyCarriesStdioAndTheExitCode) {
  EXPECT_TRUE(server_->base_url().starts_with("http://127.0.0.1:")) << server_->base_url();
  auto echoed = spdy_client(exec_url("c1", {"upper", "0"}, true, true, true),
                            {"--stdin", "hello through stdin\n", "--stderr"});
  EXPECT_EQ(echoed.value("status", 0), 101) << echoed.dump();
  EXPECT_EQ(echoed.value("protocol", ""), "v4.channel.k8s.io");
  EXPECT_EQ(echoed.value("stdout", ""), "HELLO THROUGH STDIN\n") << echoed.dump();
  EXPECT_EQ(echoed.value("stderr", ""), "upper in c1\n") << echoed.dump();
  EXPECT_EQ(status_of(echoed).value("status", ""), "Success") << echoed.dump();
  EXPECT_TRUE(echoed.value("finished", false)) << echoed.dump();

  // A non-zero exit: a Failure status whose cause is the code.
  auto failed =
      spdy_client(exec_url("c2", {"upper", "3"}, true, true, false), {"--stdin", "before exit"});
  EXPECT_EQ(failed.value("stdout", ""), "BEFORE EXIT") << failed.dump();
  auto status = status_of(failed);
  EXPECT_EQ(status.value("status", ""), "Failure") << failed.dump();
  EXPECT_EQ(status.value("reason", ""), "NonZeroExitCode") << status.dump();
  EXPECT_TRUE(contains(status.value("message", ""), "[upper 3], exit code 3")) << status.dump();
  EXPECT_EQ(status["details"]["causes"][0].value("reason", ""), "ExitCode") << status.dump();
  EXPECT_EQ(status["details"]["causes"][0].value("message", ""), "3") << status.dump();
  EXPECT_EQ(handler_.execs(), 2);
}

TEST_F(StreamingServerTest, OlderProtocolsGetTheStatusAsText) {
  // v2: the error stream carries the message as text; nothing at all for a success (v1).
  auto older = spdy_client(exec_url("old", {"exit", "5"}, false, true, true),
                           {"--protocol", "v2.channel.k8s.io", "--stderr"});
  EXPECT_EQ(older.value("protocol", ""), "v2.channel.k8s.io") << older.dump();
  EXPECT_EQ(older.value("error", ""),
            "command terminated with non-zero exit code: error executing command [exit 5], exit "
            "code 5")
      << older.dump();
  EXPECT_EQ(older.value("stderr", ""), "exit in old\n");

  auto oldest = spdy_client(exec_url("oldest", {"echo", "fine"}, false, true, false),
                            {"--protocol", "channel.k8s.io"});
  EXPECT_EQ(oldest.value("protocol", ""), "channel.k8s.io") << oldest.dump();
  EXPECT_EQ(oldest.value("stdout", ""), "fine\n");
  EXPECT_EQ(oldest.value("error", "missing"), "") << oldest.dump();
  EXPECT_TRUE(oldest.value("finished", false));

  // A client offering several: the first the server serves.
  auto offered = spdy_client(exec_url("pick", {"exit", "0"}, false, true, false),
                             {"--protocol", "v9.channel.k8s.io", "--protocol", "v3.channel.k8s.io",
                              "--protocol", "v4.channel.k8s.io"});
  EXPECT_EQ(offered.value("protocol", ""), "v3.channel.k8s.io") << offered.dump();

  // The program could not run: v4's InternalError, naming why.
  auto refused = spdy_client(exec_url("r", {"nothing-here"}, false, true, false));
  auto status = status_of(refused);
  EXPECT_EQ(status.value("status", ""), "Failure") << refused.dump();
  EXPECT_EQ(status.value("reason", ""), "InternalError") << status.dump();
  EXPECT_EQ(status.value("code", 0), 500) << status.dump();
  EXPECT_TRUE(contains(status.value("message", ""), "fake runtime: no program \"nothing-here\""))
      << status.dump();
}

TEST_F(StreamingServerTest, ExecWithATerminalGetsTheClientsSize) {
  // v4 with a terminal: a resize stream (no stderr stream: a terminal has one output).
  auto sized =
      spdy_client(exec_url("tty", {"echo", "in", "a", "terminal"}, false, true, false, true),
                  {"--tty", "--size", "91x37"});
  EXPECT_EQ(sized.value("stdout", ""), "terminal 91x37\r\nin a terminal\n") << sized.dump();
  EXPECT_EQ(status_of(sized).value("status", ""), "Success") << sized.dump();
  EXPECT_TRUE(sized.value("finished", false));

  // v2 has no resize stream: the session runs without one.
  auto older = spdy_client(exec_url("tty2", {"echo", "no", "size"}, false, true, false, true),
                           {"--tty", "--protocol", "v2.channel.k8s.io"});
  EXPECT_EQ(older.value("protocol", ""), "v2.channel.k8s.io") << older.dump();
  EXPECT_EQ(older.value("stdout", ""), "no size\n") << older.dump();
  EXPECT_EQ(older.value("error", "missing"), "") << older.dump();
}

TEST_F(StreamingServerTest, AttachOverSpdy) {
  auto attached = spdy_client(attach_url("a1", true, true, true),
                              {"--stdin", "typed line\n", "--stdin-delay", "0.2", "--stderr"});
  EXPECT_EQ(attached.value("status", 0), 101) << attached.dump();
  EXPECT_EQ(attached.value("stdout", ""), "attached to a1\ntyped line\n") << attached.dump();
  EXPECT_EQ(attached.value("stderr", ""), "attach stderr of a1\n") << attached.dump();
  EXPECT_EQ(status_of(attached).value("status", ""), "Success") << attached.dump();
  EXPECT_EQ(handler_.attaches(), 1);
  EXPECT_EQ(handler_.execs(), 0);
}

TEST_F(StreamingServerTest, UrlsAreSingleUseAndOfTheirOwnKind) {
  std::string url = exec_url("once", {"echo", "first"}, false, true, false);
  EXPECT_EQ(spdy_client(url).value("stdout", ""), "first\n");
  auto again = spdy_client(url);
  EXPECT_EQ(again.value("status", 0), 404) << again.dump();
  EXPECT_TRUE(contains(again.value("body", ""), "unknown or expired streaming token"))
      << again.dump();
  EXPECT_EQ(ws_client(url, {"--protocol", "v4.channel.k8s.io"}).value("status", 0), 404);

  // A token nobody was given.
  auto unknown = spdy_client(server_->base_url() + "/exec/" + std::string(64, 'a'));
  EXPECT_EQ(unknown.value("status", 0), 404) << unknown.dump();
  EXPECT_TRUE(contains(unknown.value("body", ""), "unknown or expired streaming token"));

  // An attach token is no exec token (and stays an attach token).
  std::string attach = attach_url("kind", false, true, false);
  std::string as_exec = server_->base_url() + "/exec/" + attach.substr(attach.rfind('/') + 1);
  EXPECT_EQ(spdy_client(as_exec).value("status", 0), 404);
  EXPECT_EQ(spdy_client(attach).value("stdout", ""), "attached to kind\n");

  // Over WebSocket too: once.
  std::string ws_url = exec_url("ws-once", {"echo", "ws", "first"}, false, true, false);
  auto first = ws_client(ws_url, {"--protocol", "v4.channel.k8s.io"});
  EXPECT_EQ(first.value("stdout", ""), "ws first\n") << first.dump();
  EXPECT_EQ(ws_client(ws_url, {"--protocol", "v4.channel.k8s.io"}).value("status", 0), 404);
  EXPECT_EQ(spdy_client(ws_url).value("status", 0), 404);

  // Only the sessions that were let in reached the handler.
  EXPECT_EQ(handler_.execs(), 2);
  EXPECT_EQ(handler_.attaches(), 1);
}

TEST_F(StreamingServerTest, RefusedRequestsLeaveTheUrlValid) {
  std::string url = exec_url("later", {"echo", "served", "at", "last"}, false, true, false);
  int port = port_of(url);
  // No protocol in common: 403 naming what is served.
  auto unserved = spdy_client(url, {"--protocol", "v9.channel.k8s.io"});
  EXPECT_EQ(unserved.value("status", 0), 403) << unserved.dump();
  EXPECT_EQ(unserved.value("accepted", ""), "v4.channel.k8s.io") << unserved.dump();
  EXPECT_TRUE(contains(unserved.value("body", ""), "unable to negotiate protocol"));
  EXPECT_EQ(ws_client(url, {"--protocol", "v9.channel.k8s.io"}).value("status", 0), 403);
  // Plain HTTP, no upgrade: 400.
  std::string plain = raw_exchange(port, "GET " + path_of(url) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(plain.starts_with("HTTP/1.1 400 ")) << plain;
  EXPECT_TRUE(contains(plain, "missing upgrade headers")) << plain;
  // Other paths and methods: 404; not HTTP: 400.
  std::string elsewhere = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(elsewhere.starts_with("HTTP/1.1 404 ")) << elsewhere;
  EXPECT_TRUE(contains(elsewhere, "404 page not found")) << elsewhere;
  std::string deleted = raw_exchange(port, "DELETE " + path_of(url) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(deleted.starts_with("HTTP/1.1 404 ")) << deleted;
  std::string garbage = raw_exchange(port, "hello there\r\n\r\n");
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400 ")) << garbage;
  EXPECT_EQ(handler_.execs(), 0);

  // None of them spent the token.
  auto served = spdy_client(url);
  EXPECT_EQ(served.value("status", 0), 101) << served.dump();
  EXPECT_EQ(served.value("stdout", ""), "served at last\n") << served.dump();
  EXPECT_EQ(handler_.execs(), 1);
}

TEST_F(StreamingServerTest, WebSocketChannelProtocols) {
  // v5: the client ends its stdin with a close signal (channel 255), so a command reading to
  // the end of its input ends.
  auto v5 = ws_client(exec_url("w5", {"upper", "4"}, true, true, true),
                      {"--protocol", "v5.channel.k8s.io", "--stdin", "over websocket\n"});
  EXPECT_EQ(v5.value("status", 0), 101) << v5.dump();
  EXPECT_EQ(v5.value("protocol", ""), "v5.channel.k8s.io");
  EXPECT_EQ(v5.value("stdout", ""), "OVER WEBSOCKET\n") << v5.dump();
  EXPECT_EQ(v5.value("stderr", ""), "upper in w5\n") << v5.dump();
  auto status = status_of(v5);
  EXPECT_EQ(status.value("reason", ""), "NonZeroExitCode") << v5.dump();
  EXPECT_EQ(status["details"]["causes"][0].value("message", ""), "4") << status.dump();
  EXPECT_EQ(v5["empty_first"], json(true)) << "no ready signal first: " << v5.dump();
  EXPECT_EQ(v5["closed"], json(true)) << v5.dump();

  // Base64 text messages.
  auto b64 = ws_client(exec_url("b64", {"echo", "plain", "words"}, false, true, true),
                       {"--protocol", "v4.base64.channel.k8s.io"});
  EXPECT_EQ(b64.value("protocol", ""), "v4.base64.channel.k8s.io") << b64.dump();
  EXPECT_EQ(b64.value("stdout", ""), "plain words\n") << b64.dump();
  EXPECT_EQ(b64.value("stderr", ""), "echo in b64\n") << b64.dump();
  EXPECT_EQ(status_of(b64).value("status", ""), "Success") << b64.dump();

  // No protocol offered: the oldest binary channels, whose error channel says nothing on success.
  auto attached = ws_client(attach_url("wa", false, true, false));
  EXPECT_EQ(attached.value("status", 0), 101) << attached.dump();
  EXPECT_EQ(attached.value("protocol", "missing"), "") << attached.dump();
  EXPECT_EQ(attached.value("stdout", ""), "attached to wa\n") << attached.dump();
  EXPECT_EQ(attached.value("error", "missing"), "") << attached.dump();
  EXPECT_EQ(attached["closed"], json(true)) << attached.dump();
}

TEST_F(StreamingServerTest, PortForwardOverSpdy) {
  auto page = spdy_client(forward_url("pod1", {8080}),
                          {"--port-forward", "8080", "--send", "ping over spdy"});
  EXPECT_EQ(page.value("status", 0), 101) << page.dump();
  EXPECT_EQ(page.value("protocol", ""), "portforward.k8s.io") << page.dump();
  EXPECT_EQ(page.value("data", ""), "port 8080: PING OVER SPDY") << page.dump();
  EXPECT_EQ(page.value("error", "missing"), "") << page.dump();

  // A port the pod does not listen on: the reason on the pair's error stream.
  auto refused = spdy_client(forward_url("pod2", {8080}), {"--port-forward", "1", "--send", "x"});
  EXPECT_EQ(refused.value("data", "missing"), "") << refused.dump();
  EXPECT_EQ(refused.value("error", ""),
            "error forwarding port 1 to fake pod pod2: nothing listens on port 1")
      << refused.dump();
  EXPECT_EQ(handler_.forwarded_pods(), (std::vector<std::string>{"pod1", "pod2"}));
  EXPECT_EQ(handler_.connections(), (std::vector<std::string>{"pod1:8080", "pod2:1"}));

  // Port forwarding offers only its own protocol.
  auto wrong = spdy_client(forward_url("pod3", {8080}), {"--protocol", "v4.channel.k8s.io"});
  EXPECT_EQ(wrong.value("status", 0), 403) << wrong.dump();
  EXPECT_EQ(wrong.value("accepted", ""), "portforward.k8s.io") << wrong.dump();
}

TEST_F(StreamingServerTest, PortForwardOverWebSocket) {
  // The URL's ports, before the request's; each channel starts with its port (little endian).
  auto via_url = ws_client(forward_url("wpod", {8080}) + "?port=9090",
                           {"--port-forward", "--protocol", "v4.channel.k8s.io", "--send",
                            "ping over websocket", "--until", "WEBSOCKET", "--timeout", "20"});
  EXPECT_EQ(via_url.value("protocol", ""), "v4.channel.k8s.io") << via_url.dump();
  EXPECT_EQ(via_url["prefixes"], json::array({"8223", "8223"})) << via_url.dump();
  EXPECT_EQ(via_url.value("data", ""), "port 9090: PING OVER WEBSOCKET") << via_url.dump();
  EXPECT_EQ(via_url.value("error", "missing"), "") << via_url.dump();
  EXPECT_EQ(handler_.websocket_ports(), (std::vector<uint16_t>{9090}));

  // None in the URL: the request's; base64 messages.
  auto via_request = ws_client(forward_url("wpod", {8080, 9090}),
                               {"--port-forward", "--protocol", "v4.base64.channel.k8s.io",
                                "--send", "base64 too", "--until", "TOO", "--timeout", "20"});
  EXPECT_EQ(via_request.value("protocol", ""), "v4.base64.channel.k8s.io") << via_request.dump();
  EXPECT_EQ(via_request["prefixes"], json::array({"901f", "901f"})) << via_request.dump();
  EXPECT_EQ(via_request.value("data", ""), "port 8080: BASE64 TOO") << via_request.dump();
  EXPECT_EQ(handler_.websocket_ports(), (std::vector<uint16_t>{8080, 9090}));

  // A port nothing listens on: its error channel says so, and the session ends.
  auto refused =
      ws_client(forward_url("wpod", {8080}) + "?port=1",
                {"--port-forward", "--protocol", "v4.channel.k8s.io", "--timeout", "20"});
  EXPECT_EQ(refused["prefixes"], json::array({"0100", "0100"})) << refused.dump();
  EXPECT_EQ(refused.value("error", ""),
            "error forwarding port 1 to fake pod wpod: nothing listens on port 1")
      << refused.dump();

  // Once the sessions ended: every port of each was asked of the pod (those of one session at
  // once, in no set order).
  server_.reset();
  EXPECT_EQ(handler_.forwarded_pods(), (std::vector<std::string>{"wpod", "wpod", "wpod"}));
  auto asked = handler_.connections();
  std::sort(asked.begin(), asked.end());
  EXPECT_EQ(asked, (std::vector<std::string>{"wpod:1", "wpod:8080", "wpod:9090", "wpod:9090"}));
}

TEST_F(StreamingServerTest, TlsWhenGivenACertificate) {
  std::string dir_template = (std::filesystem::temp_directory_path() / "hanok-tls-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
  std::filesystem::path dir = dir_template;
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  auto made = isolate::run_program({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                    "subjectAltName=IP:127.0.0.1"});
  ASSERT_TRUE(made.succeeded()) << made.output;

  cri::StreamingServer tls(handler_, "127.0.0.1:0", cert, key);
  EXPECT_TRUE(tls.base_url().starts_with("https://127.0.0.1:")) << tls.base_url();
  std::string url = tls.url_for(exec_target("secure", {"upper", "0"}, true, true, false));
  // A client that does not trust the certificate does not get through (nor spends the URL).
  auto untrusted = spdy_client(url, {"--stdin", "x"});
  EXPECT_EQ(untrusted.value("status", -1), 0) << untrusted.dump();
  EXPECT_TRUE(contains(untrusted.value("tls_error", ""), "CERTIFICATE_VERIFY_FAILED"))
      << untrusted.dump();
  // Plain HTTP on the TLS port is not answered in HTTP.
  std::string plain =
      raw_exchange(port_of(url), "POST " + path_of(url) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(contains(plain, "HTTP/1.1")) << plain;

  auto secure = spdy_client(url, {"--ca", cert, "--stdin", "over tls"});
  EXPECT_EQ(secure.value("status", 0), 101) << secure.dump();
  EXPECT_EQ(secure.value("stdout", ""), "OVER TLS") << secure.dump();
  EXPECT_EQ(status_of(secure).value("status", ""), "Success") << secure.dump();

  // Port forwarding through TLS as well.
  StreamTarget forward;
  forward.kind = StreamTarget::Kind::PortForward;
  forward.port_forward.set_pod_sandbox_id("tls-pod");
  auto forwarded = spdy_client(tls.url_for(forward),
                               {"--ca", cert, "--port-forward", "9090", "--send", "sealed"});
  EXPECT_EQ(forwarded.value("data", ""), "port 9090: SEALED") << forwarded.dump();
  EXPECT_EQ(handler_.execs(), 1);
}

TEST_F(StreamingServerTest, ManySessionsAtOnce) {
  constexpr int kSessions = 16;
  std::vector<std::string> urls;
  for (int i = 0; i < kSessions; ++i) {
    urls.push_back(exec_url("many", {"upper", std::to_string(i / 2 % 2)}, true, true, false));
  }
  std::vector<std::future<json>> results;
  for (int i = 0; i < kSessions; ++i) {
    // Half over SPDY, half over WebSocket (v5, whose stdin ends).
    results.push_back(std::async(std::launch::async, [&, i] {
      std::string text = "session-" + std::to_string(i);
      return i % 2 == 0 ? spdy_client(urls[i], {"--stdin", text, "--keep-stdin", "0.3"})
                        : ws_client(urls[i], {"--protocol", "v5.channel.k8s.io", "--stdin", text,
                                              "--keep-stdin", "0.3"});
    }));
  }
  for (int i = 0; i < kSessions; ++i) {
    auto result = results[i].get();
    EXPECT_EQ(result.value("stdout", ""), "SESSION-" + std::to_string(i)) << result.dump();
    EXPECT_EQ(status_of(result).value("status", ""), i / 2 % 2 == 0 ? "Success" : "Failure")
        << result.dump();
  }
  EXPECT_EQ(handler_.execs(), kSessions);
}

TEST_F(StreamingServerTest, StoppingTheServerEndsLiveSessions) {
  // A session that waits for the client's stdin, which the client keeps open for a minute.
  ClientProcess client("spdy_client.py", exec_url("stays", {"wait"}, true, true, false),
                       {"--stdin", "", "--keep-stdin", "60", "--timeout", "60"});
  ASSERT_TRUE(handler_.await_waiting(30s)) << "the session never reached the handler";
  EXPECT_FALSE(handler_.alive_after_wait().has_value());

  int port = port_of(server_->base_url());
  auto start = std::chrono::steady_clock::now();
  server_.reset();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 5s) << "the server took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms to stop";
  // The handler returned (the destructor waits for every session), its stdin ended by the
  // connection's end, not by the client.
  ASSERT_TRUE(handler_.alive_after_wait().has_value());
  EXPECT_FALSE(*handler_.alive_after_wait());
  EXPECT_FALSE(accepts(port)) << "the server still listens on " << port;
  client.kill();
}

}  // namespace
}  // namespace hanok::test
