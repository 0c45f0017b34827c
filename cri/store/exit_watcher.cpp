#include "exit_watcher.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "isolate/error.hpp"

namespace hanok::cri {

ExitWatcher::ExitWatcher(std::string dir, Callbacks callbacks)
    : dir_(std::move(dir)), callbacks_(std::move(callbacks)) {
  inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify_) isolate::throw_sys("inotify_init1 for", dir_);
  if (::inotify_add_watch(inotify_.get(), dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    isolate::throw_sys("watch", dir_);
  }
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) isolate::throw_sys("eventfd for", dir_);
}

ExitWatcher::~ExitWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void ExitWatcher::start() {
  thread_ = std::thread([this] { loop(); });
}

void ExitWatcher::wake() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void ExitWatcher::watch_monitor(const std::string& id, isolate::UniqueFd pidfd) {
  {
    std::lock_guard lock(mutex_);
    monitors_[id] = std::move(pidfd);
  }
  wake();
}

void ExitWatcher::forget_monitor(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    monitors_.erase(id);
  }
  wake();
}

void ExitWatcher::loop() {
  alignas(inotify_event) char buffer[16384];
  for (;;) {
    std::vector<pollfd> fds = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      for (const auto& [id, pidfd] : monitors_) {
        fds.push_back({pidfd.get(), POLLIN, 0});
        ids.push_back(id);
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("exit watcher: poll: {}", isolate::errno_text(errno));
      return;
    }
    if (fds[1].revents != 0) {
      uint64_t count = 0;
      (void)!::read(wake_.get(), &count, sizeof count);
    }
    for (;;) {
      ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t offset = 0; offset < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
        offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        std::string id;
        if (event->mask & IN_Q_OVERFLOW) {
          spdlog::warn("exit watcher: inotify queue overflowed; exits are rescanned");
        } else {
          std::string name = event->len > 0 ? std::string(event->name) : "";
          if (!name.ends_with(".json") || name.size() <= 5) continue;
          id = name.substr(0, name.size() - 5);
        }
        try {
          callbacks_.on_exit(id);
        } catch (const std::exception& e) {
          spdlog::error("container {}: handling its exit: {}", id, e.what());
        }
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      forget_monitor(ids[i - 2]);
      try {
        callbacks_.on_monitor_gone(ids[i - 2]);
      } catch (const std::exception& e) {
        spdlog::error("container {}: handling the end of its monitor: {}", ids[i - 2], e.what());
      }
    }
  }
}

}  // namespace hanok::cri
