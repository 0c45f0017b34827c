// Private to cri/: checkpoint archives signed by the node that wrote them. CRIU restores, as
// root, whatever process state an archive holds (credentials, capabilities, seccomp, mounts):
// an archive is data from outside until its signature says this node wrote it, as it is.
//
// The key: 32 random bytes in <root>/checkpoint-signing.key (hanokd's, 0600), made once.
// The signature: hanok-signature.json at the top of the archive,
//   {"version": 1, "algorithm": "HMAC-SHA256", "entries": [...], "mac": "<hex>"}
// where the entries are every other entry of the archive (a directory before what it holds,
// names in byte order), each {"path", "type": "dir"} or {"path", "type": "file", "size",
// "sha256"}, and the mac is HMAC-SHA256 with the key over the entries' JSON as written.
#pragma once

#include <string>

namespace hanok::cri {

inline constexpr const char* kCheckpointSignatureFile = "hanok-signature.json";

class CheckpointSigner {
 public:
  // Loads the key under `root`, or makes it. Throws when the file there is not a key that only
  // hanokd's user owns and can read.
  explicit CheckpointSigner(const std::string& root);

  // Signs the archive's contents, laid out in `dir` before they are packed: writes the
  // signature file there. Throws when `dir` holds anything but files and directories.
  void sign(const std::string& dir) const;
  // Checks an archive unpacked into `dir` (hanok's own, private): throws isolate::Error(Invalid)
  // naming `field` when it has no signature of this node's, or anything in it differs from what
  // was signed (a file changed, added or gone).
  void verify(const std::string& dir, const std::string& field) const;

 private:
  std::string key_;
};

}  // namespace hanok::cri
