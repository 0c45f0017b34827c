// CgroupV1 against a fake tree of plain files in a temp dir: <root>/<controller>/<path>/<knob>.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"

namespace hanok::isolate::cgroup {
namespace {

constexpr const char* kPath = "/pod1/c1";

// What a fresh v1 leaf holds, per hierarchy directory.
const std::vector<std::pair<std::string, std::vector<std::string>>> kLeafFiles = {
    {"cpu,cpuacct",
     {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.idle",
      "cpu.rt_runtime_us", "cpu.rt_period_us", "cpu.stat", "cpuacct.usage", "cpuacct.usage_percpu",
      "cpuacct.stat"}},
    {"cpuset", {"cpuset.cpus", "cpuset.mems"}},
    {"memory",
     {"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes",
      "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.oom_control",
      "memory.use_hierarchy", "memory.usage_in_bytes", "memory.max_usage_in_bytes",
      "memory.failcnt", "memory.memsw.usage_in_bytes", "memory.stat"}},
    {"pids", {"pids.max", "pids.current"}},
    {"blkio",
     {"blkio.leaf_weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
      "blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"}},
    {"devices", {"devices.allow", "devices.deny"}},
    {"freezer", {"freezer.state"}},
    {"hugetlb",
     {"hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.usage_in_bytes", "hugetlb.2MB.max_usage_in_bytes",
      "hugetlb.2MB.failcnt", "hugetlb.1GB.limit_in_bytes"}},
};

class FakeV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    // tmpfs where there is one: the tree is rebuilt for every test.
    std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string name = base + "/hanok-cgv1-XXXXXX";
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    root_ = name;
    for (const auto& [hierarchy, files] : kLeafFiles) {
      std::string dir = root_ + "/" + hierarchy + kPath;
      make_dirs(dir);
      for (const std::string& file : files) put(hierarchy + kPath + "/" + file, "");
      put(hierarchy + kPath + "/cgroup.procs", "");
    }
    put("memory/pod1/c1/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    put("memory/pod1/c1/memory.limit_in_bytes", "9223372036854771712\n");
    put("freezer/pod1/c1/freezer.state", "THAWED\n");
  }
  void TearDown() override { remove_tree(root_); }

  // Relative to root_.
  void put(const std::string& file, const std::string& content) {
    std::ofstream out(root_ + "/" + file, std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good()) << file;
  }
  std::string get(const std::string& file) { return read_file(root_ + "/" + file); }
  bool has(const std::string& file) { return path_exists(root_ + "/" + file); }

  std::unique_ptr<Cgroup> open(Mode mode = Mode::Legacy, const std::string& path = kPath) {
    return open_cgroup(path, mode, root_);
  }

