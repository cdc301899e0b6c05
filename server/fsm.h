/*
 * The Raft state machine: applies committed entries (cluster.Entry, a batch
 * of commands) to the store, takes and restores snapshots.
 *
 * Apply is deterministic: it uses no clock but the entry's time_ms (made
 * monotonic with the last applied time), no randomness, and the same
 * validation on every node. Each entry is one LMDB write transaction that
 * also records the entry's index, so an entry at or below the recorded
 * index is skipped (replay after restart). An entry that does not decode is
 * skipped by every node alike and logged. Only LMDB failures (disk full,
 * I/O error) are fatal: the fatal hook is called and the node stops.
 *
 * Results reach the proposing leader without allocation on followers: an
 * entry names its proposer (node id + per-process nonce + batch seq); when
 * the proposer applies it, the results hook hands out the batch's result
 * slots.
 *
 * Snapshots (fsm version 3): snapshot() opens an LMDB read transaction on
 * the loop; snapshot_async() writes the state from it to a file in the
 * thread pool while apply goes on, and gives libraft a reference to it
 * (snapfile.h); snapshot_finalize() frees the buffer and ends the
 * transaction. Restore (a reference or a full snapshot received through
 * InstallSnapshot) replaces the store unless the store is already at or
 * past the snapshot's index.
 */
#ifndef KLAXON_FSM_H
#define KLAXON_FSM_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "cluster.pb-c.h"
#include "log_budget.h"
#include "store.h"

/* Result slots for batch `seq` of this process, or NULL if not pending. */
typedef struct apply_result *(*fsm_results_fn)(void *arg,
                                               uint64_t seq,
                                               size_t n);
typedef void (*fsm_fatal_fn)(void *arg, const char *msg);

struct fsm
{
    struct raft_fsm iface; /* given to raft_init; iface.data = this */
    struct store *store;
    struct raft *raft; /* to learn the index being applied */
    uint64_t node_id;
    uint64_t nonce;
    uint64_t applied;      /* index recorded in the store */
    uint64_t last_time_ms; /* latest entry time applied */
    fsm_results_fn results;
    void *results_arg;
    fsm_fatal_fn fatal;
    void *fatal_arg;
    MDB_txn *snap_txn;        /* read transaction of a snapshot in progress */
    struct log_budget budget; /* libraft's in-memory log (log_budget.h) */
    /* Where snapshots keep the state (snapfile.h), and the Raft directory
     * whose snapshots name the files to keep. NULL: snapshots hold the
     * whole state in memory (format 1). */
    const char *snap_dir;
    const char *raft_dir;
    struct apply_env env; /* config cache, secret, changes for the engine */
    /* counters for status and metrics */
    uint64_t n_entries;
    uint64_t n_commands;
    uint64_t n_skipped;
    char too_new[256]; /* why the last entry could not be applied */
};

/* Set up the fsm over an open store. Without async_snapshots the snapshot
 * is serialized on the loop inside snapshot(). */
int fsm_init(struct fsm *f,
             struct store *store,
             uint64_t node_id,
             uint64_t nonce,
             bool async_snapshots,
             char *err,
             size_t errlen);

/* Release the snapshot transaction, if any. */
void fsm_close(struct fsm *f);

/*
 * Apply one entry at `index` (what the raft apply callback does, exposed for
 * tests). Returns 0, or a raft error code after a fatal store failure.
 */
int fsm_apply_entry(struct fsm *f,
                    uint64_t index,
                    const void *data,
                    size_t len);

/* Encode an entry into a buffer from raft_malloc(), for raft_apply(). */
int fsm_encode_entry(const Klaxon__Cluster__Entry *e, struct raft_buffer *out);

#endif /* KLAXON_FSM_H */
