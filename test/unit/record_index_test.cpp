// The store room's record index: ids resolved by prefix as crictl gives them, records that
// outlive the index (a daemon restart reads them back), and the exit waits StopContainer and
// RemoveContainer make.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "images/stop_token.hpp"
#include "isolate/error.hpp"
#include "record_index.hpp"

namespace hanok::cri {
namespace {

using namespace std::chrono_literals;

class RecordIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/hanok-record-index-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string database() const { return dir_ + "/metadata.db"; }

  static store::PodRecord pod(const std::string& id, const std::string& name) {
    store::PodRecord record;
    record.set_id(id);
    record.mutable_config()->mutable_metadata()->set_name(name);
    record.set_state(runtime::v1::SANDBOX_READY);
    return record;
  }
  static store::ContainerRecord container(const std::string& id, const std::string& pod_id,
                                          runtime::v1::ContainerState state) {
    store::ContainerRecord record;
    record.set_id(id);
    record.set_pod_id(pod_id);
    record.set_state(state);
    return record;
  }
  // The kind of the Error `call` throws; Internal when it throws none.
  template <typename Call>
  static isolate::ErrorKind error_of(Call call) {
    try {
      call();
    } catch (const isolate::Error& e) {
      return e.kind();
    }
    return isolate::ErrorKind::Internal;
  }

  std::string dir_;
};

TEST_F(RecordIndexTest, IdsResolveByAUniquePrefix) {
  RecordIndex index(database());
  index.load();
  index.save(pod("abc123", "one"));
  index.save(pod("abd456", "two"));
  index.save(container("c0ffee", "abc123", runtime::v1::CONTAINER_RUNNING));

  EXPECT_EQ(index.resolve_pod("abc123"), "abc123");
  EXPECT_EQ(index.resolve_pod("abc"), "abc123");
  EXPECT_EQ(index.resolve_pod("abd"), "abd456");
  EXPECT_EQ(index.resolve_container("c0f"), "c0ffee");
  EXPECT_EQ(error_of([&] { index.resolve_pod("ab"); }), isolate::ErrorKind::Invalid);
  EXPECT_EQ(error_of([&] { index.resolve_pod(""); }), isolate::ErrorKind::Invalid);
  EXPECT_EQ(error_of([&] { index.resolve_pod("zz"); }), isolate::ErrorKind::NotFound);
  // Pods and containers are apart: a container id is no pod's.
  EXPECT_EQ(error_of([&] { index.resolve_pod("c0ffee"); }), isolate::ErrorKind::NotFound);
}

TEST_F(RecordIndexTest, RecordsOutliveTheIndexAndForgottenOnesDoNot) {
  {
    RecordIndex index(database());
    index.load();
    index.save(pod("p1", "kept"));
    index.save(pod("p2", "forgotten"));
    index.save(container("c1", "p1", runtime::v1::CONTAINER_CREATED));
    index.save(container("c2", "p1", runtime::v1::CONTAINER_RUNNING));
    index.save(container("c3", "p2", runtime::v1::CONTAINER_RUNNING));
    index.forget_pod("p2");
    index.forget_container("c3");
    auto updated = container("c1", "p1", runtime::v1::CONTAINER_EXITED);
    updated.set_exit_code(7);
    index.save(updated);
  }
  RecordIndex reopened(database());
  EXPECT_TRUE(reopened.pods().empty()) << "nothing is shown before load()";
  reopened.load();
  ASSERT_EQ(reopened.pods().size(), 1u);
  EXPECT_EQ(reopened.pods()[0].config().metadata().name(), "kept");
  EXPECT_FALSE(reopened.find_pod("p2"));
  EXPECT_FALSE(reopened.find_container("c3"));
  auto c1 = reopened.find_container("c1");
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->state(), runtime::v1::CONTAINER_EXITED);
  EXPECT_EQ(c1->exit_code(), 7);
  auto of_p1 = reopened.containers_of("p1");
  ASSERT_EQ(of_p1.size(), 2u);
  EXPECT_EQ(of_p1[0].id(), "c1");
  EXPECT_EQ(of_p1[1].id(), "c2");
  EXPECT_EQ(reopened.containers().size(), 2u);
}

TEST_F(RecordIndexTest, AnExitWaitWakesOnTheSaveThatRecordsIt) {
  RecordIndex index(database());
  index.load();
  index.save(container("c1", "p1", runtime::v1::CONTAINER_RUNNING));
  auto start = std::chrono::steady_clock::now();
  std::thread exiter([&] {
    std::this_thread::sleep_for(200ms);
    index.save(container("c1", "p1", runtime::v1::CONTAINER_EXITED));
  });
  bool exited = index.wait_exited("c1", start + 20s, images::StopToken());
  exiter.join();
  EXPECT_TRUE(exited);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  // One already exited, or gone, is not waited for.
  EXPECT_TRUE(index.wait_exited("c1", start, images::StopToken()));
  EXPECT_TRUE(index.wait_exited("never-there", start, images::StopToken()));
}

TEST_F(RecordIndexTest, AnExitWaitEndsAtItsDeadlineOrWhenStopped) {
  RecordIndex index(database());
  index.load();
  index.save(container("c1", "p1", runtime::v1::CONTAINER_RUNNING));
  EXPECT_FALSE(
      index.wait_exited("c1", std::chrono::steady_clock::now() + 300ms, images::StopToken()));
  images::StopToken cancelled([] { return true; }, std::chrono::steady_clock::time_point::max());
  EXPECT_FALSE(index.wait_exited("c1", std::chrono::steady_clock::now() + 20s, cancelled));
  EXPECT_EQ(index.find_container("c1")->state(), runtime::v1::CONTAINER_RUNNING);
}

}  // namespace
}  // namespace hanok::cri
