#include "testing/sim/process.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "pegasus/base/check.h"

namespace pegasus::sim {

// The process's end of the network for one incarnation. Process i is NodeId
// i + 1 (the simulation assigns ids that way).
class SimProcess::Port final : public Transport {
 public:
  explicit Port(SimProcess* process) : process_(process) {}

  NodeId self() const override { return process_->id_; }

  void Send(NodeId to, std::string message) override {
    if (Failed()) return;
    process_->network_->Send(process_->index_, static_cast<int>(to.value) - 1,
                             std::move(message), process_->Cursor());
  }

  void SetReceiver(Receiver receiver) override {
    PEGASUS_CHECK(!receiver_) << "receiver set twice";
    receiver_ = std::move(receiver);
  }

  bool Receive(NodeId from, const std::string& message) {
    if (!receiver_ || Failed()) return false;
    receiver_(from, message);
    return true;
  }

  // Set by fail_stop: from this time on the incarnation is dead, though
  // not yet torn down. Its other strands' work before then still happens.
  int64_t failing_from_ns = INT64_MAX;
  bool failing() const { return failing_from_ns != INT64_MAX; }
  bool Failed() const { return process_->Cursor() >= failing_from_ns; }

 private:
  SimProcess* process_;
  Receiver receiver_;
};

// A strand the process handed out: its own queue order and busy time.
class SimProcess::SubStrand final : public Executor {
 public:
  SubStrand(SimProcess* process, int strand)
      : process_(process), strand_(strand) {}

  void Post(Task task) override { process_->PostOn(strand_, std::move(task)); }
  TimerId ScheduleAfter(int64_t delay_ns, Task task) override {
    return process_->ScheduleOn(strand_, delay_ns, std::move(task));
  }
  bool Cancel(TimerId id) override { return process_->Cancel(id); }

