// Private to cri/: the one object every RuntimeService handler works through (as containerd's
// criService): the config, the image store, the pod and container records (in memory, and in
// the metadata database), name reservations, per-id locks, the event bus, the helper programs,
// and what happens when a container exits. Handlers stay thin, one file per RPC.
//
// On disk, under the daemon's state dir:
//   pods/<id>/          a pod: ns/{net,ipc,uts,pid} (pinned), hostname, hosts, resolv.conf, shm/
//   containers/<id>/    a container's bundle: config.json, the monitor's socket and files
//   exits/<id>.json     written by a container's monitor when its init exits
//   runtime/            the OCI runtime's (`hanok --root`) state
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "byte_budget.hpp"
#include "checkpoint_archive.hpp"
#include "checkpoint_signature.hpp"
#include "cri/config.hpp"
#include "event_bus.hpp"
#include "exit_watcher.hpp"
#include "images/image_store.hpp"
#include "images/stop_token.hpp"
#include "keyed_workers.hpp"
#include "name_registry.hpp"
#include "pod_network.hpp"
#include "record_index.hpp"
#include "runtime_cli.hpp"
#include "stats_collector.hpp"
#include "store.pb.h"

namespace hanok::cri {

class RuntimeCore {
 public:
  RuntimeCore(const DaemonConfig& config, images::ImageStore& images,
              const std::atomic<bool>& stopping);
  ~RuntimeCore();
  RuntimeCore(const RuntimeCore&) = delete;
  RuntimeCore& operator=(const RuntimeCore&) = delete;

  const DaemonConfig& config() const { return config_; }
  images::ImageStore& images() { return images_; }
  const RuntimeCli& runtime() const { return runtime_; }
  const HelperBinaries& helpers() const { return helpers_; }
  EventBus& events() { return events_; }
  NameRegistry& pod_names() { return pod_names_; }
  NameRegistry& container_names() { return container_names_; }
  IdLocks& locks() { return locks_; }
  const std::atomic<bool>& stopping() const { return stopping_; }
  // What all ExecSync calls together may hold of their output (exec_sync_buffer_limit).
  ByteBudget& exec_output_budget() { return exec_output_budget_; }
  // Signs the checkpoint archives this node writes and checks those it restores.
  const CheckpointSigner& checkpoint_signer() const { return checkpoint_signer_; }
  // The background stats: writable layers and cpu samples (see StatsCollector).
  const StatsCollector& stats() const { return *stats_; }
  // What writing a checkpoint archive takes.
  CheckpointTools checkpoint_tools() { return {runtime_, images_, checkpoint_signer_}; }
  // The pod CIDR the kubelet gave (UpdateRuntimeConfig), kept for the network plugin.
  void set_pod_cidr(const std::string& cidr);
  std::string pod_cidr() const;
  // What CNI plugins run with: the config and the pod CIDR.
  CniContext cni_context() const { return {config_, pod_cidr()}; }

  std::string pod_dir(const std::string& id) const;
  std::string bundle_dir(const std::string& id) const;
  // Where a RestorePod's container keeps its unpacked checkpoint until it starts: on disk, under
  // the root (CRIU's images hold the process's memory).
  std::string restore_dir(const std::string& id) const;
  std::string exit_file(const std::string& id) const;

  // The records (see RecordIndex).
  std::string resolve_pod(const std::string& id_or_prefix) const {
    return records_.resolve_pod(id_or_prefix);
  }
  std::string resolve_container(const std::string& id_or_prefix) const {
    return records_.resolve_container(id_or_prefix);
  }
  std::optional<store::PodRecord> find_pod(const std::string& id) const {
    return records_.find_pod(id);
  }
  std::optional<store::ContainerRecord> find_container(const std::string& id) const {
    return records_.find_container(id);
  }
  std::vector<store::PodRecord> pods() const { return records_.pods(); }
  std::vector<store::ContainerRecord> containers() const { return records_.containers(); }
  std::vector<store::ContainerRecord> containers_of(const std::string& pod_id) const {
    return records_.containers_of(pod_id);
  }
  void save(const store::PodRecord& pod) { records_.save(pod); }
  void save(const store::ContainerRecord& container) { records_.save(container); }
  void forget_pod(const std::string& id) { records_.forget_pod(id); }
  void forget_container(const std::string& id) { records_.forget_container(id); }

