#include "pegasus/runtime/rpc.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus {
namespace {

constexpr RpcMethod kEcho = 1;
constexpr int64_t kMs = 1'000'000;

// Nodes on one ManualExecutor; each message is delivered by a posted task, a
// fixed latency later, unless `drop` says otherwise.
class LoopbackNetwork {
 public:
  explicit LoopbackNetwork(ManualExecutor* executor) : executor_(executor) {}

  class Port final : public Transport {
   public:
    Port(LoopbackNetwork* network, NodeId self)
        : network_(network), self_(self) {}
    NodeId self() const override { return self_; }
    void Send(NodeId to, std::string message) override {
      network_->Deliver(self_, to, std::move(message));
    }
    void SetReceiver(Receiver receiver) override {
      network_->receivers_[self_.value] = std::move(receiver);
    }

   private:
    LoopbackNetwork* network_;
    NodeId self_;
  };

  std::unique_ptr<Transport> Attach(NodeId id) {
    return std::make_unique<Port>(this, id);
  }

  void Deliver(NodeId from, NodeId to, std::string message) {
    ++sent;
    if (drop && drop(from, to, message)) return;
    const int copies = duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      executor_->ScheduleAfter(latency_ns, [this, from, to, message] {
        auto it = receivers_.find(to.value);
        if (it != receivers_.end()) it->second(from, message);
      });
    }
  }

  std::function<bool(NodeId, NodeId, const std::string&)> drop;
  bool duplicate = false;
  int64_t latency_ns = kMs;
  int sent = 0;

 private:
  ManualExecutor* executor_;
  std::map<uint64_t, Transport::Receiver> receivers_;
};

class RpcTest : public ::testing::Test {
 protected:
  RpcTest()
      : network_(&executor_),
        client_transport_(network_.Attach(kClient)),
        server_transport_(network_.Attach(kServer)),
        client_(std::make_unique<RpcEndpoint>(client_transport_.get(),
                                              &executor_, kClientSession)),
        server_(std::make_unique<RpcEndpoint>(server_transport_.get(),
                                              &executor_, kServerSession)) {}

  // Calls kEcho and returns a slot the answer lands in.
  std::shared_ptr<std::optional<absl::StatusOr<std::string>>> Echo(
      std::string request, CallOptions options = {}) {
    auto result =
        std::make_shared<std::optional<absl::StatusOr<std::string>>>();
    client_->Call(kServer, kEcho, std::move(request), options,
                  [result](absl::StatusOr<std::string> response) {
                    *result = std::move(response);
                  });
    return result;
  }

  void ServeEcho() {
    server_->RegisterHandler(kEcho, [this](NodeId from, std::string request,
                                           RpcEndpoint::Responder responder) {
      ++served_;
      EXPECT_EQ(from, kClient);
      responder.Reply("echo:" + request);
    });
  }

  static constexpr uint64_t kClientSession = 0x1111;
  static constexpr uint64_t kServerSession = 0x2222;
  static constexpr NodeId kClient{1};
  static constexpr NodeId kServer{2};
  ManualExecutor executor_;
  LoopbackNetwork network_;
  std::unique_ptr<Transport> client_transport_;
  std::unique_ptr<Transport> server_transport_;
  std::unique_ptr<RpcEndpoint> client_;
  std::unique_ptr<RpcEndpoint> server_;
  int served_ = 0;
};

TEST_F(RpcTest, CallGetsTheHandlersResponse) {
  ServeEcho();
  auto result = Echo("hi");
  EXPECT_FALSE(result->has_value()) << "answered inline inside Call";
  executor_.AdvanceNs(2 * kMs);
  ASSERT_TRUE(result->has_value());
  ASSERT_TRUE((*result)->ok()) << (*result)->status();
  EXPECT_EQ(***result, "echo:hi");
  EXPECT_EQ(client_->pending_calls(), 0u);
}

