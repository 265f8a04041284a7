// InProcessNetwork's delivery and drop rules. Most tests use a QueueExecutor
// that runs its tasks only when the test says so, which makes "delivered on
// the receiver's executor" directly observable; the last ones run nodes on a
// ThreadPool.

#include "pegasus/runtime/in_process_transport.h"

#include <atomic>
#include <deque>
#include <latch>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/runtime/thread_pool.h"

namespace pegasus {
namespace {

// Queues posted tasks until RunAll(). Single-threaded; no timers.
class QueueExecutor final : public Executor {
 public:
  void Post(Task task) override { tasks_.push_back(std::move(task)); }
  TimerId ScheduleAfter(int64_t, Task) override {
    ADD_FAILURE() << "the transport schedules no timers";
    return kNoTimer;
  }
  bool Cancel(TimerId) override { return false; }

  size_t queued() const { return tasks_.size(); }

  // Runs tasks, including ones they post, until none is left.
  void RunAll() {
    while (!tasks_.empty()) {
      Task task = std::move(tasks_.front());
      tasks_.pop_front();
      task();
    }
  }

 private:
  std::deque<Task> tasks_;
};

struct Received {
  NodeId from;
  std::string message;
  friend bool operator==(const Received&, const Received&) = default;
};

// Records what a node receives.
Transport::Receiver RecordInto(std::vector<Received>* log) {
  return [log](NodeId from, std::string message) {
    log->push_back({from, std::move(message)});
  };
}

constexpr NodeId kA{1};
constexpr NodeId kB{2};

TEST(InProcessTransportTest, DeliversOnTheReceiversExecutor) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  std::vector<Received> got_a, got_b;
  a->SetReceiver(RecordInto(&got_a));
  b->SetReceiver(RecordInto(&got_b));
  EXPECT_EQ(a->self(), kA);

  a->Send(kB, "first");
  a->Send(kB, "second");
  EXPECT_EQ(executor_a.queued(), 0u);
  EXPECT_EQ(executor_b.queued(), 2u);
  EXPECT_TRUE(got_b.empty()) << "nothing runs until b's executor does";

  executor_b.RunAll();
  EXPECT_EQ(got_b, (std::vector<Received>{{kA, "first"}, {kA, "second"}}));
  EXPECT_TRUE(got_a.empty());
  EXPECT_EQ(network.delivered(), 2u);
  EXPECT_EQ(network.dropped(), 0u);
}

TEST(InProcessTransportTest, SelfSendIsDeliveredOnOwnExecutor) {
  InProcessNetwork network;
  QueueExecutor executor;
  auto a = network.Attach(kA, &executor);
  std::vector<Received> got;
  a->SetReceiver(RecordInto(&got));
  a->Send(kA, "to myself");
  EXPECT_TRUE(got.empty()) << "a send never calls the receiver inline";
  executor.RunAll();
  EXPECT_EQ(got, (std::vector<Received>{{kA, "to myself"}}));
}

TEST(InProcessTransportTest, ReceiverCanReplyFromInsideItsCall) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  std::vector<Received> got_a;
  a->SetReceiver(RecordInto(&got_a));
  b->SetReceiver([&](NodeId from, std::string message) {
    b->Send(from, "re: " + message);
  });
  a->Send(kB, "ping");
  executor_b.RunAll();
  executor_a.RunAll();
  EXPECT_EQ(got_a, (std::vector<Received>{{kB, "re: ping"}}));
}

TEST(InProcessTransportTest, UnknownDestinationIsDropped) {
  InProcessNetwork network;
  QueueExecutor executor;
  auto a = network.Attach(kA, &executor);
  a->Send(NodeId{99}, "nobody");
  EXPECT_EQ(executor.queued(), 0u);
  EXPECT_EQ(network.dropped(), 1u);
}

TEST(InProcessTransportTest, DetachedNodeDropsNewAndAlreadyPostedMessages) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  auto token = std::make_shared<int>(0);
  bool called = false;
  b->SetReceiver([&called, token](NodeId, std::string) { called = true; });

  a->Send(kB, "posted before detach");
  ASSERT_EQ(executor_b.queued(), 1u);
  b.reset();
  EXPECT_EQ(token.use_count(), 1) << "detaching destroys the receiver";
  a->Send(kB, "sent after detach");
  EXPECT_EQ(executor_b.queued(), 1u) << "nothing new posted to b";

  executor_b.RunAll();
  EXPECT_FALSE(called);
  EXPECT_EQ(network.dropped(), 2u);
  EXPECT_EQ(network.delivered(), 0u);
}

TEST(InProcessTransportTest, ReattachedIdGetsOnlyNewMessages) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  std::vector<Received> old_got, new_got;
  b->SetReceiver(RecordInto(&old_got));
  a->Send(kB, "for the old b");
  b.reset();
  b = network.Attach(kB, &executor_b);
  b->SetReceiver(RecordInto(&new_got));
  a->Send(kB, "for the new b");
  executor_b.RunAll();
  EXPECT_TRUE(old_got.empty());
  EXPECT_EQ(new_got, (std::vector<Received>{{kA, "for the new b"}}));
  EXPECT_EQ(network.dropped(), 1u);
}

TEST(InProcessTransportTest, MessageBeforeSetReceiverIsDropped) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  a->Send(kB, "too early");
  executor_b.RunAll();
  EXPECT_EQ(network.dropped(), 1u);
}

