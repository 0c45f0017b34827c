// A GetContainerEvents subscriber that stops reading: hanokd goes on serving every other call,
// keeps at most a bounded queue of events for it, and once that queue is full ends its stream
// with RESOURCE_EXHAUSTED (the events it had queued dropped with it); a new subscriber gets
// events as before.
#include "cri_fixture.hpp"
#include "images/sqlite.hpp"
#include "store.pb.h"

namespace hanok::test {
namespace {

using CriEventSubscriber = CriFixture;

// More events than hanokd queues for one subscriber (EventBus::kQueueLimit, 4096) plus what the
// stream's HTTP/2 window (64 KiB, at a few KiB an event) holds in flight. Each event carries its
// pod's status and all its containers' (as the kubelet's evented PLEG wants them): the containers
// are spread over pods of kPerPod, as on a node.
constexpr int kEvents = 6000;
constexpr int kPerPod = 10;

TEST_F(CriEventSubscriber, ASubscriberThatDoesNotReadIsEndedAndBlocksNothing) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("events");
  std::string template_id = run(pod, container_config("template", "true"));
  ASSERT_TRUE(cri().wait_for_state(template_id, v1::CONTAINER_EXITED, 20s));
  client_.reset();
  ASSERT_NE(daemon_->stop(), -1);
  daemon_.reset();

  // kEvents exited containers in stopped pods, as records (each RemoveContainer of one is an
  // event).
  std::vector<std::string> ids;
  {
    auto db = images::sqlite::open_database(image_root() + "/metadata.db");
    images::sqlite::Stmt read(db.get(), "SELECT record FROM cri_containers", "read the template");
    ASSERT_TRUE(read.step());
    store::ContainerRecord record;
    ASSERT_TRUE(record.ParseFromString(read.text(0)));
    images::sqlite::Stmt read_pod(db.get(), "SELECT record FROM cri_pods", "read the pod");
    ASSERT_TRUE(read_pod.step());
    store::PodRecord pod_record;
    ASSERT_TRUE(pod_record.ParseFromString(read_pod.text(0)));
    images::sqlite::Transaction transaction(db.get(), "insert records");
    images::sqlite::Stmt put_pod(db.get(), "INSERT INTO cri_pods(id, record) VALUES(?, ?)",
                                 "insert a pod");
    images::sqlite::Stmt put(db.get(),
                             "INSERT INTO cri_containers(id, pod_id, record) VALUES(?, ?, ?)",
                             "insert a container");
    std::string pod_id;
    for (int i = 0; i < kEvents; ++i) {
      if (i % kPerPod == 0) {
        // A stopped pod: nothing of it on the node.
        char id[65];
        std::snprintf(id, sizeof id, "%064x", 0xd0000 + i / kPerPod);
        pod_id = id;
        store::PodRecord copy = pod_record;
        copy.set_id(pod_id);
        copy.mutable_config()->mutable_metadata()->set_name("many-" + std::to_string(i));
        copy.mutable_config()->mutable_metadata()->set_uid("uid-many-" + std::to_string(i));
        copy.set_state(v1::SANDBOX_NOTREADY);
        copy.clear_pinned();
        copy.set_init_pid(0);
        copy.set_dir(state_ + "/pods/" + pod_id);
        copy.set_cgroup_created(false);
        copy.set_shm_mounted(false);
        copy.clear_ips();
        put_pod.reset();
        put_pod.bind(1, pod_id).bind_blob(2, copy.SerializeAsString());
        put_pod.run();
      }
      char id[65];
      std::snprintf(id, sizeof id, "%064x", 0xe0000 + i);
      store::ContainerRecord copy = record;
      copy.set_id(id);
      copy.set_pod_id(pod_id);
      copy.mutable_config()->mutable_metadata()->set_name("many-" + std::to_string(i));
      copy.set_bundle(state_ + "/containers/" + id);
      put.reset();
      put.bind(1, std::string(id)).bind(2, pod_id).bind_blob(3, copy.SerializeAsString());
      put.run();
      ids.push_back(id);
    }
    transaction.commit();
  }
  ASSERT_TRUE(start_daemon());

  // The slow subscriber: a connection of its own that keeps the HTTP/2 window it starts with
  // (no BDP probing to widen it) and reads nothing until every event was published.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto channel = grpc::CreateCustomChannel("unix://" + daemon_->socket(),
                                           grpc::InsecureChannelCredentials(), arguments);
  auto slow_stub = v1::RuntimeService::NewStub(channel);
  grpc::ClientContext slow_context;
  slow_context.set_deadline(std::chrono::system_clock::now() + 120s);
  v1::GetEventsRequest request;
  auto slow = slow_stub->GetContainerEvents(&slow_context, request);
  // A reading subscriber joined after it, to see that the bus goes on.
  auto watcher = std::make_unique<EventCollector>(cri().runtime());

  // Every removal is answered (hanokd does not wait for the subscriber), and so are other calls.
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_NO_THROW(cri().remove_container(ids[i])) << "removal " << i;
    if (i % 1000 == 0) {
      ASSERT_NO_THROW(cri().version()) << "after removal " << i;
    }
  }
  EXPECT_TRUE(watcher->wait_for(ids.back(), 1, 60s));
  std::string fresh = run(pod, container_config("fresh", kIdle));
  EXPECT_TRUE(watcher->wait_for(fresh, 2, 20s));
  EXPECT_EQ(event_names(watcher->types_for(fresh)),
            "CONTAINER_CREATED_EVENT CONTAINER_STARTED_EVENT");

  // What the slow subscriber gets when it finally reads: the events that were in flight, in
  // order and none skipped (from the first removal it had joined for), then the end of its
  // stream; none of the later ones were kept for it.
  std::vector<std::string> received;
  v1::ContainerEventResponse event;
  while (slow->Read(&event)) received.push_back(event.container_id());
  ASSERT_FALSE(received.empty());
  auto first = std::find(ids.begin(), ids.end(), received[0]);
  ASSERT_NE(first, ids.end()) << received[0];
  size_t offset = first - ids.begin();
  for (size_t i = 0; i < received.size(); ++i) {
    ASSERT_LT(offset + i, ids.size());
    ASSERT_EQ(received[i], ids[offset + i]) << "event " << i << " of the slow subscriber";
  }
  grpc::Status status = slow->Finish();
  EXPECT_EQ(code_name(status.error_code()), "RESOURCE_EXHAUSTED") << status.error_message();
  EXPECT_LT(offset + received.size(), ids.size()) << "every event reached the slow subscriber";
  EXPECT_TRUE(contains(status.error_message(), "behind")) << status.error_message();
  watcher.reset();
}

}  // namespace
}  // namespace hanok::test
