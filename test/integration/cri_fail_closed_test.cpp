// What hanokd does not serve is refused, never dropped: a pod or a container that asks for a user
// namespace, an AppArmor profile, an SELinux label, an image volume, CDI devices, an idmapped,
// recursively read-only or option-carrying mount, a mount at or below /proc, or propagation its
// host path cannot give gets INVALID_ARGUMENT naming the field, and nothing is left of it. Status
// says what is served. And what is newly served: SupplementalGroupsPolicy Strict, the config's
// stop signal, hugepage limits, ambient capabilities, the effective user in ContainerStatus.
#include <sys/mount.h>

#include "cri_fixture.hpp"

namespace hanok::test {
namespace {

using CriFailClosed = CriFixture;

struct Refusal {
  std::string what;   // for the failure message
  std::string field;  // what the error must name
  std::function<void(v1::ContainerConfig&)> change;
};

TEST_F(CriFailClosed, ContainerFieldsNotServedAreRefused) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("refusals");
  std::string volume = dir_ + "/volume";
  ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
  // A mount of the test's own that propagates nothing (whatever the host's / is).
  std::string private_mount = dir_ + "/private";
  ASSERT_EQ(::mkdir(private_mount.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", private_mount.c_str(), "tmpfs", 0, "size=1m"), 0);
  ASSERT_EQ(::mount(nullptr, private_mount.c_str(), nullptr, MS_PRIVATE, nullptr), 0);
  auto mount_of = [&](v1::ContainerConfig& config, const std::string& host,
                      const std::string& inside) -> v1::Mount& {
    auto* mount = config.add_mounts();
    mount->set_host_path(host);
    mount->set_container_path(inside);
    return *mount;
  };
  auto sc = [](v1::ContainerConfig& config) {
    return config.mutable_linux()->mutable_security_context();
  };
  const std::vector<Refusal> refusals = {
      {"an image volume", "config.mounts[0].image",
       [&](auto& c) { mount_of(c, "", "/img").mutable_image()->set_image(image()); }},
      {"an image sub path", "config.mounts[0].image_sub_path",
       [&](auto& c) { mount_of(c, volume, "/v").set_image_sub_path("etc"); }},
      {"an idmapped mount", "config.mounts[0].uidMappings",
       [&](auto& c) {
         auto* map = mount_of(c, volume, "/v").add_uidmappings();
         map->set_host_id(100000);
         map->set_length(65536);
       }},
      {"a recursively read-only mount", "config.mounts[0].recursive_read_only",
       [&](auto& c) {
         auto& m = mount_of(c, volume, "/v");
         m.set_readonly(true);
         m.set_recursive_read_only(true);
       }},
      {"mount options", "config.mounts[0].mount_options",
       [&](auto& c) { mount_of(c, volume, "/v").add_mount_options("noexec"); }},
      {"a mount inside /proc", "config.mounts[0].container_path",
       [&](auto& c) { mount_of(c, volume, "/proc/sys/kernel"); }},
      {"a mount over /proc", "config.mounts[0].container_path",
       [&](auto& c) { mount_of(c, volume, "/proc"); }},
      {"bidirectional propagation from a private mount", "config.mounts[0].propagation",
       [&](auto& c) {
         mount_of(c, private_mount, "/v").set_propagation(v1::PROPAGATION_BIDIRECTIONAL);
       }},
      {"host-to-container propagation from a private mount", "config.mounts[0].propagation",
       [&](auto& c) {
         mount_of(c, private_mount, "/v").set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
       }},
      {"a CDI device", "config.CDI_devices[0]",
       [&](auto& c) { c.add_cdi_devices()->set_name("vendor.com/gpu=0"); }},
      {"a CDI annotation", "config.annotations[\"cdi.k8s.io/gpu\"]",
       [&](auto& c) { (*c.mutable_annotations())["cdi.k8s.io/gpu"] = "vendor.com/gpu=0"; }},
      {"a user namespace", "config.linux.security_context.namespace_options.userns_options.mode",
       [&](auto& c) {
         sc(c)->mutable_namespace_options()->mutable_userns_options()->set_mode(v1::POD);
       }},
      {"the default AppArmor profile", "config.linux.security_context.apparmor",
       [&](auto& c) {
         sc(c)->mutable_apparmor()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
       }},
      {"a local AppArmor profile", "config.linux.security_context.apparmor",
       [&](auto& c) {
         sc(c)->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Localhost);
         sc(c)->mutable_apparmor()->set_localhost_ref("my-profile");
       }},
      {"an AppArmor profile by name", "config.linux.security_context.apparmor_profile",
       [&](auto& c) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
         sc(c)->set_apparmor_profile("localhost/my-profile");
#pragma GCC diagnostic pop
       }},
      {"an SELinux label", "config.linux.security_context.selinux_options",
       [&](auto& c) { sc(c)->mutable_selinux_options()->set_level("s0:c1,c2"); }},
  };
  for (const auto& refusal : refusals) {
    v1::ContainerConfig config = container_config("refused", kIdle);
    refusal.change(config);
    CallOutcome outcome = outcome_of([&] { create(pod, config); });
    EXPECT_EQ(code_name(outcome.code), "INVALID_ARGUMENT") << refusal.what << ": " << outcome;
    EXPECT_TRUE(contains(outcome.message, refusal.field)) << refusal.what << ": " << outcome;
  }
  // What asks for nothing is taken: no profile, unconfined ones, an SELinux relabel (hanok labels
  // nothing, so nothing needs relabelling), the host's user namespace.
  v1::ContainerConfig plain = container_config("plain", kIdle);
  sc(plain)->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Unconfined);
  sc(plain)->mutable_namespace_options()->mutable_userns_options()->set_mode(v1::NODE);
  mount_of(plain, volume, "/v").set_selinux_relabel(true);
  mount_of(plain, "/proc/cpuinfo", "/proc/cpuinfo");  // as LXCFS covers it
  std::string id = run(pod, plain);
  EXPECT_EQ(output_of(id, "grep -c processor /proc/cpuinfo; ls -d /v"),
            std::to_string(::sysconf(_SC_NPROCESSORS_CONF)) + "\n/v");
  cri().remove_container(id);

