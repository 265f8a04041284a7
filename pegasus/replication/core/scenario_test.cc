// Scenario scripts for the replica state machine: each file in testdata/ is
// a datadriven script (testing/datadriven) that drives a ReplicaGroup one
// command at a time, and each command's expected output is the exact trace
// of what happened in that step. Regenerate the traces with
//
//   bazel run //pegasus/replication/core:scenario_test -- --rewrite
//
// and read the diff: a trace that changes is a behaviour that changed.
//
// TRACE FORMAT
//
// One line per event, in the order the replicas produced them. Nodes are n1,
// n2, ...; clients c1, c2, ...; b= is a ballot, d= a decree, lc= a commit
// point (last committed decree), lp= a last prepared decree, w= the number
// of writes in a mutation (0 for an empty write), sig= a learner signature
// written as ballot.sequence.
//
// What a replica did (its Ready, in the order the driver carries it out),
// after a line for its status change if the input changed it:
//   n1: inactive b=0 -> primary b=1       its status or ballot changed
//   n1: persist b=1                       the ballot made durable first
//   n1: append b=1 d=3 w=1                a log append started
//   n3: append b=1 drop-tail d>=2         a learner's tail-drop marker (in
//                                         record lists: drop>=d2@b1)
//   n1->n2 prepare b=1 d=3 lc=2 w=1       a message sent (queued); below
//   n1->meta propose DOWNGRADE_TO_INACTIVE node=3 b=2 p=1 s=(2)
//                                         a configuration proposal
//   n3: install checkpoint d=5            storage must install a checkpoint
//   n1: apply b=1 d=3 w=2 ok=(c4,c5)      committed and applied; the waiting
//                                         clients are answered OK
//   n1: c9 read ok                        a read served
//   n1: c7 error PERR_BUSY                a client refused, nothing written
//   n1: learn-fetch for n3 from d=1       the driver must serve a learner
//   n1: fatal PERR_IO_ERROR               the replica stopped
//
// Messages:
//   n1->n2 prepare b=1 d=3 lc=2 w=1 [sig=1.1]     (sig: to a learner)
//   n2->n1 ack b=1 d=3                            prepare acknowledged
//   n2->n1 nack b=1 d=3 err=STALE_BALLOT ballot=3 prepare refused
//   n1->n2 group-check b=1 lc=3 [sig=1.1]
//   n2->n1 group-check-reply b=1 lc=3 lp=3 [err=...] [learner=SUCCEEDED]
//   n3->n1 learn sig=1.1 applied=0 b=1
//   n1->n3 learn-reply CACHE sig=1.1 b=1 muts=1..3 lc=3 start=4 [ckpt=2]
//   n1->n3 learn-reply err=WRONG_SIGNATURE sig=1.1
//
// Commands that hand a replica several inputs (deliver, log, stabilize,
// meta answer, learn-data, install, restart) print one line per input and
// indent what the input caused under it:
//   n1->n2 prepare b=1 d=1 lc=0 w=1       delivered; n2's reaction follows
//     n2: append b=1 d=1 w=1
//   drop n1->n3 prepare b=1 d=1 lc=0 w=1  dropped (or lost: n3 is down)
//   n2: logged b=1 d=1                    a log append completed
//   n2: log failed b=1 d=1
//   meta->n1 accept DOWNGRADE_TO_INACTIVE node=3 b=2 p=1 s=(2)
//   meta->n1 reject DOWNGRADE_TO_INACTIVE node=3 b=2 p=1 s=(2) (meta at b=2)
//   n1: learn data for n3 LOG muts=1..3 | CHECKPOINT d=4 | failed
//   n3: installed checkpoint d=5
//   n1: restart storage=d1 log=(d1@b1,d2@b1) ballot=1
//                                         what the new incarnation finds:
//                                         storage, durable log records and
//                                         the persisted ballot
// and, without inputs:
//   n1: crash, lost appends (d2@b1)       appends not yet durable are lost
//
// After every command the scenario compares what every node applied: two
// nodes applying different mutations at one decree print
//   !! n2 applied d=1 keys=(b) but another node applied keys=(a)
// which only a planted bug may show.
//
// COMMANDS
//
//   group nodes=N [max_inflight=] [max_mutation_bytes=] [max_queued_bytes=]
//         [max_prepare_gap=] [max_cached=] [prepare_retry_ms=]
//         [prepare_timeout_ms=] [group_check_ms=] [proposal_retry_ms=]
//         [learn_retry_ms=] [min_replicas=] [bugs=(majority_commit, ...)]
//       A new group of fresh replicas (ReplicaOptions; bugs name
//       ReplicaPlantedBugs fields). The meta server's configuration is
//       empty (ballot 0).
//   config [ballot= primary= secondaries=(...) [max=3]] [to=(nodes)]
//       The meta server's configuration becomes this one (without ballot=:
//       stays as it is) and it tells the nodes `to` (default: every live
//       node).
//   write node= key= [client=] [size=]      key and client may be lists
//   read node= client=
//   deliver [from=(..)] [to=(..)] [type=(..)] [d=] [drop]
//       Delivers (or drops) queued messages matching every filter, oldest
//       first, including the messages that delivering them causes, until
//       none matches. Types: prepare, ack (either answer to a prepare),
//       group-check, group-check-reply, learn, learn-reply; d= matches
//       prepares and their answers about that decree.
//   log [node=(..)] [d=] [count=] [fail]
//       Completes pending log appends, oldest first (only decree d=, at
//       most count=), successfully or as failed.
//   stabilize       delivers every message and completes every log append
//                   until nothing is pending
//   tick ms= [node=(..)]     the nodes' clocks read ms (absolute)
//   crash node=     the node stops: its pending appends are lost, messages
//                   to it are lost until it restarts (those it sent before
//                   are still delivered)
//   restart node= [applied=]
//       A new incarnation with every completed append of its log, its
//       storage (up to applied= if given) and its persisted ballot.
//   lease node= valid=true|false
//   add-learner primary= learner=   the meta server asks for a learner
//   downgrade node= [ballot=]
//       The meta server asks node n to step down to secondary
//       (CONFIG_DOWNGRADE_TO_SECONDARY), with its configuration (ballot=:
//       as it was at that ballot, for a stale request).
//   meta answer [accept|reject]
//       Answers every pending proposal: by default the meta server accepts
//       one whose ballot is its own + 1 and that comes from its primary,
//       and rejects the rest; `reject` rejects them all. Only the proposer
//       is told.
//   meta drop       pending proposals are lost
//   learn-data primary= learner= from=log|checkpoint [fail]
//       Serves the primary's pending learn fetch: the committed mutations
//       its log holds from the fetch's start, or a checkpoint of its
//       storage.
//   install node=   storage finished installing the learned checkpoint
//   status          each node: status b= lc= lp=
//   pending         what waits: messages, log appends, proposals, fetches

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/core/replica_group.h"
#include "pegasus/replication/core/replica_trace.h"
#include "testing/datadriven/datadriven.h"

