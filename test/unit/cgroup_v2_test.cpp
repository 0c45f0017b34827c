// cgroup v2 without root: the v1 -> v2 conversions, the device program (run through a small
// BPF interpreter), and CgroupV2 against a fake hierarchy of plain files in a temp dir.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../isolate/src/cgroup_v2.hpp"
#include "../../isolate/src/cgroup_v2_devices.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"

namespace hanok::isolate::cgroup {
namespace {

// --- conversions --------------------------------------------------------------------------

// The table of opencontainers/cgroups' TestConvertCPUSharesToCgroupV2Value (the formula runc 1.4
// writes), and values between.
TEST(CgroupConvert, CpuSharesToWeight) {
  const std::vector<std::pair<uint64_t, uint64_t>> table = {
      {0, 0},                                       // unset
      {1, 1},                                       // below the v1 minimum
      {2, 1},          {3, 2},          {102, 17},  // 100m
      {512, 59},       {1024, 100},                 // one cpu: v2's default weight
      {2048, 174},     {4096, 303},     {262143, 10000},
      {262144, 10000}, {262145, 10000}, {1u << 30, 10000},  // above the v1 maximum
  };
  for (const auto& [shares, weight] : table) {
    EXPECT_EQ(cpu_shares_to_weight(shares), weight) << "shares " << shares;
  }
}

TEST(CgroupConvert, BlkioWeightToIoWeight) {
  EXPECT_EQ(blkio_weight_to_io_weight(0), 0u);  // unset
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(100), 910u);
  EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(5), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(5000), 10000u);
}

TEST(CgroupConvert, MemorySwapToV2) {
  EXPECT_EQ(memory_swap_to_v2(-1, 100), -1);  // unlimited swap
  EXPECT_EQ(memory_swap_to_v2(-1, -1), -1);
  EXPECT_EQ(memory_swap_to_v2(0, -1), -1);  // unlimited memory, swap unset: both unlimited
  EXPECT_EQ(memory_swap_to_v2(0, 100), 0);  // unset stays unset
  EXPECT_EQ(memory_swap_to_v2(300, 100), 200);
  EXPECT_EQ(memory_swap_to_v2(100, 100), 0);   // memory+swap == memory: no swap
  EXPECT_EQ(memory_swap_to_v2(300, -1), 300);  // unlimited memory: swap as given
  EXPECT_THROW(memory_swap_to_v2(300, 0), std::invalid_argument);  // no memory limit
  EXPECT_THROW(memory_swap_to_v2(-5, 100), std::invalid_argument);
  EXPECT_THROW(memory_swap_to_v2(300, -7), std::invalid_argument);
  try {
    memory_swap_to_v2(50, 100);
    FAIL() << "swap < limit accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("linux.resources.memory.swap: must be >= memory limit"),
              std::string::npos)
        << e.what();
  }
}

// --- the device program -----------------------------------------------------------------

