// cgroup v2: creating the directories and enabling controllers, membership, freezing,
// killing and removal. Limits are in cgroup_v2_apply.cpp, statistics in cgroup_v2_stats.cpp.
#include "cgroup_v2.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/text.hpp"

namespace hanok::isolate::cgroup {

using namespace std::chrono_literals;

namespace v2 {

void write_file(const std::string& dir, const std::string& name, std::string_view value) {
  write_knob(dir + "/" + name, value);
}

std::optional<std::string> read_optional(const std::string& dir, const std::string& name) {
  return read_file_if_exists(dir + "/" + name);
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, uint64_t> result;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    if (auto value = parse_u64(line.substr(space + 1)))
      result.emplace(std::string(line.substr(0, space)), *value);
  }
  return result;
}

std::optional<uint64_t> parse_single(std::string_view text) {
  return parse_u64(text);
}

CgroupV2::CgroupV2(std::string path, std::string root)
    : path_(std::move(path)), root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  dir_ = path_ == "/" ? root_ : root_ + path_;
}

namespace {

// Enables in `dir`'s cgroup.subtree_control every controller of kControllers that
// `dir`/cgroup.controllers offers and that is not on yet.
void enable_controllers(const std::string& dir, bool is_root) {
  auto available = read_optional(dir, "cgroup.controllers");
  if (!available) return;  // not a cgroup2 directory (a fake hierarchy in tests)
  auto enabled = read_optional(dir, "cgroup.subtree_control").value_or("");
  auto has = [](const std::string& list, std::string_view name) {
    std::istringstream words(list);
    for (std::string word; words >> word;)
      if (word == name) return true;
    return false;
  };
  for (const char* controller : kControllers) {
    if (!has(*available, controller) || has(enabled, controller)) continue;
    try {
      write_file(dir, "cgroup.subtree_control", std::string("+") + controller);
    } catch (const SysError& e) {
      if (e.error_code() == EBUSY) {
        throw std::runtime_error(
            std::string(e.what()) + " (" + (is_root ? "the hierarchy root " : "") + dir +
            " holds processes of its own, and cgroup v2 allows controllers only for the "
            "children of a cgroup without processes; move them into a child cgroup first)");
      }
      // Like runc: a controller that cannot be enabled here (rootless, nested, cpu with
      // realtime tasks) only fails later if a limit for it is asked for.
      log_warning(std::string("cgroup: ") + e.what());
    }
  }
}

}  // namespace

bool CgroupV2::create() {
  std::string current = root_;
  std::string_view rest = path_;
  bool is_root = true;
  bool made = false;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
    if (name.empty()) continue;
    enable_controllers(current, is_root);
    is_root = false;
    current += '/';
    current += name;
    made = ::mkdir(current.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) throw_sys("mkdir", current);
  }
  return made;
}

int CgroupV2::clone_into_fd() {
  if (!clone_fd_) {
    clone_fd_.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!clone_fd_) throw_sys("open", dir_);
  }
  return clone_fd_.get();
}

void CgroupV2::add_process(pid_t pid) {
  // A task still in TASK_NEW (just forked) is refused with EINVAL: retry briefly, as runc does.
  for (int attempt = 0;; ++attempt) {
    try {
      write_file(dir_, "cgroup.procs", std::to_string(pid));
      return;
    } catch (const SysError& e) {
      if (e.error_code() != EINVAL || attempt == 4) throw;
    }
    std::this_thread::sleep_for(30ms);
  }
}

namespace {
void collect_processes(const std::string& dir, std::vector<pid_t>& pids) {
  auto content = read_optional(dir, "cgroup.procs");
  if (!content) return;  // removed meanwhile
  for (std::string_view line : split(*content, "\n")) {
    if (auto pid = parse_u64(line)) pids.push_back(static_cast<pid_t>(*pid));
  }
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return;
  std::vector<std::string> children;
  while (dirent* entry = ::readdir(stream)) {
    std::string_view name = entry->d_name;
    if (entry->d_type == DT_DIR && name != "." && name != "..") children.emplace_back(name);
  }
  ::closedir(stream);
  for (const std::string& child : children) collect_processes(join_path(dir, child), pids);
}
}  // namespace

std::vector<pid_t> CgroupV2::processes() const {
  if (!exists()) throw_sys("open", dir_ + "/cgroup.procs", ENOENT);
  std::vector<pid_t> pids;
  collect_processes(dir_, pids);
  return pids;
}

std::vector<HierarchyDir> CgroupV2::hierarchy_dirs() const {
  return {{"", dir_}};
}

