// Private to cri/: container and pod lifecycle events (created, started, stopped, deleted) to
// every subscriber (GetContainerEvents). Publishing never blocks: each subscriber has a bounded
// queue (in events and in bytes: an event carries its pod's whole status), and one that falls too
// far behind is ended (it sees `overflowed`) rather than silently losing events or slowing the
// runtime. An event is shared by the queues, never copied per subscriber.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>

#include "runtime_v1.pb.h"

namespace hanok::cri {

class EventBus {
 public:
  using Event = std::shared_ptr<const runtime::v1::ContainerEventResponse>;
  static constexpr size_t kQueueLimit = 4096;
  static constexpr size_t kQueueByteLimit = 64 << 20;

  class Subscription {
   public:
    // The next event, or null after `wait` passed without one (or once overflowed/closed).
    Event next(std::chrono::milliseconds wait);
    bool overflowed() const;

   private:
    friend class EventBus;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::pair<Event, size_t>> queue_;  // with each event's size
    size_t queued_bytes_ = 0;
    bool overflowed_ = false;
  };

  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);
  // Whether anyone listens (an event nobody gets need not be made).
  bool has_subscribers() const { return subscribers_count_.load() > 0; }
  void publish(runtime::v1::ContainerEventResponse event);

 private:
  std::mutex mutex_;
  std::list<std::shared_ptr<Subscription>> subscribers_;
  std::atomic<size_t> subscribers_count_{0};
};

}  // namespace hanok::cri
