#include "paging.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"
#include "incident.h"
#include "oncall_config.h"
#include "schedule.h"

const char *paging_contact_name(Klaxon__ContactKind k)
{
    switch (k) {
        case KLAXON__CONTACT_KIND__CONTACT_WEBHOOK:
            return "webhook";
        case KLAXON__CONTACT_KIND__CONTACT_EXEC:
            return "exec";
        case KLAXON__CONTACT_KIND__CONTACT_EMAIL:
            return "email";
        default:
            return "unknown";
    }
}

int paging_load(MDB_txn *txn,
                const struct store *s,
                uint64_t id,
                Klaxon__Page **out)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, id);
    return store_get_message(txn, s->dbi[TABLE_PAGES], &k,
                             &klaxon__page__descriptor,
                             (ProtobufCMessage **)out);
}

static int save_page(struct apply_ctx *ctx, const Klaxon__Page *p)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, p->id);
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_PAGES], &k,
                             &p->base);
}

static int put_empty(struct apply_ctx *ctx, MDB_dbi dbi, MDB_val *k)
{
    MDB_val v = {0, NULL};
    return mdb_put(ctx->txn, dbi, k, &v, 0);
}

/* Index a new page: pending, and under its incident. */
static int index_page(struct apply_ctx *ctx, const Klaxon__Page *p)
{
    uint8_t kb[16];
    MDB_val k = store_id_key(kb, p->id);
    int rv = put_empty(ctx, ctx->store->dbi[TABLE_PENDING], &k);

    if (rv != 0 || p->incident_id == 0) {
        return rv;
    }
    store_put_be64(kb, p->incident_id);
    store_put_be64(kb + 8, p->id);
    k.mv_size = 16;
    k.mv_data = kb;
    return put_empty(ctx, ctx->store->dbi[TABLE_INCIDENT_PAGES], &k);
}

static int page_event(struct apply_ctx *ctx,
                      const struct page_origin *o,
                      const Klaxon__Page *p)
{
    const char *what = o->kind == KLAXON__PAGE_KIND__PAGE_REMINDER
                           ? "update reminder"
                           : "level";
    if (o->inc == NULL) {
        return 0;
    }
    o->inc->pages++;
    if (o->kind == KLAXON__PAGE_KIND__PAGE_REMINDER) {
        return incident_event(ctx, o->inc, KLAXON__EVENT_KIND__EVENT_PAGED,
                              p->user, "%s: %s %s (page %llu)", what,
                              paging_contact_name(p->contact->kind),
                              p->contact->address, (unsigned long long)p->id);
    }
    return incident_event(ctx, o->inc, KLAXON__EVENT_KIND__EVENT_PAGED, p->user,
                          "level %u%s%s: %s %s (page %llu)", o->level,
                          p->schedule[0] != '\0' ? " via schedule " : "",
                          p->schedule, paging_contact_name(p->contact->kind),
                          p->contact->address, (unsigned long long)p->id);
}

static int record_page(struct apply_ctx *ctx,
                       const struct page_origin *o,
                       const Klaxon__User *u,
                       Klaxon__ContactMethod *cm,
                       const char *schedule)
{
    Klaxon__Page p = KLAXON__PAGE__INIT;
    uint64_t id;
    int rv = store_meta_get(ctx->txn, ctx->store, META_NEXT_PAGE, &id);

    if (rv != 0) {
        return rv;
    }
    p.id = id == 0 ? 1 : id;
    p.incident_id = o->inc != NULL ? o->inc->id : 0;
    p.kind = o->kind;
    p.level = o->level;
    p.loop = o->loop;
    p.user = u->id;
    p.schedule = (char *)(schedule != NULL ? schedule : "");
    p.contact = cm;
    p.state = KLAXON__PAGE_STATE__PAGE_PENDING;
    p.created_ms = ctx->now_ms;
    p.shift_start_ms = o->shift_start_ms;
    p.shift_end_ms = o->shift_end_ms;
    rv = store_meta_put(ctx->txn, ctx->store, META_NEXT_PAGE, p.id + 1);
    if (rv == 0) {
        rv = save_page(ctx, &p);
    }
    if (rv == 0) {
        rv = index_page(ctx, &p);
    }
    if (rv == 0) {
        rv = store_meta_add(ctx->txn, ctx->store, COUNT_PAGES_CREATED, 1);
    }
    if (rv == 0) {
        rv = page_event(ctx, o, &p);
    }
    ctx->env->pages_added = true;
    return rv;
}

int paging_user(struct apply_ctx *ctx,
                const Klaxon__OncallConfig *cfg,
                const char *user_id,
                const char *schedule,
                const struct page_origin *o,
                unsigned *n_pages)
{
    const Klaxon__User *u = oncall_user(cfg, user_id);
    int rv = 0;

    *n_pages = 0;
    if (u == NULL) {
        return 0;
    }
    for (size_t i = 0; i < u->n_contacts && rv == 0; i++) {
        rv = record_page(ctx, o, u, u->contacts[i], schedule);
        *n_pages += rv == 0;
    }
    return rv;
}

