#include "fsm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.pb-c.h"
#include "faults.h"
#include "frame.h"
#include "handoff.h"
#include "incident_paging.h"
#include "log.h"
#include "maintenance.h"
#include "map_trim.h"
#include "members.h"
#include "monitor.h"
#include "oncall_state.h"
#include "paging.h"
#include "requests.h"
#include "snapfile.h"
#include "snapshot.h"
#include "timers.h"
#include "validate.h"
#include "version.h"

#define ENTRY_VERSION 1
#define ENTRY_HEADER 4 /* u32 big-endian length of the encoded Entry */
/* commands applied between two looks at the mapped state pages */
#define TRIM_LOOK_COMMANDS 8

/* apply_commands: an entry this build cannot apply (see version.h). */
#define APPLY_TOO_NEW 1

static void fatal_msg(struct fsm *f, const char *msg)
{
    log_error("%s", msg);
    if (f->fatal != NULL) {
        f->fatal(f->fatal_arg, msg);
    }
}

static void fatal(struct fsm *f, const char *what, int rv)
{
    char msg[256];
    snprintf(msg, sizeof msg, "apply: %s: %s", what, mdb_strerror(rv));
    fatal_msg(f, msg);
}

/* Stop at an entry this build cannot apply: it stays in the Raft log and
 * is applied once the node runs a release that knows it. */
static void fatal_too_new(struct fsm *f, uint64_t index, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "apply: entry %llu holds %s: stopping instead of misapplying "
             "it; upgrade this node and start it again",
             (unsigned long long)index, why);
    fatal_msg(f, msg);
}

/* A Tick: act on the timer if its key is still armed. */
static int apply_tick(struct apply_ctx *ctx,
                      const Klaxon__Cluster__Tick *t,
                      struct apply_result *res)
{
    struct timer_key k;
    bool armed;
    int rv;

    if (timer_key_decode(t->key.data, t->key.len, &k) != 0) {
        return apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                            "key: not a timer key");
    }
    rv = timers_take(ctx->txn, ctx->store, t->key.data, t->key.len, &armed);
    if (rv != 0 || !armed) {
        return rv;
    }
    ctx->env->timers_changed = true;
    switch (k.kind) {
        case TIMER_HEARTBEAT:
            return monitor_tick(ctx, &k);
        case TIMER_HANDOFF:
            return handoff_tick(ctx, &k);
        default:
            return incident_tick(ctx, &k);
    }
}

/* Run the operation of a valid command. */
static int apply_op(struct apply_ctx *ctx,
                    const Klaxon__Cluster__Command *cmd,
                    struct apply_result *res)
{
    switch (cmd->op_case) {
        case KLAXON__CLUSTER__COMMAND__OP_TRIGGER:
            return incident_trigger(ctx, cmd->trigger, res);
        case KLAXON__CLUSTER__COMMAND__OP_ACK:
            return incident_ack(ctx, cmd->ack, res);
        case KLAXON__CLUSTER__COMMAND__OP_RESOLVE:
            return incident_resolve(ctx, cmd->resolve, res);
        case KLAXON__CLUSTER__COMMAND__OP_NOTE:
            return incident_note(ctx, cmd->note, res);
        case KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG:
            return oncall_set_config(ctx, cmd->set_config, res);
        case KLAXON__CLUSTER__COMMAND__OP_TICK:
            return apply_tick(ctx, cmd->tick, res);
        case KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME:
            return paging_outcome(ctx, cmd->page_outcome, res);
        case KLAXON__CLUSTER__COMMAND__OP_SET_SECRET:
            return oncall_set_secret(ctx, cmd->set_secret, res);
        case KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT:
            return monitor_checkin(ctx, cmd->heartbeat, res);
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START:
            return maintenance_start(ctx, cmd->maintenance_start, res);
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END:
            return maintenance_end(ctx, cmd->maintenance_end, res);
        case KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE:
            return incident_status_update(ctx, cmd->status_update, res);
        case KLAXON__CLUSTER__COMMAND__OP_MEMBER_SET:
            return members_apply_set(ctx, cmd->member_set, res);
        case KLAXON__CLUSTER__COMMAND__OP_MEMBER_FORGET:
            return members_apply_forget(ctx, cmd->member_forget, res);
        default:
            return apply_answer(res, KLAXON__CODE__UNSUPPORTED,
                                "op: unknown operation");
    }
}

/* Apply one command; the result goes to res. LMDB error or 0. A client
 * command without a usable request id is refused by validation and not
 * recorded; internal commands carry none. */
static int apply_command(struct apply_ctx *ctx,
                         const Klaxon__Cluster__Command *cmd,
                         struct apply_result *res)
{
    bool has_id;
    bool found;
    int rv = 0;