TEST_F(RpcTest, HandlerErrorTravelsWithItsPegasusCode) {
  server_->RegisterHandler(kEcho, [](NodeId, std::string,
                                     RpcEndpoint::Responder responder) {
    responder.Reply(PegasusError(ErrorCode::kInvalidHashKey, "empty hash key"));
  });
  auto result = Echo("x");
  executor_.AdvanceNs(2 * kMs);
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(HasErrorCode((*result)->status(), ErrorCode::kInvalidHashKey));
  EXPECT_EQ((*result)->status().message(), "empty hash key");
}

TEST_F(RpcTest, UnknownMethodIsHandlerNotFound) {
  auto result = Echo("x");
  executor_.AdvanceNs(2 * kMs);
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(HasErrorCode((*result)->status(), ErrorCode::kHandlerNotFound));
}

TEST_F(RpcTest, LostRequestTimesOutWithoutRetries) {
  ServeEcho();
  network_.drop = [](NodeId, NodeId, const std::string&) { return true; };
  auto result = Echo("x", {.timeout_ns = 10 * kMs});
  executor_.AdvanceNs(9 * kMs);
  EXPECT_FALSE(result->has_value());
  executor_.AdvanceNs(1 * kMs);
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE(HasErrorCode((*result)->status(), ErrorCode::kTimeout));
  EXPECT_EQ(network_.sent, 1);
  EXPECT_EQ(client_->stats().timeouts, 1u);
}

TEST_F(RpcTest, RetryAfterTimeoutReachesTheServer) {
  ServeEcho();
  int dropped = 0;
  network_.drop = [&dropped](NodeId from, NodeId, const std::string&) {
    return from == kClient && dropped++ < 2;
  };
  auto result = Echo(
      "x",
      {.timeout_ns = 10 * kMs, .max_attempts = 3, .retry_backoff_ns = 5 * kMs});
  executor_.AdvanceNs(100 * kMs);
  ASSERT_TRUE(result->has_value());
  ASSERT_TRUE((*result)->ok()) << (*result)->status();
  EXPECT_EQ(served_, 1);
  EXPECT_EQ(client_->stats().retries, 2u);
}

TEST_F(RpcTest, LateResponseToAnEarlierAttemptAnswersTheCall) {
  ServeEcho();
  network_.latency_ns = 8 * kMs;  // Round trip 16 ms > 10 ms timeout.
  auto result = Echo("x", {.timeout_ns = 10 * kMs, .max_attempts = 2});
  executor_.AdvanceNs(17 * kMs);
  ASSERT_TRUE(result->has_value());
  EXPECT_TRUE((*result)->ok());
  executor_.AdvanceNs(50 * kMs);
  // The retry was served as well, and its response found no call waiting.
  EXPECT_EQ(served_, 2);
  EXPECT_EQ(client_->stats().late_responses, 1u);
}

TEST_F(RpcTest, DuplicatedMessagesServeAndAnswerOnce) {
  ServeEcho();
  network_.duplicate = true;
  int answers = 0;
  for (int i = 0; i < 3; ++i) {
    client_->Call(kServer, kEcho, "x", {},
                  [&answers](absl::StatusOr<std::string>) { ++answers; });
  }
  executor_.AdvanceNs(10 * kMs);
  EXPECT_EQ(answers, 3);
  EXPECT_EQ(served_, 3);
  EXPECT_EQ(server_->stats().duplicate_requests, 3u);
  // A duplicate that arrives after the caller has moved on is still dropped.
  network_.duplicate = false;
  client_->Call(kServer, kEcho, "y", {}, [](absl::StatusOr<std::string>) {});
  executor_.AdvanceNs(10 * kMs);
  EXPECT_EQ(served_, 4);
}

TEST_F(RpcTest, RestartedCallerWithANewSessionIsServedAfresh) {
  ServeEcho();
  auto first = Echo("a");
  executor_.AdvanceNs(10 * kMs);
  ASSERT_TRUE(first->has_value() && (*first)->ok());
  // The same node comes back with a new session; its call ids start over.
  client_ = nullptr;
  client_transport_ = network_.Attach(kClient);
  client_ = std::make_unique<RpcEndpoint>(client_transport_.get(), &executor_,
                                          kClientSession + 1);
  auto second = Echo("b");
  executor_.AdvanceNs(10 * kMs);
  ASSERT_TRUE(second->has_value());
  ASSERT_TRUE((*second)->ok()) << (*second)->status();
  EXPECT_EQ(***second, "echo:b");
  EXPECT_EQ(served_, 2);
}

