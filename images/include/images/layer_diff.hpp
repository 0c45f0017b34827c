// A container's writable layer (an overlayfs upper directory) as an OCI layer tar: what a
// checkpoint keeps of its filesystem, and what unpack_layer() makes an upper directory of again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hanok::images {

struct LayerDiff {
  std::vector<std::string> deleted;  // paths (relative, "/"-separated) the layer hides
  uint64_t entries = 0;
};

// Writes the files of `upper_dir` to a new tar at `tar_path` (mode 0600): directories, regular
// files, symlinks, devices and fifos with their owners, modes and mtimes; overlayfs whiteouts
// (0:0 char devices) as ".wh.<name>" and opaque directories (trusted.overlay.opaque=y) with
// ".wh..wh..opq". The walk never follows a symlink (every step is an openat with O_NOFOLLOW
// from its parent's fd), so a container rearranging its files meanwhile cannot point it
// outside. Throws std::runtime_error naming the path.
LayerDiff write_layer_diff(const std::string& upper_dir, const std::string& tar_path);

}  // namespace hanok::images
