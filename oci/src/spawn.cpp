#include <sched.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "isolate/error.hpp"
#include "isolate/process.hpp"
#include "launch.hpp"

namespace hanok::oci::launch {

namespace {
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
      body();
      ::_exit(1);
    }
    child_end.close();
    return pid;
  }

  pid_t intermediate = isolate::clone_process(0);
  if (intermediate == 0) {
    runtime_end.close();
    try {
      for (int pass = 0; pass <= 2; ++pass) {
        for (const auto& join : joins) {
          if (join_order(join.type) != pass) continue;
          if (::setns(join.fd, static_cast<int>(isolate::clone_flag(join.type))) != 0) {
            isolate::throw_sys(
                std::string("join the ") + isolate::oci_name(join.type) + " namespace", "");
          }
        }
      }
      pid_t pid = isolate::clone_process(new_flags | CLONE_PARENT, cgroup_fd);
      if (pid == 0) {
        body();
        ::_exit(1);
      }
      child_end.send(kPid, std::to_string(pid));
      ::_exit(0);
    } catch (const std::exception& e) {
      child_end.send(kError, e.what());
      ::_exit(1);
    }
  }
  child_end.close();
  isolate::wait_child(intermediate);
  auto message = expect(runtime_end, kPid, "joining namespaces");
  return static_cast<pid_t>(std::stol(message.payload));
}

isolate::SyncMessage expect(const isolate::SyncChannel& channel, char expected, const char* step) {
  auto message = channel.receive();
  if (message.tag == expected) return message;
  if (message.tag == kError) throw std::runtime_error(message.payload);
  if (message.tag == 0) {
    throw std::runtime_error(std::string("container process exited while ") + step);
  }
  throw std::runtime_error(std::string("unexpected message from the container process while ") +
                           step);
}

}  // namespace hanok::oci::launch