  EXPECT_TRUE(cri().list_containers().empty());
  EXPECT_EQ(joined(entries_of(state_ + "/containers")), "");
  EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "");
  ::umount2(private_mount.c_str(), MNT_DETACH);
}

TEST_F(CriFailClosed, PodFieldsNotServedAreRefused) {
  ASSERT_TRUE(start_daemon());
  struct PodRefusal {
    std::string what;
    std::string field;
    std::function<void(v1::PodSandboxConfig&)> change;
  };
  auto sc = [](v1::PodSandboxConfig& config) {
    return config.mutable_linux()->mutable_security_context();
  };
  const std::vector<PodRefusal> refusals = {
      {"a user namespace", "config.linux.security_context.namespace_options.userns_options.mode",
       [&](auto& c) {
         auto* userns = sc(c)->mutable_namespace_options()->mutable_userns_options();
         userns->set_mode(v1::POD);
         auto* uids = userns->add_uids();
         uids->set_host_id(65536);
         uids->set_length(65536);
       }},
      {"an SELinux label", "config.linux.security_context.selinux_options",
       [&](auto& c) { sc(c)->mutable_selinux_options()->set_type("container_t"); }},
      {"an AppArmor profile", "config.linux.security_context.apparmor",
       [&](auto& c) {
         sc(c)->mutable_apparmor()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
       }},
  };
  for (const auto& refusal : refusals) {
    v1::PodSandboxConfig config = pod_config("refused");
    refusal.change(config);
    CallOutcome outcome = outcome_of([&] { cri().run_pod(config); });
    EXPECT_EQ(code_name(outcome.code), "INVALID_ARGUMENT") << refusal.what << ": " << outcome;
    EXPECT_TRUE(contains(outcome.message, refusal.field)) << refusal.what << ": " << outcome;
  }
  EXPECT_TRUE(cri().list_pods().empty());
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
}

TEST_F(CriFailClosed, StatusSaysWhatIsServed) {
  ASSERT_TRUE(start_daemon());
  v1::StatusRequest request;
  v1::StatusResponse response;
  auto context = cri().context();
  ASSERT_TRUE(cri().runtime().Status(context.get(), request, &response).ok());
  std::map<std::string, v1::RuntimeHandlerFeatures> handlers;
  for (const auto& handler : response.runtime_handlers()) {
    handlers[handler.name()] = handler.features();
  }
  ASSERT_EQ(handlers.size(), 2U);
  for (const char* name : {"", "hanok"}) {
    ASSERT_EQ(handlers.count(name), 1U) << name;
    EXPECT_FALSE(handlers[name].user_namespaces()) << name;
    EXPECT_FALSE(handlers[name].recursive_read_only_mounts()) << name;
  }
  EXPECT_TRUE(response.features().supplemental_groups_policy());
  EXPECT_FALSE(response.features().user_namespaces_host_network());
  EXPECT_FALSE(response.features().mount_options());
}

