// Running a program from a process whose threads block signals: the program gets a clean signal
// mask, its own working directory, and its output comes back.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include "isolate/error.hpp"
#include "isolate/spawn.hpp"

namespace hanok::isolate {
namespace {

TEST(RunProgram, CleanSignalsItsOwnDirectoryAndItsOutput) {
  sigset_t blocked;
  sigset_t previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &blocked, &previous), 0);
  ProgramResult result = run_program(
      {"/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status; pwd; echo err >&2"}, "/tmp");
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  EXPECT_TRUE(result.succeeded()) << result.describe();
  EXPECT_NE(result.output.find("SigBlk:\t0000000000000000"), std::string::npos) << result.output;
  // No classic signal ignored (glibc keeps its own two real-time ones to itself).
  size_t ignored = result.output.find("SigIgn:\t");
  ASSERT_NE(ignored, std::string::npos);
  EXPECT_EQ(std::stoull(result.output.substr(ignored + 8, 16), nullptr, 16) & 0x7fffffffull, 0u)
      << result.output;
  EXPECT_NE(result.output.find("/tmp\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("err\n"), std::string::npos) << result.output;

  ProgramResult failed = run_program({"/bin/sh", "-c", "exit 3"});
  EXPECT_FALSE(failed.succeeded());
  EXPECT_EQ(failed.describe(), "exit status 3");
  EXPECT_THROW(run_program({"/no/such/program"}), SysError);
}

}  // namespace
}  // namespace hanok::isolate
