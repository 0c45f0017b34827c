// mount(8)-style option strings turned into mount(2) flags and data.
#pragma once

#include <sys/mount.h>

#include <string>
#include <vector>

// Flags older C library headers may lack.
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace hanok::isolate {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... (set)
  unsigned long clear_flags = 0;  // flags explicitly turned off ("rw", "suid", "dev", ...)
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  bool bind = false;              // "bind" or "rbind"
  bool recursive = false;         // "rbind"
  std::string data;               // the filesystem-specific part, comma separated
};

// Options the kernel knows as flags are taken out; the rest (mode=755, size=...) go to data.
MountOptions parse_mount_options(const std::vector<std::string>& options);

// "rprivate" -> MS_PRIVATE|MS_REC; 0 when the name is not a propagation mode.
unsigned long propagation_from_name(const std::string& name);

}  // namespace hanok::isolate