  std::string root_;
};

TEST_F(FakeV1, PathAndMode) {
  auto cg = open();
  EXPECT_EQ(cg->path(), kPath);
  EXPECT_EQ(cg->mode(), Mode::Legacy);
  EXPECT_EQ(cg->clone_into_fd(), -1);
  EXPECT_TRUE(cg->exists());
  EXPECT_FALSE(open(Mode::Legacy, "/nope")->exists());
}

TEST_F(FakeV1, CpuLimits) {
  Resources r;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->burst = 10000;
  r.cpu->idle = 0;
  r.cpu->realtime_period = 1000000;
  r.cpu->realtime_runtime = 950000;
  open()->apply(r);
  const std::string dir = "cpu,cpuacct/pod1/c1/";
  EXPECT_EQ(get(dir + "cpu.shares"), "512");
  EXPECT_EQ(get(dir + "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(get(dir + "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(get(dir + "cpu.cfs_burst_us"), "10000");
  EXPECT_EQ(get(dir + "cpu.idle"), "0");
  EXPECT_EQ(get(dir + "cpu.rt_period_us"), "1000000");
  EXPECT_EQ(get(dir + "cpu.rt_runtime_us"), "950000");
}

TEST_F(FakeV1, CpuUnlimitedQuotaAndMissingBurstKnob) {
  ::unlink((root_ + "/cpu,cpuacct/pod1/c1/cpu.cfs_burst_us").c_str());
  Resources r;
  r.cpu.emplace();
  r.cpu->quota = -1;
  r.cpu->burst = 5;  // no knob on this "kernel": ignored, as runc does
  open()->apply(r);
  EXPECT_EQ(get("cpu,cpuacct/pod1/c1/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(get("cpu,cpuacct/pod1/c1/cpu.cfs_period_us"), "");
  EXPECT_FALSE(has("cpu,cpuacct/pod1/c1/cpu.cfs_burst_us"));
}

TEST_F(FakeV1, ZeroCpuValuesMeanUnsetAsInRunc) {
  Resources r;
  r.cpu.emplace();
  r.cpu->shares = 0;
  r.cpu->quota = 0;
  r.cpu->period = 0;
  open()->apply(r);
  EXPECT_EQ(get("cpu,cpuacct/pod1/c1/cpu.shares"), "");
  EXPECT_EQ(get("cpu,cpuacct/pod1/c1/cpu.cfs_quota_us"), "");
  EXPECT_EQ(get("cpu,cpuacct/pod1/c1/cpu.cfs_period_us"), "");
}

TEST_F(FakeV1, Cpuset) {
  Resources r;
  r.cpu.emplace();
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  open()->apply(r);
  EXPECT_EQ(get("cpuset/pod1/c1/cpuset.cpus"), "0-1");
  EXPECT_EQ(get("cpuset/pod1/c1/cpuset.mems"), "0");
}

TEST_F(FakeV1, MemoryLimits) {
  Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 128 << 20;
  r.memory->kernel_tcp = 16 << 20;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  open()->apply(r);
  const std::string dir = "memory/pod1/c1/";
  EXPECT_EQ(get(dir + "memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(get(dir + "memory.soft_limit_in_bytes"), "33554432");
  EXPECT_EQ(get(dir + "memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(get(dir + "memory.kmem.tcp.limit_in_bytes"), "16777216");
  EXPECT_EQ(get(dir + "memory.swappiness"), "10");
  EXPECT_EQ(get(dir + "memory.oom_control"), "1");
}

TEST_F(FakeV1, RaisingLimitAboveCurrentMemswWritesBoth) {
  put("memory/pod1/c1/memory.limit_in_bytes", "1048576\n");
  put("memory/pod1/c1/memory.memsw.limit_in_bytes", "1048576\n");
  Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->swap = 64 << 20;
  open()->apply(r);
  EXPECT_EQ(get("memory/pod1/c1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(get("memory/pod1/c1/memory.memsw.limit_in_bytes"), "67108864");
}

TEST_F(FakeV1, UnlimitedMemoryMeansUnlimitedSwap) {
  Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  open()->apply(r);
  EXPECT_EQ(get("memory/pod1/c1/memory.limit_in_bytes"), "-1");
  EXPECT_EQ(get("memory/pod1/c1/memory.memsw.limit_in_bytes"), "-1");
}

TEST_F(FakeV1, SwapWithoutSwapAccounting) {
  ::unlink((root_ + "/memory/pod1/c1/memory.memsw.limit_in_bytes").c_str());
  Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->swap = 64 << 20;  // no swap beyond memory: nothing to write
  open()->apply(r);
  EXPECT_EQ(get("memory/pod1/c1/memory.limit_in_bytes"), "67108864");

  r.memory->swap = 128 << 20;
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.error_code(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("memory.memsw.limit_in_bytes: write 134217728"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(FakeV1, InvalidMemoryValues) {
  Resources r;
  r.memory.emplace();
  r.memory->swappiness = 101;
  EXPECT_THROW(open()->apply(r), std::invalid_argument);
  r.memory->swappiness.reset();
  r.memory->limit = 64 << 20;
  r.memory->swap = 32 << 20;
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("linux.resources.memory.swap"), std::string::npos);
  }
  EXPECT_EQ(get("memory/pod1/c1/memory.limit_in_bytes"), "9223372036854771712\n");
}

TEST_F(FakeV1, Pids) {
  Resources r;
  r.pids_limit = 10;
  open()->apply(r);
  EXPECT_EQ(get("pids/pod1/c1/pids.max"), "10");
  for (int64_t unlimited : {0, -1}) {
    r.pids_limit = unlimited;
    open()->apply(r);
    EXPECT_EQ(get("pids/pod1/c1/pids.max"), "max");
  }
}

TEST_F(FakeV1, WriteErrorsNameTheFileAndValue) {
  ::unlink((root_ + "/pids/pod1/c1/pids.max").c_str());
  Resources r;
  r.pids_limit = 10;
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(std::string(e.what()),
              root_ + "/pids/pod1/c1/pids.max: write 10: No such file or directory");
  }
}

TEST_F(FakeV1, MissingControllerIsNamed) {
  remove_tree(root_ + "/pids");
  Resources r;
  r.pids_limit = 10;
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no pids hierarchy"), std::string::npos) << e.what();
  }
}

TEST_F(FakeV1, BlockIoThrottles) {
  Resources r;
  r.block_io.emplace();
  r.block_io->leaf_weight = 300;
  r.block_io->throttle_read_bps.push_back({8, 0, 1048576});
  r.block_io->throttle_write_bps.push_back({8, 16, 2097152});
  r.block_io->throttle_read_iops.push_back({8, 0, 100});
  r.block_io->throttle_write_iops.push_back({253, 1, 200});
  open()->apply(r);
  const std::string dir = "blkio/pod1/c1/";
  EXPECT_EQ(get(dir + "blkio.leaf_weight"), "300");
  EXPECT_EQ(get(dir + "blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(get(dir + "blkio.throttle.write_bps_device"), "8:16 2097152");
  EXPECT_EQ(get(dir + "blkio.throttle.read_iops_device"), "8:0 100");
  EXPECT_EQ(get(dir + "blkio.throttle.write_iops_device"), "253:1 200");
}

TEST_F(FakeV1, BlockIoWeightWithoutKnob) {
  Resources r;
  r.block_io.emplace();  // present but empty: nothing is touched
  open()->apply(r);
  r.block_io->weight = 500;
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find("blkio.weight: write 500"), std::string::npos);
  }
}

TEST_F(FakeV1, BlockIoWeightCfqAndBfq) {
  Resources r;
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->weight_devices.push_back({8, 0, 200, std::nullopt});

  put("blkio/pod1/c1/blkio.bfq.weight", "");
  put("blkio/pod1/c1/blkio.bfq.weight_device", "");
  open()->apply(r);
  EXPECT_EQ(get("blkio/pod1/c1/blkio.bfq.weight"), "500");
  EXPECT_EQ(get("blkio/pod1/c1/blkio.bfq.weight_device"), "8:0 200");

  put("blkio/pod1/c1/blkio.weight", "");
  put("blkio/pod1/c1/blkio.weight_device", "");
  put("blkio/pod1/c1/blkio.leaf_weight_device", "");
  r.block_io->weight_devices[0].leaf_weight = 100;
  open()->apply(r);
  EXPECT_EQ(get("blkio/pod1/c1/blkio.weight"), "500");
  EXPECT_EQ(get("blkio/pod1/c1/blkio.weight_device"), "8:0 200");
  EXPECT_EQ(get("blkio/pod1/c1/blkio.leaf_weight_device"), "8:0 100");
}

TEST_F(FakeV1, DeviceRules) {
  // Without devices.list to read back (a fake tree), the whole list is written from "a".
  Resources r;
  r.devices = {{false, 'a', -1, -1, "rwm"},
               {true, 'c', 1, 5, "rwm"},
               {true, 'c', -1, -1, "m"},
               {true, 'c', 1, 3, "rwm"},
               {false, 'c', 1, 3, "w"}};
  open()->apply(r);
  EXPECT_EQ(get("devices/pod1/c1/devices.deny"), "a");
  EXPECT_EQ(get("devices/pod1/c1/devices.allow"), "c 1:5 rwm");

  r.devices = {{true, 'a', -1, -1, "rwm"}, {false, 'b', 8, -1, "r"}};
  open()->apply(r);
  EXPECT_EQ(get("devices/pod1/c1/devices.allow"), "a");
  EXPECT_EQ(get("devices/pod1/c1/devices.deny"), "b 8:* r");
}

TEST_F(FakeV1, InvalidDeviceRulesWriteNothing) {
  Resources r;
  r.devices = {{false, 'a', -1, -1, "rwm"}, {true, 'x', 1, 3, "rwm"}};
  EXPECT_THROW(open()->apply(r), std::invalid_argument);
  r.devices = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rwx"}};
  EXPECT_THROW(open()->apply(r), std::invalid_argument);
  r.devices = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, ""}};
  EXPECT_THROW(open()->apply(r), std::invalid_argument);
  EXPECT_EQ(get("devices/pod1/c1/devices.deny"), "");
}

TEST_F(FakeV1, HugetlbV1) {
  Resources r;
  r.hugepage_limits = {{"2MB", 4 << 21}, {"1GB", 0}};
  open()->apply(r);
  EXPECT_EQ(get("hugetlb/pod1/c1/hugetlb.2MB.limit_in_bytes"), "8388608");
  EXPECT_EQ(get("hugetlb/pod1/c1/hugetlb.1GB.limit_in_bytes"), "0");

  r.hugepage_limits = {{"../2MB", 1}};
  EXPECT_THROW(open()->apply(r), std::invalid_argument);
}

TEST_F(FakeV1, UnifiedNeedsCgroup2) {
  Resources r;
  r.unified["memory.high"] = "1G";
  try {
    open()->apply(r);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "linux.resources.unified: requires cgroup v2");
  }
}

TEST_F(FakeV1, HybridWritesUnifiedFiles) {
  make_dirs(root_ + "/unified/pod1/c1");
  put("unified/cgroup.controllers", "hugetlb\n");
  put("unified/cgroup.subtree_control", "");
  put("unified/pod1/cgroup.subtree_control", "");
  put("unified/pod1/c1/hugetlb.2MB.max", "max\n");
  put("unified/pod1/c1/memory.pressure", "");
  put("unified/pod1/c1/cgroup.procs", "");
  remove_tree(root_ + "/hugetlb");  // hugetlb only in cgroup2, as on this kind of host

  Resources r;
  r.unified["memory.pressure"] = "some 150000 1000000";
  r.hugepage_limits = {{"2MB", 2 << 20}};
  auto cg = open(Mode::Hybrid);
  cg->apply(r);
  EXPECT_EQ(get("unified/pod1/c1/memory.pressure"), "some 150000 1000000");
  EXPECT_EQ(get("unified/pod1/c1/hugetlb.2MB.max"), "2097152");
  EXPECT_EQ(get("unified/cgroup.subtree_control"), "+hugetlb");
  EXPECT_EQ(get("unified/pod1/cgroup.subtree_control"), "+hugetlb");

  cg->add_process(4242);
  EXPECT_EQ(get("unified/pod1/c1/cgroup.procs"), "4242");
  EXPECT_EQ(get("memory/pod1/c1/cgroup.procs"), "4242");

  r = Resources{};
  r.unified["memory.nope"] = "1";
  EXPECT_THROW(cg->apply(r), std::invalid_argument);
  r.unified = {{"../memory.pressure", "1"}};
  EXPECT_THROW(cg->apply(r), std::invalid_argument);
  r.unified = {{"..", "1"}};
  EXPECT_THROW(cg->apply(r), std::invalid_argument);
}

TEST_F(FakeV1, HugetlbMissingEverywhere) {
  remove_tree(root_ + "/hugetlb");
  Resources r;
  r.hugepage_limits = {{"2MB", 2 << 20}};
  EXPECT_THROW(open()->apply(r), std::runtime_error);
}

TEST_F(FakeV1, AddProcessWritesEveryHierarchyOnce) {
  open()->add_process(1234);
  for (const auto& [hierarchy, files] : kLeafFiles) {
    EXPECT_EQ(get(hierarchy + kPath + "/cgroup.procs"), "1234") << hierarchy;
  }
}

TEST_F(FakeV1, ProcessesIncludeChildCgroups) {
  put("memory/pod1/c1/cgroup.procs", "12\n7\n");
  make_dirs(root_ + "/memory/pod1/c1/sub");
  put("memory/pod1/c1/sub/cgroup.procs", "99\n7\n");
  EXPECT_EQ(open()->processes(), (std::vector<pid_t>{7, 12, 99}));
}

TEST_F(FakeV1, FreezeAndThaw) {
  auto cg = open();
  EXPECT_FALSE(cg->frozen());
  cg->freeze();
  EXPECT_EQ(get("freezer/pod1/c1/freezer.state"), "FROZEN");
  EXPECT_TRUE(cg->frozen());
  put("freezer/pod1/c1/freezer.self_freezing", "0\n");  // frozen through a parent only
  EXPECT_FALSE(cg->frozen());
  put("freezer/pod1/c1/freezer.self_freezing", "1\n");
  EXPECT_TRUE(cg->frozen());
  cg->thaw();
  EXPECT_EQ(get("freezer/pod1/c1/freezer.state"), "THAWED");
  EXPECT_FALSE(cg->frozen());
}

TEST_F(FakeV1, KillAllWithNoProcesses) {
  auto cg = open();
  cg->kill_all(SIGKILL);
  EXPECT_EQ(get("freezer/pod1/c1/freezer.state"), "THAWED");
}

TEST_F(FakeV1, Stats) {
  const std::string cpu = "cpu,cpuacct/pod1/c1/";
  put(cpu + "cpuacct.usage", "123456789\n");
  put(cpu + "cpuacct.usage_percpu", "100 200 \n");
  put(cpu + "cpuacct.stat", "user 3\nsystem 2\n");
  put(cpu + "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n");
  const std::string mem = "memory/pod1/c1/";
  put(mem + "memory.usage_in_bytes", "4096\n");
  put(mem + "memory.max_usage_in_bytes", "8192\n");
  put(mem + "memory.limit_in_bytes", "67108864\n");
  put(mem + "memory.failcnt", "3\n");
  put(mem + "memory.memsw.usage_in_bytes", "5000\n");
  put(mem + "memory.memsw.limit_in_bytes", "134217728\n");
  put(mem + "memory.stat", "cache 1024\nrss 2048\ntotal_cache 1024\n");
  put(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put("pids/pod1/c1/pids.current", "3\n");
  put("pids/pod1/c1/pids.max", "max\n");
  put("hugetlb/pod1/c1/hugetlb.2MB.usage_in_bytes", "2097152\n");
  put("hugetlb/pod1/c1/hugetlb.2MB.max_usage_in_bytes", "4194304\n");
  put("hugetlb/pod1/c1/hugetlb.2MB.failcnt", "1\n");
  put("blkio/pod1/c1/blkio.throttle.io_service_bytes",
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal "
      "12288\n");
  put("blkio/pod1/c1/blkio.throttle.io_serviced", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");

  Stats s = open()->stats();
  const uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  EXPECT_EQ(s.cpu.usage_total_ns, 123456789u);
  EXPECT_EQ(s.cpu.usage_per_cpu_ns, (std::vector<uint64_t>{100, 200}));
  EXPECT_EQ(s.cpu.usage_user_ns, 3 * ns_per_tick);
  EXPECT_EQ(s.cpu.usage_kernel_ns, 2 * ns_per_tick);
  EXPECT_EQ(s.cpu.throttling_periods, 10u);
  EXPECT_EQ(s.cpu.throttled_periods, 4u);
  EXPECT_EQ(s.cpu.throttled_time_ns, 5000u);
  EXPECT_EQ(s.memory.usage, 4096u);
  EXPECT_EQ(s.memory.max_usage, 8192u);
  EXPECT_EQ(s.memory.limit, 67108864u);
  EXPECT_EQ(s.memory.failcnt, 3u);
  EXPECT_EQ(s.memory.swap_usage, 5000u);
  EXPECT_EQ(s.memory.swap_limit, 134217728u);
  EXPECT_EQ(s.memory.cache, 1024u);
  EXPECT_EQ(s.memory.raw.at("rss"), 2048u);
  EXPECT_EQ(s.oom_kills, 2u);
  EXPECT_EQ(s.pids.current, 3u);
  EXPECT_EQ(s.pids.limit, 0u);
  ASSERT_EQ(s.hugetlb.count("2MB"), 1u);
  EXPECT_EQ(s.hugetlb["2MB"].usage, 2097152u);
  EXPECT_EQ(s.hugetlb["2MB"].max_usage, 4194304u);
  EXPECT_EQ(s.hugetlb["2MB"].failcnt, 1u);
  ASSERT_EQ(s.io_service_bytes.size(), 5u);
  EXPECT_EQ(s.io_service_bytes[0].major, 8);
  EXPECT_EQ(s.io_service_bytes[0].minor, 0);
  EXPECT_EQ(s.io_service_bytes[0].op, "Read");
  EXPECT_EQ(s.io_service_bytes[0].value, 4096u);
  EXPECT_EQ(s.io_service_bytes[1].op, "Write");
  ASSERT_EQ(s.io_serviced.size(), 2u);
  EXPECT_EQ(s.io_serviced[1].value, 2u);
  EXPECT_EQ(open()->oom_kill_count(), 2u);
}

TEST_F(FakeV1, StatsSkipMissingFiles) {
  remove_tree(root_ + "/cpu,cpuacct");
  remove_tree(root_ + "/hugetlb");
  ::unlink((root_ + "/memory/pod1/c1/memory.stat").c_str());
  Stats s = open()->stats();
  EXPECT_EQ(s.cpu.usage_total_ns, 0u);
  EXPECT_TRUE(s.memory.raw.empty());
  EXPECT_TRUE(s.hugetlb.empty());
}

TEST_F(FakeV1, CreateMakesEveryHierarchyAndCopiesCpusets) {
  put("cpuset/cpuset.cpus", "0-3\n");
  put("cpuset/cpuset.mems", "0\n");
  make_dirs(root_ + "/cpuset/new");
  put("cpuset/new/cpuset.cpus", "\n");  // a fresh cpuset cgroup: empty
  put("cpuset/new/cpuset.mems", "");
  make_dirs(root_ + "/unified");

  auto cg = open(Mode::Hybrid, "/new/leaf");
  EXPECT_FALSE(cg->exists());
  cg->create();
  EXPECT_TRUE(cg->exists());
  for (const char* dir : {"cpu,cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer",
                          "hugetlb", "unified"}) {
    EXPECT_TRUE(has(std::string(dir) + "/new/leaf")) << dir;
  }
  EXPECT_EQ(get("cpuset/new/cpuset.cpus"), "0-3");
  EXPECT_EQ(get("cpuset/new/cpuset.mems"), "0");
  cg->create();  // existing is fine

  cg->destroy();
  for (const char* dir : {"cpu,cpuacct", "cpuset", "memory", "pids", "unified"}) {
    EXPECT_FALSE(has(std::string(dir) + "/new/leaf")) << dir;
    EXPECT_TRUE(has(std::string(dir) + "/new")) << dir;  // never the parents
  }
  EXPECT_FALSE(cg->exists());
  cg->destroy();  // a missing cgroup is fine
}

TEST_F(FakeV1, DestroyRemovesChildCgroupsFirst) {
  make_dirs(root_ + "/memory/a/b/c");
  auto cg = open(Mode::Legacy, "/a/b");
  cg->destroy();
  EXPECT_FALSE(has("memory/a/b"));
  EXPECT_TRUE(has("memory/a"));
}

TEST_F(FakeV1, DestroyNeverRemovesTheRoot) {
  auto cg = open(Mode::Legacy, "/");
  cg->destroy();
  EXPECT_TRUE(has("memory"));
}

}  // namespace
}  // namespace hanok::isolate::cgroup
