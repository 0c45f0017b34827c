// Image references normalised as the kubelet and Docker do: "busybox" is
// "docker.io/library/busybox:latest"; "repo@sha256:..." names a digest.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace hanok::images {

class ReferenceError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Reference {
  std::string domain;          // "docker.io", "127.0.0.1:5000", "registry.k8s.io"
  std::string path;            // "library/busybox"
  std::string tag;             // "latest" when neither tag nor digest was given
  std::string digest;          // "sha256:..." or empty
  std::string name() const;    // domain/path
  std::string str() const;     // domain/path:tag or domain/path@digest (digest wins)
  std::string tagged() const;  // domain/path:tag (empty if no tag)
};

// Throws ReferenceError with the reason.
Reference parse_reference(const std::string& text);

}  // namespace hanok::images