    memset(res, 0, sizeof *res);
    has_id = !validate_is_internal(cmd) &&
             validate_request_id(cmd->request_id, res->message,
                                 sizeof res->message) == KLAXON__CODE__OK;
    if (has_id) {
        rv =
            requests_lookup(ctx->txn, ctx->store, cmd->request_id, res, &found);
        if (rv != 0 || found) {
            return rv;
        }
    }
    res->code = validate_command(cmd, res->message, sizeof res->message);
    if (res->code == KLAXON__CODE__OK) {
        rv = apply_op(ctx, cmd, res);
    }
    if (rv == 0 && has_id) {
        rv = requests_record(ctx->txn, ctx->store, cmd->request_id, res,
                             ctx->now_ms);
    }
    return rv;
}

/* Let the trimmer look at the mapped state pages (map_trim.h): every few
 * commands, since one command can map megabytes (the kernel maps a
 * faulting page's whole large folio, and its neighbours). */
static void look_at_mapped_pages(const struct fsm *f)
{
    if (f->store->trim != NULL) {
        (void)map_trim_check(f->store->trim);
    }
}

/* Apply every command of a decoded entry inside txn. */
static int apply_commands(struct fsm *f,
                          MDB_txn *txn,
                          const Klaxon__Cluster__Entry *e,
                          struct apply_result *out)
{
    struct apply_ctx ctx = {txn, f->store, f->last_time_ms, &f->env};
    struct apply_result scratch;
    int rv;

    for (size_t i = 0; i < e->n_commands; i++) {
        if (command_too_new(e->commands[i], f->too_new, sizeof f->too_new) !=
            0) {
            return APPLY_TOO_NEW;
        }
    }
    if (e->time_ms > ctx.now_ms) {
        ctx.now_ms = e->time_ms;
    }
    for (size_t i = 0; i < e->n_commands; i++) {
        rv = apply_command(&ctx, e->commands[i],
                           out != NULL ? &out[i] : &scratch);
        if (rv != 0) {
            return rv;
        }
        if (i % TRIM_LOOK_COMMANDS == TRIM_LOOK_COMMANDS - 1) {
            look_at_mapped_pages(f);
        }
    }
    /* Expire faster than ids arrive, so the table cannot outgrow its
     * retention window under sustained load. */
    rv = requests_expire(txn, f->store, ctx.now_ms,
                         REQUEST_EXPIRE_BATCH + 2 * (unsigned)e->n_commands);
    if (rv == 0) {
        rv = store_meta_put(txn, f->store, META_LAST_TIME, ctx.now_ms);
    }
    f->last_time_ms = ctx.now_ms;
    return rv;
}

/* The entry, or NULL when the bytes do not decode; *version is the
 * entry's format (0 when it does not decode). */
static Klaxon__Cluster__Entry *decode_entry(const void *data,
                                            size_t len,
                                            uint32_t *version)
{
    const uint8_t *p = data;
    Klaxon__Cluster__Entry *e;
    uint32_t n;

    *version = 0;
    if (len < ENTRY_HEADER) {
        return NULL;
    }
    n = frame_get_len(p);
    if (n > len - ENTRY_HEADER) {
        return NULL;
    }
    e = klaxon__cluster__entry__unpack(NULL, n, p + ENTRY_HEADER);
    if (e != NULL) {
        *version = e->version;
    }
    return e;
}

static struct apply_result *result_slots(struct fsm *f,
                                         const Klaxon__Cluster__Entry *e)
{
    if (e == NULL || f->results == NULL || e->proposer_id != f->node_id ||
        e->proposer_nonce != f->nonce) {
        return NULL;
    }
    return f->results(f->results_arg, e->batch_seq, e->n_commands);
}

int fsm_apply_entry(struct fsm *f, uint64_t index, const void *data, size_t len)
{
    Klaxon__Cluster__Entry *e;
    uint64_t prev_time = f->last_time_ms;
    uint32_t version;
    MDB_txn *txn;
    int rv;

    if (index <= f->applied) {
        f->n_skipped++;
        return 0;
    }
    e = decode_entry(data, len, &version);
    if (e == NULL) {
        log_error("apply: entry %llu does not decode (%zu bytes); skipped",
                  (unsigned long long)index, len);
    } else if (version != ENTRY_VERSION) {
        snprintf(f->too_new, sizeof f->too_new,
                 "entry format %u; this klaxond knows format %u",
                 (unsigned)version, ENTRY_VERSION);
        fatal_too_new(f, index, f->too_new);
        goto err_after_decode;
    }
    rv = mdb_txn_begin(f->store->env, NULL, 0, &txn);
    if (rv != 0) {
        fatal(f, "begin", rv);
        goto err_after_decode;
    }
    if (e != NULL) {
        rv = apply_commands(f, txn, e, result_slots(f, e));
    }
    if (rv == 0) {
        rv = store_meta_put(txn, f->store, META_APPLIED_INDEX, index);
    }
    if (rv == 0 && fault_point("klaxon/store/commit")) {
        rv = EIO;
    }
    if (rv == 0) {
        rv = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rv != 0) {
        open_counts_reset(&f->env.open); /* rebuilt from what committed */
    }
    if (rv == APPLY_TOO_NEW) {
        f->last_time_ms = prev_time;
        fatal_too_new(f, index, f->too_new);
        goto err_after_decode;
    }
    if (rv != 0) {
        f->last_time_ms = prev_time;
        fatal(f, "commit", rv);
        goto err_after_decode;
    }
    f->applied = index;
    f->n_entries++;
    f->n_commands += e != NULL ? e->n_commands : 0;
    if (e != NULL) {
        klaxon__cluster__entry__free_unpacked(e, NULL);
    }
    return 0;

err_after_decode:
    if (e != NULL) {
        klaxon__cluster__entry__free_unpacked(e, NULL);
    }
    return RAFT_IOERR;
}