// Runs the subset of eBPF the builder emits on a bpf_cgroup_dev_ctx. Fails the test (and
// returns -1) on anything else, on a backward or out-of-range jump, or on a missing exit.
int64_t run_program(const std::vector<bpf_insn>& program, char type, uint32_t access,
                    uint32_t major, uint32_t minor) {
  bpf_cgroup_dev_ctx ctx{};
  ctx.access_type = (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) | (access << 16);
  ctx.major = major;
  ctx.minor = minor;
  uint64_t reg[11] = {};
  size_t pc = 0;
  while (pc < program.size()) {
    const bpf_insn& insn = program[pc];
    uint8_t cls = BPF_CLASS(insn.code), op = BPF_OP(insn.code);
    uint64_t src = BPF_SRC(insn.code) == BPF_X ? reg[insn.src_reg] : uint64_t(uint32_t(insn.imm));
    size_t next = pc + 1;
    if (cls == BPF_LDX && insn.code == (BPF_LDX | BPF_MEM | BPF_W) && insn.src_reg == 1) {
      EXPECT_TRUE(insn.off == 0 || insn.off == 4 || insn.off == 8) << "ctx offset " << insn.off;
      uint32_t word = 0;
      std::memcpy(&word, reinterpret_cast<const char*>(&ctx) + insn.off, 4);
      reg[insn.dst_reg] = word;
    } else if (cls == BPF_ALU) {
      uint32_t dst = uint32_t(reg[insn.dst_reg]), s = uint32_t(src);
      if (op == BPF_MOV)
        dst = s;
      else if (op == BPF_AND)
        dst &= s;
      else if (op == BPF_RSH)
        dst >>= s;
      else
        ADD_FAILURE() << "unexpected ALU op " << int(op) << " at " << pc;
      reg[insn.dst_reg] = dst;
    } else if (cls == BPF_JMP && op == BPF_EXIT) {
      return int64_t(reg[0]);
    } else if (cls == BPF_JMP && op == BPF_JA) {
      next = pc + 1 + insn.off;
    } else if (cls == BPF_JMP32 && (op == BPF_JEQ || op == BPF_JNE)) {
      bool equal = uint32_t(reg[insn.dst_reg]) == uint32_t(src);
      if (equal == (op == BPF_JEQ)) next = pc + 1 + insn.off;
    } else {
      ADD_FAILURE() << "unexpected instruction code " << int(insn.code) << " at " << pc;
      return -1;
    }
    if (insn.off < 0 || next > program.size()) {
      ADD_FAILURE() << "bad jump at " << pc;
      return -1;
    }
    pc = next;
  }
  ADD_FAILURE() << "ran off the end of the program";
  return -1;
}

constexpr uint32_t kM = BPF_DEVCG_ACC_MKNOD, kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE;

DeviceRule rule(bool allow, char type, int64_t major, int64_t minor, std::string access) {
  return DeviceRule{allow, type, major, minor, std::move(access)};
}

TEST(CgroupV2Devices, EmptyRulesDenyEverything) {
  auto program = build_device_program({});
  ASSERT_FALSE(program.empty());
  EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(run_program(program, 'c', kR, 1, 3), 0);
  EXPECT_EQ(run_program(program, 'b', kM, 8, 0), 0);
}

TEST(CgroupV2Devices, DenyAllThenAllowOne) {
  auto program =
      build_device_program({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm")});
  ASSERT_FALSE(program.empty());
  EXPECT_LT(program.size(), 100u);
  EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(run_program(program, 'c', kR, 1, 3), 1);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 1, 3), 1);
  EXPECT_EQ(run_program(program, 'c', kM, 1, 3), 1);
  EXPECT_EQ(run_program(program, 'c', kR, 1, 5), 0);
  EXPECT_EQ(run_program(program, 'b', kR, 1, 3), 0);  // same numbers, other type
}

TEST(CgroupV2Devices, Wildcards) {
  auto program = build_device_program({rule(false, 'a', -1, -1, "rwm"),
                                       rule(true, 'c', -1, -1, "m"), rule(true, 'b', -1, -1, "m"),
                                       rule(true, 'b', 8, -1, "r"), rule(true, 'c', -1, 7, "rw")});
  EXPECT_EQ(run_program(program, 'c', kM, 5, 1), 1);
  EXPECT_EQ(run_program(program, 'b', kM, 259, 0), 1);
  EXPECT_EQ(run_program(program, 'c', kR, 5, 1), 0);
  EXPECT_EQ(run_program(program, 'b', kR, 8, 3), 1);
  EXPECT_EQ(run_program(program, 'b', kR | kW, 8, 3), 0);  // w not allowed on 8:*
  EXPECT_EQ(run_program(program, 'b', kR, 9, 0), 0);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 42, 7), 1);
  EXPECT_EQ(run_program(program, 'c', kR | kW | kM, 42, 7), 1);
  EXPECT_EQ(run_program(program, 'b', kR, 42, 7), 0);
}