const char *paging_target_user(const Klaxon__OncallConfig *cfg,
                               const Klaxon__Target *t,
                               uint64_t now_ms,
                               const char **schedule)
{
    const Klaxon__Schedule *s;
    struct oncall_pos pos;

    *schedule = NULL;
    if (t->kind == KLAXON__TARGET_KIND__TARGET_USER) {
        return t->id;
    }
    s = oncall_schedule(cfg, t->id);
    if (s == NULL) {
        return NULL;
    }
    *schedule = s->id;
    switch (t->kind) {
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE:
            return schedule_oncall(s, (int64_t)now_ms, &pos);
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE_NEXT:
            return schedule_neighbour(s, (int64_t)now_ms, 1);
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE_PREVIOUS:
            return schedule_neighbour(s, (int64_t)now_ms, -1);
        default:
            return NULL;
    }
}

static bool seen(const char *const *users, size_t n, const char *u)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(users[i], u) == 0) {
            return true;
        }
    }
    return false;
}

static int page_target_user(struct apply_ctx *ctx,
                            const Klaxon__OncallConfig *cfg,
                            const char *user,
                            const char *schedule,
                            const struct page_origin *o)
{
    unsigned n;
    int rv = paging_user(ctx, cfg, user, schedule, o, &n);
    if (rv != 0 || n > 0) {
        return rv;
    }
    return incident_event(ctx, o->inc, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                          user, "level %u: %s has no contact method", o->level,
                          user);
}

int paging_level(struct apply_ctx *ctx,
                 const Klaxon__OncallConfig *cfg,
                 const Klaxon__EscalationPolicy *p,
                 const struct page_origin *o)
{
    const Klaxon__EscalationLevel *l = p->levels[o->level - 1];
    const char *users[ONCALL_MAX_TARGETS];
    size_t n = 0;
    int rv = 0;

    for (size_t i = 0; i < l->n_targets && n < ONCALL_MAX_TARGETS && rv == 0;
         i++) {
        const char *schedule;
        const char *u =
            paging_target_user(cfg, l->targets[i], ctx->now_ms, &schedule);
        if (u == NULL) {
            rv =
                incident_event(ctx, o->inc, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                               "", "level %u: nobody on call in schedule %s",
                               o->level, l->targets[i]->id);
        } else if (!seen(users, n, u)) {
            users[n++] = u;
            rv = page_target_user(ctx, cfg, u, schedule, o);
        }
    }
    return rv;
}

/* Set a page's final state; false if it already has one. */
static bool finish_page(Klaxon__Page *p,
                        Klaxon__PageState state,
                        uint64_t now_ms)
{
    if (p->state == KLAXON__PAGE_STATE__PAGE_DELIVERED ||
        p->state == KLAXON__PAGE_STATE__PAGE_FAILED) {
        return false;
    }
    p->state = state;
    p->finished_ms = now_ms;
    return true;
}