TEST_F(RpcTest, ResponseForAnEarlierSessionIsIgnored) {
  std::vector<RpcEndpoint::Responder> parked;
  server_->RegisterHandler(
      kEcho, [&parked](NodeId, std::string, RpcEndpoint::Responder responder) {
        parked.push_back(std::move(responder));
      });
  Echo("old", {.timeout_ns = 100 * kMs});
  executor_.AdvanceNs(2 * kMs);
  client_ = nullptr;
  client_transport_ = network_.Attach(kClient);
  client_ = std::make_unique<RpcEndpoint>(client_transport_.get(), &executor_,
                                          kClientSession + 1);
  auto fresh = Echo("new", {.timeout_ns = 100 * kMs});
  executor_.AdvanceNs(2 * kMs);
  ASSERT_EQ(parked.size(), 2u);
  parked[0].Reply(std::string("answer to the old session"));
  executor_.AdvanceNs(2 * kMs);
  EXPECT_FALSE(fresh->has_value());
  EXPECT_EQ(client_->stats().late_responses, 1u);
  parked[1].Reply(std::string("answer to the new session"));
  executor_.AdvanceNs(2 * kMs);
  ASSERT_TRUE(fresh->has_value());
  EXPECT_EQ(***fresh, "answer to the new session");
}

TEST_F(RpcTest, ResponseFromAnotherNodeIsIgnored) {
  ServeEcho();
  auto impostor_transport = network_.Attach(NodeId{3});
  network_.drop = [](NodeId from, NodeId, const std::string&) {
    return from == kServer;
  };
  auto result = Echo("x", {.timeout_ns = 10 * kMs});
  executor_.AdvanceNs(2 * kMs);
  // Call id 1 of the client's session is pending; a forged response from
  // node 3 must not answer it.
  std::string forged;
  forged.push_back(2);
  forged += std::string("\0\0\0\0\0\0\x11\x11", 8);
  forged += std::string("\0\0\0\0\0\0\0\1", 8);
  forged.append(8, '\0');
  forged += "forged";
  impostor_transport->Send(kClient, forged);
  executor_.AdvanceNs(2 * kMs);
  EXPECT_FALSE(result->has_value());
  executor_.AdvanceNs(10 * kMs);
  EXPECT_TRUE(HasErrorCode((*result)->status(), ErrorCode::kTimeout));
}

TEST_F(RpcTest, MalformedMessagesAreCountedAndDropped) {
  ServeEcho();
  auto raw = network_.Attach(NodeId{3});
  for (std::string bad :
       {std::string(), std::string("\x01", 1), std::string("\x07xxxxxxxxxxxxx"),
        // A request whose oldest pending call is after the call itself.
        std::string("\x01"
                    "\0\0\0\0\0\0\0\1"
                    "\0\0\0\0\0\0\0\1"
                    "\0\0\0\0\0\0\0\2"
                    "\0\0\0\1"
                    "\0\0\0\1",
                    33),
        // A response whose error message runs past its end (session 0x2222
        // is the server's own, so it is parsed).
        std::string("\x02"
                    "\0\0\0\0\0\0\x22\x22"
                    "\0\0\0\0\0\0\0\1"
                    "\0\0\0\0"
                    "\xff\xff\xff\xff",
                    25)}) {
    raw->Send(kServer, bad);
  }
  executor_.AdvanceNs(2 * kMs);
  EXPECT_EQ(server_->stats().malformed_messages, 5u);
  EXPECT_EQ(served_, 0);
}

TEST_F(RpcTest, AsyncReplyAfterTheHandlerReturns) {
  std::vector<RpcEndpoint::Responder> parked;
  server_->RegisterHandler(
      kEcho, [&parked](NodeId, std::string, RpcEndpoint::Responder responder) {
        parked.push_back(std::move(responder));
      });
  auto result = Echo("x");
  executor_.AdvanceNs(2 * kMs);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_FALSE(result->has_value());
  parked[0].Reply(std::string("later"));
  executor_.AdvanceNs(2 * kMs);
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(***result, "later");
}

