#include "pegasus/replication/checkpoint_blob.h"

#include <memory>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus::replication {
namespace {

class CheckpointBlobTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& data) {
    auto file = fs_->NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(data).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  std::unique_ptr<FileSystem> fs_ = NewMemFileSystem();
};

TEST_F(CheckpointBlobTest, PackedDirectoryUnpacksToTheSameFiles) {
  ASSERT_TRUE(fs_->CreateDirs("/a").ok());
  Write("/a/x", "hello");
  Write("/a/empty", "");
  Write("/a/y", std::string(1000, '\0'));
  auto blob = PackDirectory(fs_.get(), "/a");
  ASSERT_TRUE(blob.ok()) << blob.status();
  ASSERT_TRUE(UnpackDirectory(fs_.get(), *blob, "/b/c").ok());
  EXPECT_EQ(*fs_->ListDir("/b/c"),
            (std::vector<std::string>{"empty", "x", "y"}));
  EXPECT_EQ(*fs_->ReadFile("/b/c/x"), "hello");
  EXPECT_EQ(*fs_->ReadFile("/b/c/y"), std::string(1000, '\0'));
}

TEST_F(CheckpointBlobTest, DamagedBlobIsCorruptionAndWritesNothing) {
  ASSERT_TRUE(fs_->CreateDirs("/a").ok());
  Write("/a/x", "hello");
  std::string blob = *PackDirectory(fs_.get(), "/a");
  std::string flipped = blob;
  flipped[4 + 4 + 1 + 8] ^= 1;  // A byte of x's data.
  EXPECT_EQ(ToErrorCode(UnpackDirectory(fs_.get(), flipped, "/b")),
            ErrorCode::kCorruption);
  EXPECT_EQ(ToErrorCode(UnpackDirectory(fs_.get(), blob.substr(0, 10), "/b")),
            ErrorCode::kCorruption);
  EXPECT_EQ(ToErrorCode(UnpackDirectory(fs_.get(), blob + "z", "/b")),
            ErrorCode::kCorruption);
  EXPECT_FALSE(fs_->FileExists("/b/x"));
}

TEST_F(CheckpointBlobTest, NamesThatLeaveTheDirectoryAreRefused) {
  std::string blob;
  blob += std::string("\0\0\0\1", 4);
  blob += std::string("\0\0\0\5", 4) + "../x1";
  blob += std::string(8, '\0');
  blob += std::string(8, '\0');
  EXPECT_EQ(ToErrorCode(UnpackDirectory(fs_.get(), blob, "/b")),
            ErrorCode::kCorruption);
}

}  // namespace
}  // namespace pegasus::replication
