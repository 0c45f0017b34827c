#include "event_bus.hpp"

namespace hanok::cri {

std::optional<runtime::v1::ContainerEventResponse> EventBus::Subscription::next(
    std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait, [&] { return !queue_.empty() || overflowed_; });
  if (queue_.empty() || overflowed_) return std::nullopt;
  auto event = std::move(queue_.front());
  queue_.pop_front();
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
  return subscription;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mutex_);
  subscribers_.remove(subscription);
}

void EventBus::publish(const runtime::v1::ContainerEventResponse& event) {
  std::lock_guard lock(mutex_);
  for (const auto& subscriber : subscribers_) {
    {
      std::lock_guard queue_lock(subscriber->mutex_);
      if (subscriber->overflowed_) continue;
      if (subscriber->queue_.size() >= kQueueLimit) {
        subscriber->overflowed_ = true;
        subscriber->queue_.clear();
      } else {
        subscriber->queue_.push_back(event);
      }
    }
    subscriber->ready_.notify_one();
  }
}

}  // namespace hanok::cri