TEST(CgroupV2Devices, LastMatchingRuleWins) {
  // allow everything, then take writes to /dev/null away
  auto program =
      build_device_program({rule(true, 'a', -1, -1, "rwm"), rule(false, 'c', 1, 3, "w")});
  EXPECT_EQ(run_program(program, 'c', kR, 1, 3), 1);
  EXPECT_EQ(run_program(program, 'c', kW, 1, 3), 0);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 1, 3), 0);  // O_RDWR needs both
  EXPECT_EQ(run_program(program, 'c', kW, 1, 5), 1);
  EXPECT_EQ(run_program(program, 'b', kW, 8, 0), 1);

  program = build_device_program({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                                  rule(false, 'c', 1, 3, "w"), rule(true, 'c', -1, -1, "w")});
  EXPECT_EQ(run_program(program, 'c', kR | kW, 1, 3), 1);  // the later allow c *:* w wins
  EXPECT_EQ(run_program(program, 'c', kR | kW, 1, 5), 0);  // only w on other char devices
  EXPECT_EQ(run_program(program, 'c', kW, 1, 5), 1);
}

TEST(CgroupV2Devices, TypeAResetsEarlierRules) {
  auto program =
      build_device_program({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                            rule(true, 'a', -1, -1, "rwm"), rule(false, 'b', -1, -1, "rwm")});
  EXPECT_EQ(run_program(program, 'c', kR | kW | kM, 1, 3), 1);
  EXPECT_EQ(run_program(program, 'c', kR, 2, 2), 1);
  EXPECT_EQ(run_program(program, 'b', kR, 8, 0), 0);

  program = build_device_program({rule(true, 'c', 1, 3, "rwm"), rule(false, 'a', -1, -1, "r")});
  EXPECT_EQ(run_program(program, 'c', kR, 1, 3), 0);  // 'a' resets whatever its access
}

TEST(CgroupV2Devices, LargeNumbersCompareAs32Bits) {
  auto program = build_device_program(
      {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 0xffffffffLL, 0x80000000LL, "r")});
  EXPECT_EQ(run_program(program, 'c', kR, 0xffffffffu, 0x80000000u), 1);
  EXPECT_EQ(run_program(program, 'c', kR, 0x7fffffffu, 0x80000000u), 0);
}

TEST(CgroupV2Devices, InvalidRulesNameTheirIndex) {
  auto expect_invalid = [](const std::vector<DeviceRule>& rules, const std::string& where) {
    try {
      build_device_program(rules);
      ADD_FAILURE() << "accepted; want an error naming " << where;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  };
  DeviceRule deny_all = rule(false, 'a', -1, -1, "rwm");
  expect_invalid({deny_all, rule(true, 'x', 1, 3, "rwm")}, "linux.resources.devices[1].type");
  expect_invalid({deny_all, rule(true, 'c', 1, 3, "rwx")}, "linux.resources.devices[1].access");
  expect_invalid({deny_all, rule(true, 'c', 1, 3, "")}, "linux.resources.devices[1].access");
  expect_invalid({deny_all, rule(true, 'c', -2, 3, "r")}, "linux.resources.devices[1].major");
  expect_invalid({rule(true, 'b', 1, 1LL << 33, "r")}, "linux.resources.devices[0].minor");
}

TEST(CgroupV2Devices, ManyRulesStayInRange) {
  std::vector<DeviceRule> rules{rule(false, 'a', -1, -1, "rwm")};
  for (int i = 0; i < 500; ++i) rules.push_back(rule(i % 3 != 0, 'c', i, -1, "rwm"));
  auto program = build_device_program(rules);
  EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 4, 1), 1);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 3, 1), 0);
  EXPECT_EQ(run_program(program, 'c', kR | kW, 600, 1), 0);
}

// --- CgroupV2 on a fake hierarchy -------------------------------------------------------

void put(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  ASSERT_TRUE(out) << path;
  out << content;
}

