#include "pegasus/runtime/file_system.h"

#include "pegasus/base/status.h"

namespace pegasus {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 std::string_view data) {
  std::string temp = path + ".tmp";
  PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           fs->NewWritableFile(temp));
  PEGASUS_RETURN_IF_ERROR(file->Append(data));
  PEGASUS_RETURN_IF_ERROR(file->Sync());
  PEGASUS_RETURN_IF_ERROR(file->Close());
  PEGASUS_RETURN_IF_ERROR(fs->Rename(temp, path));
  return fs->SyncDir(DirName(path));
}

}  // namespace pegasus
