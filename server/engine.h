/*
 * The leader's engine: everything klaxon does on its own rather than on a
 * client's request, run only by a ready leader and only through Raft.
 *
 * - The clock: a timer on the first key of the timers table (timers.h).
 *   When timers fall due by the wall clock it proposes one Tick per timer
 *   (at most TICK_BATCH per round, one round at a time) and re-arms from
 *   the table when they are applied. A new leader starts from the table,
 *   so no deadline depends on the memory of a previous leader; ticks that
 *   were due while there was no leader fire as soon as one is ready.
 * - The secret: when the state has no token secret yet, it proposes one
 *   (random bytes); the first applied wins.
 * - Pages: it hands new pending pages to the dispatcher (dispatch.h).
 *
 * It polls the node once per loop iteration (a uv_check handle) for
 * leadership changes and for what the applied entries changed.
 */
#ifndef KLAXON_ENGINE_H
#define KLAXON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "apply.h"
#include "cluster.pb-c.h"
#include "dispatch.h"
#include "node.h"

#define TICK_BATCH 512
#define CLOCK_MAX_SLEEP_MS 10000

struct engine
{
    struct node *node;
    struct dispatch dispatch;
    uv_timer_t timer;
    uv_check_t check;
    bool active;
    bool closing;
    unsigned ticks_inflight;
    unsigned close_pending;
    /* the secret proposal */
    bool secret_pending;
    struct node_op secret_op;
    Klaxon__Cluster__Command secret_cmd;
    Klaxon__Cluster__SetSecret secret;
    uint8_t secret_bytes[SECRET_LEN];
    uint8_t cluster_id[CLUSTER_ID_LEN];
    void (*stopped_cb)(struct engine *e);
    /* counters */
    uint64_t n_ticks;
    uint64_t n_rounds;
};

int engine_start(struct engine *e,
                 uv_loop_t *loop,
                 struct node *node,
                 char *err,
                 size_t errlen);

/* Stop the clock and the dispatcher; cb once every handle closed. Ops in
 * flight complete when the node stops. */
void engine_stop(struct engine *e, void (*cb)(struct engine *e));

#endif /* KLAXON_ENGINE_H */
