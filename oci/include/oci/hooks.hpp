// Running OCI hooks: the state JSON on stdin, the hook's args and env, its timeout.
#pragma once

#include <string>
#include <vector>

#include "oci/spec.hpp"

namespace hanok::oci {

// Runs each hook in order; throws on the first that fails (non-zero exit, signal, timeout), with
// the hook kind and path in the message: `prestart hook /usr/bin/x: exited with status 3`.
void run_hooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json);

// As run_hooks, but a failing hook is logged as a warning and the rest still run.
void run_hooks_warn_only(const std::vector<Hook>& hooks, const char* kind,
                         const std::string& state_json);

}  // namespace hanok::oci
