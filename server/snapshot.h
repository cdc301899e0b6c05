/*
 * Snapshots of the state: a logical dump of every table, portable across
 * LMDB versions and validated record by record when loaded.
 *
 * Layout (all lengths 4-byte big-endian, as client frames):
 *   len | cluster.SnapshotHeader   (format, applied_index, records)
 *   len | cluster.SnapshotRecord   (table, key, value), `records` times
 * Records come table by table in key order. Nothing may follow the last one.
 */
#ifndef KLAXON_SNAPSHOT_H
#define KLAXON_SNAPSHOT_H

#include <lmdb.h>
#include <raft.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "store.h"

#define SNAPSHOT_FORMAT 1

/* Dump the store as seen by `txn` (a read transaction) into one buffer
 * allocated with raft_malloc(). 0, or -1 with a message. */
int snapshot_dump(MDB_txn *txn,
                  const struct store *s,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen);

/* What a dump holds: the state's index, its records, its bytes. */
struct snapshot_info
{
    uint64_t applied_index;
    uint64_t records;
    uint64_t bytes;
};

/* Receives the dump in blocks of about 1 MiB. 0, or -1 to stop it. */
typedef int (*snapshot_flush_fn)(void *arg, const uint8_t *p, size_t n);

/* What snapshot_dump would produce from `txn`, without producing it. */
int snapshot_measure(MDB_txn *txn,
                     const struct store *s,
                     struct snapshot_info *info,
                     char *err,
                     size_t errlen);

/*
 * The same bytes as snapshot_dump, handed to `flush` block by block (for
 * dumps too large to hold in memory). `done` (may be NULL) counts the
 * records produced, updated atomically so another thread can read it.
 * 0 and *info, or -1 with a message.
 */
int snapshot_stream(MDB_txn *txn,
                    const struct store *s,
                    snapshot_flush_fn flush,
                    void *arg,
                    uint64_t *done,
                    struct snapshot_info *info,
                    char *err,
                    size_t errlen);

/* The header the data starts with (free it with
 * klaxon__cluster__snapshot_header__free_unpacked), or NULL. */
Klaxon__Cluster__SnapshotHeader *snapshot_header(const void *data, size_t len);

/* Read the header only. 0, or -1 if the data does not start with one. */
int snapshot_peek(const void *data, size_t len, uint64_t *applied_index);

/* Replace the whole content of the store with the snapshot, in one write
 * transaction: on any error nothing changes. 0, or -1 with a message. */
int snapshot_load(struct store *s,
                  const void *data,
                  size_t len,
                  char *err,
                  size_t errlen);

#endif /* KLAXON_SNAPSHOT_H */
