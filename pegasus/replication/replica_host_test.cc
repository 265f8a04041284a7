// ReplicaHost end to end on the simulator's deterministic world, with the
// harness of replica_host_test_harness.h: assignments, the lease, crashes,
// config sync, reclaiming, and what the meta server and strangers may make
// a host do. The data API over the wire is in replica_host_data_test.cc.

#include "pegasus/replication/replica_host.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/status.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/meta.pb.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/replica_host_test_harness.h"
#include "pegasus/replication/wire.h"

namespace pegasus::replication::host_test {
namespace {

// Beacons earn the lease, the meta server assigns every partition, the
// hosts create exactly the replicas they are assigned, and a write through
// the primary's data RPC is acknowledged, applied on every member and
// readable from the primary alone.
TEST_F(ReplicaHostTest, ServesAssignedPartitionsAndAcknowledgedWrites) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));

  for (int h = 0; h < host_count(); ++h) {
    EXPECT_TRUE(Host(h).lease_valid()) << "host " << h;
    EXPECT_GT(Host(h).stats().beacons_answered, 0u) << "host " << h;
    std::set<Gpid> hosted;
    Host(h).ForEachReplica([&](Gpid gpid, const Replica&,
                               const StorageEngine&) { hosted.insert(gpid); });
    std::set<Gpid> assigned;
    for (Gpid gpid : Partitions()) {
      const proto::PartitionConfig& config = MetaConfig(gpid);
      bool member = config.primary() == NodeOf(h).value;
      for (uint64_t s : config.secondaries()) member |= s == NodeOf(h).value;
      if (member) assigned.insert(gpid);
    }
    EXPECT_EQ(hosted, assigned) << "host " << h;
  }

  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  const Decree decree = MustPut(gpid, "k", "v");
  EXPECT_EQ(Host(primary).stats().client_writes, 1u);
  // Acknowledged means applied at the primary, and readable there.
  EXPECT_GE(Host(primary).storage(gpid)->LastAppliedDecree(), decree);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  // The secondary learns the commit point from the next group check.
  EXPECT_TRUE(RunUntil(
      [&] {
        return Host(secondary).storage(gpid)->LastAppliedDecree() >= decree;
      },
      2 * kSecond));
  // Only the primary serves reads.
  EXPECT_EQ(DataError(secondary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
}

// The ballot a replica acted under is in its `ballot` file, synced before
// anything is done under it: a host destroyed by a power failure comes back
// with every replica at a ballot no lower than before, even one no log
// record carries, and acknowledged writes stay readable.
TEST_F(ReplicaHostTest, BallotAndAcknowledgedWritesSurviveCrash) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);

  // Nothing was written yet: the log is empty, and the ballot (raised by
  // the primary's assignment and the secondary's addition) is on record in
  // the ballot file alone.
  const Ballot first = Host(primary).replica(gpid)->ballot();
  ASSERT_GT(first, 1);
  ASSERT_EQ(Host(primary).replica(gpid)->last_prepared(), 0);
  CrashHost(primary);
  EXPECT_EQ(processes_[ProcessOf(primary)]
                ->disk()
                ->ReadFile("/data/1.0/ballot")
                .value_or("<unreadable>"),
            std::to_string(first));
  StartHost(primary);
  ASSERT_NE(Host(primary).replica(gpid), nullptr);
  EXPECT_EQ(Host(primary).replica(gpid)->ballot(), first);
  EXPECT_EQ(Host(primary).replica(gpid)->status(), ReplicaStatus::kInactive);

  // Restarted inside the grace, it stays primary, under a new ballot (it
  // may not reuse the old one).
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), primary);
  const Ballot second = Host(primary).replica(gpid)->ballot();
  EXPECT_GT(second, first);

  std::map<std::string, std::string> acknowledged;
  Decree last = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string key = absl::StrCat("k", i);
    last = MustPut(gpid, key, absl::StrCat("v", i));
    acknowledged[key] = absl::StrCat("v", i);
  }
  // Crashed right after the last acknowledgement, before the periodic
  // flush: storage loses the writes, and the log, which holds them all,
  // does not show the last one committed (only a later record would).
  ASSERT_LT(Host(primary).storage(gpid)->LastDurableDecree(), last);
  CrashHost(primary);
  StartHost(primary);
  ASSERT_NE(Host(primary).replica(gpid), nullptr);
  EXPECT_GE(Host(primary).replica(gpid)->ballot(), second);
  EXPECT_LT(Host(primary).replica(gpid)->last_committed(), last);
  EXPECT_EQ(Host(primary).replica(gpid)->last_prepared(), last);

  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  EXPECT_GT(Host(primary).replica(gpid)->ballot(), second);
  for (const auto& [key, value] : acknowledged) {
    EXPECT_EQ(ReadAtPrimary(gpid, key), value) << key;
  }
}

