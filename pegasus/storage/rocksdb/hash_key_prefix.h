// The RocksDB prefix extractor the engine uses: a storage key's prefix is
// [u16 length][hash key], so bloom filters and prefix seeks work per hash key.
// Exposed for tools that open the same data, and for benchmarks that must
// configure plain RocksDB exactly as the engine does.

#ifndef PEGASUS_STORAGE_ROCKSDB_HASH_KEY_PREFIX_H_
#define PEGASUS_STORAGE_ROCKSDB_HASH_KEY_PREFIX_H_

#include <memory>

#include "rocksdb/slice_transform.h"

namespace pegasus {

// Its Name() is "pegasus.HashKeyPrefix", recorded in RocksDB's options files.
std::shared_ptr<const rocksdb::SliceTransform> NewHashKeyPrefixExtractor();

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_ROCKSDB_HASH_KEY_PREFIX_H_
