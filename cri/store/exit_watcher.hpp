// Private to cri/: learns of container exits as they happen, on a thread of its own.
//   - Monitors write <dir>/<id>.json atomically (a rename) when their container's init exits;
//     an inotify watch on <dir> calls `on_exit(id)` at once.
//   - Each monitor process is watched through a pidfd: one that ends (killed, crashed) calls
//     `on_monitor_gone(id)`, so that a container whose monitor is gone without an exit file is
//     not left "running" until the next restart.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "isolate/unique_fd.hpp"

namespace hanok::cri {

class ExitWatcher {
 public:
  struct Callbacks {
    std::function<void(const std::string& id)> on_exit;  // "" after an inotify overflow: rescan
    std::function<void(const std::string& id)> on_monitor_gone;
  };

  // Watches `dir` from now on; events wait (in the kernel) until start().
  ExitWatcher(std::string dir, Callbacks callbacks);
  ~ExitWatcher();  // stops the thread
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

  // Starts delivering (after the caller looked at what was there before).
  void start();
  // Watches the monitor of container `id` (a pidfd of it, verified by the caller).
  void watch_monitor(const std::string& id, isolate::UniqueFd pidfd);
  void forget_monitor(const std::string& id);

 private:
  void loop();
  void wake();
  std::string dir_;
  Callbacks callbacks_;
  isolate::UniqueFd inotify_;
  isolate::UniqueFd wake_;  // an eventfd: "the monitor set changed" or "stop"
  std::mutex mutex_;
  std::map<std::string, isolate::UniqueFd> monitors_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hanok::cri
