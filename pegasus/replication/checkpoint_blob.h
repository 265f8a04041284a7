// A storage checkpoint directory packed into one byte string, so a primary
// can send it to a learner in a message, and unpacked on the other side.
//
// Format (integers big-endian): [u32 file count], then per file
// [u32 name length][name][u64 data length][data][u64 crc64 of the data].
// Names are plain file names (no '/'); the directory is flat, as the
// storage engines' checkpoints are.

#ifndef PEGASUS_REPLICATION_CHECKPOINT_BLOB_H_
#define PEGASUS_REPLICATION_CHECKPOINT_BLOB_H_

#include <string>

#include "absl/status/statusor.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus::replication {

// Packs every file directly under `dir`.
absl::StatusOr<std::string> PackDirectory(FileSystem* fs,
                                          const std::string& dir);

// Writes the blob's files into `dir` (created; must hold none of them),
// syncing each file and the directory. A blob that does not parse, or a file
// failing its checksum, is PERR_CORRUPTION and leaves nothing named in `dir`
// durable.
absl::Status UnpackDirectory(FileSystem* fs, const std::string& blob,
                             const std::string& dir);

// Deletes the files directly under `dir` (best effort: for clean-up).
void RemoveDirectoryFiles(FileSystem* fs, const std::string& dir);

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_CHECKPOINT_BLOB_H_
