// Private to oci/: a foreground `run` or `exec` waits for its process and forwards the signals it
// receives to it, as runc does.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace hanok::oci {

// Blocks every signal in the calling process (before the clone); the clone unblocks them before
// execve. Restores the previous mask when destroyed.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t previous_{};
};

// Waits for child `pid`, forwarding every other signal to it; returns its wait status.
int forward_signals_until_exit(pid_t pid);

}  // namespace hanok::oci
