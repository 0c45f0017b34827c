#include "oci/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/process.hpp"
#include "isolate/sealed_exe.hpp"

namespace hanok::oci {

const char* status_name(Status status) {
  switch (status) {
    case Status::Creating:
      return "creating";
    case Status::Created:
      return "created";
    case Status::Running:
      return "running";
    case Status::Paused:
      return "paused";
    case Status::Stopped:
      return "stopped";
  }
  return "unknown";
}

void validate_container_id(const std::string& id) {
  using isolate::Error;
  using isolate::ErrorKind;
  if (id.empty()) throw Error(ErrorKind::Invalid, "container id cannot be empty");
  bool valid = id.size() <= 1024 && id[0] != '.' && std::all_of(id.begin(), id.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' ||
                        c == '-' || c == '.';
               });
  if (!valid) throw Error(ErrorKind::Invalid, "invalid container ID format: \"" + id + "\"");
}

std::string ContainerLock::path_of(const std::string& name) const {
  return "/proc/self/fd/" + std::to_string(dir_.get()) + "/" + name;
}

StateStore::StateStore(std::string root) : root_(std::move(root)) {}

std::string StateStore::dir_of(const std::string& id) const {
  return root_ + "/" + id;
}

namespace {
[[noreturn]] void not_found() {
  throw isolate::Error(isolate::ErrorKind::NotFound, "container does not exist");
}

// Waits for the lock on `dir`, and makes sure it is still the directory at that path: a delete may
// have removed it (and a create made a new one) while this waited.
ContainerLock lock_dir(const std::string& dir) {
  isolate::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) not_found();
    isolate::throw_sys("open the state directory", dir);
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) isolate::throw_sys("lock the state directory", dir);
  }
  struct stat locked {
  }, now{};
  if (::fstat(fd.get(), &locked) != 0) isolate::throw_sys("stat the state directory", dir);
  if (::lstat(dir.c_str(), &now) != 0 || now.st_ino != locked.st_ino ||
      now.st_dev != locked.st_dev) {
    not_found();
  }
  return ContainerLock(std::move(fd));
}

[[noreturn]] void already_exists() {
  throw isolate::Error(isolate::ErrorKind::AlreadyExists, "container with given ID already exists");
}
}  // namespace

// The directory is made under a temporary name, locked, and only then renamed into place: no
// other command ever sees it unlocked (a delete takes an unlocked directory without state for
// the leftover of a killed create, and removes it).
ContainerLock StateStore::create_locked(const std::string& id) const {
  validate_container_id(id);
  isolate::make_dirs(root_, 0711);
  std::string dir = dir_of(id);
  if (isolate::path_exists(dir)) already_exists();
  std::string name_template = root_ + "/.creating-" + id + "-XXXXXX";
  if (::mkdtemp(name_template.data()) == nullptr) isolate::throw_sys("mkdir", name_template);
  const std::string& temporary = name_template;
  isolate::UniqueFd fd(::open(temporary.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd || ::flock(fd.get(), LOCK_EX) != 0 || ::fchmod(fd.get(), 0711) != 0) {
    int err = errno;
    ::rmdir(temporary.c_str());
    isolate::throw_sys("lock the state directory", temporary, err);
  }
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    ::rmdir(temporary.c_str());
    if (err == EEXIST) already_exists();
    isolate::throw_sys("rename into place", dir, err);
  }
  return ContainerLock(std::move(fd));
}

ContainerLock StateStore::lock(const std::string& id) const {
  validate_container_id(id);
  return lock_dir(dir_of(id));
}

void StateStore::save(const ContainerState& state) const {
  nlohmann::json doc = {{"id", state.id},
                        {"status", status_name(state.recorded)},
                        {"pid", state.pid},
                        {"pidStartTime", state.pid_start_time},
                        {"bundle", state.bundle},
                        {"rootfs", state.rootfs},
                        {"created", state.created},
                        {"owner", state.owner},
                        {"annotations", state.annotations},
                        {"config", state.config_json},
                        {"cgroupPath", state.cgroup.path},
                        {"cgroupControllerPaths", state.cgroup.controller_paths},
                        {"cgroupCreated", state.cgroup_created},
                        {"resources", state.resources}};
  isolate::write_file_atomic(dir_of(state.id) + "/state.json", doc.dump());
}

ContainerState StateStore::load(const std::string& id) const {
  validate_container_id(id);
  std::string path = dir_of(id) + "/state.json";
  std::string text;
  try {
    text = isolate::read_file(path);
  } catch (const isolate::SysError& e) {
    if (e.error_code() == ENOENT) not_found();
    throw;
  }
  try {
    auto doc = nlohmann::json::parse(text);
    ContainerState state;
    state.id = doc.at("id").get<std::string>();
    state.recorded =
        doc.value("status", "created") == "running" ? Status::Running : Status::Created;
    state.pid = doc.at("pid").get<pid_t>();
    state.pid_start_time = doc.at("pidStartTime").get<uint64_t>();
    state.bundle = doc.at("bundle").get<std::string>();
    state.rootfs = doc.at("rootfs").get<std::string>();
    state.created = doc.at("created").get<std::string>();
    state.owner = doc.value("owner", "");
    state.annotations = doc.value("annotations", std::map<std::string, std::string>{});
    state.config_json = doc.value("config", "");
    state.cgroup.path = doc.value("cgroupPath", "");
    state.cgroup.controller_paths =
        doc.value("cgroupControllerPaths", std::map<std::string, std::string>{});
    state.cgroup_created = doc.value("cgroupCreated", false);
    state.resources = doc.value("resources", nlohmann::json());
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": corrupt state: " + e.what());
  }
}

bool StateStore::exists(const std::string& id) const {
  return isolate::path_exists(dir_of(id) + "/state.json");
}

void StateStore::remove(const std::string& id) const {
  isolate::remove_tree(dir_of(id));
}

std::vector<std::string> StateStore::list_ids() const {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root_.c_str());
  if (dir == nullptr) return ids;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (isolate::path_exists(root_ + "/" + name + "/state.json")) ids.push_back(name);
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status StateStore::status_of(const ContainerState& state) const {
  if (!isolate::process_alive(state.pid, state.pid_start_time)) return Status::Stopped;
  // A `start` killed after its init executed the process never recorded it: the kernel knows.
  if (state.recorded == Status::Created && !isolate::runs_sealed_copy(state.pid)) {
    return Status::Running;
  }
  return state.recorded;
}

nlohmann::json state_json(const ContainerState& state, Status status) {
  nlohmann::json doc = {{"ociVersion", "1.2.0"},
                        {"id", state.id},
                        {"status", status_name(status)},
                        {"bundle", state.bundle}};
  if (status != Status::Stopped) doc["pid"] = state.pid;
  if (!state.annotations.empty()) doc["annotations"] = state.annotations;
  return doc;
}

}  // namespace hanok::oci