// A replica directory from a build that gave each replica a log of its own
// stops the server with a clear error, rather than being opened without the
// records that log holds; an empty one (a reclaimed replica's leftover
// directory) is no obstacle.
TEST_F(ReplicaHostTest, AReplicaWithALogOfItsOwnStopsTheServer) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int host = PrimaryOf(gpid);
  MustPut(gpid, "k", "v");
  FileSystem* disk = processes_[ProcessOf(host)]->disk();
  const std::string own_log = "/data/1.0/plog";

  CrashHost(host);
  ASSERT_TRUE(disk->CreateDirs(own_log).ok());
  ASSERT_TRUE(TryStartHost(host).ok());
  ASSERT_NE(Host(host).replica(gpid), nullptr);

  CrashHost(host);
  absl::StatusOr<std::unique_ptr<WritableFile>> segment =
      disk->NewWritableFile(own_log + "/log.1");
  ASSERT_TRUE(segment.ok()) << segment.status();
  ASSERT_TRUE((*segment)->Append("records").ok());
  ASSERT_TRUE((*segment)->Sync().ok());
  ASSERT_TRUE((*segment)->Close().ok());
  const absl::Status started = TryStartHost(host);
  EXPECT_EQ(ToErrorCode(started), ErrorCode::kNotSupported) << started;
  EXPECT_NE(started.message().find("replica 1.0 has a log of its own"),
            std::string_view::npos)
      << started;
  EXPECT_FALSE(processes_[ProcessOf(host)]->up());
  EXPECT_EQ(disk->ReadFile(own_log + "/log.1").value_or(""), "records");
}

// A host whose beacons go unanswered loses its lease lease_ns after the last
// answered one was sent, before the meta server's grace runs out: every
// replica turns inactive and client requests are refused with
// PERR_SERVER_CHANGED. Once beacons are answered again the host syncs its
// configuration and every replica on it is back in its role.
TEST_F(ReplicaHostTest, LeaseLapseRefusesRequestsUntilBeaconsAreAnswered) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const Ballot ballot = MetaConfig(gpid).ballot();
  MustPut(gpid, "k", "before");

  network_->CutBothWays(kMetaProcess, ProcessOf(primary));
  const int64_t cut_ns = world_.now_ns();
  const int64_t lease_until_ns = Host(primary).lease_until_ns();
  EXPECT_LE(lease_until_ns, cut_ns + kLeaseNs);
  ASSERT_TRUE(RunUntil([&] { return !Host(primary).lease_valid(); },
                       kLeaseNs + kSecond));
  // Not early: the host's clock runs at the world's speed here.
  EXPECT_GE(world_.now_ns(), lease_until_ns);
  EXPECT_EQ(Host(primary).stats().lease_lapses, 1u);
  // The server stopped serving while the meta server still counts it alive.
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(primary)), NodeStatus::kAlive);
  // Each replica turns inactive at its next step, which the lapse gives it
  // at once (on its own strand, so a moment later).
  const int64_t noticed_ns = world_.now_ns();
  ASSERT_TRUE(RunUntil(
      [&] {
        bool all_inactive = true;
        Host(primary).ForEachReplica(
            [&](Gpid, const Replica& replica, const StorageEngine&) {
              all_inactive = all_inactive &&
                             replica.status() == ReplicaStatus::kInactive &&
                             !replica.serving_reads();
            });
        return all_inactive;
      },
      kSecond));
  EXPECT_LT(world_.now_ns() - noticed_ns, kSecond / 1000);

  const Decree applied = Host(primary).storage(gpid)->LastAppliedDecree();
  EXPECT_EQ(DataError(primary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
  EXPECT_EQ(DataError(primary, Put(gpid, "k", "during")),
            "PERR_SERVER_CHANGED");
  RunFor(kSecond / 2);
  EXPECT_EQ(Host(primary).storage(gpid)->LastAppliedDecree(), applied);

  network_->Heal();
  ASSERT_LT(world_.now_ns() - cut_ns, kGraceNs);
  ASSERT_TRUE(RunUntil(
      [&] { return Host(primary).lease_valid() && AllServed(); }, kSettleNs));
  // Never declared dead, it kept the partition, and took a new ballot to
  // serve it again.
  EXPECT_EQ(PrimaryOf(gpid), primary);
  EXPECT_GT(MetaConfig(gpid).ballot(), ballot);
  EXPECT_EQ(Host(primary).stats().lease_lapses, 1u);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "before");
  MustPut(gpid, "k", "after");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "after");
}