namespace pegasus::replication {
namespace {

using datadriven::TestCase;

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int kMaxDeliveries = 10'000;

// One scenario file's state: the group, the meta server's configuration,
// and the trace of the current command.
class Scenario {
 public:
  std::string Run(const TestCase& c) {
    out_.clear();
    indent_ = 0;
    if (c.command() == "group") {
      NewGroup(c);
      return out_;
    }
    auto command = kCommands.find(c.command());
    if (command == kCommands.end()) {
      c.Fail(absl::StrCat("unknown command ", c.command()));
      return "";
    }
    if (group_ == nullptr) {
      c.Fail("no group yet: start with `group nodes=N`");
      return "";
    }
    (this->*command->second)(c);
    CheckHistory();
    return out_;
  }

 private:
  using Command = void (Scenario::*)(const TestCase&);
  static const std::map<std::string, Command> kCommands;

  // --- Output ---------------------------------------------------------------

  void Line(const std::string& text) {
    absl::StrAppend(&out_, std::string(indent_, ' '), text, "\n");
  }

  // Runs `input` with what it causes indented under `header`.
  template <typename F>
  void Step(const std::string& header, F input) {
    Line(header);
    indent_ += 2;
    input();
    indent_ -= 2;
  }

  std::string StatusText(int n) {
    const Replica& r = group_->at(n);
    return absl::StrCat(ReplicaStatusName(r.status()), " b=", r.ballot());
  }

  void OnReady(int n, const Ready& ready) {
    const std::string status = StatusText(n);
    if (status != seen_[n]) {
      Line(absl::StrCat("n", n, ": ", seen_[n], " -> ", status));
      seen_[n] = status;
    }
    for (const std::string& line : ReadyLines(n, ready)) Line(line);
  }