namespace {
std::optional<bool> frozen_state(std::string_view events_text) {
  auto values = parse_flat_keyed(events_text);
  auto it = values.find("frozen");
  if (it == values.end()) return std::nullopt;
  return it->second != 0;
}
}  // namespace

void CgroupV2::set_frozen(bool frozen) {
  std::string events = dir_ + "/cgroup.events";
  UniqueFd fd(::open(events.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys("open", events);
  write_file(dir_, "cgroup.freeze", frozen ? "1" : "0");

  // The kernel notifies cgroup.events pollers (POLLPRI) when "frozen" changes; poll with a
  // short timeout anyway, and sleep a little when poll says nothing useful (a plain file).
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    char buffer[512];
    ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
    if (n < 0 && errno != EINTR) throw_sys("read", events);
    if (n >= 0 && frozen_state(std::string_view(buffer, static_cast<size_t>(n))) == frozen) return;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    pollfd pfd{fd.get(), POLLPRI, 0};
    int ready = ::poll(&pfd, 1, 100);
    if (ready > 0 && !(pfd.revents & (POLLPRI | POLLERR))) std::this_thread::sleep_for(10ms);
  }
  if (frozen) {
    try {
      write_file(dir_, "cgroup.freeze", "0");  // do not leave it half frozen
    } catch (const SysError&) {
    }
  }
  throw std::runtime_error(std::string(frozen ? "freeze " : "thaw ") + dir_ +
                           ": cgroup.events does not report \"frozen " + (frozen ? "1" : "0") +
                           "\" after 5 s");
}

void CgroupV2::freeze() {
  set_frozen(true);
}

void CgroupV2::thaw() {
  set_frozen(false);
}

bool CgroupV2::frozen() const {
  auto events = read_optional(dir_, "cgroup.events");
  return events && frozen_state(*events).value_or(false);
}

void CgroupV2::kill_all(int signal) {
  if (signal == SIGKILL && path_exists(dir_ + "/cgroup.kill")) {
    write_file(dir_, "cgroup.kill", "1");
    return;
  }
  // Freeze first so that no process forks a child we would miss, signal, then thaw (unless
  // the cgroup was frozen before: a paused container stays paused).
  bool was_frozen = frozen();
  bool froze = false;
  if (!was_frozen) {
    try {
      freeze();
      froze = true;
    } catch (const std::exception& e) {
      log_warning(std::string("cgroup: kill: ") + e.what());
    }
  }
  std::exception_ptr failure;
  try {
    for (pid_t pid : processes()) {
      if (::kill(pid, signal) != 0 && errno != ESRCH)
        throw_sys("kill " + std::to_string(pid) + " in", dir_);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (froze) thaw();
  if (failure) std::rethrow_exception(failure);
}

bool CgroupV2::exists() const {
  struct stat st {};
  return ::stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

// rmdir of `dir` and of the cgroups a container made below it, deepest first. Returns the
// errno of the first failure (0 on success, ENOENT counting as success).
int remove_cgroup_dirs(const std::string& dir) {
  if (DIR* stream = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (dirent* entry = ::readdir(stream)) {
      std::string_view name = entry->d_name;
      if (entry->d_type == DT_DIR && name != "." && name != "..") children.emplace_back(name);
    }
    ::closedir(stream);
    for (const std::string& child : children) {
      int err = remove_cgroup_dirs(join_path(dir, child));
      if (err != 0) return err;
    }
  }
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
  return errno;
}

}  // namespace

void CgroupV2::destroy() {
  if (path_ == "/") throw std::invalid_argument("cgroup: refusing to remove the hierarchy root");
  clone_fd_.reset();
  // After kill_all(SIGKILL) the processes take a moment to exit and leave the cgroup.
  auto deadline = std::chrono::steady_clock::now() + 1s;
  auto pause = 5ms;
  for (;;) {
    int err = remove_cgroup_dirs(dir_);
    if (err == 0) return;
    if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) throw_sys("rmdir", dir_, err);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace v2

std::unique_ptr<Cgroup> make_cgroup_v2(const std::string& path, const std::string& root) {
  std::string normalized;
  std::string_view rest = path;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
    if (name.empty()) continue;
    if (name == "." || name == "..") {
      throw std::invalid_argument("cgroup path \"" + path + "\": \"" + std::string(name) +
                                  "\" is not allowed");
    }
    normalized += '/';
    normalized += name;
  }
  if (normalized.empty()) normalized = "/";
  return std::make_unique<v2::CgroupV2>(std::move(normalized), root);
}

}  // namespace hanok::isolate::cgroup
