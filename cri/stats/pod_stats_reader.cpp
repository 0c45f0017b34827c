#include "pod_stats_reader.hpp"

#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "isolate/clock.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "pod_layout.hpp"
#include "stats_reader.hpp"

namespace hanok::cri {

namespace {
// /proc/net/dev as seen from the network namespace `netns` (read on a thread that joined it:
// /proc/thread-self/net shows the reading thread's namespace).
std::string net_dev_in(const std::string& netns) {
  std::string text;
  std::thread([&] {
    isolate::UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0) return;
    text = isolate::read_file_if_exists("/proc/thread-self/net/dev").value_or("");
  }).join();
  return text;
}
}  // namespace

std::vector<InterfaceCounters> parse_net_dev(const std::string& text) {
  std::vector<InterfaceCounters> interfaces;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    InterfaceCounters counters;
    std::istringstream name(line.substr(0, colon));
    name >> counters.name;
    if (counters.name.empty() || counters.name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t values[16] = {};
    for (auto& value : values) fields >> value;
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets
    // errs ...
    counters.rx_bytes = values[0];
    counters.rx_errors = values[2];
    counters.tx_bytes = values[8];
    counters.tx_errors = values[10];
    interfaces.push_back(counters);
  }
  return interfaces;
}

runtime::v1::PodSandboxStats pod_stats(const StatsCollector& collector, const store::PodRecord& pod,
                                       const std::vector<store::ContainerRecord>& containers) {
  runtime::v1::PodSandboxStats out;
  auto* attributes = out.mutable_attributes();
  attributes->set_id(pod.id());
  *attributes->mutable_metadata() = pod.config().metadata();
  *attributes->mutable_labels() = pod.config().labels();
  *attributes->mutable_annotations() = pod.config().annotations();
  int64_t now = isolate::unix_now_ns();
  auto* pod_linux = out.mutable_linux();
  if (pod.state() == runtime::v1::SANDBOX_READY) {
    runtime::v1::IoUsage io;
    read_cgroup_usage(collector, pod.cgroup_path(), now,
                      {pod_linux->mutable_cpu(), pod_linux->mutable_memory(), nullptr,
                       pod_linux->mutable_process(), &io});
    if (io.timestamp() > 0) *pod_linux->mutable_io() = io;
    std::string netns = pinned_namespace(pod, "net");
    bool own_network =
        pod.config().linux().security_context().namespace_options().network() != runtime::v1::NODE;
    if (own_network && isolate::path_exists(netns)) {
      auto* network = pod_linux->mutable_network();
      network->set_timestamp(now);
      for (const auto& counters : parse_net_dev(net_dev_in(netns))) {
        runtime::v1::NetworkInterfaceUsage usage;
        usage.set_name(counters.name);
        usage.mutable_rx_bytes()->set_value(counters.rx_bytes);
        usage.mutable_rx_errors()->set_value(counters.rx_errors);
        usage.mutable_tx_bytes()->set_value(counters.tx_bytes);
        usage.mutable_tx_errors()->set_value(counters.tx_errors);
        if (counters.name == "eth0") *network->mutable_default_interface() = usage;
        *network->add_interfaces() = usage;
      }
    }
  }
  for (const auto& container : containers) {
    if (container.pod_id() == pod.id())
      *pod_linux->add_containers() = container_stats(collector, container);
  }
  return out;
}

}  // namespace hanok::cri