  // Two nodes applying different mutations at one decree break PacificA's
  // safety; the scenario shows it rather than aborting.
  void CheckHistory() {
    for (auto& [n, applied] : group_->applied) {
      for (size_t i = checked_[n]; i < applied.size(); ++i) {
        const proto::Mutation& m = applied[i];
        proto::Mutation content;
        *content.mutable_writes() = m.writes();
        content.set_timestamp_us(m.timestamp_us());
        std::string bytes;
        content.SerializeToString(&bytes);
        auto [it, added] =
            committed_.emplace(m.decree(), std::make_pair(bytes, Keys(m)));
        if (!added && it->second.first != bytes) {
          Line(absl::StrCat(
              "!! n", n, " applied d=", m.decree(), " keys=", Keys(m),
              " but another node applied keys=", it->second.second));
        }
      }
      checked_[n] = applied.size();
    }
  }

  // --- Arguments ------------------------------------------------------------

  bool Exists(int64_t n) const { return group_->replicas.count(int(n)) > 0; }

  int Node(const TestCase& c, absl::string_view key) {
    const int64_t n = c.Int(key);
    if (c.ok() && !Exists(n)) c.Fail(absl::StrCat("no node ", n));
    return int(n);
  }

  // The nodes listed in key=(...), or every live node if it is absent.
  std::vector<int> Nodes(const TestCase& c, absl::string_view key) {
    std::vector<int> nodes;
    if (!c.HasArg(key)) {
      for (const auto& [n, replica] : group_->replicas) {
        if (!down_.count(n)) nodes.push_back(n);
      }
      return nodes;
    }
    for (int64_t n : c.Ints(key)) {
      if (!Exists(n)) c.Fail(absl::StrCat("no node ", n));
      nodes.push_back(int(n));
    }
    return nodes;
  }

  bool Live(const TestCase& c, int n) {
    if (down_.count(n) == 0) return true;
    c.Fail(absl::StrCat("n", n, " is down"));
    return false;
  }

  // --- Commands -------------------------------------------------------------

  void NewGroup(const TestCase& c) {
    ReplicaOptions o;
    const int64_t nodes = c.Int("nodes");
    o.max_inflight_mutations = c.Int("max_inflight", o.max_inflight_mutations);
    o.max_mutation_bytes = c.Int("max_mutation_bytes", o.max_mutation_bytes);
    o.max_queued_write_bytes =
        c.Int("max_queued_bytes", o.max_queued_write_bytes);
    o.max_prepare_gap = c.Int("max_prepare_gap", o.max_prepare_gap);
    o.max_cached_mutations = c.Int("max_cached", o.max_cached_mutations);
    auto ms = [&](absl::string_view key, int64_t default_ns) {
      return c.Int(key, default_ns / kNsPerMs) * kNsPerMs;
    };
    o.prepare_retry_ns = ms("prepare_retry_ms", o.prepare_retry_ns);
    o.prepare_timeout_ns = ms("prepare_timeout_ms", o.prepare_timeout_ns);
    o.group_check_interval_ns = ms("group_check_ms", o.group_check_interval_ns);
    o.config_proposal_retry_ns =
        ms("proposal_retry_ms", o.config_proposal_retry_ns);
    o.learn_retry_ns = ms("learn_retry_ms", o.learn_retry_ns);
    o.min_replica_count =
        static_cast<int32_t>(c.Int("min_replicas", o.min_replica_count));
    const std::map<std::string, bool*> bugs = {
        {"majority_commit", &o.planted_bugs.majority_commit},
        {"secondary_read", &o.planted_bugs.secondary_read},
        {"ack_before_durable", &o.planted_bugs.ack_before_durable},
        {"skip_reconciliation", &o.planted_bugs.skip_reconciliation},
        {"stale_ballot_prepare", &o.planted_bugs.stale_ballot_prepare},
        {"early_learner_upgrade", &o.planted_bugs.early_learner_upgrade},
    };
    for (const std::string& bug : c.Strings("bugs")) {
      auto it = bugs.find(bug);
      if (it == bugs.end()) {
        c.Fail(absl::StrCat("no planted bug ", bug));
      } else {
        *it->second = true;
      }
    }
    if (c.ok() && (nodes < 1 || nodes > 9)) c.Fail("nodes must be 1..9");
    if (c.ok()) {
      absl::Status valid = ValidateReplicaOptions(o);
      if (!valid.ok()) c.Fail(valid.message());
    }
    if (!c.ok()) return;
    group_ = std::make_unique<ReplicaGroup>(int(nodes), o);
    group_->on_ready = [this](int n, const Ready& ready) { OnReady(n, ready); };
    meta_ = ReplicaGroup::Config(0, 0, {});
    seen_.clear();
    for (int n = 1; n <= nodes; ++n) seen_[n] = StatusText(n);
    down_.clear();
    committed_.clear();
    checked_.clear();
  }

