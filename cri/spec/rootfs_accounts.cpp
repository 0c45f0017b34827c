#include "rootfs_accounts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

namespace {
constexpr off_t kMaxAccountsFile = 8 << 20;

// The file inside the root ("" when it is missing). Only ever a regular file is opened: anything
// else there (a device, a fifo) fails the container's creation, as does a file of insane size.
std::string read_in_root(int root_fd, const std::string& path) {
  isolate::UniqueFd fd;
  try {
    fd = isolate::open_regular_in_root(root_fd, path);
  } catch (const isolate::Error& e) {
    throw isolate::Error(isolate::ErrorKind::Invalid, std::string("the image's ") + e.what());
  }
  if (!fd) return "";
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) isolate::throw_sys("stat inside the rootfs", path);
  if (st.st_size > kMaxAccountsFile) {
    throw isolate::Error(isolate::ErrorKind::Invalid,
                         "the image's " + path + " is larger than 8 MiB");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) isolate::throw_sys("read inside the rootfs", path);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxAccountsFile)) {
      throw isolate::Error(isolate::ErrorKind::Invalid,
                           "the image's " + path + " is larger than 8 MiB");
    }
  }
  return text;
}

std::optional<uint32_t> parse_id(std::string_view text) {
  auto value = isolate::parse_u64(text);
  if (!value || *value > 0xFFFFFFFFull) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

// The colon-separated fields of every line (empty fields kept: their positions matter).
std::vector<std::vector<std::string>> records(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  for (std::string_view line : isolate::split(text, "\n")) {
    if (line.empty() || line[0] == '#') continue;
    rows.push_back(isolate::split_exact(line, ':'));
  }
  return rows;
}

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> users;
  for (const auto& f : records(text)) {
    if (f.size() < 4) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    users.push_back({f[0], *uid, *gid});
  }
  return users;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> groups;
  for (const auto& f : records(text)) {
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry group{f[0], *gid, {}};
    if (f.size() >= 4) {
      for (std::string_view member : isolate::split(f[3], ",")) {
        member = isolate::trim(member);
        if (!member.empty()) group.members.emplace_back(member);
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}
}  // namespace

RootfsAccounts::RootfsAccounts(int rootfs_fd) {
  // One after the other (an argument list has no order): the first refusal is /etc/passwd's.
  users_ = parse_passwd(read_in_root(rootfs_fd, "/etc/passwd"));
  groups_ = parse_group(read_in_root(rootfs_fd, "/etc/group"));
}

RootfsAccounts::RootfsAccounts(const std::string& passwd, const std::string& group)
    : users_(parse_passwd(passwd)), groups_(parse_group(group)) {}

std::optional<PasswdEntry> RootfsAccounts::user_by_name(const std::string& name) const {
  for (const auto& user : users_) {
    if (user.name == name) return user;
  }
  return std::nullopt;
}

std::optional<PasswdEntry> RootfsAccounts::user_by_uid(uint32_t uid) const {
  for (const auto& user : users_) {
    if (user.uid == uid) return user;
  }
  return std::nullopt;
}

std::optional<GroupEntry> RootfsAccounts::group_by_name(const std::string& name) const {
  for (const auto& group : groups_) {
    if (group.name == name) return group;
  }
  return std::nullopt;
}

std::vector<uint32_t> RootfsAccounts::groups_with_member(const std::string& user) const {
  std::vector<uint32_t> gids;
  for (const auto& group : groups_) {
    if (std::find(group.members.begin(), group.members.end(), user) != group.members.end()) {
      gids.push_back(group.gid);
    }
  }
  return gids;
}

ResolvedUser resolve_user(const RootfsAccounts& accounts, const std::string& spec,
                          const std::vector<int64_t>& supplemental, const std::string& field,
                          ImageGroups image_groups) {
  auto invalid = [&](const std::string& what) {
    return isolate::Error(isolate::ErrorKind::Invalid, field + ": " + what);
  };
  ResolvedUser user;
  std::string user_part = spec;
  std::optional<std::string> group_part;
  if (size_t colon = spec.find(':'); colon != std::string::npos) {
    user_part = spec.substr(0, colon);
    group_part = spec.substr(colon + 1);
  }
  std::optional<PasswdEntry> entry;
  if (user_part.empty()) {
    user.uid = 0;
    entry = accounts.user_by_uid(0);
  } else if (auto uid = parse_id(user_part)) {
    user.uid = *uid;
    entry = accounts.user_by_uid(*uid);
  } else {
    entry = accounts.user_by_name(user_part);
    if (!entry) throw invalid("no user \"" + user_part + "\" in the image's /etc/passwd");
    user.uid = entry->uid;
  }
  user.gid = entry ? entry->gid : 0;
  if (group_part) {
    if (auto gid = parse_id(*group_part)) {
      user.gid = *gid;
    } else {
      auto group = accounts.group_by_name(*group_part);
      if (!group) throw invalid("no group \"" + *group_part + "\" in the image's /etc/group");
      user.gid = group->gid;
    }
  }
  std::vector<uint32_t> gids = {user.gid};
  if (entry && image_groups == ImageGroups::Merge) {
    for (uint32_t gid : accounts.groups_with_member(entry->name)) gids.push_back(gid);
  }
  for (int64_t gid : supplemental) {
    if (gid < 0 || gid > 0xFFFFFFFFll) {
      throw invalid("supplemental group " + std::to_string(gid) + " is not a gid");
    }
    gids.push_back(static_cast<uint32_t>(gid));
  }
  std::sort(gids.begin(), gids.end());
  gids.erase(std::unique(gids.begin(), gids.end()), gids.end());
  user.additional_gids = std::move(gids);
  return user;
}

}  // namespace hanok::cri
