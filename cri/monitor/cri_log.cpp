#include "cri_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "isolate/clock.hpp"
#include "isolate/error.hpp"

namespace hanok::cri::monitor {

CriLog::CriLog(std::string path) : path_(std::move(path)) {
  reopen();
}

void CriLog::reopen() {
  if (path_.empty()) return;  // no log: output is read and dropped
  // Never through a symlink: a pod that can write below the log directory must not make the
  // monitor (root) append to another file.
  isolate::UniqueFd fd(
      ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd) isolate::throw_sys("open the container log", path_);
  fd_ = std::move(fd);
}

void CriLog::record(const char* stream, char tag, std::string_view text) {
  if (!fd_) return;
  std::string line = isolate::rfc3339_now();
  line += ' ';
  line += stream;
  line += ' ';
  line += tag;
  line += ' ';
  line += text;
  line += '\n';
  // One write per record: appends from one writer never interleave. A full disk loses the
  // record, never the monitor.
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void CriLog::Stream::write(std::string_view data) {
  while (!data.empty()) {
    size_t newline = data.find('\n');
    std::string_view piece = data.substr(0, newline);
    if (pending_.size() + piece.size() >= kMaxLogRecord) {
      // Too long for one record: a part of it now, the rest later.
      size_t take = kMaxLogRecord - pending_.size();
      pending_.append(piece.substr(0, take));
      log_.record(name_, 'P', pending_);
      pending_.clear();
      data.remove_prefix(take);
      continue;
    }
    if (newline == std::string_view::npos) {
      pending_.append(piece);
      return;
    }
    pending_.append(piece);
    log_.record(name_, 'F', pending_);
    pending_.clear();
    data.remove_prefix(newline + 1);
  }
}

void CriLog::Stream::close() {
  if (pending_.empty()) return;
  // The stream ended inside a line: a part (P), as containerd logs it; F would claim a newline
  // the container never wrote.
  log_.record(name_, 'P', pending_);
  pending_.clear();
}

}  // namespace hanok::cri::monitor
