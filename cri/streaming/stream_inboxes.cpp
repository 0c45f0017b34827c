#include "stream_inboxes.hpp"

#include <atomic>
#include <chrono>

namespace hanok::cri {

namespace {
constexpr size_t kInboxLimit = 1 << 20;
constexpr size_t kConnectionLimit = 4 << 20;
constexpr size_t kAllConnectionsLimit = 256 << 20;
// Unread bytes in the inboxes of every connection of the daemon.
std::atomic<size_t> g_buffered{0};
}  // namespace

StreamInboxes::~StreamInboxes() {
  g_buffered -= total_;
}

bool StreamInboxes::open(uint32_t id, bool finished) {
  std::lock_guard lock(mutex_);
  // Ids only grow (as SPDY's and the WebSocket channels' do): one that was ever used, its inbox
  // gone or not, is refused.
  if (opened_any_ && id <= highest_) return false;
  opened_any_ = true;
  highest_ = id;
  if (!finished) inboxes_[id];
  changed_.notify_all();
  return true;
}

void StreamInboxes::release(size_t bytes) {
  total_ -= bytes;
  g_buffered -= bytes;
}

void StreamInboxes::push(uint32_t id, std::string_view data, bool fin) {
  std::unique_lock lock(mutex_);
  // Room in this inbox, in the connection's and in the daemon's (a frame, at most kMaxPayload,
  // 1 MiB, always fits where nothing is held: each connection can go on).
  auto has_room = [&](const std::string& held) {
    bool inbox_room = held.empty() || held.size() + data.size() <= kInboxLimit;
    bool connection_room = total_ == 0 || total_ + data.size() <= kConnectionLimit;
    bool daemon_room = total_ == 0 || g_buffered + data.size() <= kAllConnectionsLimit;
    return inbox_room && connection_room && daemon_room;
  };
  for (;;) {
    auto it = inboxes_.find(id);
    if (closed_ || it == inboxes_.end() || it->second.finished) return;  // gone or stopped
    if (has_room(it->second.data)) {
      it->second.data.append(data);
      total_ += data.size();
      g_buffered += data.size();
      if (fin) it->second.finished = true;
      changed_.notify_all();
      return;
    }
    // Room made on this connection wakes it; room on others is looked for now and then.
    changed_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void StreamInboxes::finish(uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end()) return;
  it->second.finished = true;
  if (it->second.data.empty()) inboxes_.erase(it);  // nothing left to read
  changed_.notify_all();
}

std::string StreamInboxes::read(uint32_t id) {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto it = inboxes_.find(id);
    if (it == inboxes_.end()) return "";  // finished and read, or never there
    if (closed_ || !it->second.data.empty() || it->second.finished) {
      std::string data;
      data.swap(it->second.data);
      release(data.size());
      if (it->second.finished) inboxes_.erase(it);
      changed_.notify_all();
      return data;
    }
    changed_.wait(lock);
  }
}

void StreamInboxes::stop_reading(uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = inboxes_.find(id);
  if (it == inboxes_.end()) return;
  release(it->second.data.size());
  inboxes_.erase(it);  // its memory too
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
