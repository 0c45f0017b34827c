// Private to cri/: work keyed by a container id, on a bounded set of threads: the work of one key
// never runs twice at once, nor waits for another key's (one container's exit stuck in a delete
// delays no other's). A key submitted again while it waits runs once; while it runs, once more
// after. Work may be put off (a retry after a backoff).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hanok::cri {

class KeyedWorkers {
 public:
  using Clock = std::chrono::steady_clock;
  // At most `threads` run at once; they start as work comes.
  explicit KeyedWorkers(size_t threads);
  ~KeyedWorkers() { stop(); }
  // Waits for what runs; what waits is dropped, and so is what is submitted from now on (work
  // that runs may still submit: it is a no-op).
  void stop();
  KeyedWorkers(const KeyedWorkers&) = delete;
  KeyedWorkers& operator=(const KeyedWorkers&) = delete;

  void submit(const std::string& key, std::function<void()> work) {
    submit_at(key, Clock::now(), std::move(work));
  }
  // Not before `when`. A key that waits already keeps its work and the earlier time.
  void submit_at(const std::string& key, Clock::time_point when, std::function<void()> work);

 private:
  struct Waiting {
    Clock::time_point when;
    std::function<void()> work;
  };
  void run();

  size_t limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Waiting> waiting_;
  std::set<std::string> running_;
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hanok::cri
