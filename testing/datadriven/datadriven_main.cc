// main() for tests built on datadriven: gtest's flags, plus --rewrite, which
// writes the actual outputs back into the test files:
//
//   bazel run //some/package:some_test -- --rewrite

#include <iostream>
#include <string_view>

#include "gtest/gtest.h"
#include "testing/datadriven/datadriven.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--rewrite" || arg == "-rewrite") {
      pegasus::datadriven::SetRewrite(true);
    } else {
      std::cerr << "unknown flag " << arg << " (only gtest's and --rewrite)\n";
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
