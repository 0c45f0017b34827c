// Private to cri/: a CRI ContainerConfig (with its pod and image) turned into the OCI
// config.json the runtime runs, with containerd's semantics where the CRI is silent: the
// command from the config and the image's entrypoint/cmd, the environment merged over the
// image's, the user resolved in the image's own /etc/passwd and /etc/group, capabilities (the
// runtime's default set, add/drop, ALL), privileged, seccomp, masked and read-only paths, mounts
// with propagation, devices, resources, and the pod's namespaces joined.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "images/image_store.hpp"
#include "runtime_v1.pb.h"
#include "store.pb.h"

namespace hanok::cri {

struct ContainerSpecInputs {
  std::string id;
  const store::PodRecord* pod = nullptr;
  const runtime::v1::ContainerConfig* config = nullptr;
  const images::ImageInfo* image = nullptr;
  std::string image_name;  // as the config asked, resolved (annotations)
  std::string rootfs;      // the mounted rootfs
  int rootfs_fd = -1;      // an O_PATH fd of it (the image's /etc files are read through it)
  std::string cgroups_path;
  std::string target_pid_namespace;  // pid mode TARGET: /proc/<target's pid>/ns/pid
  bool cgroup_v2 = false;            // a cgroup namespace of its own on a cgroup v2 host
};

struct ContainerSpec {
  nlohmann::json config;  // config.json
  int stop_signal = 15;   // the image's StopSignal, else SIGTERM
};

// Throws isolate::Error Invalid naming the field ("config.linux.security_context.run_as_group:
// ...") for what cannot be run.
ContainerSpec build_container_spec(const ContainerSpecInputs& inputs);

// linux.resources (cpu, memory, unified) from the CRI's; absent or zero fields are left out.
nlohmann::json oci_resources(const runtime::v1::LinuxContainerResources& resources);
// Throws isolate::Error Invalid naming the field (`prefix` + "cpu_quota: ...").
void check_resources(const runtime::v1::LinuxContainerResources& resources,
                     const std::string& prefix);

// The runtime's default capabilities (those runc, containerd and CRI-O give), "CAP_CHOWN"...
const std::vector<std::string>& default_capabilities();

}  // namespace hanok::cri
