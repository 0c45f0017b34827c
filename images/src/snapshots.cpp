#include "images/snapshots.hpp"
#include "images/unpack.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/random.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::images {

namespace {

// Overlay mount data is limited to one page, the terminating NUL included.
constexpr size_t kMountDataLimit = 4095;

void check_container_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos) {
    throw std::invalid_argument("invalid container id \"" + id + "\"");
  }
}

void make_dir(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) != 0) isolate::throw_sys("mkdir", path);
}

// Mounts overlay with `data` naming lowers relative to `cwd`, by mount(8) started in `cwd`: the
// daemon's own working directory (shared by all its threads) never changes, and nothing is forked
// from its threads.
void mount_overlay_from(const std::string& cwd, const std::string& target,
                        const std::string& data) {
  isolate::ProgramResult mount =
      isolate::run_program({"/bin/mount", "-t", "overlay", "overlay", "-o", data, target}, cwd);
  if (!mount.succeeded()) {
    throw std::runtime_error("mount overlay on " + target + ": mount(8) " + mount.describe() +
                             ": " + std::string(isolate::trim(mount.output)));
  }
}

void fsync_dir(const std::string& dir) {
  isolate::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) isolate::throw_sys("fsync", dir);
}

}  // namespace

Digest chain_id(const std::vector<Digest>& diff_ids) {
  if (diff_ids.empty()) throw std::invalid_argument("chain id of no layers");
  return chain_ids(diff_ids).back();
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> chains;
  chains.reserve(diff_ids.size());
  for (const auto& diff_id : diff_ids) {
    if (chains.empty()) {
      chains.push_back(diff_id);
    } else {
      chains.push_back(sha256_of(chains.back().str() + " " + diff_id.str()));
    }
  }
  return chains;
}

SnapshotStore::SnapshotStore(std::string root) : root_(std::move(root)) {
  isolate::make_dirs(root_ + "/snapshots", 0700);
  isolate::make_dirs(root_ + "/index", 0700);
  isolate::make_dirs(root_ + "/containers", 0700);
  isolate::make_dirs(root_ + "/trash", 0700);
  // What a process that died left to delete.
  purge(trash_entries());
}

std::vector<std::string> SnapshotStore::trash_entries() const {
  std::vector<std::string> paths;
  for (const auto& name : isolate::list_dir(root_ + "/trash"))
    paths.push_back(root_ + "/trash/" + name);
  return paths;
}

std::string SnapshotStore::index_path(const Digest& chain, bool preparing) const {
  return root_ + "/index/" + std::string(chain.hex()) + (preparing ? ".prep" : "");
}

std::string SnapshotStore::read_index(const std::string& link) const {
  char target[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n < 0) {
    if (errno == ENOENT) return "";
    isolate::throw_sys("readlink", link);
  }
  return std::string(target, static_cast<size_t>(n));
}

std::string SnapshotStore::prepare_layer_dir(const Digest& chain) {
  std::lock_guard lock(mutex_);
  if (!read_index(index_path(chain, false)).empty()) {
    throw std::runtime_error("layer " + chain.str() + " is already committed");
  }
  std::string prep = index_path(chain, true);
  if (std::string stale = read_index(prep); !stale.empty()) {
    isolate::remove_tree(root_ + "/snapshots/" + stale);
    if (::unlink(prep.c_str()) != 0 && errno != ENOENT) isolate::throw_sys("unlink", prep);
  }
  // The lowest free number (mkdir is the atomic claim).
  for (unsigned long n = 1;; ++n) {
    std::string name = std::to_string(n);
    std::string dir = root_ + "/snapshots/" + name;
    if (::mkdir(dir.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      isolate::throw_sys("mkdir", dir);
    }
    make_dir(dir + "/fs", 0755);
    if (::symlink(name.c_str(), prep.c_str()) != 0) isolate::throw_sys("symlink", prep);
    return dir + "/fs";
  }
}

void SnapshotStore::commit_layer(const Digest& chain) {
  std::lock_guard lock(mutex_);
  std::string prep = index_path(chain, true);
  if (read_index(prep).empty()) {
    throw std::runtime_error("layer " + chain.str() + " is not being prepared");
  }
  // The layer's files reach the disk before the index says they are there: a committed layer
  // is never found empty after a power loss.
  std::string dir = root_ + "/snapshots/" + read_index(prep);
  isolate::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0) isolate::throw_sys("syncfs", dir);
  std::string committed = index_path(chain, false);
  if (::rename(prep.c_str(), committed.c_str()) != 0) isolate::throw_sys("rename", prep);
  fsync_dir(root_ + "/index");
}

std::vector<std::string> SnapshotStore::clean(const std::set<std::string>& known_chains) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> removed;
  std::set<std::string> linked;  // snapshot dir names an index link names
  std::string index = root_ + "/index";
  for (const auto& entry : std::filesystem::directory_iterator(index)) {
    std::string name = entry.path().filename().string();
    std::string hex = name.substr(0, name.find('.'));
    std::string target = read_index(entry.path().string());
    if (known_chains.count("sha256:" + hex) != 0 && name.find('.') == std::string::npos) {
      linked.insert(target);
      continue;
    }
    if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
      isolate::throw_sys("unlink", entry.path().string());
    }
    removed.push_back("index/" + name);
  }
  std::string snapshots = root_ + "/snapshots";
  for (const auto& entry : std::filesystem::directory_iterator(snapshots)) {
    std::string name = entry.path().filename().string();
    if (linked.count(name) != 0) continue;
    isolate::remove_tree(entry.path().string());
    removed.push_back("snapshots/" + name);
  }
  return removed;
}

