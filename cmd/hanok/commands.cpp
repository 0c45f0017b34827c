#include "commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>

#include "isolate/files.hpp"
#include "isolate/process.hpp"
#include "oci/features.hpp"
#include "oci/resources.hpp"
#include "oci/runtime.hpp"
#include "oci/update_flags.hpp"

namespace hanok::cli {

struct CommandOptions {
  CLI::App* create = nullptr;
  CLI::App* start = nullptr;
  CLI::App* state = nullptr;
  CLI::App* kill = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* run = nullptr;
  CLI::App* exec = nullptr;
  CLI::App* list = nullptr;
  CLI::App* ps = nullptr;
  CLI::App* spec = nullptr;
  CLI::App* features = nullptr;
  CLI::App* pause = nullptr;
  CLI::App* resume = nullptr;
  CLI::App* update = nullptr;
  CLI::App* events = nullptr;

  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  bool detach = false;
  bool force = false;
  bool all = false;
  std::string signal = "SIGTERM";
  std::string format = "table";
  bool quiet = false;
  // exec
  std::string process_file;
  bool tty = false;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
  std::vector<std::string> exec_args;
  // update
  std::string resources_file;
  std::map<std::string, std::string> update_flags;
  // events
  bool stats_once = false;
  std::string interval = "5s";
};

namespace {
void add_create_flags(CLI::App* sub, CommandOptions& o) {
  sub->add_option("id", o.id, "container id")->required();
  sub->add_option("-b,--bundle", o.bundle, "bundle directory")->capture_default_str();
  sub->add_option("--pid-file", o.pid_file, "file to write the init's pid to");
  sub->add_option("--console-socket", o.console_socket, "unix socket to send the pty master to");
  sub->add_flag("--no-pivot", o.no_pivot, "chroot instead of pivot_root");
  sub->add_flag("--no-new-keyring", o.no_new_keyring, "keep the caller's session keyring");
  sub->add_option("--preserve-fds", o.preserve_fds, "pass fds 3..3+N-1 to the container")
      ->check(CLI::NonNegativeNumber);
}

int print_json(const nlohmann::json& doc) {
  std::cout << doc.dump(2) << std::endl;
  return 0;
}

oci::Process exec_process(const oci::Runtime& runtime, const CommandOptions& o) {
  if (!o.process_file.empty()) {
    nlohmann::json config = {
        {"ociVersion", "1.2.0"},
        {"root", {{"path", "rootfs"}}},
        {"process", nlohmann::json::parse(isolate::read_file(o.process_file))}};
    return *oci::parse_spec(config.dump()).process;
  }
  if (o.exec_args.empty()) throw std::invalid_argument("exec: no command given");
  oci::Spec spec = runtime.spec_of(o.id);
  oci::Process process = spec.process.value_or(oci::Process{});
  process.args = o.exec_args;
  process.terminal = o.tty;
  process.console_size.reset();
  for (const auto& entry : o.env) {
    if (entry.find('=') == std::string::npos) {
      throw std::invalid_argument("--env " + entry + ": must be KEY=VALUE");
    }
    process.env.push_back(entry);
  }
  if (!o.cwd.empty()) process.cwd = o.cwd;
  if (!o.user.empty()) {
    size_t colon = o.user.find(':');
    try {
      process.user.uid = static_cast<uint32_t>(std::stoul(o.user.substr(0, colon)));
      if (colon != std::string::npos) {
        process.user.gid = static_cast<uint32_t>(std::stoul(o.user.substr(colon + 1)));
      }
    } catch (const std::logic_error&) {
      throw std::invalid_argument("--user " + o.user + ": must be UID[:GID]");
    }
  }
  return process;
}

int list_containers(const oci::Runtime& runtime, const CommandOptions& o) {
  auto states = runtime.list();
  if (o.format == "json") {
    return print_json(nlohmann::json(states));
  }
  if (o.quiet) {
    for (const auto& s : states) std::cout << s["id"].get<std::string>() << "\n";
    return 0;
  }
  std::printf("%-24s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
              "OWNER");
  for (const auto& s : states) {
    std::printf("%-24s %-8d %-10s %-40s %-32s %s\n", s["id"].get<std::string>().c_str(),
                s["pid"].get<int>(), s["status"].get<std::string>().c_str(),
                s["bundle"].get<std::string>().c_str(), s["created"].get<std::string>().c_str(),
                s["owner"].get<std::string>().c_str());
  }
  return 0;
}

int list_processes(const oci::Runtime& runtime, const CommandOptions& o) {
  auto pids = runtime.pids(o.id);
  if (o.format == "json") return print_json(nlohmann::json(pids));
  std::printf("%-8s %s\n", "PID", "CMD");
  for (pid_t pid : pids) {
    std::string cmdline;
    try {
      cmdline = isolate::read_file("/proc/" + std::to_string(pid) + "/cmdline");
    } catch (const std::exception&) {
      continue;
    }
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    std::printf("%-8d %s\n", pid, cmdline.c_str());
  }
  return 0;
}

int write_default_spec(const CommandOptions& o) {
  std::string path = o.bundle + "/config.json";
  if (isolate::path_exists(path)) {
    throw std::runtime_error("File " + path + " exists. Remove it first");
  }
  isolate::write_file_atomic(path, oci::default_spec_json().dump(2) + "\n", 0644);
  return 0;
}

// Go-style durations as runc takes them: "5s", "250ms", "1m".
int interval_ms(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  if (digits == 0) throw std::invalid_argument("--interval " + text + ": not a duration");
  long value = std::stol(text.substr(0, digits));
  long factor = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : 0;
  if (factor == 0 || value <= 0)
    throw std::invalid_argument("--interval " + text + ": not a duration");
  return static_cast<int>(value * factor);
}

isolate::cgroup::Resources update_resources(const CommandOptions& o) {
  if (!o.resources_file.empty()) {
    std::string text = o.resources_file == "-"
                           ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                           : isolate::read_file(o.resources_file);
    return oci::parse_resources(nlohmann::json::parse(text), "resources");
  }
  return oci::resources_from_update_flags(o.update_flags);
}

oci::CreateOptions create_options(const CommandOptions& o) {
  oci::CreateOptions options;
  options.id = o.id;
  options.bundle = o.bundle;
  options.pid_file = o.pid_file;
  options.console_socket = o.console_socket;
  options.no_pivot = o.no_pivot;
  options.no_new_keyring = o.no_new_keyring;
  options.preserve_fds = o.preserve_fds;
  return options;
}
}  // namespace

Command register_commands(CLI::App& app) {
  auto options = std::make_shared<CommandOptions>();
  CommandOptions& o = *options;

  o.create = app.add_subcommand("create", "create a container (up to its process's exec)");
  add_create_flags(o.create, o);
  o.run = app.add_subcommand("run", "create and start a container");
  add_create_flags(o.run, o);
  o.run->add_flag("-d,--detach", o.detach, "do not wait for the container");

  o.start = app.add_subcommand("start", "start a created container");
  o.start->add_option("id", o.id, "container id")->required();

  o.state = app.add_subcommand("state", "print a container's state as JSON");
  o.state->add_option("id", o.id, "container id")->required();

  o.kill = app.add_subcommand("kill", "send a signal to a container");
  o.kill->add_flag("-a,--all", o.all, "signal every process of the container");
  o.kill->add_option("id", o.id, "container id")->required();
  o.kill->add_option("signal", o.signal, "signal name or number")->capture_default_str();

  o.remove = app.add_subcommand("delete", "delete a container");
  o.remove->add_flag("-f,--force", o.force, "kill it first if it is running");
  o.remove->add_option("id", o.id, "container id")->required();

  o.exec = app.add_subcommand("exec", "run a process in a running container");
  o.exec->add_option("-p,--process", o.process_file, "process.json");
  o.exec->add_flag("-t,--tty", o.tty, "allocate a pty");
  o.exec->add_flag("-d,--detach", o.detach, "do not wait for the process");
  o.exec->add_option("--pid-file", o.pid_file, "file to write the process's pid to");
  o.exec->add_option("-e,--env", o.env, "KEY=VALUE")->allow_extra_args(false);
  o.exec->add_option("--cwd", o.cwd, "working directory");
  o.exec->add_option("-u,--user", o.user, "UID[:GID]");
  o.exec->add_option("--console-socket", o.console_socket, "unix socket for the pty master");
  o.exec->add_option("--preserve-fds", o.preserve_fds, "pass fds 3..3+N-1")
      ->check(CLI::NonNegativeNumber);
  o.exec->add_option("id", o.id, "container id")->required();
  // Everything after the id is the command, flags included (`exec ID sh -c ...`).
  o.exec->prefix_command();

  o.list = app.add_subcommand("list", "list containers");
  o.list->add_option("-f,--format", o.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  o.list->add_flag("-q,--quiet", o.quiet, "ids only");

  o.ps = app.add_subcommand("ps", "list a container's processes");
  o.ps->add_option("-f,--format", o.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  o.ps->add_option("id", o.id, "container id")->required();

  o.spec = app.add_subcommand("spec", "write a default config.json");
  o.spec->add_option("-b,--bundle", o.bundle, "bundle directory")->capture_default_str();

  o.features = app.add_subcommand("features", "print the implemented features as JSON");

  o.pause = app.add_subcommand("pause", "freeze every process of a container");
  o.pause->add_option("id", o.id, "container id")->required();
  o.resume = app.add_subcommand("resume", "thaw a paused container");
  o.resume->add_option("id", o.id, "container id")->required();

  o.update = app.add_subcommand("update", "change a running container's resource limits");
  o.update->add_option("-r,--resources", o.resources_file,
                       "linux.resources JSON file (- for stdin)");
  for (const char* flag :
       {"blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share", "cpu-rt-period",
        "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation",
        "memory-swap", "pids-limit", "cpu-idle", "kernel-memory", "kernel-memory-tcp",
        "l3-cache-schema", "mem-bw-schema"}) {
    std::string name = flag;
    o.update->add_option_function<std::string>(
        "--" + name, [&o, name](const std::string& value) { o.update_flags[name] = value; },
        "as runc update");
  }
  o.update->add_option("id", o.id, "container id")->required();

  o.events = app.add_subcommand("events", "stream stats and OOM events as JSON lines");
  o.events->add_flag("--stats", o.stats_once, "print the stats once and exit");
  o.events->add_option("--interval", o.interval, "stats interval")->capture_default_str();
  o.events->add_option("id", o.id, "container id")->required();
  return Command(options);
}

bool Command::enters_container() const {
  const auto& o = *options_;
  return o.create->parsed() || o.run->parsed() || o.exec->parsed();
}

int Command::preserve_fds() const {
  return options_->preserve_fds;
}

int Command::run(const GlobalOptions& global) const {
  const CommandOptions& o = *options_;
  oci::Runtime runtime(global.root, global.systemd_cgroup);
  if (o.create->parsed()) {
    runtime.create(create_options(o));
    return 0;
  }
  if (o.run->parsed()) return runtime.run(create_options(o), o.detach);
  if (o.start->parsed()) {
    runtime.start(o.id);
    return 0;
  }
  if (o.state->parsed()) return print_json(runtime.state(o.id));
  if (o.kill->parsed()) {
    auto signal = isolate::signal_from_name(o.signal);
    if (!signal) throw std::invalid_argument("unknown signal \"" + o.signal + "\"");
    runtime.kill(o.id, *signal, o.all);
    return 0;
  }
  if (o.remove->parsed()) {
    if (o.force && !runtime.store().exists(o.id)) return 0;
    runtime.remove(o.id, o.force);
    return 0;
  }
  if (o.exec->parsed()) {
    oci::ExecOptions exec;
    exec.id = o.id;
    options_->exec_args = o.exec->remaining();
    exec.process = exec_process(runtime, o);
    exec.pid_file = o.pid_file;
    exec.console_socket = o.console_socket;
    exec.detach = o.detach;
    exec.preserve_fds = o.preserve_fds;
    return runtime.exec(exec);
  }
  if (o.list->parsed()) return list_containers(runtime, o);
  if (o.ps->parsed()) return list_processes(runtime, o);
  if (o.spec->parsed()) return write_default_spec(o);
  if (o.features->parsed()) return print_json(oci::features_json());
  if (o.pause->parsed()) {
    runtime.pause(o.id);
    return 0;
  }
  if (o.resume->parsed()) {
    runtime.resume(o.id);
    return 0;
  }
  if (o.update->parsed()) {
    runtime.update(o.id, update_resources(o));
    return 0;
  }
  if (o.events->parsed()) {
    runtime.events(o.id, interval_ms(o.interval), o.stats_once,
                   [](const nlohmann::json& event) { std::cout << event.dump() << std::endl; });
    return 0;
  }
  return 1;
}

}  // namespace hanok::cli
