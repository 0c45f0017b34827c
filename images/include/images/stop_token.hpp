// Stopping long work early (a pull, a download, a wait on another pull's download): the caller
// gave up (a cancelled gRPC call, a daemon shutting down) or its deadline passed. The work asks
// the token often and ends with Stopped.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace hanok::images {

enum class StopReason { Cancelled, DeadlineExceeded };

class Stopped : public std::runtime_error {
 public:
  Stopped(StopReason reason, const std::string& what) : std::runtime_error(what), reason_(reason) {}
  StopReason reason() const { return reason_; }

 private:
  StopReason reason_;
};

class StopToken {
 public:
  using Clock = std::chrono::steady_clock;

  StopToken() = default;  // never stops
  StopToken(std::function<bool()> cancelled, Clock::time_point deadline)
      : cancelled_(std::move(cancelled)), deadline_(deadline) {}

  // Why the work should stop now, if it should.
  std::optional<StopReason> reason() const {
    if (cancelled_ && cancelled_()) return StopReason::Cancelled;
    if (Clock::now() >= deadline_) return StopReason::DeadlineExceeded;
    return std::nullopt;
  }
  // Throws Stopped "<what>: cancelled" / "<what>: deadline exceeded".
  void check(const std::string& what) const {
    if (auto why = reason()) {
      throw Stopped(*why,
                    what + (*why == StopReason::Cancelled ? ": cancelled" : ": deadline exceeded"));
    }
  }
  Clock::time_point deadline() const { return deadline_; }
  // This token, stopping also when `also` says so (the other workers of a failed pull).
  StopToken with(const std::function<bool()>& also) const {
    auto mine = cancelled_;
    return StopToken([mine, also] { return (mine && mine()) || also(); }, deadline_);
  }

 private:
  std::function<bool()> cancelled_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace hanok::images
