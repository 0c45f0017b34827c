#include "pod_metrics.hpp"

#include <map>
#include <stdexcept>
#include <string>

#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "pod_stats_reader.hpp"

namespace hanok::cri {

namespace {

using runtime::v1::MetricType;

// The labels of every series, as cAdvisor names them; network series add "interface".
const std::vector<std::string> kContainerLabels = {"container", "id",        "image",
                                                   "name",      "namespace", "pod"};

struct Series {
  const char* name;
  const char* help;
  MetricType type;
  bool network;
};

const std::vector<Series>& series() {
  static const std::vector<Series> all = {
      {"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.",
       runtime::v1::COUNTER, false},
      {"container_memory_usage_bytes", "Current memory usage in bytes, including all memory.",
       runtime::v1::GAUGE, false},
      {"container_memory_working_set_bytes", "Current working set in bytes.", runtime::v1::GAUGE,
       false},
      {"container_memory_rss", "Size of RSS in bytes.", runtime::v1::GAUGE, false},
      {"container_memory_swap", "Container swap usage in bytes.", runtime::v1::GAUGE, false},
      {"container_spec_memory_limit_bytes", "Memory limit for the container.", runtime::v1::GAUGE,
       false},
      {"container_oom_events_total", "Count of out of memory events observed for the container",
       runtime::v1::COUNTER, false},
      {"container_processes", "Number of processes running inside the container.",
       runtime::v1::GAUGE, false},
      {"container_start_time_seconds", "Start time of the container since unix epoch in seconds.",
       runtime::v1::GAUGE, false},
      {"container_last_seen", "Last time a container was seen by the exporter", runtime::v1::GAUGE,
       false},
      {"container_network_receive_bytes_total", "Cumulative count of bytes received",
       runtime::v1::COUNTER, true},
      {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted",
       runtime::v1::COUNTER, true},
      {"container_network_receive_errors_total",
       "Cumulative count of errors encountered while receiving", runtime::v1::COUNTER, true},
      {"container_network_transmit_errors_total",
       "Cumulative count of errors encountered while transmitting", runtime::v1::COUNTER, true},
  };
  return all;
}

const Series& find_series(const std::string& name) {
  for (const auto& one : series()) {
    if (name == one.name) return one;
  }
  throw std::logic_error("no metric " + name);
}

class MetricsBuilder {
 public:
  MetricsBuilder(int64_t now, std::vector<std::string> labels)
      : now_(now), labels_(std::move(labels)) {}
  void add(google::protobuf::RepeatedPtrField<runtime::v1::Metric>& out, const std::string& name,
           uint64_t value, const std::string& interface = "") {
    const Series& one = find_series(name);
    runtime::v1::Metric* metric = out.Add();
    metric->set_name(name);
    metric->set_timestamp(now_);
    metric->set_metric_type(one.type);
    for (const auto& label : labels_) metric->add_label_values(label);
    if (one.network) metric->add_label_values(interface);
    metric->mutable_value()->set_value(value);
  }

 private:
  int64_t now_;
  std::vector<std::string> labels_;
};

}  // namespace

const std::vector<runtime::v1::MetricDescriptor>& metric_descriptors() {
  static const std::vector<runtime::v1::MetricDescriptor> descriptors = [] {
    std::vector<runtime::v1::MetricDescriptor> all;
    for (const auto& one : series()) {
      runtime::v1::MetricDescriptor descriptor;
      descriptor.set_name(one.name);
      descriptor.set_help(one.help);
      for (const auto& key : kContainerLabels) descriptor.add_label_keys(key);
      if (one.network) descriptor.add_label_keys("interface");
      all.push_back(descriptor);
    }
    return all;
  }();
  return descriptors;
}

runtime::v1::PodSandboxMetrics pod_metrics(const StatsCollector& collector,
                                           const store::PodRecord& pod,
                                           const std::vector<store::ContainerRecord>& containers) {
  runtime::v1::PodSandboxMetrics out;
  out.set_pod_sandbox_id(pod.id());
  runtime::v1::PodSandboxStats stats = pod_stats(collector, pod, containers);
  int64_t now = isolate::unix_now_ns();
  const auto& meta = pod.config().metadata();
  // The pod's own series (its network) carry the container label "POD", as cAdvisor's do.
  MetricsBuilder pod_series(
      now, {"POD", pod.cgroup_path(), "", pod.id(), meta.namespace_(), meta.name()});
  for (const auto& interface : stats.linux().network().interfaces()) {
    pod_series.add(*out.mutable_metrics(), "container_network_receive_bytes_total",
                   interface.rx_bytes().value(), interface.name());
    pod_series.add(*out.mutable_metrics(), "container_network_transmit_bytes_total",
                   interface.tx_bytes().value(), interface.name());
    pod_series.add(*out.mutable_metrics(), "container_network_receive_errors_total",
                   interface.rx_errors().value(), interface.name());
    pod_series.add(*out.mutable_metrics(), "container_network_transmit_errors_total",
                   interface.tx_errors().value(), interface.name());
  }
  std::map<std::string, const runtime::v1::ContainerStats*> by_id;
  for (const auto& container : stats.linux().containers()) {
    by_id[container.attributes().id()] = &container;
  }
  for (const auto& container : containers) {
    if (container.pod_id() != pod.id() || container.state() != runtime::v1::CONTAINER_RUNNING) {
      continue;
    }
    auto found = by_id.find(container.id());
    if (found == by_id.end()) continue;
    const runtime::v1::ContainerStats& usage = *found->second;
    runtime::v1::ContainerMetrics* metrics = out.add_container_metrics();
    metrics->set_container_id(container.id());
    MetricsBuilder series_of(
        now, {container.config().metadata().name(), container.cgroup_path(), container.image_name(),
              container.id(), meta.namespace_(), meta.name()});
    auto& list = *metrics->mutable_metrics();
    series_of.add(list, "container_cpu_usage_seconds_total",
                  usage.cpu().usage_core_nano_seconds().value() / 1'000'000'000);
    series_of.add(list, "container_memory_usage_bytes", usage.memory().usage_bytes().value());
    series_of.add(list, "container_memory_working_set_bytes",
                  usage.memory().working_set_bytes().value());
    series_of.add(list, "container_memory_rss", usage.memory().rss_bytes().value());
    series_of.add(list, "container_memory_swap", usage.swap().swap_usage_bytes().value());
    series_of.add(
        list, "container_spec_memory_limit_bytes",
        static_cast<uint64_t>(std::max<int64_t>(container.resources().memory_limit_in_bytes(), 0)));
    uint64_t ooms = 0;
    uint64_t processes = 0;
    try {
      auto cgroup = isolate::cgroup::open_cgroup(container.cgroup_path());
      if (cgroup->exists()) {
        ooms = cgroup->oom_kill_count();
        processes = cgroup->processes().size();
      }
    } catch (const std::exception&) {
      // gone meanwhile: zeros
    }
    series_of.add(list, "container_oom_events_total", ooms);
    series_of.add(list, "container_processes", processes);
    series_of.add(list, "container_start_time_seconds",
                  static_cast<uint64_t>(container.started_at() / 1'000'000'000));
    series_of.add(list, "container_last_seen", static_cast<uint64_t>(now / 1'000'000'000));
  }
  return out;
}

}  // namespace hanok::cri
