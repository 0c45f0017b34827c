// Private to cri/: container lifecycle events (created, started, stopped, deleted) to every
// subscriber (GetContainerEvents). Publishing never blocks: each subscriber has a bounded queue,
// and one that falls too far behind is ended (it sees `overflowed`) rather than silently losing
// events or slowing the runtime.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "runtime_v1.pb.h"

namespace hanok::cri {

class EventBus {
 public:
  static constexpr size_t kQueueLimit = 4096;

  class Subscription {
   public:
    // The next event, or nullopt after `wait` passed without one (or once overflowed/closed).
    std::optional<runtime::v1::ContainerEventResponse> next(std::chrono::milliseconds wait);
    bool overflowed() const;

   private:
    friend class EventBus;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<runtime::v1::ContainerEventResponse> queue_;
    bool overflowed_ = false;
  };

  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);
  void publish(const runtime::v1::ContainerEventResponse& event);

 private:
  std::mutex mutex_;
  std::list<std::shared_ptr<Subscription>> subscribers_;
};

}  // namespace hanok::cri
