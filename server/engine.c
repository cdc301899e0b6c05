#include "engine.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "timers.h"

#define RETRY_AFTER_FAILURE_MS 50

struct tick_op
{
    struct node_op op;
    struct engine *engine;
    Klaxon__Cluster__Command cmd;
    Klaxon__Cluster__Tick tick;
    uint8_t key[TIMER_KEY_MAX];
};

static void clock_cb(uv_timer_t *t);

static struct apply_env *env_of(struct engine *e)
{
    return &e->node->fsm.env;
}

/* --- the clock ------------------------------------------------------------
 */

static void arm_clock(struct engine *e, uint64_t min_delay)
{
    uint64_t due = 0;
    uint64_t now = node_time_ms(e->node);
    uint64_t delay;
    MDB_txn *txn;

    if (mdb_txn_begin(e->node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        env_of(e)->timers_changed = true; /* try again */
        return;
    }
    if (timers_first(txn, &e->node->store, &due) != 0) {
        due = now + CLOCK_MAX_SLEEP_MS;
    }
    mdb_txn_abort(txn);
    if (due == 0) {
        uv_timer_stop(&e->timer);
        return;
    }
    delay = due > now ? due - now : 0;
    /* Wake up now and then anyway: the wall clock may jump. */
    delay = delay < CLOCK_MAX_SLEEP_MS ? delay : CLOCK_MAX_SLEEP_MS;
    uv_timer_start(&e->timer, clock_cb, delay > min_delay ? delay : min_delay,
                   0);
}

static void tick_done(struct node_op *op,
                      int code,
                      const struct apply_result *res)
{
    struct tick_op *t = op->data;
    struct engine *e = t->engine;

    (void)res;
    if (code != KLAXON__CODE__OK && code != KLAXON__CODE__NOT_LEADER &&
        !e->closing) {
        log_warn("engine: tick not applied (code %d); retrying", code);
    }
    free(t);
    if (--e->ticks_inflight == 0 && e->active && !e->closing) {
        arm_clock(e, code == KLAXON__CODE__OK ? 0 : RETRY_AFTER_FAILURE_MS);
    }
}

static int propose_tick(void *arg, const void *key, size_t len)
{
    struct engine *e = arg;
    struct tick_op *t = calloc(1, sizeof *t);

    if (t == NULL) {
        return 1;
    }
    memcpy(t->key, key, len);
    t->engine = e;
    klaxon__cluster__tick__init(&t->tick);
    t->tick.key.data = t->key;
    t->tick.key.len = len;
    klaxon__cluster__command__init(&t->cmd);
    t->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_TICK;
    t->cmd.tick = &t->tick;
    t->op.cmd = &t->cmd;
    t->op.cb = tick_done;
    t->op.data = t;
    if (node_submit(e->node, &t->op) != 0) {
        free(t);
        return 1;
    }
    e->ticks_inflight++;
    e->n_ticks++;
    return 0;
}

static void clock_cb(uv_timer_t *timer)
{
    struct engine *e = timer->data;
    MDB_txn *txn;

    if (!e->active || e->closing || e->ticks_inflight > 0) {
        return;
    }
    if (mdb_txn_begin(e->node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        arm_clock(e, RETRY_AFTER_FAILURE_MS);
        return;
    }
    timers_scan_due(txn, &e->node->store, node_time_ms(e->node), TICK_BATCH,
                    propose_tick, e);
    mdb_txn_abort(txn);
    e->n_rounds++;
    if (e->ticks_inflight == 0) {
        arm_clock(e, RETRY_AFTER_FAILURE_MS);
    }
}

/* --- the secret -----------------------------------------------------------
 */

static void secret_done(struct node_op *op,
                        int code,
                        const struct apply_result *res)
{
    struct engine *e = op->data;
    (void)res;
    e->secret_pending = false;
    if (code == KLAXON__CODE__OK) {
        log_info("engine: cluster token secret set");
    }
}

static void propose_secret(struct engine *e)
{
    if (getrandom(e->secret_bytes, sizeof e->secret_bytes, 0) !=
            (ssize_t)sizeof e->secret_bytes ||
        getrandom(e->cluster_id, sizeof e->cluster_id, 0) !=
            (ssize_t)sizeof e->cluster_id) {
        log_error("engine: getrandom failed; no token secret yet");
        return;
    }
    klaxon__cluster__set_secret__init(&e->secret);
    e->secret.secret.data = e->secret_bytes;
    e->secret.secret.len = sizeof e->secret_bytes;
    e->secret.cluster_id.data = e->cluster_id;
    e->secret.cluster_id.len = sizeof e->cluster_id;
    klaxon__cluster__command__init(&e->secret_cmd);
    e->secret_cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_SET_SECRET;
    e->secret_cmd.set_secret = &e->secret;
    e->secret_op.cmd = &e->secret_cmd;
    e->secret_op.cb = secret_done;
    e->secret_op.data = e;
    if (node_submit(e->node, &e->secret_op) == 0) {
        e->secret_pending = true;
    }
}

/* --- polling --------------------------------------------------------------
 */

static void set_active(struct engine *e, bool active)
{
    struct apply_env *env = env_of(e);

    e->active = active;
    if (active) {
        log_info("engine: running the clock and the pages as leader");
        env->timers_changed = true;
        env->pages_added = true;
    } else {
        uv_timer_stop(&e->timer);
    }
    dispatch_set_active(&e->dispatch, active);
}

static void check_cb(uv_check_t *h)
{
    struct engine *e = h->data;
    struct apply_env *env = env_of(e);
    bool active = !e->closing && node_is_ready(e->node);

    if (active != e->active) {
        set_active(e, active);
    }
    if (!active) {
        return;
    }
    if (!env->has_secret) {
        if (!e->secret_pending) {
            propose_secret(e);
        }
        return; /* pages need the secret for their keys and tokens */
    }
    if (env->pages_added || dispatch_wants_scan(&e->dispatch)) {
        env->pages_added = false;
        dispatch_scan(&e->dispatch);
    }
    if (env->timers_changed && e->ticks_inflight == 0) {
        env->timers_changed = false;
        arm_clock(e, 0);
    }
}

int engine_start(struct engine *e,
                 uv_loop_t *loop,
                 struct node *node,
                 char *err,
                 size_t errlen)
{
    memset(e, 0, sizeof *e);
    if (dispatch_init(&e->dispatch, loop, node, err, errlen) != 0) {
        return -1;
    }
    e->node = node; /* marks it started */
    uv_timer_init(loop, &e->timer);
    uv_check_init(loop, &e->check);
    e->timer.data = e;
    e->check.data = e;
    uv_check_start(&e->check, check_cb);
    return 0;
}

static void part_closed(struct engine *e)
{
    if (--e->close_pending == 0 && e->stopped_cb != NULL) {
        e->stopped_cb(e);
    }
}

static void handle_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

static void dispatch_closed(struct dispatch *d)
{
    part_closed(
        (struct engine *)((char *)d - offsetof(struct engine, dispatch)));
}

void engine_stop(struct engine *e, void (*cb)(struct engine *e))
{
    if (e->closing) {
        return;
    }
    e->closing = true;
    e->active = false;
    e->stopped_cb = cb;
    e->close_pending = 3;
    uv_close((uv_handle_t *)&e->timer, handle_closed);
    uv_close((uv_handle_t *)&e->check, handle_closed);
    dispatch_close(&e->dispatch, dispatch_closed);
}
