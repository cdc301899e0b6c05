/*
 * The state machine the fsm and snapshot fuzz targets work on: an LMDB
 * store in a temporary directory with an on-call configuration and the
 * cluster secret applied, reset to that state before every input (from a
 * snapshot taken once). The directory is removed as soon as LMDB has
 * opened its files, so that no run leaves one behind.
 */
#ifndef KLAXON_FUZZ_FSM_ENV_H
#define KLAXON_FUZZ_FSM_ENV_H

#include "fsm.h"
#include "store.h"

#define FUZZ_NODE_ID 1
#define FUZZ_NONCE 7
#define FUZZ_START_MS 1767600000000ull /* 2026-01-05T08:00:00Z */

struct fuzz_fsm
{
    char dir[64];
    struct store store;
    struct fsm fsm;
    struct raft_buffer base; /* snapshot of the configured state */
    uint64_t index;          /* last entry index applied */
    uint64_t seq;            /* batch sequence of our own entries */
};

/* Open once (aborts if it cannot: nothing could be fuzzed). */
struct fuzz_fsm *fuzz_fsm_get(void);

/* Back to the configured state, the fsm's memory too. */
void fuzz_fsm_reset(struct fuzz_fsm *x);

/* Apply one entry of our own with these commands. 0 or a raft error. */
int fuzz_fsm_apply(struct fuzz_fsm *x,
                   uint64_t time_ms,
                   Klaxon__Cluster__Command **cmds,
                   size_t n);

/* The on-call file of the configured state. */
extern const char fuzz_oncall_yaml[];

#endif /* KLAXON_FUZZ_FSM_ENV_H */
