// Pod start benchmark driver for run-pod-bench.sh: the kubelet's path to a running container
// (RunPodSandbox, CreateContainer, StartContainer, then ContainerStatus until RUNNING), then
// StopPodSandbox + RemovePodSandbox, over the CRI, against one or more runtimes in turn (round i
// runs on each endpoint before round i+1), so that drift on the machine hits all of them alike.
//
//   hanok_pod_bench --image IMAGE --rounds N --dir DIR NAME=ENDPOINT...
//     prints per endpoint: start and teardown medians and p90 (ms), and writes DIR/NAME.times
//   hanok_pod_bench --image IMAGE --hold N --dir DIR NAME=ENDPOINT
//     starts N pods with a running container each, prints "held", waits for a line on stdin,
//     then removes them (for memory measurements while they run)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cri_client.hpp"
#include "exec_latency.hpp"

namespace rt = runtime::v1;
using hanok::cri::client::CriClient;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  std::string name;
  std::unique_ptr<CriClient> client;
  std::vector<double> start_ms;
  std::vector<double> teardown_ms;
};

rt::PodSandboxConfig pod_config(const std::string& dir, int round) {
  rt::PodSandboxConfig config;
  auto* meta = config.mutable_metadata();
  meta->set_name("bench-" + std::to_string(round));
  meta->set_namespace_("bench");
  meta->set_uid("bench-uid-" + std::to_string(round) + "-" +
                std::to_string(Clock::now().time_since_epoch().count()));
  config.set_hostname("bench-" + std::to_string(round));
  config.set_log_directory(dir + "/logs/" + meta->uid());
  // What the kubelet sends for a plain pod: its own network and IPC, a PID namespace per
  // container.
  auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(rt::POD);
  ns->set_ipc(rt::POD);
  ns->set_pid(rt::CONTAINER);
  return config;
}

rt::ContainerConfig container_config(const std::string& image) {
  rt::ContainerConfig config;
  config.mutable_metadata()->set_name("sleeper");
  config.mutable_image()->set_image(image);
  config.add_command("sleep");
  config.add_args("3600");
  config.set_log_path("sleeper.log");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      rt::CONTAINER);
  return config;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A running pod + container; returns the pod id.
std::string start_pod(CriClient& client, const std::string& image, const std::string& dir,
                      int round) {
  auto pod = pod_config(dir, round);
  std::string pod_id = client.run_pod(pod);
  std::string id = client.create_container(pod_id, container_config(image), pod);
  client.start_container(id);
  if (!client.wait_for_state(id, rt::CONTAINER_RUNNING, std::chrono::seconds(60))) {
    throw std::runtime_error("container " + id + " did not run in 60 s");
  }
  return pod_id;
}

