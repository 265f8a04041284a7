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

Families ReplicaMetrics::Collect(const ReplicaServerSnapshot& snapshot) const {
  using prometheus::MetricType;
  Families out = registry_->Collect();
  out.push_back(Family("pegasus_replicas", "Replicas on this server, by status",
                       MetricType::Gauge));
  for (ReplicaStatus status :
       {ReplicaStatus::kInactive, ReplicaStatus::kPrimary,
        ReplicaStatus::kSecondary, ReplicaStatus::kLearner,
        ReplicaStatus::kError}) {
    int count = 0;
    for (const proto::ReplicaReport& report : snapshot.reports) {
      count += report.status() == static_cast<int>(status) ? 1 : 0;
    }
    AddSample(out.back(), count,
              {{"status", replication::ReplicaStatusName(status)}});
  }
  out.push_back(Family("pegasus_replica_log_bytes",
                       "Bytes of the server's shared mutation log on disk",
                       MetricType::Gauge));
  AddSample(out.back(), static_cast<double>(snapshot.log_bytes));

  const replication::ReplicaHostStats& host = snapshot.host;
  AddCounters(
      {
          {"pegasus_replica_applies_total", "Mutations applied to storage",
           host.applies},
          {"pegasus_replica_lease_lapses_total",
           "Times the server's lease with the meta server ran out",
           host.lease_lapses},
          {"pegasus_replica_checkpoints_installed_total",
           "Checkpoints a learner installed", host.checkpoints_installed},
          {"pegasus_replica_reclaimed_total",
           "Replicas closed and deleted as nobody needs them",
           host.replicas_reclaimed},
          {"pegasus_replica_beacons_answered_total",
           "Beacons the meta server answered", host.beacons_answered},
      },
      out);
  out.push_back(Family("pegasus_replica_learns_total",
                       "Learning rounds answered to learners, by what they "
                       "were sent: log or checkpoint",
                       MetricType::Counter));
  AddSample(out.back(), static_cast<double>(host.learns_from_log),
            {{"source", "log"}});
  AddSample(out.back(), static_cast<double>(host.learns_from_checkpoint),
            {{"source", "checkpoint"}});
  AddLinkFamilies(snapshot.links, out);
  return out;
}

uint64_t LogBytes(const std::string& data_dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code error;
  for (const fs::directory_entry& file :
       fs::directory_iterator(fs::path(data_dir) / "slog", error)) {
    std::error_code size_error;
    const uintmax_t size = file.file_size(size_error);
    if (!size_error) total += size;
  }
  return total;
}

}  // namespace pegasus::daemons
