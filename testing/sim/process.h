// A simulated process: a server node or a client, with its own strand of
// events, its own drifting clock, its port on the network and (for servers)
// its own disk, which outlives crashes.
//
// Time inside a process: each event starts at the world's time; a disk
// operation waits for the disk (one device, serving one operation at a
// time) and charges its latency to the event, so messages the event sends
// leave, and timers it sets start, when the work is done, and its strand
// takes no other event until then (it is busy).
//
// Strands: a service may ask for more strands than the process's own
// (ProcessEnv::strand), as a server running each partition on its own thread
// does. Each strand runs its events one at a time and is busy on its own, so
// the strands of one process run side by side in simulated time, sharing
// the disk. A task posted from one strand to another arrives after a small
// random delay (a thread handing work over), never before a task posted to
// that strand earlier.
//
// Crash(): the service object is destroyed, every event meant for that
// incarnation is dropped, and the disk loses what it had not synced. Start()
// builds a new incarnation from what the disk kept. Pause(): events wait.

#ifndef PEGASUS_TESTING_SIM_PROCESS_H_
#define PEGASUS_TESTING_SIM_PROCESS_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/random.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/transport.h"
#include "testing/sim/network.h"
#include "testing/sim/sim_disk.h"
#include "testing/sim/world.h"

namespace pegasus::sim {

// 2026-01-01T00:00:00Z: where every simulated wall clock starts.
inline constexpr int64_t kSimEpochUnixUs = 1767225600LL * 1000000;

// What a service running in a process is given: its seams.
struct ProcessEnv {
  NodeId self;
  Clock* clock = nullptr;
  Executor* executor = nullptr;
  Transport* transport = nullptr;
  FileSystem* file_system = nullptr;  // Null for clients.
  Random* random = nullptr;
  // The strand for `key`: the same key gives the same strand, for as long as
  // the process exists (across its restarts).
  std::function<Executor*(uint64_t key)> strand;
  // Stops this process at once, as an assertion failure would (the
  // simulator restarts it later). Safe to call from the process's events.
  std::function<void(const std::string& reason)> fail_stop;
};

// Whatever runs in a process; destroyed on crash.
class Service {
 public:
  virtual ~Service() = default;
};

using ServiceFactory =
    std::function<absl::StatusOr<std::unique_ptr<Service>>(const ProcessEnv&)>;

struct ProcessOptions {
  bool has_disk = false;
  DiskOptions disk;
  // The clock runs at (1 + drift) times real speed; |drift| is bounded by
  // the run's max_clock_drift.
  double clock_drift = 0;
  // Added to this process's wall clock, in microseconds.
  int64_t wall_offset_us = 0;
};

class SimProcess final : public Executor, public Clock {
 public:
  SimProcess(World* world, SimNetwork* network, int index, NodeId id,
             std::string name, ProcessOptions options);
  ~SimProcess() override;

  int index() const { return index_; }
  NodeId id() const { return id_; }
  const std::string& name() const { return name_; }
  bool up() const { return service_ != nullptr; }
  uint64_t incarnation() const { return incarnation_; }
  SimDisk* disk() { return disk_.get(); }
  Service* service() { return service_.get(); }
  const std::string& last_failure() const { return last_failure_; }
  uint64_t crashes() const { return crashes_; }

  // Starts a new incarnation with `factory`. Returns the factory's error (the
  // process stays down) if it fails.
  absl::Status Start(const ServiceFactory& factory);
  // Stops the process at once and loses unsynced disk data.
  void Crash(const std::string& reason);
  // Holds every event of this process until `until_ns`.
  void Pause(int64_t until_ns);
  // Called when a fail_stop happens, after the crash (the owner decides when
  // to restart).
  void set_on_fail_stop(std::function<void(SimProcess*)> callback) {
    on_fail_stop_ = std::move(callback);
  }

  // The strand of `key` (see ProcessEnv::strand).
  Executor* Strand(uint64_t key);
  // The key strand `strand` (>= 1, as in EventOwner) was made for.
  uint64_t StrandKey(int strand) const { return strand_keys_[strand]; }

  // Executor: the process's own strand.
  void Post(Task task) override;
  TimerId ScheduleAfter(int64_t delay_ns, Task task) override;
  bool Cancel(TimerId id) override;
  // Clock.
  int64_t MonotonicNowNs() override;
  int64_t WallNowUs() override;

  // The gate's view (see World).
  std::optional<int64_t> Admit(const EventOwner& owner, int64_t now_ns) const;
  void BeginEvent(int64_t now_ns, int strand = 0) {
    cursor_ns_ = now_ns;
    in_event_ = true;
    strand_ = strand;
  }
  void EndEvent() {
    in_event_ = false;
    busy_until_ns_[strand_] = cursor_ns_;
  }
  // Charges a disk operation of `cost_ns` to the running event: it starts
  // once the disk has finished the operations before it.
  void ChargeDisk(int64_t cost_ns) {
    cursor_ns_ = std::max(cursor_ns_, disk_free_ns_) + cost_ns;
    disk_free_ns_ = cursor_ns_;
  }
  // Hands an arriving message to the current incarnation's receiver.
  bool Receive(NodeId from, const std::string& message);

 private:
  class Port;
  class SubStrand;
  int64_t Cursor() const;
  // Work on strand `strand`, as a posted task or a timer.
  void PostOn(int strand, Task task);
  TimerId ScheduleOn(int strand, int64_t delay_ns, Task task);

  World* const world_;
  SimNetwork* const network_;
  const int index_;
  const NodeId id_;
  const std::string name_;
  const ProcessOptions options_;
  std::unique_ptr<SimDisk> disk_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<Port> port_;
  std::unique_ptr<Service> service_;
  uint64_t incarnation_ = 0;
  uint64_t crashes_ = 0;
  int64_t cursor_ns_ = 0;
  bool in_event_ = false;
  int strand_ = 0;  // Of the running event.
  int64_t disk_free_ns_ = 0;  // When the disk finishes what it was given.
  // Per strand: busy until then, and the latest time a task was posted for
  // it (a later post never runs before it).
  std::vector<int64_t> busy_until_ns_ = {0};
  std::vector<int64_t> last_post_ns_ = {0};
  std::map<uint64_t, std::unique_ptr<SubStrand>> strands_;
  std::vector<uint64_t> strand_keys_ = {0};  // By strand; 0 is unused.
  std::unique_ptr<Random> handover_random_;
  int64_t paused_until_ns_ = 0;
  std::string last_failure_;
  std::function<void(SimProcess*)> on_fail_stop_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_PROCESS_H_
