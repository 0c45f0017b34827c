// Private to cri/: whether CRIU can checkpoint on this host, probed once (`criu check`), for
// the checkpoint and restore calls and for Status's verbose info.
#pragma once

#include <string>

namespace hanok::cri {

struct CriuSupport {
  bool available = false;
  std::string binary;   // where criu is ("" when not installed)
  std::string version;  // `criu --version`'s first line
  std::string problem;  // why not, when not available: what `criu check` says is missing
};

// Probed on first use and kept.
const CriuSupport& criu_support();

// Throws Error(WrongState): FAILED_PRECONDITION naming what is missing, when CRIU cannot run.
void require_criu(const std::string& what);

}  // namespace hanok::cri
