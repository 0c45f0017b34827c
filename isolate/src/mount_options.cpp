// mount(8)-style option strings turned into mount(2) flags, propagation and data.
#include "isolate/mount_options.hpp"

#include <sys/mount.h>

#include <string_view>

namespace hanok::isolate {

namespace {

struct FlagOption {
  std::string_view name;
  unsigned long flag;
  bool clear;  // the option turns the flag off ("rw" clears MS_RDONLY)
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", 0, false},
    {"ro", MS_RDONLY, false},
    {"rw", MS_RDONLY, true},
    {"nosuid", MS_NOSUID, false},
    {"suid", MS_NOSUID, true},
    {"nodev", MS_NODEV, false},
    {"dev", MS_NODEV, true},
    {"noexec", MS_NOEXEC, false},
    {"exec", MS_NOEXEC, true},
    {"sync", MS_SYNCHRONOUS, false},
    {"async", MS_SYNCHRONOUS, true},
    {"dirsync", MS_DIRSYNC, false},
    {"remount", MS_REMOUNT, false},
    {"mand", MS_MANDLOCK, false},
    {"nomand", MS_MANDLOCK, true},
    {"noatime", MS_NOATIME, false},
    {"atime", MS_NOATIME, true},
    {"nodiratime", MS_NODIRATIME, false},
    {"diratime", MS_NODIRATIME, true},
    {"relatime", MS_RELATIME, false},
    {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false},
    {"nostrictatime", MS_STRICTATIME, true},
    {"lazytime", MS_LAZYTIME, false},
    {"nolazytime", MS_LAZYTIME, true},
    {"iversion", MS_I_VERSION, false},
    {"noiversion", MS_I_VERSION, true},
    {"silent", MS_SILENT, false},
    {"loud", MS_SILENT, true},
    {"nosymfollow", MS_NOSYMFOLLOW, false},
    {"symfollow", MS_NOSYMFOLLOW, true},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

const FlagOption* find_flag_option(std::string_view name) {
  for (const auto& option : kFlagOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

}  // namespace

unsigned long propagation_from_name(const std::string& name) {
  for (const auto& option : kPropagationOptions) {
    if (option.name == name) return option.flags;
  }
  return 0;
}

// Later options win over earlier ones ("ro,rw" is read-write). "bind" and "rbind" also put
// MS_BIND (| MS_REC) in `flags`, as mount(2) wants them, besides setting `bind`/`recursive`.
MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions result;
  for (const auto& option : options) {
    if (const FlagOption* known = find_flag_option(option)) {
      if (known->clear) {
        result.flags &= ~known->flag;
        result.clear_flags |= known->flag;
      } else {
        result.flags |= known->flag;
        result.clear_flags &= ~known->flag;
      }
    } else if (option == "bind" || option == "rbind") {
      result.bind = true;
      result.flags |= MS_BIND;
      if (option == "rbind") {
        result.recursive = true;
        result.flags |= MS_REC;
      }
    } else if (unsigned long propagation = propagation_from_name(option)) {
      result.propagation = propagation;
    } else if (!option.empty()) {
      if (!result.data.empty()) result.data += ',';
      result.data += option;
    }
  }
  return result;
}

}  // namespace hanok::isolate
