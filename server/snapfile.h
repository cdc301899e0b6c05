/*
 * State snapshot files: the snapshot libraft keeps is a small reference
 * (a format-2 SnapshotHeader) to a file in DATA_DIR/snapshots/ that holds
 * the state itself, so neither taking a snapshot nor starting a node holds
 * the whole state in memory.
 *
 * File "state-<index, 20 digits>.snap": the format-1 snapshot stream
 * (snapshot.h) of the state at that index compressed as one LZ4 frame
 * (a third to a quarter of the bytes to write), then the SHA-256 of the
 * frame (32 bytes). It is written through a temporary file, fsync'd and renamed
 * (file_sink.h), in libuv's thread pool, from an LMDB read transaction.
 *
 * Uses: a node whose state was discarded after a machine crash loads it
 * (snapfile_load); a leader sending InstallSnapshot reads it into memory
 * (snapfile_read), so what travels is a full format-1 snapshot, as before.
 * A file is removed once no snapshot in the Raft directory names its index
 * (snapfile_prune).
 */
#ifndef KLAXON_SNAPFILE_H
#define KLAXON_SNAPFILE_H

#include <lmdb.h>
#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#include "file_sink.h"
#include "store.h"

#define SNAPFILE_FORMAT_REF 2
#define SNAPFILE_DIR "snapshots"

struct snapfile_ref
{
    uint64_t index;        /* the state's applied index */
    char file[64];         /* name in the snapshot directory */
    uint64_t size;         /* of the file: the compressed stream and checksum */
    uint64_t stream_bytes; /* of the stream, uncompressed */
    uint8_t sha256[FILE_SINK_SUM_LEN];
};

/* Write the state seen by `txn` to a new file in `dir` and describe it in
 * *ref. 0, or -1 with a message (no file is left behind). */
int snapfile_write(MDB_txn *txn,
                   const struct store *s,
                   const char *dir,
                   struct snapfile_ref *ref,
                   char *err,
                   size_t errlen);

/* The reference as a snapshot buffer (raft_malloc). 0, or -1 (memory). */
int snapfile_ref_encode(const struct snapfile_ref *ref,
                        struct raft_buffer *out);

/* 1 and *ref if `data` is a reference, 0 if it is a snapshot of another
 * format (or no snapshot at all), -1 if it is a damaged reference. */
int snapfile_ref_decode(const void *data, size_t len, struct snapfile_ref *ref);

/* Read the file's stream into one raft_malloc'd buffer (a format-1
 * snapshot), checked against its checksum and the reference, and
 * decompressed. 0, or -1 with a message. */
int snapfile_read(const char *dir,
                  const struct snapfile_ref *ref,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen);

/* Read the file (snapfile_read) and replace the store's content with it
 * (snapshot_load: all or nothing). 0, or -1 with a message. */
int snapfile_load(struct store *s,
                  const char *dir,
                  const struct snapfile_ref *ref,
                  char *err,
                  size_t errlen);

/* Remove the files of `dir` whose index no snapshot in `raft_dir` names,
 * except `keep` (0: none), and temporary files. Keeps everything if
 * `raft_dir` cannot be read. */
void snapfile_prune(const char *dir, const char *raft_dir, uint64_t keep);

#endif /* KLAXON_SNAPFILE_H */