TEST_F(RpcTest, ReplyAfterTheServerIsGoneSendsNothing) {
  std::vector<RpcEndpoint::Responder> parked;
  server_->RegisterHandler(
      kEcho, [&parked](NodeId, std::string, RpcEndpoint::Responder responder) {
        parked.push_back(std::move(responder));
      });
  Echo("x");
  executor_.AdvanceNs(2 * kMs);
  server_.reset();
  const int sent = network_.sent;
  parked[0].Reply(std::string("late"));
  EXPECT_EQ(network_.sent, sent);
}

TEST_F(RpcTest, PendingCallsAreBounded) {
  client_ = nullptr;
  RpcEndpoint bounded(client_transport_.get(), &executor_, kClientSession,
                      {.max_pending_calls = 2});
  std::vector<absl::Status> results;
  for (int i = 0; i < 3; ++i) {
    bounded.Call(kServer, kEcho, "x", {.timeout_ns = 10 * kMs},
                 [&results](absl::StatusOr<std::string> response) {
                   results.push_back(response.status());
                 });
  }
  executor_.RunReady();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(HasErrorCode(results[0], ErrorCode::kBusy));
  EXPECT_EQ(bounded.pending_calls(), 2u);
}

TEST_F(RpcTest, ShutdownAbortsPendingAndLaterCalls) {
  auto first = Echo("x", {.timeout_ns = 10 * kMs});
  client_->Shutdown();
  ASSERT_TRUE(first->has_value());
  EXPECT_TRUE(HasErrorCode((*first)->status(), ErrorCode::kAborted));
  auto second = Echo("y");
  executor_.RunReady();
  ASSERT_TRUE(second->has_value());
  EXPECT_TRUE(HasErrorCode((*second)->status(), ErrorCode::kAborted));
  EXPECT_EQ(executor_.pending_timers(), 1u) << "only the dropped request's "
                                               "delivery is left";
}

TEST_F(RpcTest, NotificationReachesItsHandlerWithoutAResponse) {
  std::vector<std::pair<NodeId, std::string>> got;
  server_->RegisterNotificationHandler(
      7, [&](NodeId from, std::string payload) {
        got.emplace_back(from, std::move(payload));
      });
  client_->Notify(kServer, 7, "ping");
  EXPECT_TRUE(got.empty()) << "delivered inline";
  executor_.AdvanceNs(2 * kMs);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, kClient);
  EXPECT_EQ(got[0].second, "ping");
  EXPECT_EQ(network_.sent, 1) << "nothing comes back";
  EXPECT_EQ(client_->pending_calls(), 0u);
  EXPECT_EQ(server_->stats().notifications_received, 1u);
}

TEST_F(RpcTest, DuplicatedNotificationsAreDeliveredEachTime) {
  int got = 0;
  server_->RegisterNotificationHandler(7, [&](NodeId, std::string) { ++got; });
  network_.duplicate = true;
  client_->Notify(kServer, 7, "x");
  executor_.AdvanceNs(2 * kMs);
  EXPECT_EQ(got, 2) << "notifications carry no dedup";
}

TEST_F(RpcTest, NotificationWithoutAHandlerIsCountedAndDropped) {
  client_->Notify(kServer, 9, "x");
  std::string truncated(1, static_cast<char>(3));
  client_transport_->Send(kServer, truncated);
  executor_.AdvanceNs(2 * kMs);
  EXPECT_EQ(server_->stats().notifications_unhandled, 1u);
  EXPECT_EQ(server_->stats().malformed_messages, 1u);
}

TEST_F(RpcTest, NotifyAfterShutdownSendsNothing) {
  client_->Shutdown();
  client_->Notify(kServer, 7, "x");
  EXPECT_EQ(network_.sent, 0);
}

}  // namespace
}  // namespace pegasus
