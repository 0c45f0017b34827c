// The kubelet's container log format: one line per piece of output,
//   <RFC 3339 nanosecond timestamp> <stdout|stderr> <F|P> <text>\n
// F ends a line the program wrote; P is a part of a longer line (or of one still being written),
// its rest follows in further P records and a final F. The file is reopened on request (log
// rotation) without losing anything in between.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "isolate/unique_fd.hpp"

namespace hanok::cri::monitor {

inline constexpr size_t kMaxLogRecord = size_t{16} * 1024;  // longer lines are split in P parts

class CriLog {
 public:
  // Opens (creates, appends to) `path`; an empty path drops everything. Throws isolate::SysError.
  explicit CriLog(std::string path);
  // Closes and opens the path again (after the kubelet renamed the file away).
  void reopen();
  const std::string& path() const { return path_; }

  // Output of one stream, in whatever pieces read() gave.
  class Stream {
   public:
    Stream(CriLog& log, const char* name) : log_(log), name_(name) {}
    void write(std::string_view data);
    // The stream ended: what is left (a line without a newline) is written as a full line.
    void close();

   private:
    CriLog& log_;
    const char* name_;
    std::string pending_;  // the start of a line not ended yet
  };

 private:
  void record(const char* stream, char tag, std::string_view text);
  std::string path_;
  isolate::UniqueFd fd_;
};

}  // namespace hanok::cri::monitor
