// hanokd's streaming server as crictl and the kubelet use it: Exec, Attach and PortForward
// answer a URL, and a SPDY/3.1 client written apart from the server (test/tools/spdy_client.py)
// speaks the kubelet's protocols there: stdin, stdout and stderr, exit codes, terminal sizes,
// attach to a running container, port forwarding into a pod, many sessions at once, and what
// the server does with clients that get it wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <future>

#include "cri_streaming_fixture.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::test {
namespace {

using CriStreaming = CriStreamingFixture;

// The raw answer of the streaming server to `request` (the whole text it sends back before it
// closes, or what came within 5 s).
std::string raw_exchange(const std::string& url, const std::string& request) {
  auto colon = url.find(':', url.find("//") + 2);
  return loopback_exchange(std::stoi(url.substr(colon + 1)), request);
}

std::string path_of(const std::string& url) {
  return url.substr(url.find('/', url.find("//") + 2));
}

std::string upgrade_request(const std::string& url, const std::string& extra) {
  return "POST " + path_of(url) +
         " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" + extra +
         "\r\n";
}

TEST_F(CriStreaming, ExecStdioAndExitCodes) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("exec");
  std::string id = run(pod, container_config("target", kIdle));

  auto echoed =
      client(exec_url(id, {"sh", "-c", "cat; echo to-stderr >&2"}, true, true, true, false),
             {"--stdin", "hello through stdin\n", "--stderr"});
  EXPECT_EQ(echoed.value("status", 0), 101) << echoed.dump();
  EXPECT_EQ(echoed.value("protocol", ""), "v4.channel.k8s.io");
  EXPECT_EQ(echoed.value("stdout", ""), "hello through stdin\n");
  EXPECT_EQ(echoed.value("stderr", ""), "to-stderr\n");
  EXPECT_EQ(status_of(echoed).value("status", ""), "Success") << echoed.dump();
  EXPECT_TRUE(echoed.value("finished", false));

  auto failed =
      client(exec_url(id, {"sh", "-c", "echo before; exit 3"}, false, true, false, false), {});
  EXPECT_EQ(failed.value("stdout", ""), "before\n");
  auto status = status_of(failed);
  EXPECT_EQ(status.value("status", ""), "Failure") << failed.dump();
  EXPECT_EQ(status.value("reason", ""), "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0].value("reason", ""), "ExitCode") << status.dump();
  EXPECT_EQ(status["details"]["causes"][0].value("message", ""), "3");

  // An older client (v2): the error stream carries the message as text.
  auto older = client(exec_url(id, {"sh", "-c", "exit 5"}, false, true, true, false),
                      {"--protocol", "v2.channel.k8s.io", "--stderr"});
  EXPECT_EQ(older.value("protocol", ""), "v2.channel.k8s.io");
  EXPECT_TRUE(contains(older.value("error", ""), "exit code 5")) << older.dump();

  // A command that is not there: an internal error naming it, not a hang.
  auto missing = client(exec_url(id, {"/no/such/program"}, false, true, true, false), {"--stderr"});
  EXPECT_EQ(status_of(missing).value("status", ""), "Failure") << missing.dump();
  EXPECT_TRUE(contains(missing.value("error", ""), "/no/such/program")) << missing.dump();
}

TEST_F(CriStreaming, ExecWithATerminal) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("tty");
  std::string id = run(pod, container_config("target", kIdle));
  // The size the client sends shows inside; the terminal is a pty (so CR LF line ends).
  auto sized =
      client(exec_url(id, {"sh", "-c", "sleep 1; stty size; tty"}, false, true, false, true),
             {"--tty", "--size", "91x37"});
  std::string out = sized.value("stdout", "");
  EXPECT_TRUE(contains(out, "37 91\r\n")) << sized.dump();
  EXPECT_TRUE(contains(out, "/dev/pts/")) << sized.dump();
  EXPECT_EQ(status_of(sized).value("status", ""), "Success");

  // Input through the terminal, echoed by it.
  auto typed = client(exec_url(id, {"sh"}, true, true, false, true),
                      {"--tty", "--stdin", "echo typed-$((6*7))\nexit 4\n", "--keep-stdin", "2"});
  EXPECT_TRUE(contains(typed.value("stdout", ""), "typed-42")) << typed.dump();
  EXPECT_EQ(status_of(typed).value("reason", ""), "NonZeroExitCode") << typed.dump();
}

