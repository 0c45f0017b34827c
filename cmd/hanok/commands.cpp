#include "commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>

#include "isolate/capabilities.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "oci/features.hpp"
#include "oci/resources.hpp"
#include "oci/runtime.hpp"
#include "oci/update_flags.hpp"

namespace hanok::cli {

namespace {

using CommandPtr = std::shared_ptr<Command>;

int print_json(const nlohmann::json& doc) {
  std::cout << doc.dump(2) << std::endl;
  return 0;
}

[[noreturn]] void invalid(const std::string& message) {
  throw isolate::Error(isolate::ErrorKind::Invalid, message);
}

// A command whose only argument is the container id.
CommandPtr id_command(CLI::App& app, const char* name, const char* description,
                      const std::function<int(oci::Runtime&, const std::string&)>& action) {
  auto command = std::make_shared<Command>();
  auto id = std::make_shared<std::string>();
  command->app = app.add_subcommand(name, description);
  command->app->add_option("id", *id, "container id")->required();
  command->run = [id, action](oci::Runtime& runtime) { return action(runtime, *id); };
  return command;
}

// create and run.
struct CreateFlags {
  oci::CreateOptions options;
  bool detach = false;
  bool keep = false;
  bool no_subreaper = false;  // accepted for runc compatibility: hanok never becomes a subreaper
};

CommandPtr create_command(CLI::App& app, bool run) {
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<CreateFlags>();
  oci::CreateOptions& o = flags->options;
  o.bundle = ".";
  command->app =
      run ? app.add_subcommand("run", "create and start a container")
          : app.add_subcommand("create", "create a container (up to its process's exec)");
  CLI::App* sub = command->app;
  sub->add_option("id", o.id, "container id")->required();
  sub->add_option("-b,--bundle", o.bundle, "bundle directory")->capture_default_str();
  sub->add_option("--pid-file", o.pid_file, "file to write the init's pid to");
  sub->add_option("--console-socket", o.console_socket, "unix socket to send the pty master to");
  sub->add_flag("--no-pivot", o.no_pivot, "chroot instead of pivot_root");
  sub->add_flag("--no-new-keyring", o.no_new_keyring, "keep the caller's session keyring");
  sub->add_option("--preserve-fds", o.preserve_fds, "pass fds 3..3+N-1 to the container")
      ->check(CLI::NonNegativeNumber);
  if (run) {
    sub->add_flag("-d,--detach", flags->detach, "do not wait for the container");
    sub->add_flag("--keep", flags->keep, "do not delete the container after it exits");
    sub->add_flag("--no-subreaper", flags->no_subreaper, "accepted for runc compatibility");
  }
  command->enters_container = true;
  command->preserve_fds = [flags] { return flags->options.preserve_fds; };
  command->run = [flags, run](oci::Runtime& runtime) {
    if (run) return runtime.run(flags->options, flags->detach, flags->keep);
    runtime.create(flags->options);
    return 0;
  };
  return command;
}

CommandPtr kill_command(CLI::App& app) {
  struct Flags {
    std::string id;
    std::string signal = "SIGTERM";
    bool all = false;
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  command->app = app.add_subcommand("kill", "send a signal to a container");
  command->app->add_flag("-a,--all", flags->all, "signal every process of the container");
  command->app->add_option("id", flags->id, "container id")->required();
  command->app->add_option("signal", flags->signal, "signal name or number")->capture_default_str();
  command->run = [flags](oci::Runtime& runtime) {
    auto signal = isolate::signal_from_name(flags->signal);
    if (!signal) invalid("unknown signal \"" + flags->signal + "\"");
    runtime.kill(flags->id, *signal, flags->all);
    return 0;
  };
  return command;
}

CommandPtr delete_command(CLI::App& app) {
  struct Flags {
    std::string id;
    bool force = false;
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  command->app = app.add_subcommand("delete", "delete a container");
  command->app->add_flag("-f,--force", flags->force, "kill it first if it is running");
  command->app->add_option("id", flags->id, "container id")->required();
  command->run = [flags](oci::Runtime& runtime) {
    runtime.remove(flags->id, flags->force);
    return 0;
  };
  return command;
}

struct ExecFlags {
  std::string id;
  std::string process_file;
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
  std::string console_socket;
  int preserve_fds = 0;
  std::vector<std::string> caps;
  std::vector<std::string> additional_gids;
  bool no_new_privs = false;
  bool ignore_paused = false;
  std::string apparmor;       // accepted: AppArmor profiles are not applied (see README)
  std::string process_label;  // accepted: SELinux labels are not applied
};

oci::Process exec_process(const oci::Runtime& runtime, const ExecFlags& o,
                          const std::vector<std::string>& args) {
  if (!o.process_file.empty()) {
    nlohmann::json config = {
        {"ociVersion", "1.2.0"},
        {"root", {{"path", "rootfs"}}},
        {"process", nlohmann::json::parse(isolate::read_file(o.process_file))}};
    return *oci::parse_spec(config.dump()).process;
  }
  if (args.empty()) invalid("exec: no command given");
  oci::Spec spec = runtime.spec_of(o.id);
  oci::Process process = spec.process.value_or(oci::Process{});
  process.args = args;
  process.terminal = o.tty;
  process.console_size.reset();
  for (const auto& entry : o.env) {
    if (entry.find('=') == std::string::npos) invalid("--env " + entry + ": must be KEY=VALUE");
    process.env.push_back(entry);
  }
  if (!o.cwd.empty()) process.cwd = o.cwd;
  if (o.no_new_privs) process.no_new_privileges = true;
  for (const auto& name : o.caps) {
    auto cap = isolate::capability_from_name(name);
    if (!cap) invalid("--cap " + name + ": unknown capability");
    for (auto* set : {&process.capabilities.bounding, &process.capabilities.effective,
                      &process.capabilities.permitted}) {
      set->push_back(*cap);
    }
  }
  for (const auto& text : o.additional_gids) {
    auto gid = isolate::parse_u64(text);
    if (!gid || *gid > UINT32_MAX) invalid("--additional-gids " + text + ": not a gid");
    process.user.additional_gids.push_back(static_cast<uint32_t>(*gid));
  }
  if (!o.user.empty()) {
    size_t colon = o.user.find(':');
    auto uid = isolate::parse_u64(o.user.substr(0, colon));
    auto gid = colon == std::string::npos ? std::optional<uint64_t>(process.user.gid)
                                          : isolate::parse_u64(o.user.substr(colon + 1));
    if (!uid || !gid || *uid > UINT32_MAX || *gid > UINT32_MAX) {
      invalid("--user " + o.user + ": must be UID[:GID]");
    }
    process.user.uid = static_cast<uint32_t>(*uid);
    process.user.gid = static_cast<uint32_t>(*gid);
  }
  return process;
}

CommandPtr exec_command(CLI::App& app) {
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<ExecFlags>();
  ExecFlags& o = *flags;
  CLI::App* sub = app.add_subcommand("exec", "run a process in a running container");
  command->app = sub;
  sub->add_option("-p,--process", o.process_file, "process.json");
  sub->add_flag("-t,--tty", o.tty, "allocate a pty");
  sub->add_flag("-d,--detach", o.detach, "do not wait for the process");
  sub->add_option("--pid-file", o.pid_file, "file to write the process's pid to");
  sub->add_option("-e,--env", o.env, "KEY=VALUE")->allow_extra_args(false);
  sub->add_option("--cwd", o.cwd, "working directory");
  sub->add_option("-u,--user", o.user, "UID[:GID]");
  sub->add_option("--console-socket", o.console_socket, "unix socket for the pty master");
  sub->add_option("--preserve-fds", o.preserve_fds, "pass fds 3..3+N-1")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("-c,--cap", o.caps, "add a capability (CAP_...)")->allow_extra_args(false);
  sub->add_option("-g,--additional-gids", o.additional_gids, "an additional group")
      ->allow_extra_args(false);
  sub->add_flag("--no-new-privs", o.no_new_privs, "set no_new_privs");
  sub->add_flag("--ignore-paused", o.ignore_paused, "exec into a paused container");
  sub->add_option("--apparmor", o.apparmor, "accepted; AppArmor is not applied");
  sub->add_option("--process-label", o.process_label, "accepted; SELinux is not applied");
  sub->add_option("id", o.id, "container id")->required();
  // Everything after the id is the command, flags included (`exec ID sh -c ...`).
  sub->prefix_command();
  command->enters_container = true;
  command->preserve_fds = [flags] { return flags->preserve_fds; };
  command->error_prefix = "exec failed: ";
  command->error_status = 255;
  command->run = [flags, sub](oci::Runtime& runtime) {
    const ExecFlags& o = *flags;
    oci::ExecOptions exec;
    exec.id = o.id;
    exec.process = exec_process(runtime, o, sub->remaining());
    exec.pid_file = o.pid_file;
    exec.console_socket = o.console_socket;
    exec.detach = o.detach;
    exec.preserve_fds = o.preserve_fds;
    exec.ignore_paused = o.ignore_paused;
    return runtime.exec(exec);
  };
  return command;
}

int list_containers(const oci::Runtime& runtime, const std::string& format, bool quiet) {
  auto states = runtime.list();
  if (format == "json") return print_json(nlohmann::json(states));
  if (quiet) {
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

CommandPtr list_command(CLI::App& app) {
  struct Flags {
    std::string format = "table";
    bool quiet = false;
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  command->app = app.add_subcommand("list", "list containers");
  command->app->add_option("-f,--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  command->app->add_flag("-q,--quiet", flags->quiet, "ids only");
  command->run = [flags](oci::Runtime& runtime) {
    return list_containers(runtime, flags->format, flags->quiet);
  };
  return command;
}

int list_processes(const oci::Runtime& runtime, const std::string& id, const std::string& format) {
  auto pids = runtime.pids(id);
  if (format == "json") return print_json(nlohmann::json(pids));
  std::printf("%-8s %s\n", "PID", "CMD");
  for (pid_t pid : pids) {
    auto cmdline = isolate::read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
    if (!cmdline) continue;
    for (char& c : *cmdline) {
      if (c == '\0') c = ' ';
    }
    std::printf("%-8d %s\n", pid, cmdline->c_str());
  }
  return 0;
}

CommandPtr ps_command(CLI::App& app) {
  struct Flags {
    std::string id;
    std::string format = "table";
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  command->app = app.add_subcommand("ps", "list a container's processes");
  command->app->add_option("-f,--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  command->app->add_option("id", flags->id, "container id")->required();
  command->run = [flags](oci::Runtime& runtime) {
    return list_processes(runtime, flags->id, flags->format);
  };
  return command;
}

CommandPtr spec_command(CLI::App& app) {
  auto command = std::make_shared<Command>();
  auto bundle = std::make_shared<std::string>(".");
  command->app = app.add_subcommand("spec", "write a default config.json");
  command->app->add_option("-b,--bundle", *bundle, "bundle directory")->capture_default_str();
  command->run = [bundle](oci::Runtime&) {
    std::string path = *bundle + "/config.json";
    if (isolate::path_exists(path)) {
      throw isolate::Error(isolate::ErrorKind::AlreadyExists,
                           "File " + path + " exists. Remove it first");
    }
    isolate::write_file_atomic(path, oci::default_spec_json().dump(2) + "\n", 0644);
    return 0;
  };
  return command;
}

CommandPtr update_command(CLI::App& app) {
  struct Flags {
    std::string id;
    std::string resources_file;
    std::map<std::string, std::string> values;
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("update", "change a running container's resource limits");
  command->app = sub;
  sub->add_option("-r,--resources", flags->resources_file,
                  "linux.resources JSON file (- for stdin)");
  for (const char* flag :
       {"blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share", "cpu-rt-period",
        "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation",
        "memory-swap", "pids-limit", "cpu-idle", "kernel-memory", "kernel-memory-tcp",
        "l3-cache-schema", "mem-bw-schema"}) {
    std::string name = flag;
    sub->add_option_function<std::string>(
        "--" + name, [flags, name](const std::string& value) { flags->values[name] = value; },
        "as runc update");
  }
  sub->add_option("id", flags->id, "container id")->required();
  command->run = [flags](oci::Runtime& runtime) {
    isolate::cgroup::Resources resources;
    if (!flags->resources_file.empty()) {
      std::string text = flags->resources_file == "-"
                             ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                             : isolate::read_file(flags->resources_file);
      resources = oci::parse_resources(nlohmann::json::parse(text), "resources");
    } else {
      resources = oci::resources_from_update_flags(flags->values);
    }
    runtime.update(flags->id, resources);
    return 0;
  };
  return command;
}

// Go-style durations as runc takes them: "5s", "250ms", "1m".
int interval_ms(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  auto value = isolate::parse_u64(text.substr(0, digits));
  long factor = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : 0;
  if (!value || *value == 0 || *value > 86400000 || factor == 0) {
    invalid("--interval " + text + ": not a duration");
  }
  return static_cast<int>(*value * factor);
}

CommandPtr events_command(CLI::App& app) {
  struct Flags {
    std::string id;
    bool stats_once = false;
    std::string interval = "5s";
  };
  auto command = std::make_shared<Command>();
  auto flags = std::make_shared<Flags>();
  command->app = app.add_subcommand("events", "stream stats and OOM events as JSON lines");
  command->app->add_flag("--stats", flags->stats_once, "print the stats once and exit");
  command->app->add_option("--interval", flags->interval, "stats interval")->capture_default_str();
  command->app->add_option("id", flags->id, "container id")->required();
  command->run = [flags](oci::Runtime& runtime) {
    runtime.events(flags->id, interval_ms(flags->interval), flags->stats_once,
                   [](const nlohmann::json& event) { std::cout << event.dump() << std::endl; });
    return 0;
  };
  return command;
}

CommandPtr features_command(CLI::App& app) {
  auto command = std::make_shared<Command>();
  command->app = app.add_subcommand("features", "print the implemented features as JSON");
  command->run = [](oci::Runtime&) { return print_json(oci::features_json()); };
  return command;
}

CommandPtr checkpoint_command(CLI::App& app) {
  auto command = std::make_shared<Command>();
  auto o = std::make_shared<oci::CheckpointOptions>();
  o->image_path = "checkpoint";
  CLI::App* sub = app.add_subcommand("checkpoint", "dump a running container with CRIU");
  command->app = sub;
  sub->add_option("id", o->id, "container id")->required();
  sub->add_option("--image-path", o->image_path, "CRIU's images directory")->capture_default_str();
  sub->add_option("--work-path", o->work_path, "CRIU's logs (default: the image path)");
  sub->add_flag("--leave-running", o->leave_running, "keep the container running after the dump");
  sub->add_flag("--tcp-established", o->tcp_established, "dump established TCP connections");
  sub->add_flag("--ext-unix-sk", o->ext_unix_sk, "allow external unix sockets");
  sub->add_flag("--file-locks", o->file_locks, "dump file locks");
  command->run = [o](oci::Runtime& runtime) {
    runtime.checkpoint(*o);
    return 0;
  };
  return command;
}

CommandPtr restore_command(CLI::App& app) {
  auto command = std::make_shared<Command>();
  auto o = std::make_shared<oci::RestoreOptions>();
  o->create.bundle = ".";
  o->image_path = "checkpoint";
  bool detach = true;
  CLI::App* sub = app.add_subcommand("restore", "create a running container from a checkpoint");
  command->app = sub;
  sub->add_option("id", o->create.id, "container id")->required();
  sub->add_option("-b,--bundle", o->create.bundle, "bundle directory")->capture_default_str();
  sub->add_option("--pid-file", o->create.pid_file, "file to write the init's pid to");
  sub->add_option("--image-path", o->image_path, "CRIU's images directory")->capture_default_str();
  sub->add_option("--work-path", o->work_path, "CRIU's logs (default: the image path)");
  sub->add_flag("-d,--detach", detach, "accepted: a restore is always detached");
  sub->add_flag("--tcp-established", o->tcp_established, "restore established TCP connections");
  sub->add_flag("--ext-unix-sk", o->ext_unix_sk, "allow external unix sockets");
  sub->add_flag("--file-locks", o->file_locks, "restore file locks");
  command->run = [o](oci::Runtime& runtime) {
    runtime.restore(*o);
    return 0;
  };
  return command;
}

}  // namespace

std::vector<std::shared_ptr<Command>> register_commands(CLI::App& app) {
  return {
      create_command(app, false),
      create_command(app, true),
      id_command(app, "start", "start a created container",
                 [](oci::Runtime& runtime, const std::string& id) {
                   runtime.start(id);
                   return 0;
                 }),
      id_command(app, "state", "print a container's state as JSON",
                 [](oci::Runtime& runtime, const std::string& id) {
                   return print_json(runtime.state(id));
                 }),
      kill_command(app),
      delete_command(app),
      exec_command(app),
      list_command(app),
      ps_command(app),
      spec_command(app),
      features_command(app),
      id_command(app, "pause", "freeze every process of a container",
                 [](oci::Runtime& runtime, const std::string& id) {
                   runtime.pause(id);
                   return 0;
                 }),
      id_command(app, "resume", "thaw a paused container",
                 [](oci::Runtime& runtime, const std::string& id) {
                   runtime.resume(id);
                   return 0;
                 }),
      update_command(app),
      events_command(app),
      checkpoint_command(app),
      restore_command(app),
  };
}

}  // namespace hanok::cli
