#include "testing/sim/sim_cluster.h"

#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/storage/memory/memory_engine.h"

namespace pegasus::sim {
namespace {

constexpr NodeId kMetaNode{1};
constexpr int kMetaProcess = 0;

// The C++ client as the service of the client process.
class ClientService final : public Service {
 public:
  ClientService(const ProcessEnv& env, const ClientOptions& options)
      : client_(Client::Create(
            {env.clock, env.executor, env.transport, env.random}, options)) {}
  Client& client() { return *client_; }

 private:
  std::unique_ptr<Client> client_;
};

}  // namespace

SimCluster::SimCluster(SimClusterOptions options)
    : options_(std::move(options)),
      world_(options_.seed),
      meta_medium_(std::make_shared<InMemoryMetaStore::Medium>()) {
  world_.set_gate(this);
  network_ = std::make_unique<SimNetwork>(
      &world_, NetworkOptions{}, world_.NewRandom("network"),
      [this](int from, int to, const std::string& message) {
        if (to < 0 || to >= static_cast<int>(processes_.size())) return false;
        return processes_[to]->Receive(NodeId{static_cast<uint64_t>(from) + 1},
                                       message);
      });
  const int total = options_.servers + 2;
  for (int i = 0; i < total; ++i) {
    ProcessOptions process;
    process.has_disk = i > kMetaProcess && i <= options_.servers;
    processes_.push_back(std::make_unique<SimProcess>(
        &world_, network_.get(), i, NodeId{static_cast<uint64_t>(i) + 1},
        i == kMetaProcess ? std::string("meta")
                          : (process.has_disk ? "server" + std::to_string(i)
                                              : std::string("client")),
        process));
  }
  StartMetaProcess();
  for (int s = 0; s < options_.servers; ++s) StartServerProcess(s);
  StartClientProcess();
}

SimCluster::~SimCluster() {
  // Services go before the world whose events they own.
  for (auto& process : processes_) {
    if (process->up()) process->Crash("the test ended");
  }
}

void SimCluster::StartMetaProcess() {
  MetaServiceOptions meta;
  meta.meta = options_.meta;
  meta.meta.lease_ns = options_.lease_ns;
  meta.tables = options_.tables;
  meta.medium = meta_medium_;
  PEGASUS_CHECK_OK(processes_[kMetaProcess]->Start(
      [&](const ProcessEnv& env) -> absl::StatusOr<std::unique_ptr<Service>> {
        PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<MetaService> service,
                                 MetaService::Start(env, meta));
        return std::unique_ptr<Service>(std::move(service));
      }));
}

void SimCluster::StartServerProcess(int s) {
  PEGASUS_CHECK_OK(processes_[ProcessOfServer(s)]->Start(
      [this](
          const ProcessEnv& env) -> absl::StatusOr<std::unique_ptr<Service>> {
        replication::ReplicaHostOptions host;
        host.meta = kMetaNode;
        host.lease_ns = options_.lease_ns;
        host.open_engine = [fs = env.file_system,
                            clock = env.clock](const std::string& dir) {
          MemoryEngineOptions engine;
          engine.file_system = fs;
          engine.clock = clock;
          return OpenMemoryEngine(dir, engine);
        };
        PEGASUS_ASSIGN_OR_RETURN(
            std::unique_ptr<ReplicaServerService> service,
            ReplicaServerService::Start(env, std::move(host)));
        return std::unique_ptr<Service>(std::move(service));
      }));
}

void SimCluster::StartClientProcess() {
  ClientOptions client = options_.client;
  client.meta = kMetaNode;
  PEGASUS_CHECK_OK(processes_[client_process()]->Start(
      [client](
          const ProcessEnv& env) -> absl::StatusOr<std::unique_ptr<Service>> {
        return std::make_unique<ClientService>(env, client);
      }));
}

bool SimCluster::RunUntil(absl::FunctionRef<bool()> done, int64_t limit_ns) {
  const int64_t deadline = world_.now_ns() + limit_ns;
  while (!done()) {
    if (!world_.Step(deadline)) {
      world_.RunUntil(deadline);
      return done();
    }
  }
  return true;
}

void SimCluster::RunFor(int64_t ns) { world_.RunUntil(world_.now_ns() + ns); }

void SimCluster::OnClient(absl::AnyInvocable<void()> task) {
  processes_[client_process()]->Post(std::move(task));
}

Client& SimCluster::client() {
  return static_cast<ClientService*>(processes_[client_process()]->service())
      ->client();
}

void SimCluster::CrashServer(int s) {
  processes_[ProcessOfServer(s)]->Crash("crashed by the test");
}
void SimCluster::RestartServer(int s) { StartServerProcess(s); }
void SimCluster::CrashMeta() {
  processes_[kMetaProcess]->Crash("crashed by the test");
}
void SimCluster::RestartMeta() { StartMetaProcess(); }
bool SimCluster::server_up(int s) const {
  return processes_[ProcessOfServer(s)]->up();
}

const MetaCore* SimCluster::meta() const {
  SimProcess* process = processes_[kMetaProcess].get();
  if (!process->up()) return nullptr;
  return &static_cast<const MetaService*>(process->service())->core();
}

const replication::ReplicaHost* SimCluster::host(int s) const {
  SimProcess* process = processes_[ProcessOfServer(s)].get();
  if (!process->up()) return nullptr;
  return &static_cast<const ReplicaServerService*>(process->service())->host();
}

bool SimCluster::AllHealthy() const {
  const MetaCore* core = meta();
  if (core == nullptr || core->pending_admin() > 0) return false;
  for (Gpid gpid : core->Partitions()) {
    const proto::TableInfo* table = core->GetTable(gpid.app_id);
    if (table == nullptr || table->status() != proto::TABLE_AVAILABLE) {
      continue;
    }
    const proto::PartitionConfig& config = *core->GetConfig(gpid);
    if (config.primary() == 0 ||
        meta_internal::MemberCount(config) != table->replica_count()) {
      return false;
    }
    for (NodeId member : meta_internal::Members(config)) {
      const int s = static_cast<int>(member.value) - 2;
      if (s < 0 || s >= options_.servers) return false;
      const replication::ReplicaHost* server = host(s);
      const replication::Replica* replica =
          server == nullptr ? nullptr : server->replica(gpid);
      const replication::ReplicaStatus expected =
          member.value == config.primary()
              ? replication::ReplicaStatus::kPrimary
              : replication::ReplicaStatus::kSecondary;
      if (replica == nullptr || replica->status() != expected ||
          replica->ballot() != config.ballot()) {
        return false;
      }
    }
  }
  return true;
}

std::optional<int64_t> SimCluster::Admit(const EventOwner& owner,
                                         int64_t now_ns) {
  if (owner.process >= static_cast<int>(processes_.size())) {
    return std::nullopt;
  }
  return processes_[owner.process]->Admit(owner, now_ns);
}

void SimCluster::BeginEvent(const EventOwner& owner) {
  processes_[owner.process]->BeginEvent(world_.now_ns(), owner.strand);
}

void SimCluster::EndEvent(const EventOwner& owner) {
  processes_[owner.process]->EndEvent();
}

}  // namespace pegasus::sim
