// Unpacking a layer (tar, tar+gzip, tar+zstd) into a directory in overlayfs form.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "images/digest.hpp"
#include "images/manifest.hpp"

namespace hanok::images {

class UnpackError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct UnpackResult {
  Digest diff_id;               // sha256 of the uncompressed tar stream
  uint64_t unpacked_bytes = 0;  // sum of regular file sizes
  uint64_t entries = 0;         // tar entries
};

// Unpacks `layer_path` into `target_dir` (which must exist and be empty): regular files, dirs,
// symlinks, hardlinks, char/block devices, fifos, ownership, modes, mtimes, xattrs. Whiteouts
// (".wh.name") become overlayfs whiteouts (0:0 char devices), opaque markers (".wh..wh..opq")
// the trusted.overlay.opaque=y xattr. Every path resolves inside `target_dir` (openat2
// RESOLVE_IN_ROOT): entries or hardlink targets with ".." components and hardlinks to missing
// targets are refused with UnpackError naming the entry; a write through a symlink that points
// out ("evil -> /", then "evil/etc/x") lands inside the root, as in containerd, never outside.
// Whiteouts naming "", "." or ".." are refused. A layer whose last file is complete but whose
// tar padding and end blocks are cut off is accepted (as containerd does); truncated file data
// or a cut off header is not. On any error the target directory is emptied.
UnpackResult unpack_layer(const std::string& layer_path, Compression compression,
                          const std::string& target_dir);

}  // namespace hanok::images
