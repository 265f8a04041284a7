#include "daemons/lib/replica_metrics.h"

#include <filesystem>
#include <system_error>

#include "daemons/lib/grpc_status.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/replication/core/replica_types.h"

namespace pegasus::daemons {
namespace {

using replication::ReplicaStatus;

// Request latencies: 50 us to 10 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

}  // namespace

ReplicaMetrics::ReplicaMetrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = prometheus::BuildCounter()
                       .Name("pegasus_replica_requests_total")
                       .Help("Clients' data requests answered, by operation")
                       .Register(*registry_);
  auto& errors = prometheus::BuildCounter()
                     .Name("pegasus_replica_request_errors_total")
                     .Help(
                         "Clients' data requests refused or failed (any "
                         "error but a data outcome), by operation")
                     .Register(*registry_);
  auto& bytes = prometheus::BuildCounter()
                    .Name("pegasus_replica_request_bytes_total")
                    .Help(
                        "Bytes of clients' data requests (in) and answers "
                        "(out), by operation")
                    .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("pegasus_replica_request_duration_seconds")
                      .Help("From a data request's arrival to its answer")
                      .Register(*registry_);
  const google::protobuf::OneofDescriptor* oneof =
      proto::DataRequest::descriptor()->FindOneofByName("op");
  std::vector<std::pair<int, std::string>> names = {{0, "malformed"}};
  for (int i = 0; i < oneof->field_count(); ++i) {
    names.push_back({oneof->field(i)->number(), oneof->field(i)->name()});
  }
  for (const auto& [number, name] : names) {
    Op& op = ops_[number];
    op.requests = &requests.Add({{"op", name}});
    op.errors = &errors.Add({{"op", name}});
    op.bytes_in = &bytes.Add({{"op", name}, {"direction", "in"}});
    op.bytes_out = &bytes.Add({{"op", name}, {"direction", "out"}});
    op.latency = &latency.Add({{"op", name}}, LatencyBuckets());
  }
  auto& replicas = prometheus::BuildGauge()
                       .Name("pegasus_replicas")
                       .Help("Replicas on this server, by status")
                       .Register(*registry_);
  for (ReplicaStatus status :
       {ReplicaStatus::kInactive, ReplicaStatus::kPrimary,
        ReplicaStatus::kSecondary, ReplicaStatus::kLearner,
        ReplicaStatus::kError}) {
    replicas_[static_cast<int>(status)] =
        &replicas.Add({{"status", replication::ReplicaStatusName(status)}});
  }
  log_bytes_ = &prometheus::BuildGauge()
                    .Name("pegasus_replica_log_bytes")
                    .Help("Bytes of the replicas' mutation logs on disk")
                    .Register(*registry_)
                    .Add({});
  auto mirror = [&](const std::string& key, const std::string& name,
                    const std::string& help,
                    const std::map<std::string, std::string>& labels) {
    mirrors_[key].counter = &prometheus::BuildCounter()
                                 .Name(name)
                                 .Help(help)
                                 .Register(*registry_)
                                 .Add(labels);
  };
  mirror("applies", "pegasus_replica_applies_total",
         "Mutations applied to storage", {});
  mirror("lease_lapses", "pegasus_replica_lease_lapses_total",
         "Times the server's lease with the meta server ran out", {});
  auto& learns = prometheus::BuildCounter()
                     .Name("pegasus_replica_learns_total")
                     .Help(
                         "Learning rounds answered to learners, by what "
                         "they were sent: log or checkpoint")
                     .Register(*registry_);
  mirrors_["learns_log"].counter = &learns.Add({{"source", "log"}});
  mirrors_["learns_checkpoint"].counter =
      &learns.Add({{"source", "checkpoint"}});
  mirror("installed", "pegasus_replica_checkpoints_installed_total",
         "Checkpoints a learner installed", {});
  mirror("reclaimed", "pegasus_replica_reclaimed_total",
         "Replicas closed and deleted as nobody needs them", {});
  mirror("beacons", "pegasus_replica_beacons_answered_total",
         "Beacons the meta server answered", {});
  mirror("link_sent", "pegasus_link_messages_sent_total",
         "Messages sent to other nodes", {});
  mirror("link_received", "pegasus_link_messages_received_total",
         "Messages received from other nodes", {});
  mirror("link_bytes_sent", "pegasus_link_sent_bytes_total",
         "Bytes of messages sent to other nodes", {});
  mirror("link_bytes_received", "pegasus_link_received_bytes_total",
         "Bytes of messages received from other nodes", {});
  mirror("link_frames", "pegasus_link_frames_sent_total",
         "Frames (batches of messages) sent to other nodes", {});
  mirror("link_dropped", "pegasus_link_messages_dropped_total",
         "Messages dropped: queue full, peer unreachable, stream broken", {});
}

void ReplicaMetrics::Record(const replication::ClientAnswer& answer) {
  auto it = ops_.find(answer.op);
  if (it == ops_.end()) it = ops_.find(0);
  Op& op = it->second;
  op.requests->Increment();
  if (!IsDataOutcome(answer.error)) op.errors->Increment();
  op.bytes_in->Increment(static_cast<double>(answer.request_bytes));
  op.bytes_out->Increment(static_cast<double>(answer.response_bytes));
  op.latency->Observe(static_cast<double>(answer.latency_ns) / 1e9);
}

void ReplicaMetrics::Refresh(const ReplicaServerSnapshot& snapshot) {
  std::map<int, int> counts;
  for (const proto::ReplicaReport& report : snapshot.reports) {
    ++counts[report.status()];
  }
  for (auto& [status, gauge] : replicas_) gauge->Set(counts[status]);
  log_bytes_->Set(static_cast<double>(snapshot.log_bytes));
  std::lock_guard<std::mutex> lock(mirrors_mu_);
  const replication::ReplicaHostStats& host = snapshot.host;
  mirrors_["applies"].Set(host.applies);
  mirrors_["lease_lapses"].Set(host.lease_lapses);
  mirrors_["learns_log"].Set(host.learns_from_log);
  mirrors_["learns_checkpoint"].Set(host.learns_from_checkpoint);
  mirrors_["installed"].Set(host.checkpoints_installed);
  mirrors_["reclaimed"].Set(host.replicas_reclaimed);
  mirrors_["beacons"].Set(host.beacons_answered);
  const net::GrpcTransportStats& links = snapshot.links;
  mirrors_["link_sent"].Set(links.messages_sent);
  mirrors_["link_received"].Set(links.messages_received);
  mirrors_["link_bytes_sent"].Set(links.bytes_sent);
  mirrors_["link_bytes_received"].Set(links.bytes_received);
  mirrors_["link_frames"].Set(links.frames_sent);
  mirrors_["link_dropped"].Set(links.messages_dropped);
}

uint64_t LogBytes(const std::string& data_dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code error;
  for (const fs::directory_entry& replica :
       fs::directory_iterator(data_dir, error)) {
    const fs::path plog = replica.path() / "plog";
    for (const fs::directory_entry& file :
         fs::directory_iterator(plog, error)) {
      std::error_code size_error;
      const uintmax_t size = file.file_size(size_error);
      if (!size_error) total += size;
    }
  }
  return total;
}

}  // namespace pegasus::daemons
