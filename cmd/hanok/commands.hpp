// The CLI's subcommands: their flags (runc's) and what each one calls in oci::Runtime.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

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

struct CommandOptions;

class Command {
 public:
  explicit Command(std::shared_ptr<CommandOptions> options) : options_(std::move(options)) {}
  // create, run and exec put a process into a container.
  bool enters_container() const;
  int preserve_fds() const;
  int run(const GlobalOptions& global) const;

 private:
  std::shared_ptr<CommandOptions> options_;
};

Command register_commands(CLI::App& app);

}  // namespace hanok::cli
