// Private to cri/: the programs hanokd starts (always by posix_spawn, never by fork in the
// daemon): the OCI runtime `hanok` for a container's start, kill, delete, update and exec, and
// `hanok-monitor` for containers and pods.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "captured_run.hpp"

namespace hanok::cri {

// Where the helper binaries are: as configured, else next to hanokd's own executable.
struct HelperBinaries {
  std::string runtime;  // hanok
  std::string monitor;  // hanok-monitor
};
HelperBinaries locate_helpers(const std::string& runtime, const std::string& monitor);

// How long a runtime command may take before it is killed: none does unless something is
// wrong (a container stuck in D state).
inline constexpr std::chrono::seconds kRuntimeCommandTimeout{60};

class RuntimeCli {
 public:
  RuntimeCli(std::string binary, std::string root)
      : binary_(std::move(binary)), root_(std::move(root)) {}
  const std::string& binary() const { return binary_; }
  const std::string& root() const { return root_; }

  // `hanok --root R [--systemd-cgroup] ARGS...` (killed after a minute); throws isolate::Error
  // (Internal) with the runtime's own message when it fails.
  void run(const std::vector<std::string>& args, bool systemd_cgroup = false,
           std::chrono::seconds timeout = kRuntimeCommandTimeout,
           const images::StopToken& stop = images::StopToken()) const;
  // `hanok checkpoint` into `dir`/checkpoint (CRIU's images; its log in `dir`), the container
  // left running; bounded by `timeout` and `stop`.
  void checkpoint(const std::string& id, const std::string& dir, std::chrono::seconds timeout,
                  const images::StopToken& stop) const;
  void start(const std::string& id) const { run({"start", id}); }
  // The container's status as the runtime sees it ("created", "running", "stopped", ...); ""
  // when the runtime has no such container.
  std::string status(const std::string& id) const;
  void kill(const std::string& id, int signal, bool all) const;
  void remove(const std::string& id, bool force,
              std::chrono::seconds timeout = kRuntimeCommandTimeout) const;
  // `hanok update --resources FILE ID` with linux.resources JSON.
  void update(const std::string& id, const nlohmann::json& resources, bool systemd_cgroup,
              const std::string& scratch_dir) const;

 private:
  std::vector<std::string> base(bool systemd_cgroup) const;
  std::string binary_;
  std::string root_;
};

}  // namespace hanok::cri
