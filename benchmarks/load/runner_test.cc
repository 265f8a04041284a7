#include "benchmarks/load/runner.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "gtest/gtest.h"

namespace pegasus::load {
namespace {

// A store in memory that answers either inside the call (inline) or from a
// thread of its own, as a real target's completion threads do. It counts
// what it was asked and how many calls were in flight on one session at
// once.
class FakeTarget final : public Target {
 public:
  // `keep_writes` false: writes are counted but not stored, so every read
  // finds nothing.
  explicit FakeTarget(bool inline_answers, int fail_every = 0,
                      bool keep_writes = true)
      : inline_(inline_answers),
        fail_every_(fail_every),
        keep_writes_(keep_writes) {
    if (!inline_) answerer_ = std::thread([this] { Answer(); });
  }
  ~FakeTarget() override {
    if (!inline_) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        closing_ = true;
      }
      wake_.notify_all();
      answerer_.join();
    }
  }

  std::string name() const override { return "fake"; }
  std::unique_ptr<Session> NewSession(int index) override {
    return std::make_unique<FakeSession>(this, index);
  }

  std::map<std::string, std::string> rows() {
    std::lock_guard<std::mutex> lock(mu_);
    return rows_;
  }
  uint64_t reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }
  uint64_t writes() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  int most_in_flight_per_session() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_in_flight_;
  }

 private:
  class FakeSession final : public Session {
   public:
    FakeSession(FakeTarget* target, int index)
        : target_(target), index_(index) {}
    void Read(const RecordKey& key, OpDone done) override {
      target_->Call(
          index_,
          [this, key](std::map<std::string, std::string>& rows) {
            ++target_->reads_;
            return OpResult{.status = absl::OkStatus(),
                            .found = rows.count(Flat(key)) > 0};
          },
          std::move(done));
    }
    void Write(const RecordKey& key, std::string value, OpDone done) override {
      target_->Call(
          index_,
          [this, key,
           value = std::move(value)](std::map<std::string, std::string>& rows) {
            ++target_->writes_;
            if (target_->keep_writes_) rows[Flat(key)] = value;
            return OpResult{};
          },
          std::move(done));
    }
    void Scan(const RecordKey&, int, OpDone done) override {
      target_->Call(
          index_,
          [](std::map<std::string, std::string>&) { return OpResult{}; },
          std::move(done));
    }

   private:
    static std::string Flat(const RecordKey& key) {
      return key.hash_key + "/" + key.sort_key;
    }
    FakeTarget* target_;
    int index_;
  };

  using Work =
      std::function<OpResult(std::map<std::string, std::string>& rows)>;

  void Call(int session, Work work, OpDone done) {
    std::unique_lock<std::mutex> lock(mu_);
    const int in_flight = ++in_flight_[session];
    most_in_flight_ = std::max(most_in_flight_, in_flight);
    if (!inline_) {
      queue_.push_back({session, std::move(work), std::move(done)});
      wake_.notify_one();
      return;
    }
    OpResult result = Run(session, work);
    lock.unlock();
    done(std::move(result));
  }

  // REQUIRES: mu_ held.
  OpResult Run(int session, const Work& work) {
    --in_flight_[session];
    OpResult result = work(rows_);
    if (fail_every_ > 0 && ++calls_ % fail_every_ == 0) {
      result = OpResult{.status = absl::UnavailableError("planted failure")};
    }
    return result;
  }

  void Answer() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Pending pending = std::move(queue_.front());
      queue_.pop_front();
      OpResult result = Run(pending.session, pending.work);
      lock.unlock();
      pending.done(std::move(result));
      lock.lock();
    }
  }

  struct Pending {
    int session;
    Work work;
    OpDone done;
  };

  const bool inline_;
  const int fail_every_;
  const bool keep_writes_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool closing_ = false;
  std::deque<Pending> queue_;
  std::map<std::string, std::string> rows_;
  std::map<int, int> in_flight_;
  int most_in_flight_ = 0;
  uint64_t reads_ = 0, writes_ = 0, calls_ = 0;
  std::thread answerer_;
};

