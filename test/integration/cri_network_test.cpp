// hanokd's pod networking as the kubelet uses it: CNI networks from a config dir of the test's
// own (Debian's containernetworking-plugins), the pod's IPs, DNS and hosts files, hostPorts, host
// network pods, teardown after failures and restarts, and nothing left behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <set>
#include <thread>

#include "cri_fixture.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::test {
namespace {

class CriNetwork : public CriFixture {
 protected:
  void SetUp() override {
    CriFixture::SetUp();
    HANOK_REQUIRE(isolate::path_exists("/usr/lib/cni/bridge") &&
                      isolate::path_exists("/usr/lib/cni/host-local") &&
                      isolate::path_exists("/usr/lib/cni/portmap"),
                  "needs containernetworking-plugins");
    bridge_ = "hnk" + std::to_string(::getpid() % 100000);
  }
  void TearDown() override {
    CriFixture::TearDown();
    // The bridge is the plugin's: the test removes it (the plugins never do).
    if (!bridge_.empty() && isolate::path_exists("/sys/class/net/" + bridge_)) {
      isolate::run_program({"/sbin/ip", "link", "del", bridge_});
    }
  }
  std::string ipam_dir() const { return dir_ + "/ipam"; }
  // The IPs host-local holds for the test's bridge network (its files named by address).
  std::vector<std::string> reserved_ips() const {
    std::vector<std::string> ips;
    for (const auto& name : entries_of(ipam_dir() + "/" + bridge_)) {
      if (name != "lock" && name.rfind("last_reserved_ip", 0) != 0) ips.push_back(name);
    }
    return ips;
  }

  std::string bridge_;
};

// The host's network interfaces of one kind ("veth", "bridge"...), by name.
std::vector<std::string> host_links(const std::string& kind) {
  Result result = run_program({"/sbin/ip", "-o", "link", "show", "type", kind});
  std::vector<std::string> names;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string index, name;
    fields >> index >> name;
    names.push_back(name.substr(0, name.find_first_of("@:")));
  }
  return sorted(names);
}

// An HTTP GET of `path` from 127.0.0.1:`port`: the whole answer ("" when nothing answered).
std::string http_get(int port, const std::string& path) {
  return loopback_exchange(port, "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
}

// ---------------------------------------------------------------------------------------------
// 17. The pod network through CNI (Debian's containernetworking-plugins).

// A CNI network of the test's own: a bridge and a subnet no other test or host uses.
std::string bridge_network(const std::string& bridge, const std::string& subnet,
                           const std::string& ipam_dir, bool with_portmap = false) {
  nlohmann::json ipam = {{"type", "host-local"}, {"dataDir", ipam_dir}};
  ipam["ranges"] = nlohmann::json::array({nlohmann::json::array({{{"subnet", subnet}}})});
  nlohmann::json plugin = {
      {"type", "bridge"}, {"bridge", bridge}, {"isGateway", true}, {"ipMasq", false}};
  plugin["ipam"] = ipam;
  nlohmann::json network = {{"cniVersion", "0.4.0"}, {"name", bridge}};
  network["plugins"] = nlohmann::json::array({plugin});
  if (with_portmap) {
    network["plugins"].push_back(
        {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}});
  }
  return network.dump(2);
}

v1::RuntimeCondition condition_of(const v1::StatusResponse& status, const std::string& type) {
  for (const auto& condition : status.status().conditions()) {
    if (condition.type() == type) return condition;
  }
  return {};
}