TEST_F(CriStreaming, AttachToARunningContainer) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("attach");
  v1::ContainerConfig echo = container_config(
      "echo", "echo started; while read line; do echo \"got $line\"; echo \"err $line\" >&2; done");
  echo.set_stdin(true);
  std::string id = run(pod, echo);
  ASSERT_TRUE(poll_until([&] { return log_has(log_path_of(id), "started"); }, 10s));

  // The session sees what the container writes from now on (not what it wrote before), and
  // ends when the client ends its stdin; the container goes on.
  auto attached =
      client(attach_url(id, true, true, true),
             {"--stdin", "one\n", "--stdin-delay", "0.5", "--keep-stdin", "1.5", "--stderr"});
  EXPECT_EQ(attached.value("stdout", ""), "got one\n") << attached.dump();
  EXPECT_EQ(attached.value("stderr", ""), "err one\n") << attached.dump();
  EXPECT_EQ(status_of(attached).value("status", ""), "Success") << attached.dump();
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);
  EXPECT_TRUE(log_has(log_path_of(id), "got one"));

  // stdin_once: the first session's end closes the container's stdin; the container ends, and
  // the session sees its last words.
  v1::ContainerConfig once = container_config("once", "cat; echo stdin-closed");
  once.set_stdin(true);
  once.set_stdin_once(true);
  std::string once_id = run(pod, once);
  auto last = client(attach_url(once_id, true, true, false),
                     {"--stdin", "only line\n", "--stdin-delay", "0.5"});
  EXPECT_EQ(last.value("stdout", ""), "only line\nstdin-closed\n") << last.dump();
  ASSERT_TRUE(cri().wait_for_state(once_id, v1::CONTAINER_EXITED, 20s));
  EXPECT_EQ(cri().container_status(once_id).status().exit_code(), 0);
}

// A tenant with port-forward rights on its own pod must not grow hanokd: pairs whose other
// stream never comes are reset after the kubelet's stream creation timeout (30 s), and what a
// connection buffers is bounded whatever it sends on them.
TEST_F(CriStreaming, HalfOpenPortForwardPairsExpire) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("half-pairs");
  std::string proc = "/proc/" + std::to_string(daemon_->pid());
  auto kib = [&](const char* key) {
    return std::stoll(status_field(isolate::read_file(proc + "/status"), key));
  };
  isolate::write_knob(proc + "/clear_refs", "5");  // VmHWM from now on
  long long before = kib("VmRSS");
  auto result =
      client(port_forward_url(pod.id), {"--port-forward", "8080", "--half-pairs", "256", "--bytes",
                                        std::to_string(kMiB), "--timeout", "40"});
  EXPECT_EQ(result.value("reset", 0), 256) << result.dump();
  EXPECT_LT(result.value("seconds", 99.0), 35.0) << result.dump();
  EXPECT_GE(result.value("seconds", 0.0), 29.0) << "reset before the stream creation timeout";
  long long grown = kib("VmHWM") - before;
  EXPECT_LT(grown, 64 * 1024) << "hanokd grew by " << grown << " KiB";
  std::cout << "256 half-pairs reset after " << result.value("seconds", 0.0)
            << " s; hanokd grew by " << grown / 1024 << " MiB\n";
  // The server goes on serving the pod.
  EXPECT_EQ(status_of(client(exec_url(run(pod, container_config("after", kIdle)), {"true"}, false,
                                      true, false, false),
                             {}))
                .value("status", ""),
            "Success");
}

TEST_F(CriStreaming, PortForwardIntoThePod) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("forward");
  std::string web = run(pod, container_config("httpd",
                                              "mkdir -p /www && echo forwarded-page > "
                                              "/www/index.html && exec httpd -f -p 8080 "
                                              "-h /www"));
  ASSERT_TRUE(cri().wait_for_state(web, v1::CONTAINER_RUNNING, 20s));
  // httpd listens inside the pod's own network namespace only.
  EXPECT_EQ(output_of(web, "wget -q -O - http://127.0.0.1:8080/index.html"), "forwarded-page");

  nlohmann::json page;
  poll_until(
      [&] {
        page = client(port_forward_url(pod.id),
                      {"--port-forward", "8080", "--send", "GET /index.html HTTP/1.0\r\n\r\n"});
        return contains(page.value("data", ""), "forwarded-page");
      },
      10s);
  EXPECT_TRUE(contains(page.value("data", ""), "200 OK")) << page.dump();
  EXPECT_TRUE(contains(page.value("data", ""), "forwarded-page")) << page.dump();
  EXPECT_EQ(page.value("error", ""), "");

  auto refused = client(port_forward_url(pod.id), {"--port-forward", "1", "--send", "x"});
  EXPECT_TRUE(contains(refused.value("error", ""), "error forwarding port 1")) << refused.dump();
}

