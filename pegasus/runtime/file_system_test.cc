// One suite, run against the in-memory and the POSIX file systems.

#include "pegasus/runtime/file_system.h"

#include <stdlib.h>
#include <unistd.h>

#include <functional>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

struct FileSystemCase {
  std::string name;
  std::function<FileSystem*()> make;
};

class FileSystemTest : public testing::TestWithParam<FileSystemCase> {
 protected:
  void SetUp() override {
    fs_ = GetParam().make();
    char pattern[] = "/tmp/pegasus_fs_test_XXXXXX";
    if (GetParam().name == "posix") {
      ASSERT_NE(::mkdtemp(pattern), nullptr);
      root_ = pattern;
    } else {
      root_ = "/mem/root";
      ASSERT_TRUE(fs_->CreateDirs(root_).ok());
    }
  }

  FileSystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FileSystemTest, WritesReadsAndLists) {
  ASSERT_TRUE(fs_->CreateDirs(root_ + "/a/b").ok());
  ASSERT_TRUE(fs_->CreateDirs(root_ + "/a/b").ok()) << "idempotent";
  auto file = fs_->NewWritableFile(root_ + "/a/f");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("hello ").ok());
  ASSERT_TRUE((*file)->Append(std::string("\0world", 6)).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*fs_->ReadFile(root_ + "/a/f"), std::string("hello \0world", 12));
  EXPECT_EQ(*fs_->ListDir(root_ + "/a"), (std::vector<std::string>{"b", "f"}));
  EXPECT_TRUE(fs_->FileExists(root_ + "/a/f"));
  EXPECT_TRUE(fs_->SyncDir(root_ + "/a").ok());
}

TEST_P(FileSystemTest, RenameReplacesAndDeleteRemoves) {
  ASSERT_TRUE(WriteFileAtomically(fs_, root_ + "/x", "old").ok());
  ASSERT_TRUE(WriteFileAtomically(fs_, root_ + "/x", "new").ok());
  EXPECT_EQ(*fs_->ReadFile(root_ + "/x"), "new");
  EXPECT_FALSE(fs_->FileExists(root_ + "/x.tmp"));
  ASSERT_TRUE(fs_->DeleteFile(root_ + "/x").ok());
  EXPECT_FALSE(fs_->FileExists(root_ + "/x"));
}

TEST_P(FileSystemTest, WritableFileKeepsWritingItsFileAfterARename) {
  auto file = fs_->NewWritableFile(root_ + "/f.tmp");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("before ").ok());
  ASSERT_TRUE(fs_->Rename(root_ + "/f.tmp", root_ + "/f").ok());
  ASSERT_TRUE((*file)->Append("after").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*fs_->ReadFile(root_ + "/f"), "before after");
  EXPECT_FALSE(fs_->FileExists(root_ + "/f.tmp"));
}

TEST_P(FileSystemTest, MissingFilesAreNotFound) {
  EXPECT_EQ(ToErrorCode(fs_->ReadFile(root_ + "/nope").status()),
            ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(fs_->DeleteFile(root_ + "/nope")), ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(fs_->Rename(root_ + "/nope", root_ + "/x")),
            ErrorCode::kNotFound);
  EXPECT_EQ(ToErrorCode(fs_->ListDir(root_ + "/nope").status()),
            ErrorCode::kNotFound);
  EXPECT_FALSE(fs_->NewWritableFile(root_ + "/no/such/dir/f").ok());
}

TEST_P(FileSystemTest, CreateDirsOverAFileFails) {
  ASSERT_TRUE(WriteFileAtomically(fs_, root_ + "/f", "x").ok());
  EXPECT_EQ(ToErrorCode(fs_->CreateDirs(root_ + "/f")), ErrorCode::kIoError);
  EXPECT_EQ(ToErrorCode(fs_->CreateDirs(root_ + "/f/g")), ErrorCode::kIoError);
}

TEST(MemFileSystemTest, RelativePathsWork) {
  std::unique_ptr<FileSystem> fs = NewMemFileSystem();
  ASSERT_TRUE(fs->CreateDirs("data/p1").ok());
  EXPECT_TRUE(fs->FileExists("data/p1"));
}

TEST(PosixFileSystemTest, RelativePathWithOneLetterComponents) {
  std::string root = testing::TempDir() + "/relative_XXXXXX";
  ASSERT_NE(::mkdtemp(root.data()), nullptr);
  ASSERT_EQ(::chdir(root.c_str()), 0);
  ASSERT_TRUE(PosixFileSystem()->CreateDirs("x/y/z").ok());
  EXPECT_TRUE(PosixFileSystem()->FileExists(root + "/x/y/z"));
  ASSERT_TRUE(PosixFileSystem()->CreateDirs("x/y/z/").ok());
}

TEST(DirNameTest, SplitsAtLastSlash) {
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("c"), ".");
}

FileSystem* MemFs() {
  static std::unique_ptr<FileSystem> fs;
  fs = NewMemFileSystem();
  return fs.get();
}

INSTANTIATE_TEST_SUITE_P(
    All, FileSystemTest,
    testing::Values(FileSystemCase{"memory", MemFs},
                    FileSystemCase{"posix", PosixFileSystem}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pegasus
