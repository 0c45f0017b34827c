// hanok-monitor: the small single-threaded helpers hanokd starts by exec.
//   hanok-monitor container FLAGS   one container's monitor (cri/monitor/monitor.hpp)
//   hanok-monitor pod FLAGS         a pod's pinned namespaces and init
//   (cri/monitor/pod_sandbox.hpp)
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "monitor.hpp"
#include "pod_sandbox.hpp"

int main(int argc, char** argv) {
  if (argc >= 1 && std::string(argv[0]) == "hanok-pod-init") hanok::cri::monitor::run_pod_init();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || (args[0] != "container" && args[0] != "pod")) {
    std::fprintf(stderr, "usage: hanok-monitor container|pod FLAGS (started by hanokd)\n");
    return 2;
  }
  std::string mode = args[0];
  args.erase(args.begin());
  try {
    if (mode == "container") {
      return hanok::cri::monitor::run_monitor(hanok::cri::monitor::parse_monitor_flags(args));
    }
    return hanok::cri::monitor::run_pod_sandbox(hanok::cri::monitor::parse_pod_sandbox_flags(args));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hanok-monitor %s: %s\n", mode.c_str(), e.what());
    return 2;
  }
}
