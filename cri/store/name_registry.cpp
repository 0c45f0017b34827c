#include "name_registry.hpp"

#include "isolate/random.hpp"

namespace hanok::cri {

std::string new_id() {
  return isolate::random_hex(32);
}

std::string NameRegistry::reserve(const std::string& name, const std::string& id) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = names_.emplace(name, id);
  if (inserted || it->second == id) return "";
  return it->second;
}

void NameRegistry::release(const std::string& name, const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = names_.find(name);
  if (it != names_.end() && it->second == id) names_.erase(it);
}

IdLock IdLocks::lock(const std::string& id) {
  std::shared_ptr<std::mutex> mutex;
  {
    std::lock_guard guard(mutex_);
    auto& slot = locks_[id];
    if (!slot) slot = std::make_shared<std::mutex>();
    mutex = slot;
  }
  return IdLock(std::move(mutex));
}

void IdLocks::forget(const std::string& id) {
  std::lock_guard guard(mutex_);
  locks_.erase(id);
}

}  // namespace hanok::cri