  void Config(const TestCase& c) {
    proto::PartitionConfig config = meta_;
    if (c.HasArg("ballot")) {
      std::vector<int> secondaries;
      for (int64_t s : c.Ints("secondaries")) {
        if (!Exists(s)) c.Fail(absl::StrCat("no node ", s));
        secondaries.push_back(int(s));
      }
      const int64_t primary = c.Int("primary", 0);
      if (primary != 0 && !Exists(primary)) {
        c.Fail(absl::StrCat("no node ", primary));
      }
      std::set<int> members(secondaries.begin(), secondaries.end());
      if (members.size() != secondaries.size() || members.count(primary)) {
        c.Fail("the primary and the secondaries must be distinct nodes");
      }
      config = ReplicaGroup::Config(c.Int("ballot"), int(primary), secondaries,
                                    int(c.Int("max", 3)));
    }
    const std::vector<int> targets = Nodes(c, "to");
    if (!c.ok()) return;
    meta_ = config;
    for (int n : targets) {
      if (!Live(c, n)) return;
      group_->at(n).OnConfig(config);
      group_->Drain(n);
    }
  }

  void Write(const TestCase& c) {
    const int n = Node(c, "node");
    const std::vector<std::string> keys = c.Strings("key");
    std::vector<int64_t> clients = c.Ints("client");
    const int64_t size = c.Int("size", 1);
    if (!c.HasArg("key")) c.Fail("missing argument key=");
    if (clients.empty()) {
      for (size_t i = 0; i < keys.size(); ++i) {
        clients.push_back(next_client_++);
      }
    }
    if (clients.size() != keys.size()) c.Fail("one client= per key=");
    if (size < 0 || size > (1 << 20)) c.Fail("size= must be 0..1048576");
    if (!c.ok() || !Live(c, n)) return;
    for (size_t i = 0; i < keys.size(); ++i) {
      next_client_ = std::max<int64_t>(next_client_, clients[i] + 1);
      group_->Write(n, keys[i], ClientToken(clients[i]),
                    std::string(size_t(size), 'v'));
    }
  }

  void Read(const TestCase& c) {
    const int n = Node(c, "node");
    const int64_t client = c.Int("client");
    if (!c.ok() || !Live(c, n)) return;
    group_->at(n).ClientRead(ClientToken(client));
    group_->Drain(n);
  }

  // Delivers (or drops) the oldest queued message that `match` accepts,
  // until none does; false if it went on too long.
  template <typename Match>
  bool DeliverMatching(Match match, bool drop) {
    for (int count = 0; count < kMaxDeliveries; ++count) {
      auto& network = group_->network;
      auto it = std::find_if(network.begin(), network.end(), [&](auto& m) {
        return match(std::get<0>(m), std::get<1>(m), std::get<2>(m));
      });
      if (it == network.end()) return true;
      auto [from, to, body] = std::move(*it);
      network.erase(it);
      const std::string text = MessageLine(from, to, body);
      if (drop) {
        Line("drop " + text);
      } else if (down_.count(to) || !Exists(to)) {
        Line(absl::StrCat("drop ", text, " (n", to, " down)"));
      } else {
        Step(text, [&] { group_->Receive(from, to, body); });
      }
    }
    return false;
  }

