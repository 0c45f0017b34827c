// Private to cri/: one limit on the bytes that many calls hold at once (ExecSync's buffered
// output), each call drawing its share as it grows and giving it back when it ends.
#pragma once

#include <cstddef>
#include <mutex>

namespace hanok::cri {

class ByteBudget {
 public:
  explicit ByteBudget(size_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Takes `bytes` when that many are left (true), else nothing (false).
  bool take(size_t bytes) {
    std::lock_guard lock(mutex_);
    if (bytes > limit_ - used_) return false;
    used_ += bytes;
    return true;
  }
  void give_back(size_t bytes) {
    std::lock_guard lock(mutex_);
    used_ -= bytes < used_ ? bytes : used_;
  }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::mutex mutex_;
  size_t used_ = 0;
};

// What one call holds of a budget; all of it is given back when the share goes.
class BudgetShare {
 public:
  explicit BudgetShare(ByteBudget& budget) : budget_(budget) {}
  ~BudgetShare() { budget_.give_back(held_); }
  BudgetShare(const BudgetShare&) = delete;
  BudgetShare& operator=(const BudgetShare&) = delete;

  // Holds `bytes` more, if the budget has them.
  bool grow(size_t bytes) {
    if (!budget_.take(bytes)) return false;
    held_ += bytes;
    return true;
  }
  const ByteBudget& budget() const { return budget_; }

 private:
  ByteBudget& budget_;
  size_t held_ = 0;
};

}  // namespace hanok::cri
