// The CLI's subcommands: each one's flags (runc's) in a struct of its own, and what it calls in
// oci::Runtime.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hanok::oci {
class Runtime;
}

namespace hanok::cli {

struct GlobalOptions {
  std::string root = "/run/hanok/runtime";
  std::string log_file;
  std::string log_format = "text";
  bool systemd_cgroup = false;
  bool debug = false;
  bool rootless_flag = false;
  std::string criu_path;
};

// One registered subcommand.
struct Command {
  CLI::App* app = nullptr;
  bool enters_container = false;  // create, run, exec: re-executed sealed
  std::function<int()> preserve_fds = [] { return 0; };
  std::function<int(oci::Runtime&)> run;
  // runc's exec reports its own failures as "exec failed: ..." with status 255.
  std::string error_prefix;
  int error_status = 1;
};

// Registers every subcommand on `app`; their flags live as long as the returned commands.
std::vector<std::shared_ptr<Command>> register_commands(CLI::App& app);

}  // namespace hanok::cli
