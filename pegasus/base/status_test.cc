#include "pegasus/base/status.h"

#include <string>

#include "gtest/gtest.h"

namespace pegasus {
namespace {

TEST(StatusTest, PegasusErrorCarriesItsCodeAndMessage) {
  absl::Status status = PegasusError(ErrorCode::kInvalidHashKey, "empty");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()), "empty");
  EXPECT_EQ(ToErrorCode(status), ErrorCode::kInvalidHashKey);
  EXPECT_EQ(static_cast<int>(ToErrorCode(status)), -202);
}

TEST(StatusTest, CodesHavePegasusNumbersAndNames) {
  EXPECT_EQ(static_cast<int>(ErrorCode::kTryAgain), -1013);
  EXPECT_EQ(static_cast<int>(ErrorCode::kIncomplete), -1007);
  EXPECT_EQ(static_cast<int>(ErrorCode::kScanComplete), 1);
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "PERR_NOT_FOUND");
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(-9999)), "PERR_UNRECOGNIZED");
}

TEST(StatusTest, EveryCodeRoundTripsThroughAStatus) {
  for (int value : {1, -1, -2, -3, -4, -5, -6, -7, -101, -102, -103, -104,
                    -105, -106, -107, -201, -202, -203, -204, -205, -206,
                    -1001, -1002, -1003, -1004, -1005, -1006, -1007, -1008,
                    -1009, -1010, -1011, -1012, -1013}) {
    auto code = static_cast<ErrorCode>(value);
    EXPECT_NE(ErrorCodeName(code), "PERR_UNRECOGNIZED") << value;
    EXPECT_EQ(ToErrorCode(PegasusError(code, "x")), code) << value;
  }
}

TEST(StatusTest, PlainStatusesMapByTheirCode) {
  EXPECT_EQ(ToErrorCode(absl::OkStatus()), ErrorCode::kOk);
  EXPECT_EQ(ToErrorCode(absl::NotFoundError("x")), ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(absl::InvalidArgumentError("x")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ToErrorCode(absl::DataLossError("x")), ErrorCode::kCorruption);
  EXPECT_EQ(ToErrorCode(absl::DeadlineExceededError("x")),
            ErrorCode::kTimeout);
}

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return PegasusError(ErrorCode::kInvalidArgument, "odd");
  return value / 2;
}

absl::StatusOr<int> Quarter(int value) {
  PEGASUS_ASSIGN_OR_RETURN(int half, Half(value));
  PEGASUS_ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status Validate(int value) {
  PEGASUS_RETURN_IF_ERROR(Half(value).status());
  return absl::OkStatus();
}

TEST(StatusTest, MacrosPropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(ToErrorCode(Quarter(6).status()), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Validate(4).ok());
  EXPECT_EQ(ToErrorCode(Validate(3)), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace pegasus