int fsm_encode_entry(const Klaxon__Cluster__Entry *e, struct raft_buffer *out)
{
    size_t n = klaxon__cluster__entry__get_packed_size(e);
    /* libraft 0.15 finalizes segments to 8-byte boundaries but reads
     * entries at their exact length: an entry whose length is not a
     * multiple of 8 makes the whole log unreadable after a clean stop. */
    size_t total = (ENTRY_HEADER + n + 7) & ~(size_t)7;
    uint8_t *p;

    if (n > UINT32_MAX) {
        return RAFT_TOOBIG;
    }
    p = raft_malloc(total);
    if (p == NULL) {
        return RAFT_NOMEM;
    }
    frame_put_len(p, (uint32_t)n);
    klaxon__cluster__entry__pack(e, p + ENTRY_HEADER);
    memset(p + ENTRY_HEADER + n, 0, total - ENTRY_HEADER - n);
    out->base = p;
    out->len = total;
    return 0;
}

/* --- raft_fsm callbacks ----------------------------------------------------
 */

static int fsm_apply_cb(struct raft_fsm *iface,
                        const struct raft_buffer *buf,
                        void **result)
{
    struct fsm *f = iface->data;
    uint64_t index = raft_last_applied(f->raft) + 1;
    int rv;

    *result = NULL;
    rv = fsm_apply_entry(f, index, buf->base, buf->len);
    if (rv == 0 && log_budget_add(&f->budget, buf->len)) {
        raft_set_snapshot_threshold(f->raft, f->budget.threshold);
        raft_set_snapshot_trailing(f->raft, f->budget.trailing);
    }
    look_at_mapped_pages(f);
    return rv;
}

/* The state into a file of f->snap_dir, and its reference into *b. */
static int write_snapfile(struct fsm *f, struct raft_buffer *b)
{
    struct snapfile_ref ref;
    char err[512];

    if (snapfile_write(f->snap_txn, f->store, f->snap_dir, &ref, err,
                       sizeof err) != 0) {
        log_error("%s", err);
        return RAFT_IOERR;
    }
    snapfile_prune(f->snap_dir, f->raft_dir, ref.index);
    if (snapfile_ref_encode(&ref, b) != 0) {
        return RAFT_NOMEM;
    }
    log_info("snapshot: state at index %llu written to %s (%llu bytes)",
             (unsigned long long)ref.index, ref.file,
             (unsigned long long)ref.size);
    return 0;
}

/* Runs in the thread pool (or on the loop without async snapshots): reads
 * only f->snap_txn and f->store's table handles. */
static int dump_snapshot(struct fsm *f,
                         struct raft_buffer *bufs[],
                         unsigned *n_bufs)
{
    struct raft_buffer *b;
    char err[256];
    int rv;

    b = raft_malloc(sizeof *b);
    if (b == NULL) {
        return RAFT_NOMEM;
    }
    if (f->snap_dir != NULL) {
        rv = write_snapfile(f, b);
        if (rv != 0) {
            raft_free(b);
            return rv;
        }
    } else if (snapshot_dump(f->snap_txn, f->store, b, err, sizeof err) != 0) {
        raft_free(b);
        log_error("%s", err);
        return RAFT_IOERR;
    }
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_cb(struct raft_fsm *iface,
                           struct raft_buffer *bufs[],
                           unsigned *n_bufs)
{
    struct fsm *f = iface->data;
    int rv;

    if (f->snap_txn != NULL) {
        return RAFT_BUSY;
    }
    rv = mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &f->snap_txn);
    if (rv != 0) {
        log_error("snapshot: begin: %s", mdb_strerror(rv));
        f->snap_txn = NULL;
        return RAFT_IOERR;
    }
    *bufs = NULL;
    *n_bufs = 0;
    if (f->iface.snapshot_async == NULL) {
        rv = dump_snapshot(f, bufs, n_bufs);
        if (rv != 0) {
            mdb_txn_abort(f->snap_txn);
            f->snap_txn = NULL;
        }
        return rv;
    }
    return 0;
}