std::string get(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class CgroupV2Fake : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hanok-cgroup-v2-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    put(root_ + "/cgroup.controllers", "cpuset cpu io memory pids\n");
    put(root_ + "/cgroup.subtree_control", "");
    ASSERT_EQ(::mkdir((root_ + "/pod").c_str(), 0755), 0);
    put(root_ + "/pod/cgroup.controllers", "cpu memory\n");
    put(root_ + "/pod/cgroup.subtree_control", "cpu\n");
    cgroup_ = make_cgroup_v2("/pod/c1", root_);
    dir_ = root_ + "/pod/c1";
  }
  void TearDown() override { remove_tree(root_); }

  // The control files of a cgroup with cpu, cpuset, memory, pids, io and hugetlb.
  void make_control_files() {
    for (const char* name :
         {"cpu.weight", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "memory.low",
          "memory.swap.max", "memory.high", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max",
          "cgroup.procs", "cgroup.freeze", "cgroup.kill", "cgroup.threads"})
      put(dir_ + "/" + name, "");
    put(dir_ + "/cpu.max", "max 100000\n");
    put(dir_ + "/memory.max", "max\n");
    put(dir_ + "/cgroup.events", "populated 0\nfrozen 0\n");
  }
  std::string file(const std::string& name) { return get(dir_ + "/" + name); }

  std::string root_;
  std::string dir_;
  std::unique_ptr<Cgroup> cgroup_;
};

TEST_F(CgroupV2Fake, PathIsNormalized) {
  EXPECT_EQ(cgroup_->path(), "/pod/c1");
  EXPECT_EQ(cgroup_->mode(), Mode::Unified);
  EXPECT_EQ(make_cgroup_v2("a//b/", root_)->path(), "/a/b");
  EXPECT_EQ(make_cgroup_v2("", root_)->path(), "/");
  EXPECT_THROW(make_cgroup_v2("/a/../b", root_), std::invalid_argument);
  EXPECT_THROW(make_cgroup_v2("/a/./b", root_), std::invalid_argument);
}

TEST_F(CgroupV2Fake, CreateEnablesControllersInParentsOnly) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);  // an existing leaf is fine
  put(dir_ + "/cgroup.controllers", "cpu memory\n");
  put(dir_ + "/cgroup.subtree_control", "");
  EXPECT_FALSE(make_cgroup_v2("/pod/c1/x", root_)->exists());
  ASSERT_TRUE(cgroup_->exists());
  cgroup_->create();
  EXPECT_TRUE(cgroup_->exists());
  // One write per controller; a plain file keeps the last one: root offers cpuset cpu io
  // memory pids (in kControllers order the last is pids); pod has cpu on already.
  EXPECT_EQ(get(root_ + "/cgroup.subtree_control"), "+pids");
  EXPECT_EQ(get(root_ + "/pod/cgroup.subtree_control"), "+memory");
  EXPECT_EQ(file("cgroup.subtree_control"), "");  // the leaf is left alone
}

TEST_F(CgroupV2Fake, CreateMakesEveryLevel) {
  auto deep = make_cgroup_v2("/a/b/c", root_);
  deep->create();
  EXPECT_TRUE(deep->exists());
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(CgroupV2Fake, CreateFailsWithoutRoot) {
  auto lost = make_cgroup_v2("/x", root_ + "/missing");
  try {
    lost->create();
    FAIL() << "created under a missing root";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find(root_ + "/missing/x"), std::string::npos) << e.what();
  }
}

TEST_F(CgroupV2Fake, ApplyWritesEveryFile) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->burst = 1000;
  r.cpu->idle = 0;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.memory.emplace();
  r.memory->limit = 100 << 20;
  r.memory->reservation = 50 << 20;
  r.memory->swap = 300 << 20;
  r.memory->kernel = 1 << 20;  // v1 only: ignored
  r.memory->swappiness = 60;   // v1 only: ignored
  r.pids_limit = 100;
  r.block_io.emplace();
  r.block_io->throttle_read_bps.push_back({8, 0, 1048576});
  r.hugepage_limits.push_back({"2MB", 4 << 20});
  r.unified["memory.high"] = "90000000";
  cgroup_->apply(r);

  EXPECT_EQ(file("cpu.weight"), "100");
  EXPECT_EQ(file("cpu.max"), "50000 100000");
  EXPECT_EQ(file("cpu.max.burst"), "1000");
  EXPECT_EQ(file("cpu.idle"), "0");
  EXPECT_EQ(file("cpuset.cpus"), "0-1");
  EXPECT_EQ(file("cpuset.mems"), "0");
  EXPECT_EQ(file("memory.max"), "104857600");
  EXPECT_EQ(file("memory.low"), "52428800");
  EXPECT_EQ(file("memory.swap.max"), "209715200");
  EXPECT_EQ(file("pids.max"), "100");
  EXPECT_EQ(file("io.max"), "8:0 rbps=1048576");
  EXPECT_EQ(file("hugetlb.2MB.max"), "4194304");
  EXPECT_EQ(file("memory.high"), "90000000");
}

