#include "handoff.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "oncall_config.h"
#include "paging.h"
#include "schedule.h"

#define KEY_PREFIX "handoff/"

static MDB_val due_key(char *buf, size_t len, const char *schedule)
{
    MDB_val k;
    k.mv_size = (size_t)snprintf(buf, len, KEY_PREFIX "%s", schedule);
    k.mv_data = buf;
    return k;
}

/* The armed due time of a schedule's notice timer (0: none). */
static int armed_due(struct apply_ctx *ctx, const char *schedule, uint64_t *due)
{
    char buf[TIMER_REF_MAX + 16];
    MDB_val k = due_key(buf, sizeof buf, schedule);
    MDB_val v;
    int rv = mdb_get(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k, &v);

    *due = 0;
    if (rv == 0 && v.mv_size == 8) {
        *due = store_get_be64(v.mv_data);
    }
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int disarm(struct apply_ctx *ctx, const char *schedule)
{
    char buf[TIMER_REF_MAX + 16];
    MDB_val k = due_key(buf, sizeof buf, schedule);
    uint64_t due;
    int rv = armed_due(ctx, schedule, &due);

    if (rv != 0 || due == 0) {
        return rv;
    }
    rv = timers_disarm(ctx->txn, ctx->store, due, TIMER_HANDOFF, schedule,
                       strlen(schedule));
    if (rv == 0) {
        rv = mdb_del(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k, NULL);
    }
    return rv;
}

/* Arm the notice timer at the first change after `from`. */
static int arm_next(struct apply_ctx *ctx,
                    const Klaxon__Schedule *s,
                    uint64_t from)
{
    char buf[TIMER_REF_MAX + 16];
    MDB_val k = due_key(buf, sizeof buf, s->id);
    uint8_t vb[8];
    uint64_t next =
        (uint64_t)schedule_next_change(s, (int64_t)from, HANDOFF_HORIZON_MS);
    MDB_val v = store_id_key(vb, next);
    int rv = timers_arm(ctx->txn, ctx->store, next, TIMER_HANDOFF, s->id,
                        strlen(s->id));

    ctx->env->timers_changed = true;
    return rv != 0
               ? rv
               : mdb_put(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k, &v, 0);
}

int handoffs_sync(struct apply_ctx *ctx,
                  const Klaxon__OncallConfig *old_cfg,
                  const Klaxon__OncallConfig *new_cfg)
{
    int rv = 0;

    for (size_t i = 0; i < old_cfg->n_schedules && rv == 0; i++) {
        rv = disarm(ctx, old_cfg->schedules[i]->id);
    }
    for (size_t i = 0; i < new_cfg->n_schedules && rv == 0; i++) {
        if (new_cfg->schedules[i]->handoff_notices) {
            rv = arm_next(ctx, new_cfg->schedules[i], ctx->now_ms);
        }
    }
    return rv;
}

/* Page the user who comes on call at `at`, if that is a new person. */
static int announce(struct apply_ctx *ctx,
                    const Klaxon__OncallConfig *cfg,
                    const Klaxon__Schedule *s,
                    uint64_t at)
{
    struct oncall_pos pos;
    struct page_origin o = {
        KLAXON__PAGE_KIND__PAGE_HANDOFF, NULL, 0, 0, s->id, 0, 0};
    const char *user = schedule_oncall(s, (int64_t)at, &pos);
    const char *before = schedule_oncall(s, (int64_t)at - 1, &pos);
    struct shift shift;
    unsigned n;

    if (user == NULL || (before != NULL && strcmp(before, user) == 0)) {
        return 0;
    }
    shift = schedule_shift_at(s, (int64_t)at, HANDOFF_HORIZON_MS);
    o.shift_start_ms = (uint64_t)shift.start_ms;
    o.shift_end_ms = (uint64_t)shift.end_ms;
    return paging_user(ctx, cfg, user, s->id, &o, &n);
}

int handoff_tick(struct apply_ctx *ctx, const struct timer_key *k)
{
    char id[TIMER_REF_MAX + 1];
    const Klaxon__OncallConfig *cfg;
    const Klaxon__Schedule *s;
    uint64_t due;
    bool stale;
    int rv;

    memcpy(id, k->ref, k->ref_len);
    id[k->ref_len] = '\0';
    rv = armed_due(ctx, id, &due);
    if (rv != 0 || due != k->due_ms) {
        return rv;
    }
    rv = apply_config(ctx, &cfg);
    s = rv == 0 ? oncall_schedule(cfg, id) : NULL;
    if (s == NULL || !s->handoff_notices) {
        return rv;
    }
    stale = ctx->now_ms > due + HANDOFF_STALE_MS;
    if (!stale) {
        rv = announce(ctx, cfg, s, due);
    }
    if (rv == 0) {
        rv = arm_next(ctx, s, stale ? ctx->now_ms : due);
    }
    return rv;
}
