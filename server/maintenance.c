#include "maintenance.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"
#include "oncall_config.h"

#define PRUNE_MAX 64

/* When a window stops covering: its end, or when it was ended early. */
static uint64_t window_stop(const Klaxon__MaintenanceWindow *w)
{
    return w->ended_ms != 0 && w->ended_ms < w->end_ms ? w->ended_ms
                                                       : w->end_ms;
}

static bool window_covers(const Klaxon__MaintenanceWindow *w, uint64_t t)
{
    return w->start_ms <= t && t < window_stop(w);
}

static Klaxon__MaintenanceWindow *decode(const MDB_val *v)
{
    return klaxon__maintenance_window__unpack(NULL, v->mv_size, v->mv_data);
}

static int save(struct apply_ctx *ctx, const Klaxon__MaintenanceWindow *w)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, w->id);
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_MAINTENANCE], &k,
                             &w->base);
}

/* Remove up to PRUNE_MAX windows that stopped long ago. */
static int prune(struct apply_ctx *ctx)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    unsigned n = 0;
    int rv =
        mdb_cursor_open(ctx->txn, ctx->store->dbi[TABLE_MAINTENANCE], &cur);

    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rv == 0 && n < PRUNE_MAX) {
        Klaxon__MaintenanceWindow *w = decode(&v);
        bool old;
        if (w == NULL) {
            rv = MDB_CORRUPTED;
            break;
        }
        old = window_stop(w) + MAINTENANCE_RETENTION_MS < ctx->now_ms;
        klaxon__maintenance_window__free_unpacked(w, NULL);
        n++;
        rv = old ? mdb_cursor_del(cur, 0) : 0;
        if (rv == 0) {
            rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int maintenance_start(struct apply_ctx *ctx,
                      const Klaxon__MaintenanceStartRequest *m,
                      struct apply_result *res)
{
    Klaxon__MaintenanceWindow w = KLAXON__MAINTENANCE_WINDOW__INIT;
    const Klaxon__OncallConfig *cfg;
    uint64_t next;
    int rv = apply_config(ctx, &cfg);

    if (rv != 0) {
        return rv;
    }
    if (oncall_service(cfg, m->service) == NULL) {
        return apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                            "service: \"%s\" is not in the on-call "
                            "configuration",
                            m->service);
    }
    w.start_ms = m->start_ms != 0 ? m->start_ms : ctx->now_ms;
    w.end_ms = m->end_ms != 0 ? m->end_ms : w.start_ms + m->duration_ms;
    if (w.end_ms <= ctx->now_ms || w.end_ms <= w.start_ms) {
        return apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                            "end_ms: the window would end in the past");
    }
    if (w.end_ms - w.start_ms > LIMIT_MAINTENANCE_MS) {
        return apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                            "end_ms: a window lasts at most 366 days");
    }
    rv = store_meta_get(ctx->txn, ctx->store, META_NEXT_WINDOW, &next);
    if (rv != 0) {
        return rv;
    }
    w.id = next == 0 ? 1 : next;
    w.service = m->service;
    w.reason = m->reason;
    w.created_by = m->by;
    w.created_ms = ctx->now_ms;
    rv = store_meta_put(ctx->txn, ctx->store, META_NEXT_WINDOW, w.id + 1);
    if (rv == 0) {
        rv = prune(ctx);
    }
    if (rv == 0) {
        rv = save(ctx, &w);
    }
    res->window_id = w.id;
    apply_answer(res, KLAXON__CODE__OK, "maintenance window %llu on %s",
                 (unsigned long long)w.id, w.service);
    return rv;
}

int maintenance_end(struct apply_ctx *ctx,
                    const Klaxon__MaintenanceEndRequest *m,
                    struct apply_result *res)
{
    Klaxon__MaintenanceWindow *w;
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, m->window_id);
    char *kept;
    int rv = store_get_message(ctx->txn, ctx->store->dbi[TABLE_MAINTENANCE], &k,
                               &klaxon__maintenance_window__descriptor,
                               (ProtobufCMessage **)&w);

    if (rv == MDB_NOTFOUND) {
        return apply_answer(res, KLAXON__CODE__NOT_FOUND,
                            "maintenance window %llu not found",
                            (unsigned long long)m->window_id);
    }
    if (rv != 0) {
        return rv;
    }
    res->window_id = w->id;
    if (window_stop(w) <= ctx->now_ms) {
        apply_answer(res, KLAXON__CODE__FAILED_PRECONDITION,
                     "maintenance window %llu has already ended",
                     (unsigned long long)w->id);
        klaxon__maintenance_window__free_unpacked(w, NULL);
        return 0;
    }
    kept = w->ended_by;
    w->ended_ms = ctx->now_ms > w->start_ms ? ctx->now_ms : w->start_ms;
    w->ended_by = m->by;
    rv = save(ctx, w);
    w->ended_by = kept;
    apply_answer(res, KLAXON__CODE__OK, "maintenance window %llu ended",
                 (unsigned long long)w->id);
    klaxon__maintenance_window__free_unpacked(w, NULL);
    return rv;
}

int maintenance_active(struct apply_ctx *ctx,
                       const char *service,
                       uint64_t *window_id)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv =
        mdb_cursor_open(ctx->txn, ctx->store->dbi[TABLE_MAINTENANCE], &cur);

    *window_id = 0;
    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rv == 0 && *window_id == 0) {
        Klaxon__MaintenanceWindow *w = decode(&v);
        if (w == NULL) {
            rv = MDB_CORRUPTED;
            break;
        }
        if (strcmp(w->service, service) == 0 && window_covers(w, ctx->now_ms)) {
            *window_id = w->id;
        }
        klaxon__maintenance_window__free_unpacked(w, NULL);
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int list_add(Klaxon__MaintenanceListResult *res,
                    Klaxon__MaintenanceWindow *w)
{
    Klaxon__MaintenanceWindow **grown =
        realloc(res->windows, (res->n_windows + 1) * sizeof *grown);
    if (grown == NULL) {
        klaxon__maintenance_window__free_unpacked(w, NULL);
        return ENOMEM;
    }
    res->windows = grown;
    res->windows[res->n_windows++] = w;
    return 0;
}

int maintenance_list(MDB_txn *txn,
                     const struct store *s,
                     bool include_ended,
                     uint64_t now_ms,
                     Klaxon__MaintenanceListResult **out)
{
    Klaxon__MaintenanceListResult *res = malloc(sizeof *res);
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv;

    if (res == NULL) {
        return ENOMEM;
    }
    klaxon__maintenance_list_result__init(res);
    rv = mdb_cursor_open(txn, s->dbi[TABLE_MAINTENANCE], &cur);
    if (rv == 0) {
        rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (rv == 0) {
            Klaxon__MaintenanceWindow *w = decode(&v);
            if (w == NULL) {
                rv = MDB_CORRUPTED;
            } else if (include_ended || window_stop(w) > now_ms) {
                rv = list_add(res, w);
            } else {
                klaxon__maintenance_window__free_unpacked(w, NULL);
            }
            if (rv == 0) {
                rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            }
        }
        mdb_cursor_close(cur);
    }
    if (rv != 0 && rv != MDB_NOTFOUND) {
        klaxon__maintenance_list_result__free_unpacked(res, NULL);
        return rv;
    }
    *out = res;
    return 0;
}
