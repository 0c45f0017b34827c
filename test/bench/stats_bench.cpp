// Stats benchmark driver for run-stats-bench.sh: ListContainerStats must take the same time
// whether a container's writable layer holds a million files or none, because hanokd answers the
// writable layer's usage from its background collector (stats_collect_period_ms) and never walks
// the layer in the call.
//
//   hanok_stats_bench --socket PATH --image REF --root DIR [--files N] [--calls M] [--dir DIR]
//                     [--daemon-pid PID]
//
// Pulls REF, runs one pod with two containers (`sh -c 'exec sleep 100000'`), times M
// ListContainerStats calls (empty filter) with both writable layers empty, then creates N empty
// files in the first container's upper dir on the host (ROOT/containers/<id>/upper/many/f<i>,
// ROOT being hanokd's --root), times M calls again, then polls until the collector reports the
// files (writable_layer.inodes_used >= N, up to 120 s) and prints that container's figures and
// when the collector's passes ended. Removes the pod at the end (RemovePodSandbox removes the
// upper dir and the files in it). Each phase starts with 5 untimed calls.
// `--dir`: where the pod's log directory goes (default: a fresh dir under /var/tmp, removed).
// `--daemon-pid`: hanokd's pid, to print its RSS before the files and once it has walked them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cri_client.hpp"

namespace rt = runtime::v1;
using hanok::cri::client::CriClient;
using hanok::cri::client::CriError;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWarmupCalls = 5;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

[[noreturn]] void sys_fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

rt::PodSandboxConfig pod_config(const std::string& dir) {
  rt::PodSandboxConfig config;
  auto* meta = config.mutable_metadata();
  meta->set_name("stats-bench");
  meta->set_namespace_("bench");
  meta->set_uid("stats-bench-" + std::to_string(Clock::now().time_since_epoch().count()));
  config.set_hostname("stats-bench");
  config.set_log_directory(dir + "/logs/" + meta->uid());
  return config;  // namespace options: the defaults
}

rt::ContainerConfig container_config(const std::string& image, int index) {
  rt::ContainerConfig config;
  config.mutable_metadata()->set_name("sleeper-" + std::to_string(index));
  config.mutable_image()->set_image(image);
  config.add_command("sh");
  config.add_args("-c");
  config.add_args("exec sleep 100000");
  config.set_log_path("sleeper-" + std::to_string(index) + ".log");
  return config;
}

struct Layer {
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
  int64_t timestamp = 0;
  // Whether the figure comes from a walk: before the collector's first walk of a container,
  // hanokd answers zeros stamped with the call's own time (the cpu stats' timestamp).
  bool walked = false;
};

// One ListContainerStats call with an empty filter; its wall time in ms.
double list_stats(CriClient& client, rt::ListContainerStatsResponse& response) {
  rt::ListContainerStatsRequest request;
  response.Clear();
  auto context = client.context();
  auto start = Clock::now();
  grpc::Status status = client.runtime().ListContainerStats(context.get(), request, &response);
  double ms = ms_since(start);
  if (!status.ok()) throw CriError("ListContainerStats", status);
  return ms;
}

std::optional<Layer> layer_of(const rt::ListContainerStatsResponse& response,
                              const std::string& id) {
  for (const auto& stats : response.stats()) {
    if (stats.attributes().id() != id) continue;
    const auto& layer = stats.writable_layer();
    return Layer{layer.used_bytes().value(), layer.inodes_used().value(), layer.timestamp(),
                 layer.timestamp() != stats.cpu().timestamp()};
  }
  return std::nullopt;
}

struct Phase {
  std::vector<double> ms;
  uint64_t min_inodes = UINT64_MAX;  // what the calls reported for the first container
  uint64_t max_inodes = 0;
  std::optional<Clock::time_point> reached;  // the first answer with inodes_used >= threshold
  Layer reached_layer;
  Clock::time_point start, end;  // of the timed calls
};

// The collector's passes as the answers show them: each new writable_layer timestamp (when that
// pass's walk of the first container's layer ended) with what it counted.
void note_pass(std::vector<Layer>& passes, const Layer& layer) {
  if (!layer.walked) return;
  if (passes.empty() || passes.back().timestamp != layer.timestamp) passes.push_back(layer);
}

