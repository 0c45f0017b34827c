#include "event_bus.hpp"

namespace hanok::cri {

EventBus::Event EventBus::Subscription::next(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [&] { return !queue_.empty() || overflowed_; });
  if (queue_.empty() || overflowed_) return nullptr;
  auto [event, size] = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= size;
  return event;
}

bool EventBus::Subscription::overflowed() const {
  std::lock_guard lock(mutex_);
  return overflowed_;
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
  auto subscription = std::make_shared<Subscription>();
  std::lock_guard lock(mutex_);
  subscribers_.push_back(subscription);
  subscribers_count_ = subscribers_.size();
  return subscription;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mutex_);
  subscribers_.remove(subscription);
  subscribers_count_ = subscribers_.size();
}

void EventBus::publish(runtime::v1::ContainerEventResponse event) {
  size_t size = event.ByteSizeLong();
  Event shared = std::make_shared<const runtime::v1::ContainerEventResponse>(std::move(event));
  std::lock_guard lock(mutex_);
  for (const auto& subscriber : subscribers_) {
    {
      std::lock_guard queue_lock(subscriber->mutex_);
      if (subscriber->overflowed_) continue;
      if (subscriber->queue_.size() >= kQueueLimit ||
          subscriber->queued_bytes_ + size > kQueueByteLimit) {
        subscriber->overflowed_ = true;
        subscriber->queue_.clear();
        subscriber->queued_bytes_ = 0;
      } else {
        subscriber->queue_.emplace_back(shared, size);
        subscriber->queued_bytes_ += size;
      }
    }
    subscriber->ready_.notify_one();
  }
}

}  // namespace hanok::cri
