// Private to cri/: users and groups as an image defines them, read from its /etc/passwd and
// /etc/group resolved inside the container's rootfs (openat2 RESOLVE_IN_ROOT): a symlink there
// that points out of the root stays inside it, and anything but a regular file (a fifo, a
// device) is never opened and fails the creation (isolate::Error Invalid). What
// `run_as_username`, a named image USER and supplementary groups are resolved against.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hanok::cri {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

class RootfsAccounts {
 public:
  // Reads both files below `rootfs_fd` (an O_PATH directory fd). Missing files are empty.
  // Throws isolate::Error(Invalid) for one that is not a regular file, or larger than 8 MiB.
  explicit RootfsAccounts(int rootfs_fd);
  // From parsed text (tests).
  RootfsAccounts(const std::string& passwd, const std::string& group);

  std::optional<PasswdEntry> user_by_name(const std::string& name) const;
  std::optional<PasswdEntry> user_by_uid(uint32_t uid) const;
  std::optional<GroupEntry> group_by_name(const std::string& name) const;
  // The gids of the groups that list `user` as a member.
  std::vector<uint32_t> groups_with_member(const std::string& user) const;

 private:
  std::vector<PasswdEntry> users_;
  std::vector<GroupEntry> groups_;
};

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // sorted, without duplicates, the primary gid included
};

// How the image's /etc/group counts (the CRI's SupplementalGroupsPolicy): Merge adds the groups
// it gives the user; Strict takes none from it (only the primary gid and `supplemental`).
enum class ImageGroups { Merge, Strict };

// A user spec as containerd reads one (the CRI's or the image's USER): "" (root), "uid",
// "name", "uid:gid", "name:group" (names looked up, an unknown one an error; a uid that is not
// in /etc/passwd gets gid 0). The additional groups are the primary gid, `supplemental`, and
// with Merge those the image's /etc/group gives the user. Throws isolate::Error Invalid naming
// `field` and the unknown name.
ResolvedUser resolve_user(const RootfsAccounts& accounts, const std::string& spec,
                          const std::vector<int64_t>& supplemental, const std::string& field,
                          ImageGroups image_groups = ImageGroups::Merge);

}  // namespace hanok::cri
