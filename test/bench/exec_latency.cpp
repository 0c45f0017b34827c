#include "exec_latency.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "isolate/unique_fd.hpp"
#include "spdy_frames.hpp"

namespace hanok::bench {

namespace {
namespace spdy = cri::spdy;

void send_all(int fd, const std::string& bytes) {
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("send to the streaming server failed");
  }
}
}  // namespace

double timed_exec(cri::client::CriClient& client, const std::string& container_id) {
  auto start = std::chrono::steady_clock::now();
  runtime::v1::ExecRequest request;
  request.set_container_id(container_id);
  request.add_cmd("true");
  request.set_stdout(true);
  request.set_stderr(true);
  runtime::v1::ExecResponse response;
  auto context = client.context();
  auto status = client.runtime().Exec(context.get(), request, &response);
  if (!status.ok()) throw std::runtime_error("Exec: " + status.error_message());
  // http://HOST:PORT/PATH (the benchmark's runtimes listen on IPv4 loopback)
  const std::string& url = response.url();
  size_t host = url.find("//") + 2;
  size_t path = url.find('/', host);
  size_t colon = url.rfind(':', path);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(url.substr(colon + 1, path - colon))));
  if (::inet_pton(AF_INET, url.substr(host, colon - host).c_str(), &address.sin_addr) != 1) {
    throw std::runtime_error("not an IPv4 URL: " + url);
  }
  isolate::UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("connect to " + url);
  }
  send_all(socket.get(), "POST " + url.substr(path) +
                             " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                             "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io"
                             "\r\n\r\n");
  std::string head;
  char c = 0;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(socket.get(), &c, 1, 0) == 1) {
    head.push_back(c);
  }
  if (head.find(" 101 ") == std::string::npos) throw std::runtime_error("no upgrade: " + head);
  spdy::HeaderEncoder encoder;
  spdy::HeaderDecoder decoder;
  std::string opens;
  uint32_t id = 1;
  for (const char* type : {"error", "stdout", "stderr"}) {
    std::string body;
    spdy::put_u32(body, id);
    spdy::put_u32(body, 0);
    body.append(2, '\0');
    body += encoder.encode({{"streamtype", type}});
    opens += spdy::control_frame(spdy::kSynStream, 0, body);
    id += 2;
  }
  send_all(socket.get(), opens);
  std::string error_stream;
  spdy::Frame frame;
  while (spdy::read_frame(socket.get(), frame)) {
    if (frame.control) {
      if (frame.type == spdy::kSynReply) (void)decoder.decode(frame.payload.substr(4));
      continue;
    }
    if (frame.stream_id != 1) continue;
    error_stream += frame.payload;
    if ((frame.flags & spdy::kFlagFin) != 0) break;
  }
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  if (error_stream.find("Success") == std::string::npos) {
    throw std::runtime_error("exec did not succeed: " + error_stream);
  }
  return ms.count();
}

}  // namespace hanok::bench
