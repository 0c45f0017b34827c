// Terminal mode through a console socket, and OCI hooks.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "harness.hpp"
#include "isolate/console.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::test {
namespace {

using Terminal = ContainerTest;
using Hooks = ContainerTest;

isolate::UniqueFd listen_unix(const std::string& path) {
  isolate::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::listen(fd.get(), 1), 0);
  return fd;
}

std::string read_until_eof(int fd, int timeout_ms) {
  std::string data;
  char buffer[1024];
  pollfd entry{fd, POLLIN, 0};
  while (::poll(&entry, 1, timeout_ms) > 0) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

TEST_F(Terminal, PtyMasterArrivesOverTheConsoleSocket) {
  std::string socket_path = bundle() + "/console.sock";
  isolate::UniqueFd listener = listen_unix(socket_path);
  config()["process"]["terminal"] = true;
  config()["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
  set_shell("[ -t 0 ] && [ -t 1 ] && echo is-a-tty; tty; stty size; ls -l /dev/console | cut -c1");
  pid_t runner = spawn_hanok({"run", "--console-socket", socket_path, "--bundle", bundle(), "tty"});
  isolate::UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(connection.valid());
  isolate::UniqueFd master = isolate::receive_fd(connection.get());
  ASSERT_TRUE(master.valid());
  std::string output = read_until_eof(master.get(), 5000);
  EXPECT_EQ(wait_background(runner), 0);
  EXPECT_NE(output.find("is-a-tty"), std::string::npos) << output;
  EXPECT_NE(output.find("/dev/pts/0"), std::string::npos) << output;
  EXPECT_NE(output.find("33 111"), std::string::npos) << output;
  EXPECT_NE(output.find("\nc"), std::string::npos) << output;  // /dev/console is the pty
}

TEST_F(Terminal, TerminalWithoutConsoleSocketIsAClearError) {
  config()["process"]["terminal"] = true;
  Result r = run_container("tty2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("console-socket"), std::string::npos) << r.err;
  EXPECT_FALSE(isolate::path_exists(state_root() + "/tty2"));
}

nlohmann::json hook(const std::string& script) {
  return {{"path", "/bin/sh"}, {"args", {"sh", "-c", script}}};
}

TEST_F(Hooks, CalledInOrderWithTheStateOnStdin) {
  std::string log_dir = bundle() + "/hooklog";
  ::mkdir(log_dir.c_str(), 0777);
  std::string log = log_dir + "/log";
  auto host_hook = [&](const std::string& name) {
    return hook("echo " + name + " >> " + log + "; cat > " + log_dir + "/" + name + ".json");
  };
  config()["mounts"].push_back(
      {{"destination", "/hooklog"}, {"type", "bind"}, {"source", log_dir}, {"options", {"bind"}}});
  config()["hooks"] = {
      {"prestart", {host_hook("prestart")}},
      {"createRuntime", {host_hook("createRuntime")}},
      {"createContainer", {host_hook("createContainer")}},
      // startContainer runs inside the container: its /bin/sh, its view of the bind mount.
      {"startContainer", {hook("echo startContainer >> /hooklog/log")}},
      {"poststart", {host_hook("poststart")}},
      {"poststop", {host_hook("poststop")}}};
  set_shell("echo process >> /hooklog/log");
  Result r = run_container("hooked");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string order = isolate::read_file(log);
  // poststart runs once the process was started; it may finish before or after it.
  EXPECT_EQ(order.rfind("prestart\ncreateRuntime\ncreateContainer\nstartContainer\n", 0), 0u)
      << order;
  EXPECT_NE(order.find("poststart\n"), std::string::npos) << order;
  EXPECT_EQ(order.substr(order.size() - 9), "poststop\n") << order;
  auto prestart = nlohmann::json::parse(isolate::read_file(log_dir + "/prestart.json"));
  EXPECT_EQ(prestart["id"], "hooked");
  EXPECT_EQ(prestart["status"], "creating");
  EXPECT_GT(prestart["pid"].get<int>(), 0);
  EXPECT_EQ(prestart["bundle"], bundle());
  auto poststop = nlohmann::json::parse(isolate::read_file(log_dir + "/poststop.json"));
  EXPECT_EQ(poststop["status"], "stopped");
}

TEST_F(Hooks, FailingPrestartFailsTheCreateAndLeavesNothing) {
  config()["hooks"] = {{"prestart", {hook("exit 3")}}};
  Result r = hanok({"create", "--bundle", bundle(), "badhook"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("prestart hook /bin/sh: exited with status 3"), std::string::npos) << r.err;
  EXPECT_FALSE(isolate::path_exists(state_root() + "/badhook"));
}

TEST_F(Hooks, HookTimeoutKillsIt) {
  nlohmann::json slow = hook("sleep 30");
  slow["timeout"] = 1;
  config()["hooks"] = {{"createRuntime", {slow}}};
  Result r = hanok({"create", "--bundle", bundle(), "slowhook"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("timed out after 1s"), std::string::npos) << r.err;
  EXPECT_FALSE(isolate::path_exists(state_root() + "/slowhook"));
}

TEST_F(Hooks, FailingStartContainerHookFailsStart) {
  config()["hooks"] = {{"startContainer", {hook("exit 4")}}};
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "sc"}).exit_code, 0);
  Result start = hanok({"start", "sc"});
  EXPECT_NE(start.exit_code, 0);
  EXPECT_NE(start.err.find("startContainer hook /bin/sh: exited with status 4"), std::string::npos)
      << start.err;
  EXPECT_TRUE(wait_for_status("sc", "stopped"));
}

}  // namespace
}  // namespace hanok::test