// A host cut off from the meta server past the grace is declared dead and
// dropped from its partition, which the meta server rebuilds on another
// host. When the host is back, the configuration sync answers for the
// replica it reports too: the replica learns it is no member, stays
// inactive under the current ballot and refuses every request, while the
// partition is served without it.
TEST_F(ReplicaHostTest, ConfigSyncTellsAMovedAwayReplicaItIsNoMember) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int dropped = FirstSecondaryOf(gpid);
  const Decree decree = MustPut(gpid, "k", "v");

  network_->CutBothWays(kMetaProcess, ProcessOf(dropped));
  auto moved = [&] {
    return !IsMember(MetaConfig(gpid), NodeOf(dropped)) && AllServed();
  };
  ASSERT_TRUE(RunUntil(moved, kSettleNs));
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(dropped)), NodeStatus::kDead);
  EXPECT_EQ(Host(dropped).stats().lease_lapses, 1u);
  EXPECT_EQ(PrimaryOf(gpid), primary);
  const Ballot stale_ballot = Host(dropped).replica(gpid)->ballot();
  EXPECT_LT(stale_ballot, MetaConfig(gpid).ballot());

  network_->Heal();
  const uint64_t beacons = Host(dropped).stats().beacons_answered;
  ASSERT_TRUE(RunUntil(
      [&] {
        return Host(dropped).lease_valid() &&
               Host(dropped).stats().beacons_answered > beacons;
      },
      2 * kSecond));
  // Several syncs.
  RunFor(3 * kSecond);
  ASSERT_TRUE(Host(dropped).lease_valid());
  EXPECT_EQ(Meta().GetNodeStatus(NodeOf(dropped)), NodeStatus::kAlive);
  EXPECT_EQ(MetaConfig(gpid).secondaries_size(), 1);
  EXPECT_NE(MetaConfig(gpid).secondaries(0), NodeOf(dropped).value);

  // The sync's answer carried the partition's configuration, since the host
  // reported the replica: it stays (its data may yet be needed if every
  // member dies) and serves nothing, inactive under the current ballot.
  const Replica* stale = Host(dropped).replica(gpid);
  ASSERT_NE(stale, nullptr);
  EXPECT_EQ(stale->status(), ReplicaStatus::kInactive);
  EXPECT_EQ(stale->ballot(), MetaConfig(gpid).ballot());
  const std::set<std::string> refused = {"PERR_SERVER_CHANGED",
                                         "PERR_OBJECT_NOT_FOUND"};
  EXPECT_TRUE(refused.contains(DataError(dropped, Get(gpid, "k"))));
  EXPECT_TRUE(refused.contains(DataError(dropped, Put(gpid, "k", "stale"))));

  // The partition lives on without it: the new secondary learned the write.
  const int replacement = FirstSecondaryOf(gpid);
  EXPECT_GE(Host(replacement).storage(gpid)->LastAppliedDecree(), decree);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  MustPut(gpid, "k", "v2");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v2");
}

// A secondary the primary had removed while both kept their leases (only
// the link between them broke) hears nothing more from its primary; the
// configuration sync tells it, and it stops acting as a secondary.
TEST_F(ReplicaHostTest, ConfigSyncTellsARemovedSecondaryItIsNoMember) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int removed = FirstSecondaryOf(gpid);
  const Ballot ballot = MetaConfig(gpid).ballot();

  network_->CutBothWays(ProcessOf(primary), ProcessOf(removed));
  // The write's prepare to the secondary fails, and the primary has it
  // removed.
  OnClient([&] {
    client().rpc().Call(NodeOf(primary), kDataMethod,
                        Put(gpid, "k", "v").SerializeAsString(),
                        CallOptions{.timeout_ns = 10 * kSecond},
                        [](absl::StatusOr<std::string>) {});
  });
  ASSERT_TRUE(RunUntil(
      [&] { return !IsMember(MetaConfig(gpid), NodeOf(removed)); },
      kSettleNs));
  RunFor(3 * kSecond);  // Several syncs.
  ASSERT_TRUE(Host(removed).lease_valid());
  EXPECT_EQ(PrimaryOf(gpid), primary);
  const Replica* replica = Host(removed).replica(gpid);
  ASSERT_NE(replica, nullptr);
  EXPECT_NE(replica->status(), ReplicaStatus::kSecondary);
  EXPECT_GT(replica->ballot(), ballot);
}

