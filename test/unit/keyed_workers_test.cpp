// KeyedWorkers, which hanokd's container exits run on: one key's slow work delays no other key,
// one key's work never runs twice at once, and put-off work waits for its time.
#include "keyed_workers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace hanok::cri {
namespace {

using namespace std::chrono_literals;

TEST(KeyedWorkers, ASlowKeyDelaysNoOther) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> quick_done;
  KeyedWorkers workers(4);  // gone first: it waits for what runs
  workers.submit("slow", [released] { released.wait(); });
  workers.submit("quick", [&quick_done] { quick_done.set_value(); });
  EXPECT_EQ(quick_done.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
}

TEST(KeyedWorkers, OneKeyNeverRunsTwiceAtOnce) {
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> runs{0};
  KeyedWorkers workers(4);
  for (int i = 0; i < 50; ++i) {
    workers.submit("same", [&] {
      int now = ++inside;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(2ms);
      --inside;
      ++runs;
    });
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(300ms);
  workers.stop();
  EXPECT_EQ(most.load(), 1);
  EXPECT_LT(runs.load(), 50) << "submissions while one waited did not run as one";
}

// With two threads idle, three slow keys and a fourth come at once: each runs on a thread of its
// own (up to the limit), none waits for another.
TEST(KeyedWorkers, ABurstRunsSideBySide) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  std::promise<void> last_done;
  KeyedWorkers workers(4);
  {
    // Two threads, then idle.
    std::promise<void> first_release;
    std::shared_future<void> first = first_release.get_future().share();
    std::atomic<int> finished{0};
    workers.submit("x", [first, &finished] {
      first.wait();
      ++finished;
    });
    workers.submit("y", [first, &finished] {
      first.wait();
      ++finished;
    });
    first_release.set_value();
    while (finished.load() < 2) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
  }
  for (const char* key : {"a", "b", "c"}) {
    workers.submit(key, [&started, released] {
      ++started;
      released.wait();
    });
  }
  workers.submit("d", [&last_done] { last_done.set_value(); });
  EXPECT_EQ(last_done.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
}

TEST(KeyedWorkers, PutOffWorkWaitsForItsTime) {
  std::promise<std::chrono::steady_clock::time_point> ran;
  KeyedWorkers workers(2);
  auto start = std::chrono::steady_clock::now();
  workers.submit_at("later", start + 300ms,
                    [&ran] { ran.set_value(std::chrono::steady_clock::now()); });
  auto when = ran.get_future();
  ASSERT_EQ(when.wait_for(5s), std::future_status::ready);
  EXPECT_GE(when.get() - start, 300ms);
}

}  // namespace
}  // namespace hanok::cri
