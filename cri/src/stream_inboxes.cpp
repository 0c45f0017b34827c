#include "stream_inboxes.hpp"

namespace hanok::cri {

namespace {
constexpr size_t kInboxLimit = 1 << 20;
constexpr size_t kConnectionLimit = 4 << 20;
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
  // Room in this inbox and in the connection's (a frame always fits an empty one: a frame is at
  // most kMaxPayload, 1 MiB).
  changed_.wait(lock, [&] {
    const std::string& held = it->second.data;
    bool inbox_room = held.empty() || held.size() + data.size() <= kInboxLimit;
    bool connection_room = total_ == 0 || total_ + data.size() <= kConnectionLimit;
    return closed_ || it->second.finished || (inbox_room && connection_room);
  });
  if (closed_ || it->second.finished) return;  // stopped meanwhile
  it->second.data.append(data);
  total_ += data.size();
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
  total_ -= data.size();
  changed_.notify_all();
  return data;
}

void StreamInboxes::stop_reading(uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end()) return;
  it->second.finished = true;
  total_ -= it->second.data.size();
  std::string().swap(it->second.data);  // its memory too
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