static int unpend(struct apply_ctx *ctx, uint64_t id)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, id);
    int rv = mdb_del(ctx->txn, ctx->store->dbi[TABLE_PENDING], &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int cancel_one(struct apply_ctx *ctx, uint64_t id, unsigned *n)
{
    Klaxon__Page *p;
    int rv = paging_load(ctx->txn, ctx->store, id, &p);

    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    if (p->state == KLAXON__PAGE_STATE__PAGE_PENDING) {
        finish_page(p, KLAXON__PAGE_STATE__PAGE_CANCELLED, ctx->now_ms);
        rv = save_page(ctx, p);
        if (rv == 0) {
            rv = unpend(ctx, id);
        }
        if (rv == 0) {
            rv = store_meta_add(ctx->txn, ctx->store, COUNT_PAGES_CANCELLED, 1);
        }
        (*n)++;
    }
    klaxon__page__free_unpacked(p, NULL);
    return rv;
}

int paging_cancel(struct apply_ctx *ctx, Klaxon__Incident *inc, unsigned *n)
{
    MDB_cursor *cur;
    uint8_t kb[16];
    MDB_val k = {16, kb};
    MDB_val v;
    int rv =
        mdb_cursor_open(ctx->txn, ctx->store->dbi[TABLE_INCIDENT_PAGES], &cur);

    *n = 0;
    if (rv != 0) {
        return rv;
    }
    store_put_be64(kb, inc->id);
    store_put_be64(kb + 8, 0);
    rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rv == 0 && k.mv_size == 16 && store_get_be64(k.mv_data) == inc->id) {
        rv = cancel_one(ctx, store_get_be64((uint8_t *)k.mv_data + 8), n);
        if (rv == 0) {
            rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int outcome_event(struct apply_ctx *ctx,
                         const Klaxon__Page *p,
                         const Klaxon__Cluster__PageOutcome *o)
{
    struct incident_work w;
    int rv;

    if (p->incident_id == 0) {
        return 0;
    }
    rv = incident_work_load(ctx, p->incident_id, &w);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    if (o->delivered) {
        rv = incident_event(ctx, &w.inc,
                            KLAXON__EVENT_KIND__EVENT_PAGE_DELIVERED, p->user,
                            "page %llu via %s delivered (attempt %u)",
                            (unsigned long long)p->id,
                            paging_contact_name(p->contact->kind), o->attempts);
    } else {
        rv = incident_event(
            ctx, &w.inc, KLAXON__EVENT_KIND__EVENT_PAGE_FAILED, p->user,
            "page %llu via %s failed after %u "
            "attempt(s): %s",
            (unsigned long long)p->id, paging_contact_name(p->contact->kind),
            o->attempts, o->error);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &w.inc);
    }
    incident_work_free(&w);
    return rv;
}

int paging_outcome(struct apply_ctx *ctx,
                   const Klaxon__Cluster__PageOutcome *o,
                   struct apply_result *res)
{
    Klaxon__Page *p;
    int rv = paging_load(ctx->txn, ctx->store, o->page_id, &p);

    if (rv == MDB_NOTFOUND) {
        return apply_answer(res, KLAXON__CODE__NOT_FOUND, "page %llu not found",
                            (unsigned long long)o->page_id);
    }
    if (rv != 0) {
        return rv;
    }
    if (!finish_page(p,
                     o->delivered ? KLAXON__PAGE_STATE__PAGE_DELIVERED
                                  : KLAXON__PAGE_STATE__PAGE_FAILED,
                     ctx->now_ms)) {
        klaxon__page__free_unpacked(p, NULL);
        return 0; /* a second report of the same page */
    }
    char *kept = p->error;

    p->attempts = o->attempts;
    p->error = o->error;
    rv = save_page(ctx, p);
    p->error = kept;
    if (rv == 0) {
        rv = unpend(ctx, p->id);
    }
    if (rv == 0) {
        rv = store_meta_add(
            ctx->txn, ctx->store,
            o->delivered ? COUNT_PAGES_DELIVERED : COUNT_PAGES_FAILED, 1);
    }
    if (rv == 0) {
        rv = outcome_event(ctx, p, o);
    }
    klaxon__page__free_unpacked(p, NULL);
    return rv;
}

/* Append page `id` to res (capacity checked by the caller). */
static int list_add(MDB_txn *txn,
                    const struct store *s,
                    uint64_t id,
                    Klaxon__PagesResult *res)
{
    Klaxon__Page *p;
    int rv = paging_load(txn, s, id, &p);
    if (rv == 0) {
        res->pages[res->n_pages++] = p;
    }
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int list_incident(MDB_txn *txn,
                         const struct store *s,
                         uint64_t incident_id,
                         unsigned limit,
                         Klaxon__PagesResult *res)
{
    MDB_cursor *cur;
    uint8_t kb[16];
    MDB_val k = {16, kb};
    MDB_val v;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_INCIDENT_PAGES], &cur);

    if (rv != 0) {
        return rv;
    }
    store_put_be64(kb, incident_id);
    store_put_be64(kb + 8, 0);
    rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rv == 0 && res->n_pages < limit && k.mv_size == 16 &&
           store_get_be64(k.mv_data) == incident_id) {
        rv = list_add(txn, s, store_get_be64((uint8_t *)k.mv_data + 8), res);
        if (rv == 0) {
            rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

static int list_latest(MDB_txn *txn,
                       const struct store *s,
                       unsigned limit,
                       Klaxon__PagesResult *res)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv = mdb_cursor_open(txn, s->dbi[TABLE_PAGES], &cur);

    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    while (rv == 0 && res->n_pages < limit) {
        Klaxon__Page *p = k.mv_size == 8
                              ? klaxon__page__unpack(NULL, v.mv_size, v.mv_data)
                              : NULL;
        if (p == NULL) {
            rv = MDB_CORRUPTED;
            break;
        }
        res->pages[res->n_pages++] = p;
        rv = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int paging_list(MDB_txn *txn,
                const struct store *s,
                uint64_t incident_id,
                unsigned limit,
                Klaxon__PagesResult **out)
{
    Klaxon__PagesResult *res = malloc(sizeof *res);
    int rv;

    if (limit == 0) {
        limit = DEFAULT_LIST;
    }
    if (limit > LIMIT_PAGES) {
        limit = LIMIT_PAGES;
    }
    if (res == NULL) {
        return ENOMEM;
    }
    klaxon__pages_result__init(res);
    res->pages = calloc(limit, sizeof *res->pages);
    if (res->pages == NULL) {
        free(res);
        return ENOMEM;
    }
    rv = incident_id != 0 ? list_incident(txn, s, incident_id, limit, res)
                          : list_latest(txn, s, limit, res);
    if (rv != 0) {
        klaxon__pages_result__free_unpacked(res, NULL);
        return rv;
    }
    *out = res;
    return 0;
}