// `calls` timed calls after a few untimed ones. Each answer must list both containers.
Phase time_calls(CriClient& client, int calls, const std::vector<std::string>& ids,
                 std::vector<Layer>* passes = nullptr, uint64_t threshold = UINT64_MAX) {
  rt::ListContainerStatsResponse response;
  for (int i = 0; i < kWarmupCalls; ++i) list_stats(client, response);
  Phase phase;
  phase.start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    phase.ms.push_back(list_stats(client, response));
    for (const auto& id : ids) {
      if (!layer_of(response, id)) {
        throw std::runtime_error("ListContainerStats did not list container " + id);
      }
    }
    Layer layer = *layer_of(response, ids[0]);
    if (passes) note_pass(*passes, layer);
    uint64_t inodes = layer.inodes_used;
    if (inodes >= threshold && !phase.reached) {
      phase.reached = Clock::now();
      phase.reached_layer = layer;
    }
    phase.min_inodes = std::min(phase.min_inodes, inodes);
    phase.max_inodes = std::max(phase.max_inodes, inodes);
  }
  phase.end = Clock::now();
  return phase;
}

void print_phase(const char* name, const Phase& phase) {
  std::printf(
      "%-10s %6zu calls  p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms  "
      "(first container's inodes_used seen: %llu..%llu)\n",
      name, phase.ms.size(), percentile(phase.ms, 0.5), percentile(phase.ms, 0.9),
      *std::max_element(phase.ms.begin(), phase.ms.end()),
      static_cast<unsigned long long>(phase.min_inodes),
      static_cast<unsigned long long>(phase.max_inodes));
  std::fflush(stdout);
}

// A process's VmRSS and VmHWM (peak) in kB, "" when it cannot be read.
std::string rss_of(int pid) {
  if (pid <= 0) return "";
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return "";
  char line[256];
  std::string rss, hwm;
  while (std::fgets(line, sizeof line, f)) {
    long kb = 0;
    if (std::sscanf(line, "VmRSS: %ld", &kb) == 1) rss = std::to_string(kb);
    if (std::sscanf(line, "VmHWM: %ld", &kb) == 1) hwm = std::to_string(kb);
  }
  std::fclose(f);
  return "RSS " + rss + " kB (peak " + hwm + " kB)";
}

