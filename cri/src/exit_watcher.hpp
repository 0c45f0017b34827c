// Private to cri/: learns of container exits as they happen. Monitors write <dir>/<id>.json
// atomically (a rename) when their container's init exits; an inotify watch on <dir> calls back
// with the id at once, on a thread of its own.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "isolate/unique_fd.hpp"

namespace hanok::cri {

class ExitWatcher {
 public:
  // Watches `dir` from now on (files already there are the caller's to look at).
  ExitWatcher(std::string dir, std::function<void(const std::string& id)> on_exit);
  ~ExitWatcher();  // stops the thread
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

 private:
  void loop();
  std::string dir_;
  std::function<void(const std::string&)> on_exit_;
  isolate::UniqueFd inotify_;
  isolate::UniqueFd wake_;  // an eventfd: the destructor's "stop"
  std::thread thread_;
};

}  // namespace hanok::cri
