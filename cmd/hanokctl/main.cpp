// hanokctl: a small crictl-like CRI client (crictl is not in Debian). It talks to any CRI
// runtime's socket; its config files are crictl's (PodSandboxConfig / ContainerConfig as JSON).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cri_client.hpp"

namespace rt = runtime::v1;
using hanok::cri::client::CriClient;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

template <typename Message>
Message read_config(const std::string& path) {
  Message message;
  hanok::cri::client::message_from_json(read_text(path), message, path);
  return message;
}

std::string short_id(const std::string& id) {
  return id.substr(0, 13);
}

std::string state_name(rt::ContainerState state) {
  std::string name = rt::ContainerState_Name(state);
  return name.substr(name.find('_') + 1);
}

std::string age(int64_t created_ns) {
  int64_t seconds =
      (static_cast<int64_t>(std::time(nullptr)) * 1000000000 - created_ns) / 1000000000;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hanokctl: a small CRI client (crictl's verbs)", "hanokctl"};
  std::string endpoint = "unix:///run/hanok/hanok.sock";
  int timeout = 120;
  app.add_option("-r,--runtime-endpoint", endpoint, "the CRI socket")
      ->envname("CONTAINER_RUNTIME_ENDPOINT");
  app.add_option("-t,--timeout", timeout, "seconds per call");
  app.require_subcommand(1);

  std::string image, pod_config, container_config, id, pod_filter;
  std::vector<std::string> command;
  bool all = false;
  int64_t stop_timeout = 10;
  int64_t exec_timeout = 0;

  auto* version = app.add_subcommand("version", "the runtime's name and versions");
  auto* info = app.add_subcommand("info", "the runtime's conditions and details");
  auto* pull = app.add_subcommand("pull", "pull an image");
  pull->add_option("IMAGE", image)->required();
  auto* images = app.add_subcommand("images", "list images");
  auto* runp = app.add_subcommand("runp", "run a pod sandbox from POD_CONFIG.json");
  runp->add_option("POD_CONFIG", pod_config)->required();
  auto* create = app.add_subcommand("create", "create a container in a pod");
  create->add_option("POD_ID", id)->required();
  create->add_option("CONTAINER_CONFIG", container_config)->required();
  create->add_option("POD_CONFIG", pod_config)->required();
  auto* start = app.add_subcommand("start", "start a created container");
  start->add_option("ID", id)->required();
  auto* stop = app.add_subcommand("stop", "stop a container");
  stop->add_option("--timeout", stop_timeout, "seconds before SIGKILL");
  stop->add_option("ID", id)->required();
  auto* rm = app.add_subcommand("rm", "remove a container");
  rm->add_option("ID", id)->required();
  auto* ps = app.add_subcommand("ps", "list running containers");
  ps->add_flag("-a,--all", all, "also created and exited ones");
  ps->add_option("-p,--pod", pod_filter, "only this pod's");
  auto* pods = app.add_subcommand("pods", "list pod sandboxes");
  auto* inspect = app.add_subcommand("inspect", "a container's status as JSON");
  inspect->add_option("ID", id)->required();
  auto* inspectp = app.add_subcommand("inspectp", "a pod sandbox's status as JSON");
  inspectp->add_option("ID", id)->required();
  auto* logs = app.add_subcommand("logs", "a container's log (what it wrote)");
  logs->add_option("ID", id)->required();
  auto* exec = app.add_subcommand("exec", "run a command in a running container (ExecSync)");
  exec->add_option("--timeout", exec_timeout, "seconds (0: none)");
  exec->add_option("ID", id)->required();
  exec->add_option("COMMAND", command)->required();
  exec->prefix_command();
  auto* stopp = app.add_subcommand("stopp", "stop a pod sandbox");
  stopp->add_option("ID", id)->required();
  auto* rmp = app.add_subcommand("rmp", "remove a pod sandbox");
  rmp->add_option("ID", id)->required();
  CLI11_PARSE(app, argc, argv);

  try {
    CriClient client(endpoint, std::chrono::seconds(timeout));
    if (version->parsed()) {
      auto v = client.version();
      std::printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n",
                  v.version().c_str(), v.runtime_name().c_str(), v.runtime_version().c_str(),
                  v.runtime_api_version().c_str());
    } else if (info->parsed()) {
      std::printf("%s\n", hanok::cri::client::json_of(client.status(true)).c_str());
    } else if (pull->parsed()) {
      std::printf("Image is up to date for %s\n", client.pull(image).c_str());
    } else if (images->parsed()) {
      std::printf("%-60s %-20s %s\n", "IMAGE", "IMAGE ID", "SIZE");
      for (const auto& i : client.list_images()) {
        std::string name = i.repo_tags_size() > 0 ? i.repo_tags(0) : "<none>";
        std::printf("%-60s %-20s %llu\n", name.c_str(), i.id().substr(7, 13).c_str(),
                    static_cast<unsigned long long>(i.size()));
      }
    } else if (runp->parsed()) {
      std::printf("%s\n", client.run_pod(read_config<rt::PodSandboxConfig>(pod_config)).c_str());
    } else if (create->parsed()) {
      auto pod = read_config<rt::PodSandboxConfig>(pod_config);
      auto container = read_config<rt::ContainerConfig>(container_config);
      std::printf("%s\n", client.create_container(id, container, pod).c_str());
    } else if (start->parsed()) {
      client.start_container(id);
      std::printf("%s\n", id.c_str());
    } else if (stop->parsed()) {
      client.stop_container(id, stop_timeout);
      std::printf("%s\n", id.c_str());
    } else if (rm->parsed()) {
      client.remove_container(id);
      std::printf("%s\n", id.c_str());
    } else if (ps->parsed()) {
      rt::ContainerFilter filter;
      filter.set_pod_sandbox_id(pod_filter);
      if (!all) filter.mutable_state()->set_state(rt::CONTAINER_RUNNING);
      std::printf("%-14s %-30s %-8s %-10s %-20s %s\n", "CONTAINER", "IMAGE", "CREATED", "STATE",
                  "NAME", "POD ID");
      for (const auto& c : client.list_containers(filter)) {
        std::printf("%-14s %-30s %-8s %-10s %-20s %s\n", short_id(c.id()).c_str(),
                    c.image().image().c_str(), age(c.created_at()).c_str(),
                    state_name(c.state()).c_str(), c.metadata().name().c_str(),
                    short_id(c.pod_sandbox_id()).c_str());
      }
    } else if (pods->parsed()) {
      std::printf("%-14s %-8s %-10s %-30s %-20s %s\n", "POD ID", "CREATED", "STATE", "NAME",
                  "NAMESPACE", "ATTEMPT");
      for (const auto& p : client.list_pods()) {
        std::string state = rt::PodSandboxState_Name(p.state());
        std::printf("%-14s %-8s %-10s %-30s %-20s %u\n", short_id(p.id()).c_str(),
                    age(p.created_at()).c_str(), state.substr(state.find('_') + 1).c_str(),
                    p.metadata().name().c_str(), p.metadata().namespace_().c_str(),
                    p.metadata().attempt());
      }
    } else if (inspect->parsed()) {
      std::printf("%s\n", hanok::cri::client::json_of(client.container_status(id, true)).c_str());
    } else if (inspectp->parsed()) {
      std::printf("%s\n", hanok::cri::client::json_of(client.pod_status(id, true)).c_str());
    } else if (logs->parsed()) {
      std::string path = client.container_status(id).status().log_path();
      if (path.empty()) throw std::runtime_error("container " + id + " has no log path");
      auto lines = hanok::cri::client::parse_cri_log(read_text(path));
      for (const auto& line : lines) {
        std::FILE* out = line.stream == "stderr" ? stderr : stdout;
        std::fputs(line.text.c_str(), out);
        if (line.tag == 'F') std::fputc('\n', out);
      }
    } else if (exec->parsed()) {
      auto result = client.exec_sync(id, command, exec_timeout);
      std::fwrite(result.stdout().data(), 1, result.stdout().size(), stdout);
      std::fwrite(result.stderr().data(), 1, result.stderr().size(), stderr);
      return result.exit_code();
    } else if (stopp->parsed()) {
      client.stop_pod(id);
      std::printf("Stopped sandbox %s\n", id.c_str());
    } else if (rmp->parsed()) {
      client.remove_pod(id);
      std::printf("Removed sandbox %s\n", id.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hanokctl: %s\n", e.what());
    return 1;
  }
  return 0;
}