 private:
  SimProcess* const process_;
  const int strand_;
};

// A task handed from one strand to another waits up to this long.
constexpr int64_t kMaxHandoverNs = 20'000;

SimProcess::SimProcess(World* world, SimNetwork* network, int index, NodeId id,
                       std::string name, ProcessOptions options)
    : world_(world),
      network_(network),
      index_(index),
      id_(id),
      name_(std::move(name)),
      options_(options),
      random_(world->NewRandom("process", static_cast<uint64_t>(index))),
      handover_random_(
          world->NewRandom("handover", static_cast<uint64_t>(index))) {
  PEGASUS_CHECK_EQ(id.value, static_cast<uint64_t>(index) + 1);
  if (options_.has_disk) {
    disk_ = std::make_unique<SimDisk>(
        options_.disk, world->NewRandom("disk", static_cast<uint64_t>(index)),
        [this](int64_t cost_ns) { ChargeDisk(cost_ns); });
  }
}

SimProcess::~SimProcess() {
  service_.reset();
  port_.reset();
}

absl::Status SimProcess::Start(const ServiceFactory& factory) {
  PEGASUS_CHECK(!up()) << name_ << " started twice";
  ++incarnation_;
  port_ = std::make_unique<Port>(this);
  ProcessEnv env;
  env.self = id_;
  env.clock = this;
  env.executor = this;
  env.transport = port_.get();
  env.file_system = disk_.get();
  env.random = random_.get();
  env.strand = [this](uint64_t key) { return Strand(key); };
  const uint64_t incarnation = incarnation_;
  env.fail_stop = [this, incarnation](const std::string& reason) {
    if (incarnation != incarnation_ || port_ == nullptr || port_->failing()) {
      return;
    }
    // The failure happens when the work that found it is done.
    port_->failing_from_ns = Cursor();
    world_->At(Cursor(), EventOwner{}, "fail_stop", 0,
               [this, incarnation, reason] {
                 if (incarnation != incarnation_ || !up()) return;
                 Crash("fail-stop: " + reason);
                 if (on_fail_stop_) on_fail_stop_(this);
               });
  };
  // Starting reads the disk: its cost is the start's.
  const bool outside_event = !in_event_;
  if (outside_event) BeginEvent(world_->now_ns());
  absl::StatusOr<std::unique_ptr<Service>> service = factory(env);
  if (outside_event) EndEvent();
  if (!service.ok()) {
    last_failure_ = std::string(service.status().message());
    port_.reset();
    return service.status();
  }
  if (port_->failing()) {
    // The service failed itself while starting.
    service_ = std::move(*service);
    return absl::OkStatus();
  }
  service_ = std::move(*service);
  return absl::OkStatus();
}

void SimProcess::Crash(const std::string& reason) {
  if (!up()) return;
  last_failure_ = reason;
  ++crashes_;
  ++incarnation_;  // Every event of the old incarnation is now stale.
  service_.reset();
  port_.reset();
  std::fill(busy_until_ns_.begin(), busy_until_ns_.end(), 0);
  disk_free_ns_ = 0;
  paused_until_ns_ = 0;  // A crash ends a pause; the restart runs at once.
  if (disk_ != nullptr) disk_->Crash();
}

void SimProcess::Pause(int64_t until_ns) {
  paused_until_ns_ = std::max(paused_until_ns_, until_ns);
}

int64_t SimProcess::Cursor() const {
  return in_event_ ? cursor_ns_ : world_->now_ns();
}

Executor* SimProcess::Strand(uint64_t key) {
  std::unique_ptr<SubStrand>& strand = strands_[key];
  if (strand == nullptr) {
    strand = std::make_unique<SubStrand>(
        this, static_cast<int>(busy_until_ns_.size()));
    busy_until_ns_.push_back(0);
    last_post_ns_.push_back(0);
    strand_keys_.push_back(key);
  }
  return strand.get();
}

void SimProcess::Post(Task task) { PostOn(0, std::move(task)); }

TimerId SimProcess::ScheduleAfter(int64_t delay_ns, Task task) {
  return ScheduleOn(0, delay_ns, std::move(task));
}

void SimProcess::PostOn(int strand, Task task) {
  int64_t at = Cursor();
  if (in_event_ && strand != strand_) {
    at += static_cast<int64_t>(
        handover_random_->Uniform(static_cast<uint64_t>(kMaxHandoverNs) + 1));
  }
  at = std::max(at, last_post_ns_[strand]);
  last_post_ns_[strand] = at;
  world_->At(at, EventOwner{index_, incarnation_, strand}, "task", 0,
             std::move(task));
}

TimerId SimProcess::ScheduleOn(int strand, int64_t delay_ns, Task task) {
  PEGASUS_CHECK_GE(delay_ns, 0);
  // The delay is measured on this process's clock, which runs at
  // (1 + drift) times real speed.
  const auto real_delay = static_cast<int64_t>(
      std::ceil(static_cast<double>(delay_ns) / (1.0 + options_.clock_drift)));
  return world_->At(Cursor() + real_delay,
                    EventOwner{index_, incarnation_, strand}, "timer",
                    static_cast<uint64_t>(delay_ns), std::move(task));
}

bool SimProcess::Cancel(TimerId id) { return world_->Cancel(id); }

int64_t SimProcess::MonotonicNowNs() {
  return static_cast<int64_t>(static_cast<double>(Cursor()) *
                              (1.0 + options_.clock_drift));
}

int64_t SimProcess::WallNowUs() {
  return kSimEpochUnixUs + MonotonicNowNs() / 1000 + options_.wall_offset_us;
}

std::optional<int64_t> SimProcess::Admit(const EventOwner& owner,
                                         int64_t now_ns) const {
  if (!up() || now_ns >= port_->failing_from_ns) return std::nullopt;
  if (owner.incarnation != EventOwner::kAnyIncarnation &&
      owner.incarnation != incarnation_) {
    return std::nullopt;
  }
  if (paused_until_ns_ > now_ns) return paused_until_ns_;
  const int64_t busy_until_ns = busy_until_ns_[owner.strand];
  if (busy_until_ns > now_ns) return busy_until_ns;
  return now_ns;
}

bool SimProcess::Receive(NodeId from, const std::string& message) {
  return port_ != nullptr && port_->Receive(from, message);
}

}  // namespace pegasus::sim
