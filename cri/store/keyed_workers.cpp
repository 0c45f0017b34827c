#include "keyed_workers.hpp"

#include <spdlog/spdlog.h>

namespace hanok::cri {

KeyedWorkers::KeyedWorkers(size_t threads) : limit_(threads == 0 ? 1 : threads) {}

void KeyedWorkers::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    waiting_.clear();
    threads.swap(threads_);
  }
  changed_.notify_all();
  for (auto& thread : threads) thread.join();
}

void KeyedWorkers::submit_at(const std::string& key, Clock::time_point when,
                             std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    auto it = waiting_.find(key);
    if (it != waiting_.end()) {
      it->second.when = std::min(it->second.when, when);
    } else {
      waiting_.emplace(key, Waiting{when, std::move(work)});
    }
    // A thread more while work outnumbers the idle ones: a burst of exits never queues behind
    // one that hangs while the limit allows another.
    if (waiting_.size() > idle_ && threads_.size() < limit_) {
      threads_.emplace_back([this] { run(); });
    }
  }
  changed_.notify_all();
}

void KeyedWorkers::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return;
    // The earliest due key that is not running.
    auto now = Clock::now();
    auto next = waiting_.end();
    Clock::time_point wake = Clock::time_point::max();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (running_.count(it->first) != 0) continue;
      if (it->second.when <= now) {
        if (next == waiting_.end() || it->second.when < next->second.when) next = it;
      } else {
        wake = std::min(wake, it->second.when);
      }
    }
    if (next == waiting_.end()) {
      ++idle_;
      if (wake == Clock::time_point::max()) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, wake);
      }
      --idle_;
      continue;
    }
    std::string key = next->first;
    std::function<void()> work = std::move(next->second.work);
    waiting_.erase(next);
    running_.insert(key);
    lock.unlock();
    try {
      work();
    } catch (const std::exception& e) {
      spdlog::warn("{}: {}", key, e.what());
    }
    lock.lock();
    running_.erase(key);
    changed_.notify_all();  // the key's next work may run now
  }
}

}  // namespace hanok::cri
