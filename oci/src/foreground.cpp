#include "foreground.hpp"

#include <sys/wait.h>

#include <cerrno>

#include "isolate/error.hpp"

namespace hanok::oci {

SignalBlock::SignalBlock() {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &previous_);
}

SignalBlock::~SignalBlock() {
  ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

int forward_signals_until_exit(pid_t pid) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) isolate::throw_sys("waitpid", std::to_string(pid));
    siginfo_t info{};
    int signal = ::sigwaitinfo(&all, &info);
    if (signal < 0 || signal == SIGCHLD) continue;
    ::kill(pid, signal);
  }
}

}  // namespace hanok::oci