RunOptions Options(char workload, uint64_t records, uint64_t operations) {
  RunOptions options;
  options.workload = *CoreWorkload(workload);
  options.records = records;
  options.operations = operations;
  options.threads = 8;
  options.value_size = 10;
  options.progress = false;
  return options;
}

class RunnerTest : public testing::TestWithParam<bool> {};

TEST_P(RunnerTest, LoadsEveryRecordThenRunsEveryOperationOnce) {
  FakeTarget target(/*inline_answers=*/GetParam());
  // Enough operations that answers given inline would overflow the stack
  // if each started the next by recursion.
  Report report = load::Run(target, Options('c', 500, 100000));
  ASSERT_EQ(report.phases.size(), 2u);
  EXPECT_EQ(report.phases[0].phase, "load");
  EXPECT_EQ(report.phases[0].total_ok, 500u);
  EXPECT_EQ(report.phases[0].ops.at("insert").ok, 500u);
  EXPECT_EQ(target.rows().size(), 500u);
  EXPECT_EQ(report.phases[1].phase, "run");
  EXPECT_EQ(report.phases[1].total_ok, 100000u);
  EXPECT_EQ(report.phases[1].ops.at("read").ok, 100000u);
  EXPECT_EQ(report.phases[1].ops.at("read").not_found, 0u);
  EXPECT_EQ(target.reads(), 100000u);
  // Each client keeps one operation in flight, never more.
  EXPECT_EQ(target.most_in_flight_per_session(), 1);
  EXPECT_GT(report.phases[1].seconds, 0);
}

TEST_P(RunnerTest, AReadModifyWriteReadsThenWrites) {
  FakeTarget target(/*inline_answers=*/GetParam(), /*fail_every=*/0,
                    /*keep_writes=*/false);
  RunOptions options = Options('f', 100, 1000);
  options.load = false;  // Every read finds nothing.
  Report report = load::Run(target, options);
  ASSERT_EQ(report.phases.size(), 1u);
  const PhaseReport& run = report.phases[0];
  const uint64_t rmw = run.ops.at("read_modify_write").ok;
  const uint64_t reads = run.ops.at("read").ok;
  EXPECT_EQ(rmw + reads, 1000u);
  EXPECT_GT(rmw, 0u);
  EXPECT_EQ(target.reads(), 1000u);
  EXPECT_EQ(target.writes(), rmw);
  // Each key is read before any write of it could land.
  EXPECT_EQ(run.ops.at("read_modify_write").not_found, rmw);
  EXPECT_EQ(run.ops.at("read").not_found, reads);
}

TEST_P(RunnerTest, FailuresAreCountedWithTheFirstError) {
  FakeTarget target(/*inline_answers=*/GetParam(), /*fail_every=*/10);
  RunOptions options = Options('c', 100, 1000);
  options.load = false;
  Report report = load::Run(target, options);
  const PhaseReport& run = report.phases.at(0);
  EXPECT_EQ(run.total_ok, 900u);
  EXPECT_EQ(run.total_failed, 100u);
  EXPECT_EQ(run.ops.at("read").failed, 100u);
  EXPECT_NE(run.first_error.find("planted failure"), std::string::npos);
}

TEST_P(RunnerTest, ADurationEndsARunWithoutAnOperationCount) {
  FakeTarget target(/*inline_answers=*/GetParam());
  RunOptions options = Options('c', 100, 0);
  options.duration_s = 0.2;
  options.load = false;
  Report report = load::Run(target, options);
  const PhaseReport& run = report.phases.at(0);
  EXPECT_GT(run.total_ok, 0u);
  EXPECT_GE(run.seconds, 0.2);
  EXPECT_EQ(target.reads(), run.total_ok);
}

INSTANTIATE_TEST_SUITE_P(Answers, RunnerTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Inline" : "FromAnotherThread";
                         });

}  // namespace
}  // namespace pegasus::load