// A replica nobody needs any more (no member, and pushed out of the dropped
// nodes the meta server would recover from) is reclaimed when its server
// comes back: closed, its files deleted, and not reopened after a restart.
TEST_F(ReplicaHostTest, ReplicaNobodyNeedsIsReclaimedForGood) {
  Build({.hosts = 4, .partitions = 1, .replicas = 2, .max_last_drops = 1});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  MustPut(gpid, "k", "v");
  // The secondary dies and is replaced; then its replacement dies and is
  // replaced, which pushes the first out of the (one) dropped node kept.
  const int first = FirstSecondaryOf(gpid);
  CrashHost(first);
  ASSERT_TRUE(RunUntil(
      [&] { return !IsMember(MetaConfig(gpid), NodeOf(first)) && AllServed(); },
      kSettleNs));
  const int second = FirstSecondaryOf(gpid);
  CrashHost(second);
  ASSERT_TRUE(RunUntil(
      [&] {
        return !IsMember(MetaConfig(gpid), NodeOf(second)) && AllServed();
      },
      kSettleNs));
  ASSERT_FALSE(IsDropped(MetaConfig(gpid), NodeOf(first)));
  ASSERT_TRUE(IsDropped(MetaConfig(gpid), NodeOf(second)));

  StartHost(first);
  ASSERT_NE(Host(first).replica(gpid), nullptr) << "recovered from its disk";
  ASSERT_TRUE(RunUntil([&] { return Host(first).replica(gpid) == nullptr; },
                       kSettleNs));
  EXPECT_EQ(Host(first).stats().replicas_reclaimed, 1u);
  // Nothing is left but the mark (and the directories).
  FileSystem* disk = processes_[ProcessOf(first)]->disk();
  std::function<void(const std::string&)> expect_no_files =
      [&](const std::string& dir) {
        absl::StatusOr<std::vector<std::string>> names = disk->ListDir(dir);
        ASSERT_TRUE(names.ok()) << dir;
        for (const std::string& name : *names) {
          const std::string path = dir + "/" + name;
          if (disk->ListDir(path).ok()) {
            expect_no_files(path);
          } else {
            EXPECT_EQ(path, absl::StrCat("/data/", kAppId, ".0/reclaimed"));
          }
        }
      };
  expect_no_files(absl::StrCat("/data/", kAppId, ".0"));

  // A restart does not bring it back, and the partition never missed it.
  CrashHost(first);
  StartHost(first);
  RunFor(3 * kSecond);
  EXPECT_EQ(Host(first).replica(gpid), nullptr);
  EXPECT_TRUE(AllServed());
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");

  // Needed again (the last other node dies), it comes back empty over the
  // mark and learns everything.
  const int third = FirstSecondaryOf(gpid);
  CrashHost(third);
  ASSERT_TRUE(RunUntil(
      [&] { return IsMember(MetaConfig(gpid), NodeOf(first)) && AllServed(); },
      kSettleNs));
  EXPECT_EQ(Host(first).storage(gpid)->LastAppliedDecree(),
            Host(PrimaryOf(gpid)).replica(gpid)->last_committed());
  EXPECT_FALSE(
      disk->FileExists(absl::StrCat("/data/", kAppId, ".0/reclaimed")));
  MustPut(gpid, "k", "v2");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v2");
}