  void Deliver(const TestCase& c) {
    const std::vector<int64_t> from_list = c.Ints("from");
    const std::vector<int64_t> to_list = c.Ints("to");
    const std::set<int64_t> from(from_list.begin(), from_list.end());
    const std::set<int64_t> to(to_list.begin(), to_list.end());
    std::set<std::string> types;
    for (const std::string& type : c.Strings("type")) {
      static const std::set<std::string> kTypes = {
          "prepare",           "ack",   "group-check",
          "group-check-reply", "learn", "learn-reply"};
      if (!kTypes.count(type)) c.Fail(absl::StrCat("no message type ", type));
      types.insert(type);
    }
    const Decree decree = c.Int("d", kNoDecree);
    const bool drop = c.HasWord("drop");
    if (!c.ok()) return;
    const bool done = DeliverMatching(
        [&](int f, int t, const PeerMessageBody& body) {
          return (from.empty() || from.count(f)) &&
                 (to.empty() || to.count(t)) &&
                 (types.empty() || types.count(MessageKind(body))) &&
                 (decree == kNoDecree || MessageDecree(body) == decree);
        },
        drop);
    if (!done) c.Fail("messages keep coming: stopped after 10000");
  }

  // Completes node n's pending appends that `decree` (0: any) selects, at
  // most `count` (negative: all); not the appends completing them starts.
  void CompleteLogs(int n, Decree decree, int64_t count, bool fail) {
    auto& pending = group_->pending_logs[n];
    size_t end = pending.size();
    for (size_t i = 0; i < end && count != 0;) {
      if (decree != kNoDecree && pending[i].decree() != decree) {
        ++i;
        continue;
      }
      --end;
      const proto::Mutation& m = pending[i];
      const std::string header = absl::StrCat(
          "n", n, fail ? ": log failed " : ": logged ",
          m.drops_tail() ? MutationText(m)
                         : absl::StrCat("b=", m.ballot(), " d=", m.decree()));
      Step(header, [&] {
        group_->CompleteLog(
            n, i,
            fail ? PegasusError(ErrorCode::kIoError, "the disk failed")
                 : absl::OkStatus());
      });
      --count;
    }
  }

  void Log(const TestCase& c) {
    const std::vector<int> nodes = Nodes(c, "node");
    const Decree decree = c.Int("d", kNoDecree);
    const int64_t count = c.Int("count", -1);
    const bool fail = c.HasWord("fail");
    if (!c.ok()) return;
    for (int n : nodes) {
      if (!Live(c, n)) return;
      CompleteLogs(n, decree, count, fail);
    }
  }

  void Stabilize(const TestCase& c) {
    for (int round = 0; round < 100; ++round) {
      if (!DeliverMatching(
              [](int, int, const PeerMessageBody&) { return true; }, false)) {
        break;
      }
      bool any = false;
      for (auto& [n, pending] : group_->pending_logs) {
        if (!pending.empty() && !down_.count(n)) {
          CompleteLogs(n, kNoDecree, -1, false);
          any = true;
        }
      }
      if (!any && group_->network.empty()) return;
    }
    c.Fail("the group does not stabilize");
  }

  void Tick(const TestCase& c) {
    const int64_t ms = c.Int("ms");
    const std::vector<int> nodes = Nodes(c, "node");
    if (!c.ok()) return;
    for (int n : nodes) {
      if (!Live(c, n)) return;
      group_->Tick(n, ms * kNsPerMs);
    }
  }

  void Crash(const TestCase& c) {
    const int n = Node(c, "node");
    if (!c.ok() || !Live(c, n)) return;
    std::vector<std::string> lost;
    for (const proto::Mutation& m : group_->pending_logs[n]) {
      lost.push_back(RecordText(m));
    }
    Line(absl::StrCat("n", n, ": crash, lost appends (",
                      absl::StrJoin(lost, ","), ")"));
    group_->pending_logs[n].clear();
    down_.insert(n);
  }

  void Restart(const TestCase& c) {
    const int n = Node(c, "node");
    if (!c.ok()) return;
    const Decree applied = c.Int("applied", group_->storage_decree[n]);
    if (applied < kNoDecree) c.Fail("applied= must be >= 0");
    if (!c.ok()) return;
    std::vector<std::string> log;
    for (const proto::Mutation& m : group_->logs[n]) {
      log.push_back(RecordText(m));
    }
    down_.erase(n);
    Step(absl::StrCat("n", n, ": restart storage=d", applied, " log=(",
                      absl::StrJoin(log, ","),
                      ") ballot=", group_->persisted_ballot[n]),
         [&] { group_->Restart(n, applied, group_->logs[n]); });
  }