// N empty files, created by openat below one directory fd.
void create_files(const std::string& upper, long files) {
  std::string dir = upper + "/many";
  if (::mkdir(dir.c_str(), 0755) != 0) sys_fail("mkdir " + dir);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) sys_fail("open " + dir);
  char name[32];
  for (long i = 0; i < files; ++i) {
    std::snprintf(name, sizeof name, "f%ld", i);
    int fd = ::openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      int saved = errno;
      ::close(dir_fd);
      errno = saved;
      sys_fail("create " + dir + "/" + name);
    }
    ::close(fd);
  }
  ::close(dir_fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, image, root, dir;
  long files = 1000000;
  int calls = 200;
  int daemon_pid = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--socket") {
        socket = value();
      } else if (arg == "--image") {
        image = value();
      } else if (arg == "--root") {
        root = value();
      } else if (arg == "--dir") {
        dir = value();
      } else if (arg == "--files") {
        files = std::stol(value());
      } else if (arg == "--calls") {
        calls = std::stoi(value());
      } else if (arg == "--daemon-pid") {
        daemon_pid = std::stoi(value());
      } else {
        throw std::invalid_argument("unknown argument " + arg);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
      socket.clear();
      break;
    }
  }
  if (socket.empty() || image.empty() || root.empty() || files < 0 || calls < 1) {
    std::fprintf(stderr,
                 "usage: %s --socket PATH --image REF --root DIR [--files N] [--calls M] "
                 "[--dir DIR] [--daemon-pid PID]\n",
                 argv[0]);
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/var/tmp/hanok-stats-bench.XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }

  // RemovePodSandbox of a layer with a million files takes a while: a long deadline.
  CriClient client(socket, std::chrono::seconds(600));
  std::string pod_id;
  int status = 0;
  try {
    client.pull(image);
    auto pod = pod_config(dir);
    pod_id = client.run_pod(pod);
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
      ids.push_back(client.create_container(pod_id, container_config(image, i), pod));
      client.start_container(ids.back());
    }
    for (const auto& id : ids) {
      if (!client.wait_for_state(id, rt::CONTAINER_RUNNING, std::chrono::seconds(60))) {
        throw std::runtime_error("container " + id + " did not run in 60 s");
      }
    }
    std::string upper = root + "/containers/" + ids[0] + "/upper";
    struct stat st {};
    if (::stat(upper.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) sys_fail("upper dir " + upper);
    std::printf("pod %s, containers %s %s\nfirst container's writable layer: %s\n", pod_id.c_str(),
                ids[0].c_str(), ids[1].c_str(), upper.c_str());

    // The steady state: both layers walked once by the collector (its first pass may have come
    // before the containers existed).
    rt::ListContainerStatsResponse response;
    Layer before;
    auto walked_deadline = Clock::now() + std::chrono::seconds(120);
    for (;;) {
      list_stats(client, response);
      before = layer_of(response, ids[0]).value_or(Layer{});
      if (before.walked && layer_of(response, ids[1]).value_or(Layer{}).walked) break;
      if (Clock::now() > walked_deadline) {
        throw std::runtime_error("the collector did not walk the new layers in 120 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf("before: writable_layer used_bytes %llu, inodes_used %llu\n",
                static_cast<unsigned long long>(before.used_bytes),
                static_cast<unsigned long long>(before.inodes_used));

    Phase baseline = time_calls(client, calls, ids);
    print_phase("baseline", baseline);
    if (!rss_of(daemon_pid).empty()) std::printf("hanokd %s\n", rss_of(daemon_pid).c_str());

    auto create_start = Clock::now();
    create_files(upper, files);
    auto created = Clock::now();
    int64_t created_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    std::printf("created %ld empty files in %s/many in %.1f s\n", files, upper.c_str(),
                std::chrono::duration<double>(created - create_start).count());
    std::fflush(stdout);

    uint64_t threshold = static_cast<uint64_t>(files);
    std::vector<Layer> passes;
    Phase loaded = time_calls(client, calls, ids, &passes, threshold);
    char name[32];
    std::snprintf(name, sizeof name, "%ld files", files);
    print_phase(name, loaded);
    std::printf("ratio %s/baseline: p50 %.2f, p90 %.2f\n", name,
                percentile(loaded.ms, 0.5) / percentile(baseline.ms, 0.5),
                percentile(loaded.ms, 0.9) / percentile(baseline.ms, 0.9));
    std::fflush(stdout);

    // The collector catching up: the first answer whose inodes_used counts the files (one of the
    // timed calls above, or a poll every 50 ms), timed from the last file's creation.
    std::optional<Clock::time_point> seen_at = loaded.reached;
    Layer seen = loaded.reached_layer;
    auto deadline = created + std::chrono::seconds(120);
    while (!seen_at && Clock::now() < deadline) {
      list_stats(client, response);
      Layer layer = layer_of(response, ids[0]).value_or(Layer{});
      note_pass(passes, layer);
      if (layer.inodes_used >= threshold) {
        seen_at = Clock::now();
        seen = layer;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!seen_at) throw std::runtime_error("the collector did not report the files in 120 s");
    std::printf(
        "collector: files reported %.1f s after the last one was created "
        "(the walk that counted them ended at +%.1f s)\n",
        std::chrono::duration<double>(*seen_at - created).count(),
        static_cast<double>(seen.timestamp - created_unix_ns) / 1e9);
    // When the passes ended, against the timed calls: a pass that ends after the calls walked
    // the big directory while they ran.
    auto since_created = [&](Clock::time_point t) {
      return std::chrono::duration<double>(t - created).count();
    };
    std::printf(
        "timeline from the last file's creation: the timed calls ran +%.2f..+%.2f s; "
        "collector passes ended",
        since_created(loaded.start), since_created(loaded.end));
    for (const auto& pass : passes) {
      std::printf(" %+.1f s (%llu inodes)",
                  static_cast<double>(pass.timestamp - created_unix_ns) / 1e9,
                  static_cast<unsigned long long>(pass.inodes_used));
    }
    std::printf("\nafter: writable_layer used_bytes %llu (%.1f MiB), inodes_used %llu\n",
                static_cast<unsigned long long>(seen.used_bytes),
                static_cast<double>(seen.used_bytes) / (1024.0 * 1024.0),
                static_cast<unsigned long long>(seen.inodes_used));
    if (!rss_of(daemon_pid).empty()) std::printf("hanokd %s\n", rss_of(daemon_pid).c_str());
    // One more pass: the spacing of two walk ends is the collector's period plus its pass.
    auto next_deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < next_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      list_stats(client, response);
      Layer layer = layer_of(response, ids[0]).value_or(Layer{});
      if (layer.timestamp != seen.timestamp) {
        std::printf(
            "collector: passes end %.2f s apart with the files in place "
            "(period + the walk of both layers)\n",
            static_cast<double>(layer.timestamp - seen.timestamp) / 1e9);
        break;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    status = 1;
  }
  std::fflush(stdout);
  if (!pod_id.empty()) {
    try {
      auto start = Clock::now();
      client.stop_pod(pod_id);
      client.remove_pod(pod_id);
      std::printf("pod stopped and removed (with its writable layers) in %.1f s\n",
                  ms_since(start) / 1000.0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: removing pod %s: %s\n", argv[0], pod_id.c_str(), e.what());
      status = 1;
    }
  }
  if (own_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return status;
}