TEST_F(CgroupV2Fake, ApplyIoWeights) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.block_io.emplace();
  r.block_io->weight = 500;
  cgroup_->apply(r);
  EXPECT_EQ(file("io.weight"), "default 4950");

  r.block_io->weight.reset();
  r.block_io->weight_devices.push_back({8, 16, 100, std::nullopt});
  cgroup_->apply(r);
  EXPECT_EQ(file("io.weight"), "8:16 910");

  r.block_io->weight_devices.clear();
  r.block_io->throttle_write_iops.push_back({259, 0, 0});  // v1's 0: no limit
  cgroup_->apply(r);
  EXPECT_EQ(file("io.max"), "259:0 wiops=max");
}

TEST_F(CgroupV2Fake, ApplyUnlimitedValues) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.memory->swap = -1;
  r.memory->reservation = -1;
  r.pids_limit = 0;
  r.cpu.emplace();
  r.cpu->quota = -1;
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.max"), "max");
  EXPECT_EQ(file("memory.swap.max"), "max");
  EXPECT_EQ(file("memory.low"), "max");
  EXPECT_EQ(file("pids.max"), "max");
  EXPECT_EQ(file("cpu.max"), "max");

  r = Resources{};
  r.pids_limit = -1;
  cgroup_->apply(r);
  EXPECT_EQ(file("pids.max"), "max");
}

TEST_F(CgroupV2Fake, ApplyPeriodKeepsQuota) {
  cgroup_->create();
  make_control_files();
  put(dir_ + "/cpu.max", "30000 100000\n");
  Resources r;
  r.cpu.emplace();
  r.cpu->period = 50000;
  cgroup_->apply(r);
  EXPECT_EQ(file("cpu.max"), "30000 50000");

  r.cpu->period.reset();
  r.cpu->quota = 25000;
  cgroup_->apply(r);
  EXPECT_EQ(file("cpu.max"), "25000");  // the kernel keeps the period
}

TEST_F(CgroupV2Fake, ApplyLeavesAbsentFieldsAlone) {
  cgroup_->create();
  make_control_files();
  put(dir_ + "/memory.max", "12345\n");
  Resources r;
  r.memory.emplace();  // nothing set
  r.cpu.emplace();
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.max"), "12345\n");
  EXPECT_EQ(file("cpu.max"), "max 100000\n");
  EXPECT_EQ(file("cpu.weight"), "");
}

TEST_F(CgroupV2Fake, SwapWithoutNewLimitUsesTheOneInForce) {
  cgroup_->create();
  make_control_files();
  put(dir_ + "/memory.max", "104857600\n");
  Resources r;
  r.memory.emplace();
  r.memory->swap = 200 << 20;
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.swap.max"), "104857600");

  put(dir_ + "/memory.max", "max\n");
  r.memory->swap = 0;  // unlimited memory, swap "unset": unlimited
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.swap.max"), "max");
}

TEST_F(CgroupV2Fake, SwapBelowLimitWritesNothing) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.memory.emplace();
  r.memory->limit = 100 << 20;
  r.memory->swap = 50 << 20;
  r.pids_limit = 5;
  EXPECT_THROW(cgroup_->apply(r), std::invalid_argument);
  EXPECT_EQ(file("memory.max"), "max\n");
  EXPECT_EQ(file("pids.max"), "");
}