  void Lease(const TestCase& c) {
    const int n = Node(c, "node");
    if (!c.HasArg("valid")) c.Fail("missing argument valid=");
    const bool valid = c.Bool("valid", true);
    if (!c.ok() || !Live(c, n)) return;
    group_->at(n).SetLeaseValid(valid);
    group_->Drain(n);
  }

  void AddLearner(const TestCase& c) {
    const int primary = Node(c, "primary");
    const int learner = Node(c, "learner");
    if (!c.ok() || !Live(c, primary)) return;
    group_->at(primary).OnAddLearner(meta_, NodeId{uint64_t(learner)});
    group_->Drain(primary);
  }

  void Downgrade(const TestCase& c) {
    const int n = Node(c, "node");
    proto::PartitionConfig config = meta_;
    if (c.HasArg("ballot")) config.set_ballot(c.Int("ballot"));
    if (!c.ok() || !Live(c, n)) return;
    group_->at(n).OnDowngradeRequest(config);
    group_->Drain(n);
  }

  void Meta(const TestCase& c) {
    const bool answer = c.HasWord("answer");
    const bool drop = c.HasWord("drop");
    const bool reject = c.HasWord("reject");
    c.HasWord("accept");
    if (answer == drop) c.Fail("meta answer [accept|reject] or meta drop");
    if (!c.ok()) return;
    std::vector<proto::ConfigUpdateRequest> inbox =
        std::move(group_->meta_inbox);
    group_->meta_inbox.clear();
    for (const proto::ConfigUpdateRequest& request : inbox) {
      const int from = int(request.from());
      if (drop) {
        Line(absl::StrCat("drop n", from, "->meta propose ",
                          ProposalText(request)));
        continue;
      }
      proto::ConfigUpdateResponse response;
      const bool accepted = !reject &&
                            request.config().ballot() == meta_.ballot() + 1 &&
                            request.from() == meta_.primary();
      std::string header;
      if (accepted) {
        meta_ = request.config();
        header =
            absl::StrCat("meta->n", from, " accept ", ProposalText(request));
      } else {
        response.set_error(static_cast<int32_t>(ErrorCode::kServerChanged));
        header =
            absl::StrCat("meta->n", from, " reject ", ProposalText(request),
                         " (meta at b=", meta_.ballot(), ")");
      }
      *response.mutable_config() = meta_;
      if (down_.count(from)) {
        Line(absl::StrCat(header, " (n", from, " down)"));
        continue;
      }
      Step(header, [&] {
        group_->at(from).OnConfigUpdateResponse(response);
        group_->Drain(from);
      });
    }
  }

  void LearnData(const TestCase& c) {
    const int primary = Node(c, "primary");
    const int learner = Node(c, "learner");
    const bool fail = c.HasWord("fail");
    const std::string from = fail ? "" : c.String("from");
    if (!fail && from != "log" && from != "checkpoint" && c.ok()) {
      c.Fail("from=log or from=checkpoint");
    }
    if (!c.ok() || !Live(c, primary)) return;
    auto& fetches = group_->fetches[primary];
    auto it = std::find_if(fetches.begin(), fetches.end(), [&](auto& f) {
      return f.learner.value == uint64_t(learner);
    });
    if (it == fetches.end()) {
      c.Fail(absl::StrCat("no learn fetch for n", learner, " at n", primary));
      return;
    }
    const LearnFetch fetch = *it;
    fetches.erase(it);
    absl::StatusOr<proto::LearnResponse> data;
    std::string what;
    if (fail) {
      data = PegasusError(ErrorCode::kIoError, "the fetch failed");
      what = "failed";
    } else if (from == "log") {
      data = FromLog(primary, fetch.start_decree);
      what = absl::StrCat("LOG muts=", DecreeRanges(data->mutations()));
    } else {
      proto::LearnResponse response;
      response.set_type(proto::LEARN_APP);
      response.set_checkpoint_decree(group_->storage_decree[primary]);
      response.set_checkpoint(absl::StrCat("storage of n", primary));
      what = absl::StrCat("CHECKPOINT d=", response.checkpoint_decree());
      data = std::move(response);
    }
    Step(absl::StrCat("n", primary, ": learn data for n", learner, " ", what),
         [&] {
           group_->at(primary).OnLearnData(NodeId{uint64_t(learner)},
                                           fetch.signature, std::move(data));
           group_->Drain(primary);
         });
  }

