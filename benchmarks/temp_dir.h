// A fresh directory for a benchmark's files, under TEST_TMPDIR or /tmp,
// removed with everything in it on destruction.

#ifndef PEGASUS_BENCHMARKS_TEMP_DIR_H_
#define PEGASUS_BENCHMARKS_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace pegasus::bench {

class TempDir {
 public:
  // `prefix` names the directory: <root>/<prefix>_XXXXXX.
  explicit TempDir(const std::string& prefix) {
    const char* root = std::getenv("TEST_TMPDIR");
    std::string pattern =
        std::string(root != nullptr && *root != '\0' ? root : "/tmp") + "/" +
        prefix + "_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pegasus::bench

#endif  // PEGASUS_BENCHMARKS_TEMP_DIR_H_