TEST_F(CriStreaming, FiftySessionsAtOnce) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("many");
  std::string id = run(pod, container_config("target", kIdle));
  std::vector<std::string> urls;
  for (int i = 0; i < 50; ++i) {
    urls.push_back(
        exec_url(id, {"sh", "-c", "echo session-" + std::to_string(i)}, false, true, false, false));
  }
  std::vector<std::future<nlohmann::json>> results;
  for (const auto& url : urls) {
    results.push_back(std::async(std::launch::async, [url] { return client(url, {}); }));
  }
  for (int i = 0; i < 50; ++i) {
    auto result = results[i].get();
    EXPECT_EQ(result.value("stdout", ""), "session-" + std::to_string(i) + "\n") << result.dump();
  }
  // Nothing of theirs is left in the bundle.
  auto bundle =
      nlohmann::json::parse(cri().container_status(id, true).info().at("info")).value("bundle", "");
  for (const auto& name : entries_of(bundle)) {
    EXPECT_NE(name.rfind("exec-", 0), 0u) << name << " left in " << bundle;
  }
}

TEST_F(CriStreaming, ClientsThatGetItWrong) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("wrong");
  std::string id = run(pod, container_config("target", kIdle));

  // Requests for stdio that make no sense, and containers that are not running.
  v1::ExecRequest request;
  request.set_container_id(id);
  request.add_cmd("true");
  request.set_tty(true);
  request.set_stderr(true);
  v1::ExecResponse response;
  auto context = cri().context();
  EXPECT_EQ(cri().runtime().Exec(context.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_container_id(kUnknownId);
  request.set_tty(false);
  context = cri().context();
  EXPECT_EQ(cri().runtime().Exec(context.get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  std::string url = exec_url(id, {"echo", "once"}, false, true, false, false);
  // Not an upgrade, an unknown token, a protocol nobody serves.
  EXPECT_TRUE(contains(raw_exchange(url, "GET " + path_of(url) + " HTTP/1.1\r\n\r\n"), " 400 "));
  std::string other = url.substr(0, url.rfind('/') + 1) + std::string(32, 'f');
  EXPECT_TRUE(contains(raw_exchange(other, upgrade_request(other, "")), " 404 "));
  std::string forbidden =
      raw_exchange(url, upgrade_request(url, "X-Stream-Protocol-Version: v9.channel.k8s.io\r\n"));
  EXPECT_TRUE(contains(forbidden, " 403 ")) << forbidden;
  EXPECT_TRUE(contains(forbidden, "X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io"));
  auto used = client(url, {});
  EXPECT_EQ(used.value("stdout", ""), "once\n") << used.dump();
  // Used once: gone.
  auto again = client(url, {});
  EXPECT_EQ(again.value("status", 0), 404) << again.dump();

  // Garbage after the upgrade: a control frame of another SPDY version, a frame longer than the
  // server takes. The connection ends; the daemon goes on.
  for (const std::string& junk : {std::string("\x80\x09\x00\x01\x00\x00\x00\x00", 8),
                                  std::string("\x00\x00\x00\x01\x00\xff\xff\xff", 8)}) {
    std::string fresh = exec_url(id, {"echo", "junk"}, false, true, false, false);
    std::string answer = raw_exchange(
        fresh, upgrade_request(fresh, "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n") + junk);
    EXPECT_TRUE(contains(answer, " 101 ")) << answer;
  }
  EXPECT_EQ(cri().version().runtime_name(), "hanok");
  auto after = client(exec_url(id, {"echo", "still-here"}, false, true, false, false), {});
  EXPECT_EQ(after.value("stdout", ""), "still-here\n");
}

TEST_F(CriStreaming, WebSocketChannels) {
  HANOK_REQUIRE(run_program({"/usr/bin/python3", "-c", "import websocket"}).exit_code == 0,
                "needs python3-websocket");
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("websocket");
  std::string id = run(pod, container_config("target", kIdle));

  // v5: binary channels, the end of stdin as a close signal, the status as a metav1.Status.
  auto v5 = ws_client(
      exec_url(id, {"sh", "-c", "cat; echo to-stderr >&2; exit 3"}, true, true, true, false),
      {"--protocol", "v5.channel.k8s.io", "--protocol", "v4.channel.k8s.io", "--stdin",
       "via websocket\n"});
  EXPECT_EQ(v5.value("protocol", ""), "v5.channel.k8s.io") << v5.dump();
  EXPECT_EQ(v5.value("stdout", ""), "via websocket\n") << v5.dump();
  EXPECT_EQ(v5.value("stderr", ""), "to-stderr\n") << v5.dump();
  auto status = nlohmann::json::parse(v5.value("error", ""), nullptr, false);
  EXPECT_EQ(status.value("reason", ""), "NonZeroExitCode") << v5.dump();
  EXPECT_EQ(status["details"]["causes"][0].value("message", ""), "3") << v5.dump();
  EXPECT_TRUE(v5.value("empty_first", false)) << "no ready message first: " << v5.dump();
  EXPECT_TRUE(v5.value("closed", false));

  // base64 text messages.
  auto text = ws_client(exec_url(id, {"echo", "base64-out"}, false, true, false, false),
                        {"--protocol", "v4.base64.channel.k8s.io"});
  EXPECT_EQ(text.value("protocol", ""), "v4.base64.channel.k8s.io");
  EXPECT_EQ(text.value("stdout", ""), "base64-out\n") << text.dump();
  EXPECT_EQ(nlohmann::json::parse(text.value("error", "{}")).value("status", ""), "Success");

  // Before v4 the error channel carries text.
  auto old = ws_client(exec_url(id, {"sh", "-c", "exit 2"}, false, true, true, false),
                       {"--protocol", "channel.k8s.io"});
  EXPECT_TRUE(contains(old.value("error", ""), "exit code 2")) << old.dump();

  // A terminal's size on the resize channel.
  auto sized = ws_client(exec_url(id, {"sh", "-c", "sleep 1; stty size"}, false, true, false, true),
                         {"--protocol", "v5.channel.k8s.io", "--size", "100x20"});
  EXPECT_TRUE(contains(sized.value("stdout", ""), "20 100")) << sized.dump();

  // Attach, ended by the end of stdin.
  v1::ContainerConfig echo =
      container_config("echo", "while read line; do echo \"got $line\"; done");
  echo.set_stdin(true);
  std::string echo_id = run(pod, echo);
  auto attached = ws_client(attach_url(echo_id, true, true, true),
                            {"--protocol", "v5.channel.k8s.io", "--stdin", "two\n", "--stdin-delay",
                             "0.5", "--keep-stdin", "1"});
  EXPECT_EQ(attached.value("stdout", ""), "got two\n") << attached.dump();
  EXPECT_TRUE(attached.value("closed", false));

  // A protocol nobody serves.
  auto refused = ws_client(exec_url(id, {"true"}, false, true, false, false),
                           {"--protocol", "v9.channel.k8s.io"});
  EXPECT_EQ(refused.value("status", 0), 403) << refused.dump();

  // Port forwarding: the port (8080 = 0x1f90) first on both channels, then the page.
  std::string web = run(pod, container_config("httpd",
                                              "mkdir -p /www && echo ws-page > "
                                              "/www/index.html && exec httpd -f -p 8080 "
                                              "-h /www"));
  ASSERT_TRUE(cri().wait_for_state(web, v1::CONTAINER_RUNNING, 20s));
  const std::vector<std::string> get = {"--port-forward",
                                        "--send",
                                        "GET /index.html HTTP/1.0\r\n\r\n",
                                        "--until",
                                        "ws-page",
                                        "--timeout",
                                        "5",
                                        "--protocol"};
  auto with = [](std::vector<std::string> args, const std::string& last) {
    args.push_back(last);
    return args;
  };
  nlohmann::json page;
  poll_until(
      [&] {
        page = ws_client(port_forward_url(pod.id) + "?port=8080", with(get, "v4.channel.k8s.io"));
        return contains(page.value("data", ""), "ws-page");
      },
      10s);
  EXPECT_TRUE(contains(page.value("data", ""), "200 OK")) << page.dump();
  EXPECT_EQ(page["prefixes"], nlohmann::json::array({"901f", "901f"})) << page.dump();
  auto base64_page =
      ws_client(port_forward_url(pod.id) + "?port=8080", with(get, "v4.base64.channel.k8s.io"));
  EXPECT_TRUE(contains(base64_page.value("data", ""), "ws-page")) << base64_page.dump();
  auto closed = ws_client(
      port_forward_url(pod.id) + "?port=1",
      {"--port-forward", "--protocol", "v4.channel.k8s.io", "--until", "error", "--timeout", "3"});
  EXPECT_TRUE(contains(closed.value("error", ""), "error forwarding port 1")) << closed.dump();
}

// A client that leaves in the middle: its command is ended (nobody would see the rest). A daemon
// stopped under a session: the session ends, the daemon exits in time, its command is ended.
TEST_F(CriStreaming, SessionsEndWithTheirClientAndTheDaemon) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("leaving");
  std::string id = run(pod, container_config("target", kIdle));
  auto count_of = [&](const std::string& marker) {
    // pgrep is not in busybox here: ps and grep, not counting the grep itself.
    return output_of(id, "ps -o args | grep -c '^sleep " + marker + "$' || true");
  };

  auto left =
      client(exec_url(id, {"sleep", "1001"}, false, true, false, false), {"--timeout", "1"});
  EXPECT_FALSE(left.value("finished", true)) << left.dump();
  EXPECT_TRUE(poll_until([&] { return count_of("1001") == "0"; }, 10s))
      << "the exec'd sleep outlived its client";

  std::string url = exec_url(id, {"sleep", "1002"}, false, true, false, false);
  auto pending = std::async(std::launch::async, [url] { return client(url, {"--timeout", "60"}); });
  ASSERT_TRUE(poll_until([&] { return count_of("1002") == "1"; }, 10s));
  auto start = Clock::now();
  int status = daemon_->stop(20);
  EXPECT_NE(status, -1) << "hanokd had to be killed";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(Clock::now() - start, 15s);
  auto ended = pending.get();
  EXPECT_FALSE(ended.value("finished", true)) << ended.dump();
  // The container lives on without hanokd; its exec'd sleep does not.
  ASSERT_TRUE(start_daemon());
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);
  EXPECT_TRUE(poll_until([&] { return count_of("1002") == "0"; }, 10s));
}

// TLS: the URLs are https, a client that trusts the certificate gets its command run, one that
// does not trust it (or speaks plain HTTP) gets nothing.
TEST_F(CriStreaming, Tls) {
  std::string cert = dir_ + "/cert.pem";
  std::string key = dir_ + "/key.pem";
  Result made = run_program({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=hanok-test",
                             "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_TRUE(
      start_daemon("streaming_tls_cert = \"" + cert + "\"\nstreaming_tls_key = \"" + key + "\""));
  Pod pod = run_pod("tls");
  std::string id = run(pod, container_config("target", kIdle));
  std::string url = exec_url(id, {"echo", "over-tls"}, false, true, false, false);
  ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << url;
  auto untrusted = client(url, {});
  EXPECT_TRUE(untrusted.contains("tls_error")) << untrusted.dump();
  std::string plain = "http" + url.substr(5);
  EXPECT_FALSE(contains(raw_exchange(plain, upgrade_request(plain, "")), " 101 "));
  auto trusted = client(url, {"--ca", cert});
  EXPECT_EQ(trusted.value("stdout", ""), "over-tls\n") << trusted.dump();
  EXPECT_EQ(status_of(trusted).value("status", ""), "Success");

  // Both files or neither: hanokd refuses to start with one.
  TestDaemon half(dir_ + "/half", daemon_config("streaming_tls_cert = \"" + cert + "\"", {}));
  EXPECT_FALSE(half.started());
  EXPECT_TRUE(contains(half.log(), "streaming_tls_key")) << half.log();
}

}  // namespace
}  // namespace hanok::test