bool SnapshotStore::has_layer(const Digest& chain) const {
  std::string name = read_index(index_path(chain, false));
  if (name.empty()) return false;
  struct stat st {};
  return ::stat((root_ + "/snapshots/" + name + "/fs").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string SnapshotStore::layer_dir(const Digest& chain) const {
  std::string name = read_index(index_path(chain, false));
  if (name.empty()) throw std::runtime_error("no snapshot for layer " + chain.str());
  return root_ + "/snapshots/" + name + "/fs";
}

void SnapshotStore::remove_layer(const Digest& chain) {
  purge(detach_layer(chain));
}

std::vector<std::string> SnapshotStore::detach_layer(const Digest& chain) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> trash;
  for (bool preparing : {false, true}) {
    std::string link = index_path(chain, preparing);
    std::string name = read_index(link);
    if (name.empty()) continue;
    // Unlink the index first: a crash leaves an orphan directory, never a dangling index.
    if (::unlink(link.c_str()) != 0 && errno != ENOENT) isolate::throw_sys("unlink", link);
    // Then the tree out of sight, in one rename (trash/ is on the same filesystem); a crash
    // leaves it in the trash, which the next start empties.
    // A name of its own in the trash: the layer's name is taken again by the next layer.
    std::string from = root_ + "/snapshots/" + name;
    std::string to = root_ + "/trash/" + name + "." + isolate::random_hex(8);
    if (::rename(from.c_str(), to.c_str()) == 0) {
      trash.push_back(to);
    } else if (errno != ENOENT) {
      isolate::remove_tree(from);  // cannot move it (trash taken): removed here
    }
  }
  return trash;
}

void SnapshotStore::purge(const std::vector<std::string>& trash) {
  for (const auto& path : trash) {
    try {
      isolate::remove_tree(path);
    } catch (const std::exception& e) {
      // Left for the next start's purge; what was collected is gone from the store already.
      spdlog::warn("purging {}: {}", path, e.what());
    }
  }
}

std::string SnapshotStore::container_upper_dir(const std::string& container_id) const {
  check_container_id(container_id);
  return root_ + "/containers/" + container_id + "/upper";
}

RootfsMount SnapshotStore::prepare_container_rootfs(const std::string& container_id,
                                                    const std::vector<Digest>& chain_ids,
                                                    const std::string& upper_layer) {
  check_container_id(container_id);
  std::vector<std::string> relative;  // top first, relative to root/snapshots
  for (auto it = chain_ids.rbegin(); it != chain_ids.rend(); ++it) {
    std::string name = read_index(index_path(*it, false));
    if (name.empty()) throw std::runtime_error("no snapshot for layer " + it->str());
    relative.push_back(name + "/fs");
  }
  std::string dir = root_ + "/containers/" + container_id;
  make_dir(dir, 0700);
  RootfsMount mount{dir + "/rootfs", dir + "/upper", dir + "/work", {}};
  try {
    make_dir(mount.upper, 0755);
    make_dir(mount.work, 0700);
    make_dir(mount.rootfs, 0755);
    if (!upper_layer.empty()) unpack_layer(upper_layer, Compression::None, mount.upper);
    if (relative.empty()) {  // an image without layers: an empty lower
      make_dir(dir + "/empty", 0755);
      mount.lowers.push_back(dir + "/empty");
    }
    for (const auto& rel : relative) mount.lowers.push_back(root_ + "/snapshots/" + rel);

    auto join = [](const std::vector<std::string>& dirs) {
      std::string joined;
      for (const auto& d : dirs) joined += (joined.empty() ? "" : ":") + d;
      return joined;
    };
    std::string tail = ",upperdir=" + mount.upper + ",workdir=" + mount.work;
    std::string data = "lowerdir=" + join(mount.lowers) + tail;
    if (data.size() <= kMountDataLimit) {
      if (::mount("overlay", mount.rootfs.c_str(), "overlay", 0, data.c_str()) != 0) {
        isolate::throw_sys("mount overlay", mount.rootfs);
      }
    } else {
      std::string short_data = "lowerdir=" + join(relative) + tail;
      if (short_data.size() > kMountDataLimit) {
        throw std::runtime_error("mount overlay on " + mount.rootfs + ": " +
                                 std::to_string(relative.size()) +
                                 " layers do not fit in the mount options");
      }
      mount_overlay_from(root_ + "/snapshots", mount.rootfs, short_data);
    }
  } catch (...) {
    try {
      isolate::remove_tree(dir);
    } catch (...) {
      // Keep the mount error.
    }
    throw;
  }
  return mount;
}

void SnapshotStore::remove_container_rootfs(const std::string& container_id) {
  check_container_id(container_id);
  std::string dir = root_ + "/containers/" + container_id;
  std::string rootfs = dir + "/rootfs";
  if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    isolate::throw_sys("unmount", rootfs);
  }
  isolate::remove_tree(dir);
}

}  // namespace hanok::images