TEST_F(CgroupV2Fake, SwapFileMissing) {
  cgroup_->create();
  make_control_files();
  ASSERT_EQ(::unlink((dir_ + "/memory.swap.max").c_str()), 0);
  Resources r;
  r.memory.emplace();
  r.memory->limit = 100 << 20;
  r.memory->swap = 100 << 20;  // no swap: fine without swap accounting
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.max"), "104857600");

  r.memory->swap = 200 << 20;  // a real swap limit cannot be honoured
  try {
    cgroup_->apply(r);
    FAIL() << "swap limit accepted without memory.swap.max";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find(dir_ + "/memory.swap.max: write 104857600"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(CgroupV2Fake, MissingFileErrorNamesFileAndValue) {
  cgroup_->create();
  Resources r;
  r.pids_limit = 10;
  try {
    cgroup_->apply(r);
    FAIL() << "wrote a missing pids.max";
  } catch (const SysError& e) {
    EXPECT_EQ(e.error_code(), ENOENT);
    EXPECT_NE(std::string(e.what()).find(dir_ + "/pids.max: write 10: "), std::string::npos)
        << e.what();
  }
}

TEST_F(CgroupV2Fake, RealtimeIsRefused) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.cpu.emplace();
  r.cpu->realtime_runtime = 950000;
  try {
    cgroup_->apply(r);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "linux.resources.cpu.realtimeRuntime: not supported on cgroup v2");
  }
  r.cpu->realtime_runtime = 0;  // zero: not set
  r.cpu->realtime_period = 0;
  EXPECT_NO_THROW(cgroup_->apply(r));
  r.cpu->realtime_period = 1000000;
  EXPECT_THROW(cgroup_->apply(r), std::invalid_argument);
}

TEST_F(CgroupV2Fake, UnifiedKeysAreChecked) {
  cgroup_->create();
  make_control_files();
  for (const char* key : {"memory.foo", "../memory.max", "a/b", "..", "", "cgroup.procs",
                          "cgroup.threads", "cgroup.kill", "cgroup.subtree_control"}) {
    Resources r;
    r.pids_limit = 7;
    r.unified[key] = "1";
    try {
      cgroup_->apply(r);
      ADD_FAILURE() << "accepted unified key \"" << key << "\"";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("linux.resources.unified[\"" + std::string(key) + "\"]"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(file("pids.max"), "") << "wrote before checking " << key;
  }
  Resources r;
  r.unified["memory.foo"] = "1";
  try {
    cgroup_->apply(r);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no such cgroup file"), std::string::npos) << e.what();
  }
}

TEST_F(CgroupV2Fake, UnifiedOverridesTypedFields) {
  cgroup_->create();
  make_control_files();
  Resources r;
  r.pids_limit = 10;
  r.unified["pids.max"] = "20";
  cgroup_->apply(r);
  EXPECT_EQ(file("pids.max"), "20");
}

TEST_F(CgroupV2Fake, Membership) {
  cgroup_->create();
  make_control_files();
  put(dir_ + "/cgroup.procs", "12\n345\n");
  EXPECT_EQ(cgroup_->processes(), (std::vector<pid_t>{12, 345}));
  cgroup_->add_process(99);
  EXPECT_EQ(file("cgroup.procs"), "99");
  int fd = cgroup_->clone_into_fd();
  EXPECT_GE(fd, 0);
  EXPECT_EQ(cgroup_->clone_into_fd(), fd);  // kept
}

TEST_F(CgroupV2Fake, FreezeAndEvents) {
  cgroup_->create();
  make_control_files();
  EXPECT_FALSE(cgroup_->frozen());
  put(dir_ + "/cgroup.events", "populated 1\nfrozen 1\n");
  EXPECT_TRUE(cgroup_->frozen());
  cgroup_->freeze();  // the fake already says "frozen 1"
  EXPECT_EQ(file("cgroup.freeze"), "1");
  put(dir_ + "/cgroup.events", "populated 1\nfrozen 0\n");
  cgroup_->thaw();
  EXPECT_EQ(file("cgroup.freeze"), "0");
}

TEST_F(CgroupV2Fake, KillUsesCgroupKill) {
  cgroup_->create();
  make_control_files();
  cgroup_->kill_all(SIGKILL);
  EXPECT_EQ(file("cgroup.kill"), "1");
}

TEST_F(CgroupV2Fake, Stats) {
  cgroup_->create();
  make_control_files();
  put(dir_ + "/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\n"
      "throttled_usec 30\n");
  put(dir_ + "/memory.current", "4096\n");
  put(dir_ + "/memory.peak", "8192\n");
  put(dir_ + "/memory.swap.current", "0\n");
  put(dir_ + "/memory.swap.max", "max\n");
  put(dir_ + "/memory.stat", "anon 100\nfile 200\nkernel_stack 16384\n");
  put(dir_ + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n");
  put(dir_ + "/pids.current", "4\n");
  put(dir_ + "/pids.max", "max\n");
  put(dir_ + "/hugetlb.2MB.current", "2097152\n");
  put(dir_ + "/hugetlb.2MB.events", "max 1\n");
  put(dir_ + "/hugetlb.2MB.rsvd.current", "0\n");
  put(dir_ + "/io.stat",
      "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"
      "259:0 rbytes=10 wbytes=20 rios=30 wios=40 dbytes=0 dios=0\n");

  Stats s = cgroup_->stats();
  EXPECT_EQ(s.cpu.usage_total_ns, 1500000u);
  EXPECT_EQ(s.cpu.usage_user_ns, 1000000u);
  EXPECT_EQ(s.cpu.usage_kernel_ns, 500000u);
  EXPECT_EQ(s.cpu.throttling_periods, 7u);
  EXPECT_EQ(s.cpu.throttled_periods, 2u);
  EXPECT_EQ(s.cpu.throttled_time_ns, 30000u);
  EXPECT_EQ(s.memory.usage, 4096u);
  EXPECT_EQ(s.memory.max_usage, 8192u);
  EXPECT_EQ(s.memory.limit, UINT64_MAX);
  EXPECT_EQ(s.memory.swap_limit, UINT64_MAX);
  EXPECT_EQ(s.memory.failcnt, 3u);
  EXPECT_EQ(s.memory.cache, 200u);
  EXPECT_EQ(s.memory.raw.at("kernel_stack"), 16384u);
  EXPECT_EQ(s.pids.current, 4u);
  EXPECT_EQ(s.pids.limit, 0u);
  ASSERT_EQ(s.hugetlb.size(), 1u);
  EXPECT_EQ(s.hugetlb.at("2MB").usage, 2097152u);
  EXPECT_EQ(s.hugetlb.at("2MB").failcnt, 1u);
  ASSERT_EQ(s.io_service_bytes.size(), 4u);
  EXPECT_EQ(s.io_service_bytes[0].major, 8);
  EXPECT_EQ(s.io_service_bytes[0].op, "Read");
  EXPECT_EQ(s.io_service_bytes[0].value, 1u);
  EXPECT_EQ(s.io_service_bytes[3].major, 259);
  EXPECT_EQ(s.io_service_bytes[3].op, "Write");
  EXPECT_EQ(s.io_service_bytes[3].value, 20u);
  ASSERT_EQ(s.io_serviced.size(), 4u);
  EXPECT_EQ(s.io_serviced[1].value, 4u);
  EXPECT_EQ(s.oom_kills, 2u);
  EXPECT_EQ(cgroup_->oom_kill_count(), 2u);
}

TEST_F(CgroupV2Fake, StatsSkipMissingFiles) {
  cgroup_->create();
  Stats s = cgroup_->stats();
  EXPECT_EQ(s.cpu.usage_total_ns, 0u);
  EXPECT_EQ(s.memory.limit, 0u);
  EXPECT_TRUE(s.hugetlb.empty());
  EXPECT_EQ(cgroup_->oom_kill_count(), 0u);
}

TEST_F(CgroupV2Fake, DestroyRemovesOnlyTheLeaf) {
  cgroup_->create();
  auto nested = make_cgroup_v2("/pod/c1/inner", root_);
  nested->create();
  cgroup_->destroy();
  EXPECT_FALSE(cgroup_->exists());
  EXPECT_TRUE(path_exists(root_ + "/pod"));
  cgroup_->destroy();  // gone already: fine
  EXPECT_THROW(make_cgroup_v2("/", root_)->destroy(), std::invalid_argument);
}

}  // namespace
}  // namespace hanok::isolate::cgroup
