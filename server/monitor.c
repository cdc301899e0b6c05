#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "oncall_config.h"

static MDB_val name_key(const char *name)
{
    MDB_val k = {strlen(name), (void *)name};
    return k;
}

static int load(MDB_txn *txn,
                const struct store *s,
                const char *name,
                Klaxon__Cluster__StoredMonitor **out)
{
    MDB_val k = name_key(name);
    return store_get_message(txn, s->dbi[TABLE_MONITORS], &k,
                             &klaxon__cluster__stored_monitor__descriptor,
                             (ProtobufCMessage **)out);
}

static int save(struct apply_ctx *ctx,
                const char *name,
                const Klaxon__Cluster__StoredMonitor *m)
{
    MDB_val k = name_key(name);
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_MONITORS], &k,
                             &m->base);
}

/* Move the monitor's timer from m->due_ms to due (0: none). */
static int move_timer(struct apply_ctx *ctx,
                      const char *name,
                      Klaxon__Cluster__StoredMonitor *m,
                      uint64_t due)
{
    size_t len = strlen(name);
    int rv = 0;

    if (m->due_ms != 0 && !m->down) {
        rv = timers_disarm(ctx->txn, ctx->store, m->due_ms, TIMER_HEARTBEAT,
                           name, len);
    }
    m->due_ms = due;
    if (rv == 0 && due != 0) {
        rv = timers_arm(ctx->txn, ctx->store, due, TIMER_HEARTBEAT, name, len);
    }
    ctx->env->timers_changed = true;
    return rv;
}

static int drop_monitor(struct apply_ctx *ctx, const char *name)
{
    Klaxon__Cluster__StoredMonitor *m;
    MDB_val k = name_key(name);
    int rv = load(ctx->txn, ctx->store, name, &m);

    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    rv = move_timer(ctx, name, m, 0);
    klaxon__cluster__stored_monitor__free_unpacked(m, NULL);
    if (rv == 0) {
        rv = mdb_del(ctx->txn, ctx->store->dbi[TABLE_MONITORS], &k, NULL);
    }
    return rv;
}

/* Create a monitor's record, or re-time it after its interval changed. */
static int sync_monitor(struct apply_ctx *ctx,
                        const Klaxon__HeartbeatMonitor *h,
                        const Klaxon__HeartbeatMonitor *before)
{
    Klaxon__Cluster__StoredMonitor fresh =
        KLAXON__CLUSTER__STORED_MONITOR__INIT;
    Klaxon__Cluster__StoredMonitor *m;
    uint64_t since;
    uint64_t due;
    int rv = load(ctx->txn, ctx->store, h->name, &m);

    if (rv == MDB_NOTFOUND) {
        rv = move_timer(ctx, h->name, &fresh, ctx->now_ms + h->interval_ms);
        return rv != 0 ? rv : save(ctx, h->name, &fresh);
    }
    if (rv != 0) {
        return rv;
    }
    if (!m->down && before != NULL && before->interval_ms != h->interval_ms) {
        since = m->last_checkin_ms != 0 ? m->last_checkin_ms
                                        : m->due_ms - before->interval_ms;
        due = since + h->interval_ms;
        rv = move_timer(ctx, h->name, m, due > ctx->now_ms ? due : ctx->now_ms);
        if (rv == 0) {
            rv = save(ctx, h->name, m);
        }
    }
    klaxon__cluster__stored_monitor__free_unpacked(m, NULL);
    return rv;
}

int monitors_sync(struct apply_ctx *ctx,
                  const Klaxon__OncallConfig *old_cfg,
                  const Klaxon__OncallConfig *new_cfg)
{
    int rv = 0;

    for (size_t i = 0; i < old_cfg->n_heartbeats && rv == 0; i++) {
        const char *name = old_cfg->heartbeats[i]->name;
        if (oncall_heartbeat(new_cfg, name) == NULL) {
            rv = drop_monitor(ctx, name);
        }
    }
    for (size_t i = 0; i < new_cfg->n_heartbeats && rv == 0; i++) {
        const Klaxon__HeartbeatMonitor *h = new_cfg->heartbeats[i];
        rv = sync_monitor(ctx, h, oncall_heartbeat(old_cfg, h->name));
    }
    return rv;
}

/* A check-in after a miss resolves the miss's incident. */
static int recover(struct apply_ctx *ctx,
                   const char *name,
                   Klaxon__Cluster__StoredMonitor *m)
{
    Klaxon__ResolveRequest r = KLAXON__RESOLVE_REQUEST__INIT;
    struct apply_result ignored;
    char by[160];

    snprintf(by, sizeof by, "heartbeat %s", name);
    r.incident_id = m->incident_id;
    r.by = by;
    m->down = false;
    memset(&ignored, 0, sizeof ignored);
    return m->incident_id != 0 ? incident_resolve(ctx, &r, &ignored) : 0;
}

int monitor_checkin(struct apply_ctx *ctx,
                    const Klaxon__HeartbeatRequest *h,
                    struct apply_result *res)
{
    Klaxon__Cluster__StoredMonitor fresh =
        KLAXON__CLUSTER__STORED_MONITOR__INIT;
    Klaxon__Cluster__StoredMonitor *m = &fresh;
    const Klaxon__HeartbeatMonitor *hm;
    const Klaxon__OncallConfig *cfg;
    int rv = apply_config(ctx, &cfg);