  // A container's init exited (its exit file is there): records the exit code, the reason
  // (Completed, Error, OOMKilled) and the time, deletes it from the OCI runtime, wakes waiters
  // and publishes the event. Idempotent. Takes the container's lock.
  void handle_exit(const std::string& id);
  // The same, for a caller that holds the container's lock.
  void handle_exit_locked(const std::string& id);
  // Waits until the container has exited (true), `until` passed or `stop` stopped (false).
  bool wait_exited(const std::string& id, std::chrono::steady_clock::time_point until,
                   const images::StopToken& stop) {
    return records_.wait_exited(id, until, stop);
  }
  // The statuses of the pod's containers, as ContainerStatus gives them.
  google::protobuf::RepeatedPtrField<runtime::v1::ContainerStatus> containers_statuses(
      const std::string& pod_id) const;
  // A container's event, and a pod's (its container id the pod's id, as containerd's), each with
  // the pod's status and all its containers' statuses as they are now. A DELETED event is
  // published before the record is forgotten.
  void publish(runtime::v1::ContainerEventType type, const store::ContainerRecord& container);
  void publish(runtime::v1::ContainerEventType type, const store::PodRecord& pod);
  // Watches the container's monitor process: if it ends without an exit file, the container is
  // recorded as exited with code 255, reason Unknown.
  void watch_monitor(const store::ContainerRecord& container);

 private:
  // runtime_recovery.cpp: what is there at the start, made to agree with the records.
  void recover();
  void clean_orphans();
  // Every container with an exit file not yet recorded, queued (after an inotify overflow).
  void check_exits();
  void handle_monitor_gone(const std::string& id);
  // Exit code 255, reason Unknown, `why` as the message (the caller holds the id's lock).
  void record_unknown_exit(store::ContainerRecord& container, const std::string& why);
  // What the stats collector looks at: every container's writable layer, the cgroups of
  // running containers and ready pods.
  StatsCollector::Targets stats_targets() const;
  void publish_event(runtime::v1::ContainerEventType type, const std::string& id,
                     const std::string& pod_id);
  // An exit the watcher saw, handled on an exit worker.
  void queue_exit(const std::string& id);
  // `hanok delete --force` of an exited container (the caller holds its lock), bounded; a
  // failure is retried on an exit worker after a backoff, up to kExitDeleteAttempts in all.
  void delete_after_exit(const std::string& id, int attempt);
  static constexpr size_t kExitWorkers = 8;
  static constexpr std::chrono::seconds kExitDeleteTimeout{10};  // containerd's
  static constexpr int kExitDeleteAttempts = 5;

  DaemonConfig config_;
  images::ImageStore& images_;
  const std::atomic<bool>& stopping_;
  HelperBinaries helpers_;
  RuntimeCli runtime_;
  ByteBudget exec_output_budget_;
  CheckpointSigner checkpoint_signer_;
  RecordIndex records_;
  EventBus events_;
  NameRegistry pod_names_;
  NameRegistry container_names_;
  IdLocks locks_;

  std::mutex publish_mutex_;  // one event made and published at a time
  mutable std::mutex mutex_;  // pod_cidr_
  std::string pod_cidr_;
  std::unique_ptr<KeyedWorkers> exit_workers_;
  std::unique_ptr<ExitWatcher> watcher_;
  std::unique_ptr<StatsCollector> stats_;
};

// A pidfd of `pid` if it is the monitor of container `id` (its command line says so); invalid
// otherwise.
isolate::UniqueFd open_monitor(pid_t pid, const std::string& id);

// The names reserved for a pod and a container, as the kubelet's would be unique:
// "<name>_<namespace>_<uid>_<attempt>" and "<container>_<pod name>_<namespace>_<uid>_<attempt>".
std::string pod_name_key(const runtime::v1::PodSandboxMetadata& metadata);
std::string container_name_key(const runtime::v1::ContainerMetadata& container,
                               const runtime::v1::PodSandboxMetadata& pod);

}  // namespace hanok::cri