// Only the meta server changes configurations: a well-formed proposal from
// anyone else (here the client) that would make a secondary primary is
// ignored.
TEST_F(ReplicaHostTest, ProposalsFromOthersThanTheMetaServerAreIgnored) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  const std::vector<HostState> before = Snapshot();

  proto::ConfigProposal forged;
  *forged.mutable_config() = MetaConfig(gpid);
  forged.mutable_config()->set_ballot(MetaConfig(gpid).ballot() + 1);
  forged.mutable_config()->set_primary(NodeOf(secondary).value);
  forged.mutable_config()->clear_secondaries();
  forged.mutable_config()->add_secondaries(NodeOf(primary).value);
  forged.set_type(proto::CONFIG_UPGRADE_TO_PRIMARY);
  forged.set_node(NodeOf(secondary).value);
  OnClient([&] {
    client().rpc().Notify(NodeOf(secondary), kConfigProposalMethod,
                          forged.SerializeAsString());
  });
  RunFor(kSecond);

  EXPECT_EQ(Host(secondary).replica(gpid)->status(),
            ReplicaStatus::kSecondary);
  EXPECT_EQ(Host(primary).replica(gpid)->status(), ReplicaStatus::kPrimary);
  EXPECT_EQ(Snapshot(), before);
  MustPut(gpid, "k", "v");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
}

// An operator moves the primary (balance move_pri): the meta server asks
// the primary to step down, the host hands the request to the replica,
// which stops serving and proposes its own downgrade; once that is
// persisted the meta server upgrades the target. Nothing written is lost,
// and the old primary serves no more.
TEST_F(ReplicaHostTest, MovedPrimaryStepsDownThroughItsOwnRequest) {
  Build({.hosts = 3, .partitions = 1, .replicas = 3});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int old_primary = PrimaryOf(gpid);
  const int target = FirstSecondaryOf(gpid);
  MustPut(gpid, "k", "v");
  const int64_t ballot = MetaConfig(gpid).ballot();

  proto::AdminRequest request;
  proto::BalanceRequest* balance = request.mutable_balance();
  balance->set_app_id(gpid.app_id);
  balance->set_partition_index(gpid.partition_index);
  balance->set_kind(proto::BalanceRequest::MOVE_PRIMARY);
  balance->set_from(NodeOf(old_primary).value);
  balance->set_to(NodeOf(target).value);
  auto answer = std::make_shared<std::optional<absl::StatusOr<std::string>>>();
  OnClient([&, answer] {
    client().rpc().Call(kMetaNode, kMetaAdminMethod,
                        request.SerializeAsString(),
                        CallOptions{.timeout_ns = kSecond},
                        [answer](absl::StatusOr<std::string> response) {
                          *answer = std::move(response);
                        });
  });
  ASSERT_TRUE(RunUntil([&] { return answer->has_value(); }, 2 * kSecond));
  ASSERT_TRUE(answer->value().ok()) << answer->value().status();
  proto::AdminResponse response;
  ASSERT_TRUE(response.ParseFromString(answer->value().value()));
  ASSERT_EQ(response.error(), 0) << response.error_message();

  ASSERT_TRUE(RunUntil(
      [&] { return PrimaryOf(gpid) == target && Served(gpid); }, kSettleNs));
  // Two changes: the old primary's own downgrade, then the upgrade.
  EXPECT_EQ(MetaConfig(gpid).ballot(), ballot + 2);
  EXPECT_EQ(Host(old_primary).replica(gpid)->status(),
            ReplicaStatus::kSecondary);
  EXPECT_EQ(Meta().stats().moves_finished, 1u);
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  EXPECT_EQ(DataError(old_primary, Get(gpid, "k")), "PERR_SERVER_CHANGED");
  MustPut(gpid, "k", "w");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "w");
}