TEST_F(CriNetwork, BridgeNetwork) {
  const std::string& bridge = bridge_;
  std::string ipam = ipam_dir();
  std::string bin = dir_ + "/cni-bin";
  isolate::make_dirs(bin, 0755);
  // A plugin that always fails, as a broken one would.
  isolate::write_file_atomic(bin + "/always-fails",
                             "#!/bin/sh\ncat >/dev/null\n"
                             "echo '{\"cniVersion\":\"0.4.0\",\"code\":100,\"msg\":\"boom\","
                             "\"details\":\"by design\"}'\nexit 1\n",
                             0755);
  ASSERT_TRUE(start_daemon("cni_bin_dirs = [\"" + bin + "\", \"/usr/lib/cni\"]"));

  // No network config: not ready, and why; a pod with a network of its own fails as
  // containerd's does ("cni plugin not initialized") and leaves nothing; a host-network pod runs.
  ASSERT_EQ(::unlink(loopback_network().c_str()), 0);
  auto not_ready = condition_of(cri().status(), "NetworkReady");
  EXPECT_FALSE(not_ready.status());
  EXPECT_EQ(not_ready.reason(), "NetworkPluginNotReady");
  EXPECT_NE(not_ready.message().find(cni_dir()), std::string::npos) << not_ready.message();
  EXPECT_TRUE(condition_of(cri().status(), "RuntimeReady").status());
  CallOutcome lonely = outcome_of([&] { run_pod("lonely"); });
  EXPECT_EQ(code_name(lonely.code), "FAILED_PRECONDITION") << lonely;
  EXPECT_TRUE(contains(lonely.message, "cni plugin not initialized")) << lonely;
  EXPECT_TRUE(cri().list_pods().empty());
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
  EXPECT_EQ(joined(mounts_below(state_), "\n"), "");
  v1::PodSandboxConfig host_config = pod_config("host-lonely");
  host_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  Pod host = run_pod(host_config);
  cri().stop_pod(host.id);
  cri().remove_pod(host.id);

  // A broken plugin fails RunPodSandbox with its message, and leaves no pod behind.
  isolate::write_file_atomic(cni_dir() + "/10-broken.conflist",
                             R"({"cniVersion": "0.4.0", "name": "broken",
                                 "plugins": [{"type": "always-fails"}]})",
                             0644);
  EXPECT_TRUE(condition_of(cri().status(), "NetworkReady").status());
  CallOutcome broken = outcome_of([&] { run_pod("broken"); });
  EXPECT_NE(broken.code, grpc::StatusCode::OK);
  EXPECT_NE(broken.message.find("boom"), std::string::npos) << broken;
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
  EXPECT_EQ(joined(mounts_below(state_), "\n"), "");
  ::unlink((cni_dir() + "/10-broken.conflist").c_str());

  // A bridge network: each pod gets an address in the subnet, reserved while the pod runs, and
  // the two pods reach each other.
  isolate::write_file_atomic(cni_dir() + "/20-bridge.conflist",
                             bridge_network(bridge, "10.231.77.0/24", ipam), 0644);
  EXPECT_TRUE(condition_of(cri().status(), "NetworkReady").status());
  Pod a = run_pod("net-a");
  Pod b = run_pod("net-b");
  std::string ip_a = cri().pod_status(a.id).status().network().ip();
  std::string ip_b = cri().pod_status(b.id).status().network().ip();
  EXPECT_EQ(ip_a.rfind("10.231.77.", 0), 0u) << ip_a;
  EXPECT_EQ(ip_b.rfind("10.231.77.", 0), 0u) << ip_b;
  EXPECT_NE(ip_a, ip_b);
  EXPECT_TRUE(isolate::path_exists(ipam + "/" + bridge + "/" + ip_a));
  std::string in_a = run(a, container_config("in-a", kIdle));
  ASSERT_TRUE(cri().wait_for_state(in_a, v1::CONTAINER_RUNNING, 20s));
  EXPECT_NE(output_of(in_a, "ip -4 addr show eth0").find(ip_a + "/24"), std::string::npos);
  auto ping = shell(in_a, "ping -c 1 -W 5 " + ip_b);
  EXPECT_EQ(ping.exit_code(), 0) << ping.stdout() << ping.stderr();

  // Stopping a pod releases its address (CNI DEL), and stopping it again is fine.
  cri().stop_pod(a.id);
  cri().stop_pod(a.id);
  EXPECT_FALSE(isolate::path_exists(ipam + "/" + bridge + "/" + ip_a));
  EXPECT_EQ(cri().pod_status(a.id).status().network().ip(), "");
  cri().remove_pod(a.id);
  cri().remove_pod(b.id);
  EXPECT_FALSE(isolate::path_exists(ipam + "/" + bridge + "/" + ip_b));
  expect_nothing_left(b.id);
}