    if (rv != 0) {
        return rv;
    }
    hm = oncall_heartbeat(cfg, h->name);
    if (hm == NULL) {
        return apply_answer(res, KLAXON__CODE__NOT_FOUND,
                            "heartbeat monitor \"%s\" is not configured",
                            h->name);
    }
    rv = load(ctx->txn, ctx->store, h->name, &m);
    if (rv == MDB_NOTFOUND) {
        m = &fresh;
        rv = 0;
    }
    if (rv == 0 && m->down) {
        rv = recover(ctx, h->name, m);
    }
    if (rv == 0) {
        m->last_checkin_ms = ctx->now_ms;
        rv = move_timer(ctx, h->name, m, ctx->now_ms + hm->interval_ms);
    }
    if (rv == 0) {
        rv = save(ctx, h->name, m);
    }
    apply_answer(res, KLAXON__CODE__OK,
                 "checked in; next check-in due in %llu s",
                 (unsigned long long)hm->interval_ms / 1000);
    if (m != &fresh) {
        klaxon__cluster__stored_monitor__free_unpacked(m, NULL);
    }
    return rv;
}

static int open_miss(struct apply_ctx *ctx,
                     const Klaxon__HeartbeatMonitor *h,
                     Klaxon__Cluster__StoredMonitor *m)
{
    Klaxon__TriggerRequest t = KLAXON__TRIGGER_REQUEST__INIT;
    struct apply_result r;
    char dedup[160];
    char source[160];
    int rv;

    snprintf(dedup, sizeof dedup, "heartbeat/%s", h->name);
    snprintf(source, sizeof source, "heartbeat monitor %s", h->name);
    t.service = h->service;
    t.severity = h->severity;
    t.summary = h->summary;
    t.source = source;
    t.dedup_key = dedup;
    memset(&r, 0, sizeof r);
    rv = incident_trigger(ctx, &t, &r);
    if (rv == 0) {
        m->down = true;
        m->incident_id = r.incident_id;
        rv = store_meta_add(ctx->txn, ctx->store, COUNT_HEARTBEATS_MISSED, 1);
    }
    return rv;
}

int monitor_tick(struct apply_ctx *ctx, const struct timer_key *k)
{
    char name[TIMER_REF_MAX + 1];
    const Klaxon__HeartbeatMonitor *h;
    const Klaxon__OncallConfig *cfg;
    Klaxon__Cluster__StoredMonitor *m;
    int rv = apply_config(ctx, &cfg);

    memcpy(name, k->ref, k->ref_len);
    name[k->ref_len] = '\0';
    h = rv == 0 ? oncall_heartbeat(cfg, name) : NULL;
    if (h == NULL) {
        return rv;
    }
    rv = load(ctx->txn, ctx->store, name, &m);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    if (!m->down && m->due_ms == k->due_ms) {
        rv = open_miss(ctx, h, m);
        if (rv == 0) {
            rv = save(ctx, name, m);
        }
    }
    klaxon__cluster__stored_monitor__free_unpacked(m, NULL);
    return rv;
}

static Klaxon__MonitorStatus *status_of(const Klaxon__HeartbeatMonitor *h,
                                        const Klaxon__Cluster__StoredMonitor *m)
{
    Klaxon__MonitorStatus *st = malloc(sizeof *st);
    if (st == NULL) {
        return NULL;
    }
    klaxon__monitor_status__init(st);
    st->name = strdup(h->name);
    st->service = strdup(h->service);
    if (st->name == NULL || st->service == NULL) {
        klaxon__monitor_status__free_unpacked(st, NULL);
        return NULL;
    }
    st->interval_ms = h->interval_ms;
    if (m != NULL) {
        st->last_checkin_ms = m->last_checkin_ms;
        st->due_ms = m->due_ms;
        st->down = m->down;
        st->incident_id = m->incident_id;
    }
    return st;
}

int monitors_list(MDB_txn *txn,
                  const struct store *s,
                  const Klaxon__OncallConfig *cfg,
                  Klaxon__MonitorsResult **out)
{
    Klaxon__MonitorsResult *res = malloc(sizeof *res);
    int rv = 0;

    if (res == NULL) {
        return ENOMEM;
    }
    klaxon__monitors_result__init(res);
    res->monitors = calloc(cfg->n_heartbeats + 1, sizeof *res->monitors);
    for (size_t i = 0;
         res->monitors != NULL && i < cfg->n_heartbeats && rv == 0; i++) {
        Klaxon__Cluster__StoredMonitor *m = NULL;
        rv = load(txn, s, cfg->heartbeats[i]->name, &m);
        if (rv == 0 || rv == MDB_NOTFOUND) {
            res->monitors[res->n_monitors] = status_of(cfg->heartbeats[i], m);
            rv = res->monitors[res->n_monitors] != NULL ? 0 : ENOMEM;
            res->n_monitors += rv == 0;
        }
        if (m != NULL) {
            klaxon__cluster__stored_monitor__free_unpacked(m, NULL);
        }
    }
    if (res->monitors == NULL) {
        rv = ENOMEM;
    }
    if (rv != 0) {
        klaxon__monitors_result__free_unpacked(res, NULL);
        return rv;
    }
    *out = res;
    return 0;
}
