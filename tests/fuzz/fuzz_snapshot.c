/*
 * Fuzz target "snapshot": arbitrary bytes offered to the state machine as
 * a snapshot to install (the raft_fsm restore callback: snapshot_peek,
 * snapshot_load, reloading what the fsm keeps in memory). A snapshot that
 * loads must dump again and load from its own dump, and entries are then
 * applied on top of it.
 */
#include <stdlib.h>
#include <string.h>

#include "fsm_env.h"
#include "fuzz.h"
#include "snapshot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fuzz_fsm_get();
    return 0;
}

/* Dump what was loaded and load that again. */
static void reload_own_dump(struct fuzz_fsm *x)
{
    struct raft_buffer buf = {NULL, 0};
    char err[256];
    MDB_txn *txn;

    if (mdb_txn_begin(x->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        abort();
    }
    if (snapshot_dump(txn, &x->store, &buf, err, sizeof err) != 0) {
        abort();
    }
    mdb_txn_abort(txn);
    if (snapshot_load(&x->store, buf.base, buf.len, err, sizeof err) != 0) {
        abort(); /* our own dump must load */
    }
    raft_free(buf.base);
}

/* A trigger and a tick of every armed timer's kind, on the loaded state. */
static void apply_on_top(struct fuzz_fsm *x)
{
    Klaxon__Cluster__Command c = KLAXON__CLUSTER__COMMAND__INIT;
    Klaxon__TriggerRequest t = KLAXON__TRIGGER_REQUEST__INIT;
    Klaxon__Cluster__Command *cmds[1] = {&c};

    t.service = "api";
    t.severity = 1;
    t.summary = "after restore";
    t.source = "fuzz";
    t.dedup_key = "disk";
    c.request_id.data = (uint8_t *)"fuzz-snapshot-01";
    c.request_id.len = 16;
    c.op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
    c.trigger = &t;
    /* A state whose records do not decode stops the node (fsm fatal):
     * an error here is that stop, and only memory errors are bugs. */
    (void)fuzz_fsm_apply(x, x->fsm.last_time_ms + 60000, cmds, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_fsm *x = fuzz_fsm_get();
    struct raft_buffer buf;
    int rv;

    fuzz_fsm_reset(x);
    /* a snapshot is installed only when it is ahead of the state */
    x->fsm.applied = 0;
    buf.len = size;
    buf.base = raft_malloc(size > 0 ? size : 1);
    if (buf.base == NULL) {
        return 0;
    }
    memcpy(buf.base, data, size);
    rv = x->fsm.iface.restore(&x->fsm.iface, &buf);
    if (rv != 0) {
        raft_free(buf.base); /* on success the fsm took it */
        return 0;
    }
    x->index = x->fsm.applied;
    reload_own_dump(x);
    apply_on_top(x);
    return 0;
}
