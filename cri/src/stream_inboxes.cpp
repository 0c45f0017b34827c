#include "stream_inboxes.hpp"

namespace hanok::cri {

namespace {
constexpr size_t kInboxLimit = 1 << 20;
}

bool StreamInboxes::open(uint32_t id, bool finished) {
  std::lock_guard lock(mutex_);
  if (inboxes_.count(id) != 0) return false;
  inboxes_[id].finished = finished;
  changed_.notify_all();
  return true;
}

void StreamInboxes::push(uint32_t id, std::string_view data, bool fin) {
  std::unique_lock lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end() || it->second.finished) return;
  changed_.wait(
      lock, [&] { return closed_ || it->second.finished || it->second.data.size() < kInboxLimit; });
  if (closed_ || it->second.finished) return;  // stopped meanwhile
  it->second.data.append(data);
  if (fin) it->second.finished = true;
  changed_.notify_all();
}

void StreamInboxes::finish(uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = inboxes_.find(id);
  if (it != inboxes_.end()) it->second.finished = true;
  changed_.notify_all();
}

std::string StreamInboxes::read(uint32_t id) {
  std::unique_lock lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end()) return "";
  changed_.wait(lock, [&] { return closed_ || !it->second.data.empty() || it->second.finished; });
  std::string data;
  data.swap(it->second.data);
  changed_.notify_all();
  return data;
}

void StreamInboxes::stop_reading(uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end()) return;
  it->second.finished = true;
  it->second.data.clear();
  changed_.notify_all();
}

void StreamInboxes::close_all() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

bool StreamInboxes::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace hanok::cri
