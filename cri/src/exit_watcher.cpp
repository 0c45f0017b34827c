#include "exit_watcher.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdint>

#include "isolate/error.hpp"

namespace hanok::cri {

ExitWatcher::ExitWatcher(std::string dir, std::function<void(const std::string& id)> on_exit)
    : dir_(std::move(dir)), on_exit_(std::move(on_exit)) {
  inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify_) isolate::throw_sys("inotify_init1 for", dir_);
  if (::inotify_add_watch(inotify_.get(), dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    isolate::throw_sys("watch", dir_);
  }
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) isolate::throw_sys("eventfd for", dir_);
  thread_ = std::thread([this] { loop(); });
}

ExitWatcher::~ExitWatcher() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void ExitWatcher::loop() {
  alignas(inotify_event) char buffer[16384];
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("exit watcher: poll: {}", isolate::errno_text(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    for (;;) {
      ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t offset = 0; offset < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
        offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if (event->mask & IN_Q_OVERFLOW) {
          spdlog::warn("exit watcher: inotify queue overflowed; exits are rescanned");
          on_exit_("");
          continue;
        }
        if (event->len == 0) continue;
        std::string name(event->name);
        const std::string suffix = ".json";
        if (name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
          continue;
        }
        std::string id = name.substr(0, name.size() - suffix.size());
        try {
          on_exit_(id);
        } catch (const std::exception& e) {
          spdlog::error("container {}: handling its exit: {}", id, e.what());
        }
      }
    }
  }
}

}  // namespace hanok::cri
