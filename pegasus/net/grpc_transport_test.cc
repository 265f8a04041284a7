#include "pegasus/net/grpc_transport.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pegasus/net/address.h"
#include "pegasus/runtime/thread_pool.h"

namespace pegasus::net {
namespace {

constexpr uint32_t kLoopback = 0x7f000001;
const absl::Duration kWait = absl::Seconds(20);

struct Received {
  NodeId from;
  std::string message;
};

// What a node's receiver got, for the test thread to wait on.
class Mailbox {
 public:
  void Add(NodeId from, std::string message) {
    absl::MutexLock lock(&mu_);
    got_.push_back({from, std::move(message)});
  }
  // Waits until `count` messages have come; false on timeout.
  bool WaitFor(size_t count, absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] {
      mu_.AssertHeld();
      return got_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  std::vector<Received> got() {
    absl::MutexLock lock(&mu_);
    return got_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return got_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<Received> got_;
};

enum class Role { kServer, kEchoServer, kClient };

// One node: a strand, a transport and, for a server, a gRPC server on a
// loopback port of its own (or `port` when given). An echo server answers
// every message m from n with "re:m" to n. A server given `claim` says it
// is that node, whatever port it listens on.
struct Node {
  explicit Node(Role role, int port = 0, GrpcTransportOptions options = {},
                NodeId claim = {})
      : pool(ThreadPoolOptions{.threads = 1}) {
    options.executor = pool.Strand(0);
    transport = std::make_unique<GrpcTransport>(options);
    transport->SetReceiver([this, role](NodeId from, std::string message) {
      if (role == Role::kEchoServer) transport->Send(from, "re:" + message);
      mailbox.Add(from, std::move(message));
    });
    if (role == Role::kClient) {
      transport->SetSelf(ClientNodeId(++clients));
      return;
    }
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &bound_port);
    transport->AddToServer(&builder);
    server = builder.BuildAndStart();
    EXPECT_NE(server, nullptr);
    EXPECT_GT(bound_port, 0);
    transport->SetSelf(
        claim != NodeId{} ? claim : NodeId::FromAddress(kLoopback, bound_port));
  }

  ~Node() { Stop(); }

  // As a process exit would: the server, the strand, the transport.
  void Stop() {
    if (transport != nullptr) transport->Shutdown();
    if (server != nullptr) server->Shutdown();
    pool.Shutdown();
    transport.reset();
    server.reset();
  }

  NodeId id() const { return transport->self(); }

  // Sends from the node's strand, as the seam asks.
  void Send(NodeId to, std::string message) {
    pool.Strand(0)->Post([this, to, message = std::move(message)]() mutable {
      transport->Send(to, std::move(message));
    });
  }

  static inline uint64_t clients = 0;
  ThreadPool pool;
  std::unique_ptr<GrpcTransport> transport;
  std::unique_ptr<grpc::Server> server;
  int bound_port = 0;
  Mailbox mailbox;
};

std::vector<std::string> Messages(const std::vector<Received>& got) {
  std::vector<std::string> out;
  for (const Received& r : got) out.push_back(r.message);
  return out;
}

TEST(GrpcTransportTest, ServersExchangeMessagesInOrder) {
  Node a(Role::kServer), b(Role::kServer);
  for (int i = 0; i < 200; ++i) a.Send(b.id(), "a" + std::to_string(i));
  for (int i = 0; i < 200; ++i) b.Send(a.id(), "b" + std::to_string(i));
  ASSERT_TRUE(b.mailbox.WaitFor(200));
  ASSERT_TRUE(a.mailbox.WaitFor(200));
  std::vector<Received> at_b = b.mailbox.got();
  std::vector<Received> at_a = a.mailbox.got();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(at_b[i].from, a.id());
    EXPECT_EQ(at_b[i].message, "a" + std::to_string(i));
    EXPECT_EQ(at_a[i].from, b.id());
    EXPECT_EQ(at_a[i].message, "b" + std::to_string(i));
  }
  // Each opened one stream to the other and kept it.
  EXPECT_EQ(a.transport->stats().streams_opened, 1u);
  EXPECT_EQ(b.transport->stats().streams_opened, 1u);
  EXPECT_EQ(a.transport->stats().messages_dropped, 0u);
}

TEST(GrpcTransportTest, AClientGetsRepliesOnTheStreamItOpened) {
  Node server(Role::kEchoServer), client(Role::kClient);
  EXPECT_FALSE(client.id().has_address());
  client.Send(server.id(), "hello");
  client.Send(server.id(), "again");
  ASSERT_TRUE(client.mailbox.WaitFor(2));
  EXPECT_EQ(Messages(client.mailbox.got()),
            (std::vector<std::string>{"re:hello", "re:again"}));
  EXPECT_EQ(server.mailbox.got()[0].from, client.id());
  // The server never dialled the client: it listens nowhere.
  EXPECT_EQ(server.transport->stats().streams_opened, 0u);
  EXPECT_EQ(server.transport->stats().streams_accepted, 1u);
}

TEST(GrpcTransportTest, ANodeWithoutAStreamOrAnAddressIsUnreachable) {
  Node server(Role::kServer);
  server.Send(ClientNodeId(12345), "lost");
  server.Send(NodeId{7}, "lost too");
  absl::Notification flushed;
  server.pool.Strand(0)->Post([&] { flushed.Notify(); });
  ASSERT_TRUE(flushed.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(server.transport->stats().messages_dropped, 2u);
  EXPECT_EQ(server.transport->stats().streams_opened, 0u);
}

TEST(GrpcTransportTest, MessagesSentTogetherShareFrames) {
  Node a(Role::kServer), b(Role::kServer);
  constexpr int kCount = 20'000;
  // All sent from one task, so they queue while the first frame is written.
  a.pool.Strand(0)->Post([&] {
    for (int i = 0; i < kCount; ++i) {
      a.transport->Send(b.id(), std::string(100, 'x'));
    }
  });
  ASSERT_TRUE(b.mailbox.WaitFor(kCount));
  const GrpcTransportStats stats = a.transport->stats();
  EXPECT_EQ(stats.messages_sent, static_cast<uint64_t>(kCount));
  EXPECT_LT(stats.frames_sent, stats.messages_sent / 10) << stats.frames_sent;
  EXPECT_EQ(b.transport->stats().messages_received,
            static_cast<uint64_t>(kCount));
}

// Tasks queued on the sender's strand before a send to an idle stream all
// go out in its frame: the write waits for them.
TEST(GrpcTransportTest, WhatQueuedTasksSendToAnIdleStreamSharesOneFrame) {
  Node server(Role::kEchoServer), client(Role::kClient);
  client.Send(server.id(), "open");
  ASSERT_TRUE(client.mailbox.WaitFor(1));
  const uint64_t frames_before = client.transport->stats().frames_sent;
  constexpr int kTasks = 10;
  absl::Notification queued;
  // Holds the strand until every send below is queued behind it.
  client.pool.Strand(0)->Post([&] { queued.WaitForNotification(); });
  for (int i = 0; i < kTasks; ++i) client.Send(server.id(), std::to_string(i));
  queued.Notify();
  ASSERT_TRUE(client.mailbox.WaitFor(1 + kTasks));
  EXPECT_EQ(client.transport->stats().frames_sent, frames_before + 1);
  std::vector<std::string> echoed = Messages(client.mailbox.got());
  for (int i = 0; i < kTasks; ++i) {
    EXPECT_EQ(echoed[1 + i], "re:" + std::to_string(i));
  }
}

TEST(GrpcTransportTest, LargeMessagesArriveWhole) {
  Node a(Role::kServer), b(Role::kServer);
  std::string big(12 << 20, 'b');
  big[12345] = 'q';
  a.Send(b.id(), big);
  a.Send(b.id(), "small");
  ASSERT_TRUE(b.mailbox.WaitFor(2));
  EXPECT_EQ(b.mailbox.got()[0].message, big);
  EXPECT_EQ(b.mailbox.got()[1].message, "small");
}

TEST(GrpcTransportTest, AMessageBeyondTheQueueLimitIsDropped) {
  GrpcTransportOptions small;
  small.max_queued_bytes = 1000;
  Node a(Role::kServer, 0, small), b(Role::kServer);
  a.Send(b.id(), std::string(1001, 'x'));
  a.Send(b.id(), "fits");
  ASSERT_TRUE(b.mailbox.WaitFor(1));
  EXPECT_EQ(Messages(b.mailbox.got()), std::vector<std::string>{"fits"});
  EXPECT_EQ(a.transport->stats().messages_dropped, 1u);
}

TEST(GrpcTransportTest, AStreamMeantForAnotherNodeIsRefused) {
  // `d` listens on a port of its own but is node 127.0.0.1:1, as when an
  // address passed from one server to another: a stream to the address
  // names a node d is not, and d must not take its messages.
  Node d(Role::kServer, 0, {}, NodeId::FromAddress(kLoopback, 1));
  Node a(Role::kServer);
  const NodeId at_d =
      NodeId::FromAddress(kLoopback, static_cast<uint16_t>(d.bound_port));
  for (int i = 0; i < 100 && d.transport->stats().streams_refused == 0; ++i) {
    a.Send(at_d, "not for d");
    d.mailbox.WaitFor(1, absl::Milliseconds(20));
  }
  EXPECT_GE(d.transport->stats().streams_refused, 1u);
  EXPECT_EQ(d.transport->stats().streams_accepted, 0u);
  EXPECT_EQ(d.mailbox.size(), 0u);
}

TEST(GrpcTransportTest, APeerThatRestartsIsReachedAgain) {
  Node a(Role::kServer);
  auto b = std::make_unique<Node>(Role::kServer);
  const int port = b->bound_port;
  const NodeId b_id = b->id();
  a.Send(b_id, "first");
  ASSERT_TRUE(b->mailbox.WaitFor(1));
  b->Stop();
  b.reset();
  b = std::make_unique<Node>(Role::kServer, port);
  ASSERT_EQ(b->id(), b_id);
  // The old stream broke: what a sends is lost until a new one opens, so
  // it keeps sending until one arrives.
  for (int i = 0; i < 400 && b->mailbox.size() == 0; ++i) {
    a.Send(b_id, "again");
    b->mailbox.WaitFor(1, absl::Milliseconds(50));
  }
  ASSERT_GE(b->mailbox.size(), 1u);
  EXPECT_EQ(b->mailbox.got()[0].message, "again");
  EXPECT_GE(a.transport->stats().streams_opened, 2u);
}

TEST(GrpcTransportTest, SendingToAServerThatIsDownDropsAndShutsDownPromptly) {
  int port = 0;
  {
    Node gone(Role::kServer);
    port = gone.bound_port;
  }
  Node a(Role::kServer);
  const NodeId nobody =
      NodeId::FromAddress(kLoopback, static_cast<uint16_t>(port));
  for (int i = 0; i < 50; ++i) a.Send(nobody, "into the void");
  absl::Notification flushed;
  a.pool.Strand(0)->Post([&] { flushed.Notify(); });
  ASSERT_TRUE(flushed.WaitForNotificationWithTimeout(kWait));
  // Destroying a transport with streams that never connected returns.
  a.Stop();
  EXPECT_EQ(a.mailbox.size(), 0u);
}

}  // namespace
}  // namespace pegasus::net