// ---------------------------------------------------------------------------------------------
// What a plugin is given (CNI_ARGS, capability arguments), what its result gives the pod (IPv4
// and IPv6 addresses, /etc/hosts), CHECK through a verbose status, and bad bandwidth
// annotations: a plugin of the test's own records its calls.

TEST_F(CriNetwork, PluginArgumentsAndResult) {
  std::string bin = dir_ + "/cni-bin";
  std::string calls = dir_ + "/calls";
  isolate::make_dirs(bin, 0755);
  isolate::make_dirs(calls, 0755);
  isolate::write_file_atomic(
      bin + "/recorder",
      "#!/bin/sh\ncat > " + calls + "/$CNI_COMMAND.json\nenv > " + calls +
          "/$CNI_COMMAND.env\n"
          "if [ \"$CNI_COMMAND\" = ADD ]; then echo '{\"cniVersion\": \"1.0.0\", "
          "\"interfaces\": [{\"name\": \"eth0\"}], \"ips\": [{\"address\": "
          "\"fd00:77::5/64\", \"interface\": 0}, {\"address\": \"10.77.0.5/24\", "
          "\"interface\": 0}]}'; fi\n",
      0755);
  isolate::write_file_atomic(cni_dir() + "/10-recorded.conflist", R"({
      "cniVersion": "1.0.0", "name": "recorded",
      "plugins": [{"type": "recorder", "capabilities": {"portMappings": true, "dns": true,
                   "bandwidth": true, "ipRanges": true, "aliases": true}}]})",
                             0644);
  ASSERT_TRUE(start_daemon("cni_bin_dirs = [\"" + bin + "\"]"));
  {
    v1::UpdateRuntimeConfigRequest request;
    request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.77.0.0/16");
    v1::UpdateRuntimeConfigResponse response;
    auto context = cri().context();
    ASSERT_TRUE(cri().runtime().UpdateRuntimeConfig(context.get(), request, &response).ok());
  }

  v1::PodSandboxConfig config = pod_config("recorded");
  config.set_hostname("recorded-host");
  auto* port = config.add_port_mappings();
  port->set_protocol(v1::UDP);
  port->set_container_port(53);
  port->set_host_port(5353);
  port->set_host_ip("127.0.0.1");
  auto* unmapped = config.add_port_mappings();  // no host port: not for the plugin
  unmapped->set_container_port(8080);
  config.mutable_dns_config()->add_servers("10.0.0.10");
  config.mutable_dns_config()->add_searches("ns.svc.cluster.local");
  config.mutable_dns_config()->add_options("ndots:5");
  (*config.mutable_annotations())["kubernetes.io/ingress-bandwidth"] = "10M";
  (*config.mutable_annotations())["kubernetes.io/egress-bandwidth"] = "1Mi";
  Pod pod = run_pod(config);

  std::string env = isolate::read_file_if_exists(calls + "/ADD.env").value_or("");
  EXPECT_TRUE(contains(env,
                       "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=cri-runtime-test;"
                       "K8S_POD_NAME=recorded;K8S_POD_INFRA_CONTAINER_ID=" +
                           pod.id + ";K8S_POD_UID=uid-recorded"))
      << env;
  EXPECT_TRUE(contains(env, "CNI_CONTAINERID=" + pod.id)) << env;
  EXPECT_TRUE(contains(env, "CNI_IFNAME=eth0")) << env;
  EXPECT_TRUE(contains(env, "CNI_NETNS=" + state_ + "/pods/" + pod.id + "/ns/net")) << env;
  auto stdin_json = nlohmann::json::parse(
      isolate::read_file_if_exists(calls + "/ADD.json").value_or("{}"), nullptr, false);
  ASSERT_TRUE(stdin_json.is_object());
  EXPECT_EQ(stdin_json.value("name", ""), "recorded");
  EXPECT_EQ(stdin_json.value("cniVersion", ""), "1.0.0");
  auto expected_runtime_config = nlohmann::json::parse(R"({
      "portMappings": [{"hostPort": 5353, "containerPort": 53, "protocol": "udp",
                        "hostIP": "127.0.0.1"}],
      "dns": {"servers": ["10.0.0.10"], "searches": ["ns.svc.cluster.local"],
              "options": ["ndots:5"]},
      "bandwidth": {"ingressRate": 10000000, "ingressBurst": 4294967295,
                    "egressRate": 1048576, "egressBurst": 4294967295},
      "ipRanges": [[{"subnet": "10.77.0.0/16"}]]})");
  EXPECT_EQ(stdin_json["runtimeConfig"], expected_runtime_config) << stdin_json.dump(2);

  // IPv4 first, whatever order the plugin gave them in; the IPv6 one as an additional IP.
  auto network = cri().pod_status(pod.id).status().network();
  EXPECT_EQ(network.ip(), "10.77.0.5");
  ASSERT_EQ(network.additional_ips_size(), 1);
  EXPECT_EQ(network.additional_ips(0).ip(), "fd00:77::5");

  std::string in_pod = run(pod, container_config("hosts", kIdle));
  std::string hosts = output_of(in_pod, "cat /etc/hosts");
  EXPECT_TRUE(contains(hosts, "127.0.0.1\tlocalhost")) << hosts;
  EXPECT_TRUE(contains(hosts, "10.77.0.5\trecorded-host")) << hosts;
  EXPECT_TRUE(contains(hosts, "fd00:77::5\trecorded-host")) << hosts;
  EXPECT_EQ(output_of(in_pod, "cat /etc/hostname"), "recorded-host");

  // CHECK, when an operator asks for a verbose status: with the ADD's result as prevResult.
  auto verbose = nlohmann::json::parse(cri().pod_status(pod.id, true).info().at("info"));
  EXPECT_EQ(verbose.value("networkCheck", ""), "ok") << verbose.dump(2);
  auto check = nlohmann::json::parse(
      isolate::read_file_if_exists(calls + "/CHECK.json").value_or("{}"), nullptr, false);
  EXPECT_EQ(check["prevResult"]["ips"].size(), 2u) << check.dump(2);

  cri().stop_pod(pod.id);
  auto del = nlohmann::json::parse(isolate::read_file_if_exists(calls + "/DEL.json").value_or("{}"),
                                   nullptr, false);
  EXPECT_EQ(del["prevResult"]["ips"].size(), 2u) << del.dump(2);
  EXPECT_EQ(del["runtimeConfig"], expected_runtime_config);
  cri().remove_pod(pod.id);

  // A bandwidth annotation that is no quantity, or absurd: INVALID_ARGUMENT naming it, before
  // any plugin runs and with nothing left.
  ::unlink((calls + "/ADD.json").c_str());
  for (const char* bad : {"fast", "10", "2P"}) {
    v1::PodSandboxConfig shaped = pod_config(std::string("shaped-") + (bad[0] == 'f' ? "f" : bad));
    (*shaped.mutable_annotations())["kubernetes.io/egress-bandwidth"] = bad;
    CallOutcome outcome = outcome_of([&] { run_pod(shaped); });
    EXPECT_EQ(code_name(outcome.code), "INVALID_ARGUMENT") << bad << ": " << outcome;
    EXPECT_TRUE(contains(outcome.message, "kubernetes.io/egress-bandwidth")) << outcome;
  }
  EXPECT_FALSE(isolate::path_exists(calls + "/ADD.json"));
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
}