void remove_pod(CriClient& client, const std::string& pod_id) {
  client.stop_pod(pod_id);
  client.remove_pod(pod_id);
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

// Exec latency: one running container per runtime, `exec_rounds` execs of `true` each,
// alternating, after a warm-up exec.
void print_exec_latency(std::vector<Target>& targets, const std::string& image,
                        const std::string& dir, int exec_rounds) {
  std::vector<std::string> pods;
  std::vector<std::string> containers;
  std::vector<std::vector<double>> times(targets.size());
  for (auto& target : targets) {
    pods.push_back(start_pod(*target.client, image, dir, 1000));
    auto listed = target.client->list_containers();
    for (const auto& container : listed) {
      if (container.pod_sandbox_id() == pods.back()) containers.push_back(container.id());
    }
    hanok::bench::timed_exec(*target.client, containers.back());
  }
  for (int round = 0; round < exec_rounds; ++round) {
    for (size_t i = 0; i < targets.size(); ++i) {
      times[i].push_back(hanok::bench::timed_exec(*targets[i].client, containers[i]));
    }
  }
  std::printf("\nexec of true (Exec call, SPDY upgrade, exit status), %d each, alternating:\n",
              exec_rounds);
  std::printf("%-12s %12s %12s\n", "runtime", "exec p50", "exec p90");
  for (size_t i = 0; i < targets.size(); ++i) {
    std::printf("%-12s %9.1f ms %9.1f ms\n", targets[i].name.c_str(), percentile(times[i], 0.5),
                percentile(times[i], 0.9));
  }
  for (size_t i = 1; i < targets.size(); ++i) {
    std::printf("ratio %s/%s: exec p50 %.2f, exec p90 %.2f\n\n", targets[0].name.c_str(),
                targets[i].name.c_str(), percentile(times[0], 0.5) / percentile(times[i], 0.5),
                percentile(times[0], 0.9) / percentile(times[i], 0.9));
  }
  for (size_t i = 0; i < targets.size(); ++i) remove_pod(*targets[i].client, pods[i]);
}

int main(int argc, char** argv) {
  std::string image;
  std::string dir = "/var/tmp";
  int rounds = 20;
  int hold = 0;
  int exec_rounds = 0;
  std::vector<Target> targets;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--image") {
      image = value();
    } else if (arg == "--rounds") {
      rounds = std::stoi(value());
    } else if (arg == "--exec-rounds") {
      exec_rounds = std::stoi(value());
    } else if (arg == "--hold") {
      hold = std::stoi(value());
    } else if (arg == "--dir") {
      dir = value();
    } else if (auto eq = arg.find('='); eq != std::string::npos) {
      Target target;
      target.name = arg.substr(0, eq);
      target.client = std::make_unique<CriClient>(arg.substr(eq + 1), std::chrono::seconds(120));
      targets.push_back(std::move(target));
    } else {
      std::fprintf(stderr,
                   "usage: %s --image IMAGE [--rounds N|--hold N] --dir DIR NAME=ENDPOINT...\n",
                   argv[0]);
      return 2;
    }
  }
  if (image.empty() || targets.empty()) {
    std::fprintf(stderr, "%s: --image and at least one NAME=ENDPOINT are needed\n", argv[0]);
    return 2;
  }
  try {
    for (auto& target : targets) target.client->pull(image);
    if (hold > 0) {
      std::vector<std::string> pods;
      for (int i = 0; i < hold; ++i) pods.push_back(start_pod(*targets[0].client, image, dir, i));
      std::printf("held %d pods\n", hold);
      std::fflush(stdout);
      std::string line;
      std::getline(std::cin, line);
      for (const auto& pod : pods) remove_pod(*targets[0].client, pod);
      return 0;
    }
    // One warm-up round each (first-use costs: page cache, the image's first rootfs).
    for (auto& target : targets)
      remove_pod(*target.client, start_pod(*target.client, image, dir, -1));
    for (int round = 0; round < rounds; ++round) {
      for (auto& target : targets) {
        auto start = Clock::now();
        std::string pod = start_pod(*target.client, image, dir, round);
        target.start_ms.push_back(ms_since(start));
        auto teardown = Clock::now();
        remove_pod(*target.client, pod);
        target.teardown_ms.push_back(ms_since(teardown));
      }
    }
    std::printf("%-12s %12s %12s %14s %14s\n", "runtime", "start p50", "start p90", "teardown p50",
                "teardown p90");
    for (auto& target : targets) {
      std::printf("%-12s %9.1f ms %9.1f ms %11.1f ms %11.1f ms\n", target.name.c_str(),
                  percentile(target.start_ms, 0.5), percentile(target.start_ms, 0.9),
                  percentile(target.teardown_ms, 0.5), percentile(target.teardown_ms, 0.9));
      std::ofstream out(dir + "/" + target.name + ".times");
      for (size_t i = 0; i < target.start_ms.size(); ++i) {
        out << target.start_ms[i] << " " << target.teardown_ms[i] << "\n";
      }
    }
    if (exec_rounds > 0) print_exec_latency(targets, image, dir, exec_rounds);
    if (targets.size() >= 2) {
      for (size_t i = 1; i < targets.size(); ++i) {
        std::printf(
            "ratio %s/%s: start p50 %.2f, start p90 %.2f, teardown p50 %.2f\n",
            targets[0].name.c_str(), targets[i].name.c_str(),
            percentile(targets[0].start_ms, 0.5) / percentile(targets[i].start_ms, 0.5),
            percentile(targets[0].start_ms, 0.9) / percentile(targets[i].start_ms, 0.9),
            percentile(targets[0].teardown_ms, 0.5) / percentile(targets[i].teardown_ms, 0.5));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
