// Private to cri/: pod and container ids (new ones), names reserved while they exist (the
// kubelet's names encode pod, namespace, uid and attempt: a name in use again is a retried
// create, answered ALREADY_EXISTS), and one lock per id for the calls that change a pod or a
// container.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hanok::cri {

// A new random id: 64 hex digits, as containerd's.
std::string new_id();

class NameRegistry {
 public:
  // Reserves `name` for `id`. Returns the id holding it when another id has it, else "".
  std::string reserve(const std::string& name, const std::string& id);
  // Releases `name` if `id` holds it.
  void release(const std::string& name, const std::string& id);

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> names_;
};

// A held IdLocks lock (it keeps its mutex alive after the id is forgotten).
class IdLock {
 public:
  explicit IdLock(std::shared_ptr<std::mutex> mutex) : mutex_(std::move(mutex)), held_(*mutex_) {}

 private:
  std::shared_ptr<std::mutex> mutex_;
  std::unique_lock<std::mutex> held_;
};

// Serialises the changes of one pod or container (start, stop, remove, exit, ...).
class IdLocks {
 public:
  IdLock lock(const std::string& id);
  // Forgets the lock of an id that is gone (callers no longer reach it).
  void forget(const std::string& id);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

}  // namespace hanok::cri
