// Assertions for invariants. They stay on in release builds: a broken
// invariant in a replicated store must stop the process before it serves or
// persists wrong data.
//
//   PEGASUS_CHECK(decree > last_committed_) << "replica " << gpid;
//   PEGASUS_CHECK_EQ(a, b);   // also _NE, _LT, _LE, _GT, _GE
//
// PEGASUS_DCHECK* are for checks too expensive for release builds; they
// compile to nothing under NDEBUG.
//
// Thread-safety: safe to use from any thread.

#ifndef PEGASUS_BASE_CHECK_H_
#define PEGASUS_BASE_CHECK_H_

#include <memory>
#include <sstream>
#include <string>

namespace pegasus::internal {

// Collects a failure message and aborts the process when destroyed.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const std::string& condition);
  [[noreturn]] ~CheckFailure();

  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Returns nullptr when `ok`, else "expr (a vs. b)".
template <typename A, typename B>
std::unique_ptr<std::string> CheckOpMessage(bool ok, const A& a, const B& b,
                                            const char* expr) {
  if (ok) return nullptr;
  std::ostringstream out;
  out << expr << " (" << a << " vs. " << b << ")";
  return std::make_unique<std::string>(out.str());
}

}  // namespace pegasus::internal

#define PEGASUS_CHECK(condition)                                          \
  while (!(condition))                                                    \
  ::pegasus::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define PEGASUS_CHECK_OP_(op, a, b)                                        \
  while (auto pegasus_check_message_ = [&] {                               \
           const auto& pegasus_check_a_ = (a);                             \
           const auto& pegasus_check_b_ = (b);                             \
           return ::pegasus::internal::CheckOpMessage(                     \
               pegasus_check_a_ op pegasus_check_b_, pegasus_check_a_,     \
               pegasus_check_b_, #a " " #op " " #b);                       \
         }())                                                              \
  ::pegasus::internal::CheckFailure(__FILE__, __LINE__,                    \
                                    *pegasus_check_message_)               \
      .stream()

#define PEGASUS_CHECK_EQ(a, b) PEGASUS_CHECK_OP_(==, a, b)
#define PEGASUS_CHECK_NE(a, b) PEGASUS_CHECK_OP_(!=, a, b)
#define PEGASUS_CHECK_LT(a, b) PEGASUS_CHECK_OP_(<, a, b)
#define PEGASUS_CHECK_LE(a, b) PEGASUS_CHECK_OP_(<=, a, b)
#define PEGASUS_CHECK_GT(a, b) PEGASUS_CHECK_OP_(>, a, b)
#define PEGASUS_CHECK_GE(a, b) PEGASUS_CHECK_OP_(>=, a, b)

#ifdef NDEBUG
#define PEGASUS_DCHECK(condition) \
  while (false) PEGASUS_CHECK(condition)
#else
#define PEGASUS_DCHECK(condition) PEGASUS_CHECK(condition)
#endif

#endif  // PEGASUS_BASE_CHECK_H_
