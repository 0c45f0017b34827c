#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "isolate/error.hpp"
#include "isolate/process.hpp"
#include "launch.hpp"

namespace hanok::oci::launch {

namespace {
// A cloned child never returns into the runtime's code (whose destructors would clean up after
// the runtime itself), whatever it throws.
[[noreturn]] void run_child(const std::function<void()>& body) {
  try {
    body();
  } catch (...) {
  }
  ::_exit(1);
}

int join_order(isolate::NamespaceType type) {
  if (type == isolate::NamespaceType::User) return 0;
  if (type == isolate::NamespaceType::Mount) return 2;
  return 1;
}
}  // namespace

pid_t spawn(const std::vector<NamespaceToJoin>& joins, uint64_t new_flags, int cgroup_fd,
            isolate::SyncChannel& runtime_end, isolate::SyncChannel& child_end,
            const std::function<void()>& body) {
  if (joins.empty()) {
    pid_t pid = isolate::clone_process(new_flags, cgroup_fd);
    if (pid == 0) {
      runtime_end.close();
      run_child(body);
    }
    child_end.close();
    return pid;
  }

  // A process born into a cgroup (CLONE_INTO_CGROUP) must not be in the target's cgroup
  // namespace yet: with cgroup2's nsdelegate, a parent whose own cgroup lies outside its cgroup
  // namespace's root gets ENOENT. So the child joins that namespace itself, once it is in its
  // cgroup (below the namespace's root).
  const NamespaceToJoin* late_cgroup_join = nullptr;
  for (const auto& join : joins) {
    if (join.type == isolate::NamespaceType::Cgroup && cgroup_fd >= 0) late_cgroup_join = &join;
  }
  pid_t intermediate = isolate::clone_process(0);
  if (intermediate == 0) {
    runtime_end.close();
    try {
      for (int pass = 0; pass <= 2; ++pass) {
        for (const auto& join : joins) {
          if (join_order(join.type) != pass || &join == late_cgroup_join) continue;
          if (::setns(join.fd, static_cast<int>(isolate::clone_flag(join.type))) != 0) {
            isolate::throw_sys(
                std::string("join the ") + isolate::oci_name(join.type) + " namespace", "");
          }
        }
      }
      pid_t pid = isolate::clone_process(new_flags | CLONE_PARENT, cgroup_fd);
      if (pid == 0) {
        // (Only async-signal-safe calls here; a failure shows as exit status 126 in the
        // runtime's error, the sync channel being the intermediate's to write until it is gone.)
        if (late_cgroup_join != nullptr && ::setns(late_cgroup_join->fd, CLONE_NEWCGROUP) != 0) {
          ::_exit(126);
        }
        run_child(body);
      }
      child_end.send(kPid, std::to_string(pid));
      ::_exit(0);
    } catch (const std::exception& e) {
      try {
        child_end.send(kError, e.what());
      } catch (...) {
      }
      ::_exit(1);
    } catch (...) {
      ::_exit(1);
    }
  }
  child_end.close();
  isolate::wait_child(intermediate);
  auto message = expect(runtime_end, kPid, "joining namespaces");
  return static_cast<pid_t>(std::stol(message.payload));
}

namespace {
// How child `pid` ended, without reaping it: " (exit status 1)", " (killed by signal SIGSYS)";
// empty when it is not a child of the caller.
std::string how_it_ended(pid_t pid) {
  if (pid <= 0) return {};
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0) return {};
  if (info.si_code == CLD_EXITED) return " (exit status " + std::to_string(info.si_status) + ")";
  const char* name = ::sigabbrev_np(info.si_status);
  return std::string(" (killed by signal ") +
         (name != nullptr ? std::string("SIG") + name : std::to_string(info.si_status)) + ")";
}
}  // namespace

isolate::SyncMessage expect(const isolate::SyncChannel& channel, char expected, const char* step,
                            pid_t pid) {
  auto message = channel.receive();
  if (message.tag == expected) return message;
  if (message.tag == kError) throw std::runtime_error(message.payload);
  if (message.tag == 0) {
    throw std::runtime_error(std::string("container process exited while ") + step +
                             how_it_ended(pid));
  }
  throw std::runtime_error(std::string("unexpected message from the container process while ") +
                           step);
}

ExecOutcome await_exec(const isolate::SyncChannel& channel, pid_t pid) {
  bool executing = false;
  for (;;) {
    auto message = channel.receive();
    if (message.tag == kExecuting) {
      executing = true;
    } else if (message.tag == kError) {
      return {false, message.payload};
    } else if (message.tag == 0) {
      // The channel closes on execve (close-on-exec) or when the process dies: only after
      // kExecuting can it be the former.
      if (executing) return {true, {}};
      return {false,
              "the container process exited before executing its program" + how_it_ended(pid)};
    }
  }
}

}  // namespace hanok::oci::launch