// ---------------------------------------------------------------------------------------------
// hostPort: the portmap plugin after the bridge; a TCP port on the host's 127.0.0.1 reaches
// busybox httpd in the pod, a UDP one is mapped as well, and both go away with the pod.

TEST_F(CriNetwork, HostPortReachesThePod) {
  HANOK_REQUIRE(isolate::path_exists("/usr/sbin/iptables"), "needs iptables (for portmap)");
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.78.0/24", ipam_dir(), true), 0644);
  ASSERT_TRUE(start_daemon());
  int tcp_port = 30000 + ::getpid() % 20000;
  int udp_port = tcp_port + 1;
  v1::PodSandboxConfig config = pod_config("web");
  auto* http = config.add_port_mappings();
  http->set_protocol(v1::TCP);
  http->set_container_port(80);
  http->set_host_port(tcp_port);
  auto* dns = config.add_port_mappings();
  dns->set_protocol(v1::UDP);
  dns->set_container_port(53);
  dns->set_host_port(udp_port);
  Pod pod = run_pod(config);
  std::string web =
      run(pod, container_config("httpd",
                                "mkdir -p /www && echo served-from-the-pod > /www/index.html"
                                " && exec httpd -f -p 80 -h /www"));
  ASSERT_TRUE(cri().wait_for_state(web, v1::CONTAINER_RUNNING, 20s));

  std::string answer;
  poll_until(
      [&] {
        answer = http_get(tcp_port, "/index.html");
        return contains(answer, "served-from-the-pod");
      },
      10s);
  EXPECT_TRUE(contains(answer, "served-from-the-pod")) << "answer: " << answer;
  Result nat = run_program({"/usr/sbin/iptables", "-w", "-t", "nat", "-S"});
  EXPECT_TRUE(contains(nat.out, "--dport " + std::to_string(udp_port))) << nat.out;

  cri().stop_pod(pod.id);
  EXPECT_EQ(http_get(tcp_port, "/index.html"), "");
  nat = run_program({"/usr/sbin/iptables", "-w", "-t", "nat", "-S"});
  EXPECT_FALSE(contains(nat.out, "--dport " + std::to_string(tcp_port))) << nat.out;
  EXPECT_FALSE(contains(nat.out, "--dport " + std::to_string(udp_port))) << nat.out;
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

// ---------------------------------------------------------------------------------------------
// A host-network pod: no CNI call, the host's interfaces, /etc/hosts and resolv.conf.

TEST_F(CriNetwork, HostNetworkPod) {
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.79.0/24", ipam_dir()), 0644);
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("host-net");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  Pod pod = run_pod(config);
  EXPECT_EQ(cri().pod_status(pod.id).status().network().ip(), "");
  EXPECT_EQ(reserved_ips(), std::vector<std::string>{});
  std::string id = run(pod, container_config("host-net", kIdle));
  EXPECT_EQ(output_of(id, "readlink /proc/self/ns/net"),
            std::filesystem::read_symlink("/proc/self/ns/net").string());
  std::string links = output_of(id, "ls /sys/class/net | sort | tr '\\n' ' '");
  EXPECT_EQ(links, joined(entries_of("/sys/class/net")) + " ");
  EXPECT_EQ(output_of(id, "cat /etc/hosts") + "\n",
            isolate::read_file_if_exists("/etc/hosts").value_or(""));
  std::string host_resolv = isolate::read_file_if_exists("/etc/resolv.conf").value_or("");
  if (!host_resolv.empty() && host_resolv.back() == '\n') host_resolv.pop_back();
  EXPECT_EQ(output_of(id, "cat /etc/resolv.conf"), host_resolv);
}

// ---------------------------------------------------------------------------------------------
// A plugin that fails after the bridge attached the pod: RunPodSandbox fails with its message,
// and the bridge's part is undone (DEL): no veth, no address held, no namespace pinned.

TEST_F(CriNetwork, FailedAddIsUndone) {
  std::string bin = dir_ + "/cni-bin";
  isolate::make_dirs(bin, 0755);
  isolate::write_file_atomic(bin + "/fails-on-add",
                             "#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                             "echo '{\"code\": 11, \"msg\": \"no luck\"}'\nexit 1\n",
                             0755);
  nlohmann::json network =
      nlohmann::json::parse(bridge_network(bridge_, "10.231.80.0/24", ipam_dir()));
  network["plugins"].push_back({{"type", "fails-on-add"}});
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist", network.dump(), 0644);
  ASSERT_TRUE(start_daemon("cni_bin_dirs = [\"" + bin + "\", \"/usr/lib/cni\"]"));
  auto veths_before = host_links("veth");

  CallOutcome outcome = outcome_of([&] { run_pod("unlucky"); });
  EXPECT_NE(outcome.code, grpc::StatusCode::OK);
  EXPECT_TRUE(contains(outcome.message, "no luck")) << outcome;
  EXPECT_EQ(reserved_ips(), std::vector<std::string>{});
  EXPECT_EQ(host_links("veth"), veths_before);
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
  EXPECT_EQ(joined(mounts_below(state_), "\n"), "");
  EXPECT_TRUE(cri().list_pods().empty());
}

// ---------------------------------------------------------------------------------------------
// hanokd killed between RunPodSandbox and RemovePodSandbox: the restarted daemon still tears
// the network down, from its cached copy of the config and result, even when the node's config
// changed meanwhile.

TEST_F(CriNetwork, TeardownAfterRestart) {
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.81.0/24", ipam_dir()), 0644);
  ASSERT_TRUE(start_daemon());
  auto veths_before = host_links("veth");
  Pod pod = run_pod("survivor");
  std::string ip = cri().pod_status(pod.id).status().network().ip();
  EXPECT_EQ(reserved_ips(), std::vector<std::string>{ip});
  EXPECT_EQ(host_links("veth").size(), veths_before.size() + 1);

  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  client_.reset();
  daemon_.reset();
  ::unlink((cni_dir() + "/10-bridge.conflist").c_str());  // the node's network went away
  ASSERT_TRUE(start_daemon());
  EXPECT_EQ(cri().pod_status(pod.id).status().network().ip(), ip);
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  EXPECT_EQ(reserved_ips(), std::vector<std::string>{});
  EXPECT_EQ(host_links("veth"), veths_before);
  expect_nothing_left(pod.id);
}

// ---------------------------------------------------------------------------------------------
// A node reboot with ten pods: their processes, pinned namespaces (and with them the veths) and
// the whole state dir (a tmpfs) are gone; the root is not. The restarted hanokd releases every
// address from the CNI cache it kept on the root (DEL with no netns), as containerd does from
// libcni's: host-local's lease directory is empty again, and none leaks per pod per reboot.

TEST_F(CriNetwork, LeasesAreReleasedAfterAReboot) {
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.84.0/24", ipam_dir()), 0644);
  ASSERT_TRUE(start_daemon());
  std::vector<std::string> ids;
  std::vector<pid_t> inits;
  for (int i = 0; i < 10; ++i) {
    Pod pod = run_pod("rebooted-" + std::to_string(i));
    ids.push_back(pod.id);
    auto info =
        nlohmann::json::parse(cri().pod_status(pod.id, true).info().at("info"), nullptr, false);
    inits.push_back(info.value("pid", 0));
  }
  ASSERT_EQ(reserved_ips().size(), 10u);

  // The reboot: hanokd and the pods' processes killed, every mount below the state dir gone and
  // the dir emptied.
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  client_.reset();
  daemon_.reset();
  for (pid_t init : inits) {
    if (init > 0) ::kill(init, SIGKILL);
  }
  unmount_below(state_);
  for (const auto& entry : entries_of(state_)) isolate::remove_tree(state_ + "/" + entry);
  ASSERT_EQ(reserved_ips().size(), 10u) << "host-local keeps its leases on disk over a reboot";

  ASSERT_TRUE(start_daemon());
  for (const auto& id : ids) {
    EXPECT_EQ(cri().pod_status(id).status().state(), v1::SANDBOX_NOTREADY);
    cri().stop_pod(id);
    cri().remove_pod(id);
  }
  EXPECT_EQ(joined(reserved_ips()), "");
  EXPECT_EQ(joined(entries_of(image_root() + "/cni-cache")), "");
}

// ---------------------------------------------------------------------------------------------
// 100 pods run and removed one after the other: no veth, address, pinned namespace or mount
// is left, and the addresses are handed out again.

// An address host-local hands out to a pod in 10.231.82.0/28: .2 to .14 (.1 is the gateway).
bool pod_address_in_range(const std::string& ip) {
  const std::string prefix = "10.231.82.";
  if (ip.rfind(prefix, 0) != 0 || ip.size() == prefix.size()) return false;
  std::string last = ip.substr(prefix.size());
  if (last.find_first_not_of("0123456789") != std::string::npos || last.size() > 2) return false;
  int host = std::stoi(last);
  return host >= 2 && host <= 14;
}

TEST_F(CriNetwork, HundredPodsLeakNothing) {
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.82.0/28", ipam_dir()), 0644);
  ASSERT_TRUE(start_daemon());
  auto veths_before = host_links("veth");
  std::set<std::string> ips;
  for (int i = 0; i < 100; ++i) {
    Pod pod = run_pod("cycle-" + std::to_string(i));
    std::string ip = cri().pod_status(pod.id).status().network().ip();
    EXPECT_TRUE(pod_address_in_range(ip)) << "pod " << i << " got \"" << ip << "\"";
    ips.insert(ip);
    cri().stop_pod(pod.id);
    cri().remove_pod(pod.id);
    if (HasFailure()) break;
  }
  // Each pod got an address of the /28, which has 13 for pods: 100 pods only fit if every one
  // was given back and handed out again.
  EXPECT_LE(ips.size(), 13u);
  EXPECT_EQ(reserved_ips(), std::vector<std::string>{});
  EXPECT_EQ(host_links("veth"), veths_before);
  EXPECT_EQ(joined(entries_of(state_ + "/pods")), "");
  EXPECT_EQ(joined(mounts_below(state_), "\n"), "");
  EXPECT_TRUE(cri().list_pods().empty());
}

// ---------------------------------------------------------------------------------------------
// Pod stats: a known workload (40 MB held in memory, a busy loop, traffic on eth0) shows in the
// pod's cpu, memory, processes, network and its container's stats; the list and streamed forms
// filter by label.

TEST_F(CriNetwork, PodStatsOfAKnownWorkload) {
  isolate::write_file_atomic(cni_dir() + "/10-bridge.conflist",
                             bridge_network(bridge_, "10.231.83.0/24", ipam_dir()), 0644);
  ASSERT_TRUE(start_daemon("stats_collect_period_ms = 500"));
  v1::PodSandboxConfig config = pod_config("stats");
  (*config.mutable_labels())["stats"] = "yes";
  Pod pod = run_pod(config);
  Pod other = run_pod("other");
  std::string id = run(pod, container_config("work",
                                             "x=$(head -c 40000000 /dev/zero | tr '\\0' a); "
                                             "while :; do :; done"));
  ASSERT_TRUE(cri().wait_for_state(id, v1::CONTAINER_RUNNING, 20s));
  std::string gateway = "10.231.83.1";
  shell(id, "ping -c 3 -i 0.2 " + gateway);

  auto stats_of = [&](const std::string& pod_id) {
    v1::PodSandboxStatsRequest request;
    request.set_pod_sandbox_id(pod_id);
    v1::PodSandboxStatsResponse response;
    auto context = cri().context();
    auto status = cri().runtime().PodSandboxStats(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.stats();
  };
  v1::PodSandboxStats stats;
  ASSERT_TRUE(poll_until(
      [&] {
        stats = stats_of(pod.id);
        return stats.linux().memory().working_set_bytes().value() >= 40'000'000;
      },
      20s))
      << stats.DebugString();
  // usage_nano_cores once the collector has two samples of the pod's cgroup.
  ASSERT_TRUE(
      poll_until([&] { return stats_of(pod.id).linux().cpu().has_usage_nano_cores(); }, 10s));
  std::this_thread::sleep_for(1s);
  stats = stats_of(pod.id);
  const auto& linux_stats = stats.linux();
  EXPECT_EQ(stats.attributes().id(), pod.id);
  EXPECT_EQ(stats.attributes().labels().at("stats"), "yes");
  EXPECT_GT(linux_stats.cpu().usage_core_nano_seconds().value(), 0u);
  // A busy loop: about one core (at least a fifth of one, on a loaded 2-core machine).
  EXPECT_GT(linux_stats.cpu().usage_nano_cores().value(), 200'000'000u) << stats.DebugString();
  EXPECT_GE(linux_stats.process().process_count().value(), 1u);
  EXPECT_EQ(linux_stats.network().default_interface().name(), "eth0");
  EXPECT_GT(linux_stats.network().default_interface().rx_bytes().value(), 0u);
  EXPECT_GT(linux_stats.network().default_interface().tx_bytes().value(), 0u);
  ASSERT_EQ(linux_stats.containers_size(), 1);
  EXPECT_EQ(linux_stats.containers(0).attributes().id(), id);
  EXPECT_GE(linux_stats.containers(0).memory().working_set_bytes().value(), 40'000'000u);

  v1::ListPodSandboxStatsRequest list;
  (*list.mutable_filter()->mutable_label_selector())["stats"] = "yes";
  v1::ListPodSandboxStatsResponse listed;
  auto context = cri().context();
  ASSERT_TRUE(cri().runtime().ListPodSandboxStats(context.get(), list, &listed).ok());
  ASSERT_EQ(listed.stats_size(), 1);
  EXPECT_EQ(listed.stats(0).attributes().id(), pod.id);
  v1::StreamPodSandboxStatsRequest streamed;
  context = cri().context();
  auto reader = cri().runtime().StreamPodSandboxStats(context.get(), streamed);
  v1::StreamPodSandboxStatsResponse chunk;
  std::vector<std::string> ids;
  while (reader->Read(&chunk)) {
    for (const auto& item : chunk.pod_sandbox_stats()) ids.push_back(item.attributes().id());
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(sorted(ids), sorted({pod.id, other.id}));

  // The same workload as metrics: described once, every series with a value per label key.
  v1::ListMetricDescriptorsResponse descriptors;
  context = cri().context();
  ASSERT_TRUE(
      cri()
          .runtime()
          .ListMetricDescriptors(context.get(), v1::ListMetricDescriptorsRequest(), &descriptors)
          .ok());
  std::map<std::string, int> label_counts;
  for (const auto& descriptor : descriptors.descriptors()) {
    label_counts[descriptor.name()] = descriptor.label_keys_size();
  }
  for (const char* name :
       {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
        "container_network_receive_bytes_total"}) {
    EXPECT_EQ(label_counts.count(name), 1u) << name;
  }
  v1::ListPodSandboxMetricsResponse metrics;
  context = cri().context();
  ASSERT_TRUE(
      cri()
          .runtime()
          .ListPodSandboxMetrics(context.get(), v1::ListPodSandboxMetricsRequest(), &metrics)
          .ok());
  const v1::PodSandboxMetrics* mine = nullptr;
  for (const auto& item : metrics.pod_metrics()) {
    if (item.pod_sandbox_id() == pod.id) mine = &item;
  }
  ASSERT_NE(mine, nullptr);
  std::map<std::string, uint64_t> values;
  for (const auto& metric : mine->metrics()) {
    EXPECT_EQ(metric.label_values_size(), label_counts[metric.name()]) << metric.name();
    if (metric.label_values(metric.label_values_size() - 1) == "eth0") {
      values[metric.name()] = metric.value().value();
    }
  }
  EXPECT_GT(values["container_network_receive_bytes_total"], 0u);
  ASSERT_EQ(mine->container_metrics_size(), 1);
  EXPECT_EQ(mine->container_metrics(0).container_id(), id);
  for (const auto& metric : mine->container_metrics(0).metrics()) {
    EXPECT_EQ(metric.label_values_size(), label_counts[metric.name()]) << metric.name();
    values[metric.name()] = metric.value().value();
  }
  EXPECT_GE(values["container_memory_working_set_bytes"], 40'000'000u);
  EXPECT_GE(values["container_processes"], 1u);
  EXPECT_GT(values["container_start_time_seconds"], 1'700'000'000u);

  // Streamed: the same pods' metrics.
  context = cri().context();
  auto metric_reader =
      cri().runtime().StreamPodSandboxMetrics(context.get(), v1::StreamPodSandboxMetricsRequest());
  v1::StreamPodSandboxMetricsResponse metric_chunk;
  std::vector<std::string> metric_pods;
  bool has_working_set = false;
  while (metric_reader->Read(&metric_chunk)) {
    for (const auto& item : metric_chunk.pod_sandbox_metrics()) {
      metric_pods.push_back(item.pod_sandbox_id());
      for (const auto& container : item.container_metrics()) {
        for (const auto& metric : container.metrics()) {
          has_working_set |= metric.name() == "container_memory_working_set_bytes" &&
                             metric.value().value() >= 40'000'000u;
        }
      }
    }
  }
  EXPECT_TRUE(metric_reader->Finish().ok());
  EXPECT_EQ(sorted(metric_pods), sorted({pod.id, other.id}));
  EXPECT_TRUE(has_working_set);
}

}  // namespace
}  // namespace hanok::test
