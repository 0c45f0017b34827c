#include "criu_support.hpp"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "captured_run.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

namespace {

constexpr std::chrono::seconds kProbeTimeout{30};

CapturedRun run_criu(const std::string& binary, const std::string& command) {
  CaptureRequest request;
  request.argv = {binary, command};
  request.timeout = kProbeTimeout;
  return run_captured(request, images::StopToken());
}

// CRIU's "Error (file:line): text" lines, joined; else its last line.
std::string errors_of(const std::string& output) {
  std::string errors;
  std::string last;
  for (std::string_view line : isolate::split(output, "\n")) {
    if (line.empty()) continue;
    last = std::string(line);
    if (line.find("Error") != std::string_view::npos) {
      errors += (errors.empty() ? "" : "; ") + std::string(line);
    }
  }
  return errors.empty() ? last : errors;
}

CriuSupport probe() {
  CriuSupport support;
  support.binary = isolate::find_criu();
  if (support.binary.empty()) {
    support.problem = "criu is not installed (Debian package criu)";
    return support;
  }
  CapturedRun version = run_criu(support.binary, "--version");
  support.version = std::string(isolate::split(version.out, "\n").empty()
                                    ? std::string_view()
                                    : isolate::split(version.out, "\n").front());
  CapturedRun check = run_criu(support.binary, "check");
  if (WIFEXITED(check.wait_status) && WEXITSTATUS(check.wait_status) == 0) {
    support.available = true;
    return support;
  }
  support.problem = "criu check failed (" + support.version +
                    ", kernel features): " + errors_of(check.err + "\n" + check.out);
  return support;
}

}  // namespace

const CriuSupport& criu_support() {
  static const CriuSupport support = probe();
  return support;
}

void require_criu(const std::string& what) {
  const CriuSupport& support = criu_support();
  if (!support.available) {
    throw isolate::Error(
        isolate::ErrorKind::WrongState,
        what + ": CRIU cannot checkpoint or restore on this host: " + support.problem);
  }
}

}  // namespace hanok::cri