// Nothing the meta server sent before it declared a server dead is acted on
// once the server's lease is back, however late it comes. Here a new
// partition's assignment never reaches host 1 in time: host 1 is declared
// dead, comes back and syncs without the replica, and the meta server
// assigns the partition to host 0 under a newer ballot. When the old
// assignment arrives at last, host 1 creates nothing: made primary under the
// old ballot, with no secondaries, it would have served alongside host 0.
TEST_F(ReplicaHostTest, AnAssignmentThatOutlivedItsServersLeaseIsIgnored) {
  const int late = 1;
  const int other = 0;
  hold_proposals_to_ = ProcessOf(late);
  // The meta server hears only the late host at first, so it assigns the
  // partition there.
  network_->Cut(ProcessOf(other), kMetaProcess);
  Build({.hosts = 2, .partitions = 1, .replicas = 1, .min_replica_count = 1});
  const Gpid gpid{kAppId, 0};
  ASSERT_TRUE(RunUntil([&] { return !held_.empty(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), late);
  const Ballot assigned = MetaConfig(gpid).ballot();
  network_->Heal();
  network_->CutBothWays(kMetaProcess, ProcessOf(late));
  ASSERT_TRUE(RunUntil(
      [&] {
        return Meta().GetNodeStatus(NodeOf(late)) == NodeStatus::kDead;
      },
      kGraceNs + kSecond));
  network_->Heal();
  ASSERT_TRUE(RunUntil([&] { return Served(gpid); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), other);
  ASSERT_GT(MetaConfig(gpid).ballot(), assigned + 1);
  ASSERT_TRUE(Host(late).lease_valid());
  ASSERT_EQ(Host(late).replica(gpid), nullptr);
  MustPut(gpid, "k", "v");

  DeliverHeld(late);
  RunFor(kSecond);
  EXPECT_EQ(Host(late).replica(gpid), nullptr);
  EXPECT_TRUE(Served(gpid));
  MustPut(gpid, "k", "w");
  EXPECT_EQ(ReadAtPrimary(gpid, "k"), "w");
}

// Bytes that parse as nothing, sent to every host as raw transport
// messages, as every replication notification and as client requests,
// change no replica, no storage and no lease, crash nothing, and create no
// replica. Client requests get an error answer; none is written.
TEST_F(ReplicaHostTest, MalformedPeerMessagesAndClientRequestsChangeNothing) {
  Build({.hosts = 2, .partitions = 2, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  for (Gpid gpid : Partitions()) MustPut(gpid, "k", "v");
  // Secondaries hear the last commit point, and idle primaries make their
  // one empty write, before the picture is taken.
  RunFor(3 * kSecond);
  const std::vector<HostState> before = Snapshot();

  for (int h = 0; h < host_count(); ++h) {
    const std::vector<std::string> garbage = Garbage(h);
    // Each must fail every parser it reaches, or the test proves little.
    for (const std::string& g : garbage) {
      EXPECT_FALSE(proto::DataRequest().ParseFromString(g));
      EXPECT_FALSE(proto::PrepareRequest().ParseFromString(g));
      EXPECT_FALSE(proto::PrepareResponse().ParseFromString(g));
      EXPECT_FALSE(proto::GroupCheckRequest().ParseFromString(g));
      EXPECT_FALSE(proto::GroupCheckResponse().ParseFromString(g));
      EXPECT_FALSE(proto::LearnRequest().ParseFromString(g));
      EXPECT_FALSE(proto::LearnResponse().ParseFromString(g));
      EXPECT_FALSE(proto::ConfigProposal().ParseFromString(g));
    }
    OnClient([&] {
      // Below the RPC layer: no RPC message at all.
      for (const std::string& bytes : garbage) {
        client().transport().Send(NodeOf(h), bytes);
      }
      client().transport().Send(NodeOf(h), "");
      client().transport().Send(NodeOf(h), std::string(64, '\0'));
      for (RpcMethod method :
           {kPrepareMethod, kPrepareResponseMethod, kGroupCheckMethod,
            kGroupCheckResponseMethod, kLearnMethod, kLearnResponseMethod,
            kConfigProposalMethod}) {
        for (const std::string& bytes : garbage) {
          client().rpc().Notify(NodeOf(h), method, bytes);
        }
      }
    });
    for (const std::string& bytes : garbage) {
      EXPECT_EQ(DataError(h, bytes), "PERR_INVALID_ARGUMENT");
    }
    // Well formed, but for a partition no host has, or a write the storage
    // layer refuses.
    EXPECT_EQ(DataError(h, Put(Gpid{kAppId + 1, 0}, "k", "x")),
              "PERR_OBJECT_NOT_FOUND");
    EXPECT_EQ(DataError(h, Get(Gpid{kAppId, shape_.partitions}, "k")),
              "PERR_OBJECT_NOT_FOUND");
    EXPECT_EQ(DataError(h, Put(Gpid{kAppId, 0}, "", "x")),
              "PERR_INVALID_HASH_KEY");
  }
  RunFor(2 * kSecond);

  for (int h = 0; h < host_count(); ++h) {
    EXPECT_TRUE(processes_[ProcessOf(h)]->up()) << "host " << h;
  }
  const std::vector<HostState> after = Snapshot();
  EXPECT_EQ(after, before) << "before:\n"
                           << Describe(before) << "after:\n"
                           << Describe(after);
  for (Gpid gpid : Partitions()) {
    EXPECT_EQ(ReadAtPrimary(gpid, "k"), "v");
  }
}

}  // namespace
}  // namespace pegasus::replication::host_test