static int fsm_snapshot_async_cb(struct raft_fsm *iface,
                                 struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    return dump_snapshot(iface->data, bufs, n_bufs);
}

static int fsm_snapshot_finalize_cb(struct raft_fsm *iface,
                                    struct raft_buffer *bufs[],
                                    unsigned *n_bufs)
{
    struct fsm *f = iface->data;
    if (*bufs != NULL) {
        for (unsigned i = 0; i < *n_bufs; i++) {
            raft_free((*bufs)[i].base);
        }
        raft_free(*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    if (f->snap_txn != NULL) {
        mdb_txn_abort(f->snap_txn);
        f->snap_txn = NULL;
    }
    return 0;
}

/* Read what the fsm keeps in memory from the store (at start and after a
 * snapshot was restored). */
static int reload_meta(struct fsm *f)
{
    MDB_txn *txn;
    int rv = mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn);
    if (rv != 0) {
        return rv;
    }
    apply_env_reset(&f->env);
    rv = store_meta_get(txn, f->store, META_APPLIED_INDEX, &f->applied);
    if (rv == 0) {
        rv = store_meta_get(txn, f->store, META_LAST_TIME, &f->last_time_ms);
    }
    if (rv == 0) {
        rv = apply_env_load_secret(&f->env, txn, f->store);
    }
    mdb_txn_abort(txn);
    return rv;
}

/* Replace the state with the snapshot: a reference to a state file or a
 * full format-1 snapshot. 0, or -1 with a message. */
static int load_snapshot(struct fsm *f,
                         const struct raft_buffer *buf,
                         int is_ref,
                         const struct snapfile_ref *ref,
                         char *err,
                         size_t errlen)
{
    if (!is_ref) {
        return snapshot_load(f->store, buf->base, buf->len, err, errlen);
    }
    if (f->snap_dir == NULL) {
        snprintf(err, errlen, "snapshot: %s: no snapshot directory", ref->file);
        return -1;
    }
    return snapfile_load(f->store, f->snap_dir, ref, err, errlen);
}

static int fsm_restore_cb(struct raft_fsm *iface, struct raft_buffer *buf)
{
    struct fsm *f = iface->data;
    struct snapfile_ref ref;
    uint64_t index;
    char err[512];
    int is_ref = snapfile_ref_decode(buf->base, buf->len, &ref);

    if (is_ref < 0 ||
        (is_ref == 0 && snapshot_peek(buf->base, buf->len, &index) != 0)) {
        log_error("snapshot: restore: no valid header");
        return RAFT_MALFORMED;
    }
    if (is_ref) {
        index = ref.index;
    }
    if (index <= f->applied) {
        log_info(
            "snapshot: state already at index %llu, snapshot at %llu: "
            "kept",
            (unsigned long long)f->applied, (unsigned long long)index);
        raft_free(buf->base);
        return 0;
    }
    if (load_snapshot(f, buf, is_ref, &ref, err, sizeof err) != 0) {
        log_error("%s", err);
        return RAFT_MALFORMED;
    }
    if (reload_meta(f) != 0) {
        return RAFT_IOERR;
    }
    f->env.timers_changed = true;
    f->env.pages_added = true;
    log_info("snapshot: restored state at index %llu%s%s",
             (unsigned long long)f->applied, is_ref ? " from " : "",
             is_ref ? ref.file : "");
    raft_free(buf->base);
    return 0;
}

int fsm_init(struct fsm *f,
             struct store *store,
             uint64_t node_id,
             uint64_t nonce,
             bool async_snapshots,
             char *err,
             size_t errlen)
{
    int rv;

    memset(f, 0, sizeof *f);
    apply_env_init(&f->env);
    f->store = store;
    f->node_id = node_id;
    f->nonce = nonce;
    f->iface.version = 3;
    f->iface.data = f;
    f->iface.apply = fsm_apply_cb;
    f->iface.snapshot = fsm_snapshot_cb;
    f->iface.restore = fsm_restore_cb;
    f->iface.snapshot_finalize = fsm_snapshot_finalize_cb;
    f->iface.snapshot_async = async_snapshots ? fsm_snapshot_async_cb : NULL;
    rv = reload_meta(f);
    if (rv != 0) {
        snprintf(err, errlen, "state: read meta: %s", mdb_strerror(rv));
        return -1;
    }
    return 0;
}

void fsm_close(struct fsm *f)
{
    apply_env_close(&f->env);
    if (f->snap_txn != NULL) {
        mdb_txn_abort(f->snap_txn);
        f->snap_txn = NULL;
    }
}
