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

#include "store.h"

#define SNAPSHOT_FORMAT 1

/* Dump the store as seen by `txn` (a read transaction) into one buffer
 * allocated with raft_malloc(). 0, or -1 with a message. */
int snapshot_dump(MDB_txn *txn,
                  const struct store *s,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen);

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