// SupplementalGroupsPolicy: Merge adds the groups the image's /etc/group gives the user (the
// fixture's "extra", 2000); Strict takes none. ContainerStatus shows the identity it runs with.
TEST_F(CriFailClosed, SupplementalGroupsPolicyStrict) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("groups");
  for (auto policy : {v1::Merge, v1::Strict}) {
    v1::ContainerConfig config = container_config(v1::SupplementalGroupsPolicy_Name(policy), kIdle);
    auto* sc = config.mutable_linux()->mutable_security_context();
    sc->set_run_as_username("user");
    sc->add_supplemental_groups(3000);
    sc->set_supplemental_groups_policy(policy);
    std::string id = run(pod, config);
    std::string expected = policy == v1::Merge ? "1000 2000 3000" : "1000 3000";
    EXPECT_EQ(output_of(id, "id -G | tr ' ' '\\n' | sort -n | tr '\\n' ' ' | sed 's/ $//'"),
              expected);
    auto user = cri().container_status(id).status().user().linux();
    EXPECT_EQ(user.uid(), 1000);
    EXPECT_EQ(user.gid(), 1000);
    std::string groups;
    for (auto gid : user.supplemental_groups())
      groups += (groups.empty() ? "" : " ") + std::to_string(gid);
    EXPECT_EQ(groups, expected);
  }
}

// The config's stop signal (the pod spec's lifecycle.stopSignal) is what StopContainer sends, and
// what ContainerStatus reports; without one, the image's (TERM here).
TEST_F(CriFailClosed, StopSignalFromTheConfig) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("stop-signal");
  v1::ContainerConfig config = container_config(
      "usr1", "trap 'exit 42' USR1; trap '' TERM; echo ready; while :; do sleep 0.1; done");
  config.set_stop_signal(v1::SIGNAL_SIGUSR1);
  std::string id = run(pod, config);
  EXPECT_EQ(cri().container_status(id).status().stop_signal(), v1::SIGNAL_SIGUSR1);
  ASSERT_TRUE(poll_until([&] { return log_has(log_path_of(id), "ready"); }, 10s));
  cri().stop_container(id, 10);
  EXPECT_EQ(cri().container_status(id).status().exit_code(), 42);
  std::string plain = run(pod, container_config("plain", kIdle));
  EXPECT_EQ(cri().container_status(plain).status().stop_signal(), v1::SIGNAL_SIGTERM);
  // A value the CRI does not name is refused, nothing made.
  v1::ContainerConfig unknown = container_config("unknown", kIdle);
  unknown.set_stop_signal(static_cast<v1::Signal>(999));
  CallOutcome refused = outcome_of([&] { create(pod, unknown); });
  EXPECT_EQ(code_name(refused.code), "INVALID_ARGUMENT") << refused;
  EXPECT_TRUE(contains(refused.message, "config.stop_signal")) << refused;
  EXPECT_EQ(cri().list_containers().size(), 2U);
}

// Hugepage limits (the kubelet sends one per page size, 0 where none is requested) reach the
// container's hugetlb cgroup.
TEST_F(CriFailClosed, HugepageLimitsReachTheCgroup) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("hugepages");
  v1::ContainerConfig config = container_config("huge", kIdle);
  auto* limit = config.mutable_linux()->mutable_resources()->add_hugepage_limits();
  limit->set_page_size("2MB");
  limit->set_limit(4 * kMiB);
  std::string id = run(pod, config);
  auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
  std::string path = info.value("cgroupsPath", "");
  std::string file = cgroup_v2_host() ? "/sys/fs/cgroup" + path + "/hugetlb.2MB.max"
                     : isolate::path_exists("/sys/fs/cgroup/hugetlb")
                         ? "/sys/fs/cgroup/hugetlb" + path + "/hugetlb.2MB.limit_in_bytes"
                         : "/sys/fs/cgroup/unified" + path + "/hugetlb.2MB.max";
  EXPECT_EQ(isolate::read_file_if_exists(file).value_or("(none)"), std::to_string(4 * kMiB) + "\n")
      << file;
}

// Ambient capabilities: a non-root process keeps them (and they are permitted and inheritable).
TEST_F(CriFailClosed, AmbientCapabilities) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("ambient");
  v1::ContainerConfig config = container_config("ambient", kIdle);
  auto* sc = config.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1000);
  sc->mutable_capabilities()->add_drop_capabilities("ALL");
  // An ambient capability that is not granted is refused, not granted through the back door.
  sc->mutable_capabilities()->add_add_ambient_capabilities("NET_BIND_SERVICE");
  CallOutcome ungranted = outcome_of([&] { create(pod, config); });
  EXPECT_EQ(code_name(ungranted.code), "INVALID_ARGUMENT") << ungranted;
  EXPECT_TRUE(contains(ungranted.message, "add_ambient_capabilities[0]")) << ungranted;
  sc->mutable_capabilities()->add_add_capabilities("NET_BIND_SERVICE");
  std::string id = run(pod, config);
  std::string status = output_of(id, "cat /proc/self/status");
  for (const char* set : {"CapAmb", "CapInh", "CapPrm", "CapEff", "CapBnd"}) {
    EXPECT_EQ(status_field(status, set), "0000000000000400") << set;  // CAP_NET_BIND_SERVICE
  }
}

}  // namespace
}  // namespace hanok::test