  // The committed mutations node n's log holds from `start` on (the last
  // record of each decree wins, as on recovery).
  proto::LearnResponse FromLog(int n, Decree start) {
    std::map<Decree, proto::Mutation> latest;
    for (const proto::Mutation& m : group_->logs[n]) latest[m.decree()] = m;
    proto::LearnResponse response;
    response.set_type(proto::LEARN_LOG);
    for (const auto& [decree, m] : latest) {
      if (decree >= start && decree <= group_->at(n).last_committed()) {
        *response.add_mutations() = m;
      }
    }
    return response;
  }

  void Install(const TestCase& c) {
    const int n = Node(c, "node");
    if (!c.ok() || !Live(c, n)) return;
    if (group_->installs[n].empty()) {
      c.Fail(absl::StrCat("no checkpoint to install at n", n));
      return;
    }
    Step(absl::StrCat("n", n, ": installed checkpoint d=",
                      group_->installs[n].front().checkpoint_decree),
         [&] { group_->CompleteInstall(n); });
  }

  void Status(const TestCase&) {
    for (const auto& [n, replica] : group_->replicas) {
      Line(absl::StrCat(
          "n", n, ": ", StatusText(n), " lc=", replica->last_committed(),
          " lp=", replica->last_prepared(), down_.count(n) ? " (down)" : ""));
    }
  }

  void Pending(const TestCase&) {
    for (const auto& [from, to, body] : group_->network) {
      Line(absl::StrCat("net: ", MessageLine(from, to, body)));
    }
    for (const auto& [n, pending] : group_->pending_logs) {
      for (const proto::Mutation& m : pending) {
        Line(absl::StrCat("n", n, ": appending ", MutationText(m)));
      }
    }
    for (const proto::ConfigUpdateRequest& request : group_->meta_inbox) {
      Line(absl::StrCat("meta: from n", request.from(), " ",
                        ProposalText(request)));
    }
    for (const auto& [n, fetches] : group_->fetches) {
      for (const LearnFetch& fetch : fetches) {
        Line(absl::StrCat("n", n, ": learn-fetch for n", fetch.learner.value,
                          " from d=", fetch.start_decree));
      }
    }
    for (const auto& [n, installs] : group_->installs) {
      for (const InstallCheckpoint& install : installs) {
        Line(absl::StrCat(
            "n", n, ": installing checkpoint d=", install.checkpoint_decree));
      }
    }
  }

  std::string out_;
  int indent_ = 0;
  std::unique_ptr<ReplicaGroup> group_;
  proto::PartitionConfig meta_;
  std::map<int, std::string> seen_;
  std::set<int> down_;
  int64_t next_client_ = 1;
  // Decree -> (content, keys) of what some node applied there.
  std::map<Decree, std::pair<std::string, std::string>> committed_;
  std::map<int, size_t> checked_;
};

const std::map<std::string, Scenario::Command> Scenario::kCommands = {
    {"config", &Scenario::Config},
    {"write", &Scenario::Write},
    {"read", &Scenario::Read},
    {"deliver", &Scenario::Deliver},
    {"log", &Scenario::Log},
    {"stabilize", &Scenario::Stabilize},
    {"tick", &Scenario::Tick},
    {"crash", &Scenario::Crash},
    {"restart", &Scenario::Restart},
    {"lease", &Scenario::Lease},
    {"add-learner", &Scenario::AddLearner},
    {"downgrade", &Scenario::Downgrade},
    {"meta", &Scenario::Meta},
    {"learn-data", &Scenario::LearnData},
    {"install", &Scenario::Install},
    {"status", &Scenario::Status},
    {"pending", &Scenario::Pending},
};

constexpr char kTestdata[] = "pegasus/replication/core/testdata";

std::vector<std::string> ScenarioFiles() {
  auto files = datadriven::ListTestFiles(kTestdata);
  return files.ok() ? *files : std::vector<std::string>{};
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Trace) {
  Scenario scenario;
  datadriven::RunTest(GetParam(),
                      [&](const TestCase& c) { return scenario.Run(c); });
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name(absl::StripSuffix(
          absl::StripPrefix(info.param, absl::StrCat(kTestdata, "/")), ".txt"));
      for (char& ch : name) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(ScenarioFilesTest, EveryScenarioIsFound) {
  auto files = datadriven::ListTestFiles(kTestdata);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_GE(files->size(), 24u);
}

}  // namespace
}  // namespace pegasus::replication