TEST(InProcessTransportTest, SendsBeyondTheInFlightLimitAreDropped) {
  InProcessNetwork network({.max_in_flight_per_node = 2});
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  std::vector<Received> got;
  b->SetReceiver(RecordInto(&got));
  a->Send(kB, "1");
  a->Send(kB, "2");
  a->Send(kB, "3");
  EXPECT_EQ(network.dropped(), 1u);
  executor_b.RunAll();
  a->Send(kB, "4");  // Room again once the first two were delivered.
  executor_b.RunAll();
  EXPECT_EQ(got, (std::vector<Received>{{kA, "1"}, {kA, "2"}, {kA, "4"}}));
}

TEST(InProcessTransportTest, ReceiverMayDestroyItsOwnTransport) {
  InProcessNetwork network;
  QueueExecutor executor_a, executor_b;
  auto a = network.Attach(kA, &executor_a);
  auto b = network.Attach(kB, &executor_b);
  auto token = std::make_shared<int>(0);
  int calls = 0;
  b->SetReceiver([&, token](NodeId, std::string) {
    ++calls;
    b.reset();
    EXPECT_EQ(token.use_count(), 2) << "not destroyed while it runs";
  });
  a->Send(kB, "stop");
  a->Send(kB, "after stop");
  executor_b.RunAll();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(network.dropped(), 1u);
}

TEST(InProcessTransportTest, TransportOutlivesItsNetwork) {
  QueueExecutor executor;
  std::unique_ptr<Transport> a;
  {
    InProcessNetwork network;
    a = network.Attach(kA, &executor);
  }
  std::vector<Received> got;
  a->SetReceiver(RecordInto(&got));
  a->Send(kA, "still here");
  executor.RunAll();
  EXPECT_EQ(got.size(), 1u);
}

TEST(InProcessTransportDeathTest, AttachingAnAttachedIdDies) {
  InProcessNetwork network;
  QueueExecutor executor;
  auto a = network.Attach(kA, &executor);
  EXPECT_DEATH(network.Attach(kA, &executor), "already attached");
}

// Every node on its own strand sends to every other; each receiver must see
// every message, never two at once, and each sender's messages in order.
TEST(InProcessTransportTest, NodesOnAThreadPoolExchangeEverything) {
  constexpr int kNodes = 4;
  constexpr int kPerPair = 500;
  ThreadPool pool({.threads = kNodes});
  InProcessNetwork network;
  std::latch all_received(kNodes * (kNodes - 1) * kPerPair);
  struct NodeLog {
    std::atomic<int> in_receiver{0};
    std::atomic<bool> overlapped{false};
    // Touched only on the node's strand.
    std::vector<std::vector<int>> by_sender =
        std::vector<std::vector<int>>(kNodes);
  };
  std::vector<NodeLog> logs(kNodes);
  std::vector<std::unique_ptr<Transport>> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.push_back(network.Attach(NodeId{uint64_t(n)}, pool.Strand(n)));
    NodeLog& log = logs[n];
    nodes[n]->SetReceiver([&log, &all_received](NodeId from, std::string m) {
      if (log.in_receiver.fetch_add(1) != 0) log.overlapped = true;
      log.by_sender[from.value].push_back(std::stoi(m));
      log.in_receiver.fetch_sub(1);
      all_received.count_down();
    });
  }
  for (int n = 0; n < kNodes; ++n) {
    pool.Strand(n)->Post([&, n] {
      for (int i = 0; i < kPerPair; ++i) {
        for (int to = 0; to < kNodes; ++to) {
          if (to != n) nodes[n]->Send(NodeId{uint64_t(to)}, std::to_string(i));
        }
      }
    });
  }
  all_received.wait();
  pool.Shutdown();
  EXPECT_EQ(network.dropped(), 0u);
  for (int n = 0; n < kNodes; ++n) {
    EXPECT_FALSE(logs[n].overlapped);
    for (int from = 0; from < kNodes; ++from) {
      if (from == n) continue;
      ASSERT_EQ(logs[n].by_sender[from].size(), size_t{kPerPair});
      for (int i = 0; i < kPerPair; ++i) {
        ASSERT_EQ(logs[n].by_sender[from][i], i);
      }
    }
  }
}

// The receiver is busy on a worker when the main thread destroys the
// Transport: the destructor waits for it to return, and the receiver is
// gone when the destructor returns.
TEST(InProcessTransportTest, DestroyWaitsForARunningReceiver) {
  ThreadPool pool({.threads = 2});
  InProcessNetwork network;
  auto a = network.Attach(kA, pool.Strand(0));
  auto b = network.Attach(kB, pool.Strand(1));
  std::latch in_receiver(1);
  std::atomic<bool> receiver_returned{false};
  auto token = std::make_shared<int>(0);
  b->SetReceiver([&, token](NodeId, std::string) {
    in_receiver.count_down();
    int64_t end = RealClock()->MonotonicNowNs() + 20'000'000;
    while (RealClock()->MonotonicNowNs() < end) {
    }
    receiver_returned = true;
  });
  pool.Strand(0)->Post([&] { a->Send(kB, "slow"); });
  in_receiver.wait();
  b.reset();
  EXPECT_TRUE(receiver_returned);
  EXPECT_EQ(token.use_count(), 1);
  pool.Shutdown();
}

}  // namespace
}  // namespace pegasus
