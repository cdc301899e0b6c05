#include "incident.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"
#include "incident_paging.h"
#include "token.h"

#define DEDUP_KEY_MAX (LIMIT_SERVICE + 1 + LIMIT_DEDUP_KEY)

static const char *const status_names[] = {"unknown", "triggered",
                                           "acknowledged", "resolved"};

static const char *status_name(Klaxon__Status s)
{
    return (unsigned)s < 4 ? status_names[s] : "unknown";
}

static void result_set(struct apply_result *res,
                       int code,
                       const Klaxon__Incident *inc)
{
    res->code = code;
    if (inc != NULL) {
        res->incident_id = inc->id;
        res->alert_count = inc->alert_count;
        res->status = inc->status;
    }
}

static MDB_val dedup_key(uint8_t *buf, const char *service, const char *key)
{
    size_t sl = strlen(service);
    size_t kl = strlen(key);
    MDB_val k = {sl + 1 + kl, buf};
    memcpy(buf, service, sl);
    buf[sl] = '\0';
    memcpy(buf + sl + 1, key, kl);
    return k;
}

int incident_save(struct apply_ctx *ctx, const Klaxon__Incident *inc)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, inc->id);
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_INCIDENTS], &k,
                             &inc->base);
}

int incident_work_load(struct apply_ctx *ctx,
                       uint64_t id,
                       struct incident_work *w)
{
    int rv = incident_load(ctx->txn, ctx->store, id, &w->orig);
    if (rv != 0) {
        w->orig = NULL;
        return rv;
    }
    w->inc = *w->orig;
    klaxon__incident_timers__init(&w->timers);
    if (w->orig->timers != NULL) {
        w->timers = *w->orig->timers;
    }
    w->inc.timers = &w->timers;
    return 0;
}

void incident_work_free(struct incident_work *w)
{
    if (w->orig != NULL) {
        klaxon__incident__free_unpacked(w->orig, NULL);
        w->orig = NULL;
    }
}

int incident_event(struct apply_ctx *ctx,
                   Klaxon__Incident *inc,
                   Klaxon__EventKind kind,
                   const char *actor,
                   const char *fmt,
                   ...)
{
    Klaxon__TimelineEvent ev = KLAXON__TIMELINE_EVENT__INIT;
    char message[LIMIT_NOTE + 64]; /* a note is the longest text */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    ev.kind = kind;
    ev.actor = (char *)(actor != NULL ? actor : "");
    ev.message = message;
    return incident_put_event(ctx, inc, &ev);
}

int incident_put_event(struct apply_ctx *ctx,
                       Klaxon__Incident *inc,
                       Klaxon__TimelineEvent *ev)
{
    uint8_t kb[12];
    MDB_val k = {sizeof kb, kb};

    ev->at_ms = ctx->now_ms;
    store_put_be64(kb, inc->id);
    store_put_be32(kb + 8, inc->timeline_len);
    inc->timeline_len++;
    inc->updated_ms = ctx->now_ms;
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_TIMELINE], &k,
                             &ev->base);
}

static int set_open(struct apply_ctx *ctx,
                    const Klaxon__Incident *inc,
                    int open)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, inc->id);
    MDB_val v = {0, NULL};
    int rv;
    if (open) {
        rv = mdb_put(ctx->txn, ctx->store->dbi[TABLE_OPEN], &k, &v, 0);
        if (rv == 0) {
            open_counts_add(&ctx->env->open, inc->service, inc->severity, 1);
        }
        return rv == 0 ? store_meta_add(ctx->txn, ctx->store, COUNT_OPEN, 1)
                       : rv;
    }
    rv = mdb_del(ctx->txn, ctx->store->dbi[TABLE_OPEN], &k, NULL);
    if (rv == 0) {
        open_counts_add(&ctx->env->open, inc->service, inc->severity, -1);
        return store_meta_add(ctx->txn, ctx->store, COUNT_OPEN, (uint64_t)-1);
    }
    return rv == MDB_NOTFOUND ? 0 : rv;
}

/* Attach a trigger to the open incident `id` found through its dedup key. */
static int attach_alert(struct apply_ctx *ctx,
                        uint64_t id,
                        const Klaxon__TriggerRequest *t,
                        struct apply_result *res)
{
    struct incident_work w;
    int rv = incident_work_load(ctx, id, &w);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? MDB_CORRUPTED : rv;
    }
    w.inc.alert_count++;
    w.inc.last_alert_ms = ctx->now_ms;
    rv = incident_event(ctx, &w.inc, KLAXON__EVENT_KIND__EVENT_ALERT, t->source,
                        "%s", t->summary);
    if (rv == 0) {
        rv = incident_paging_alert(ctx, &w.inc);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &w.inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &w.inc);
        res->deduplicated = true;
        snprintf(res->message, sizeof res->message,
                 "attached to open incident %llu",
                 (unsigned long long)w.inc.id);
    }
    incident_work_free(&w);
    return rv;
}

static int open_incident(struct apply_ctx *ctx,
                         const Klaxon__TriggerRequest *t,
                         struct apply_result *res)
{
    Klaxon__Incident inc = KLAXON__INCIDENT__INIT;
    Klaxon__IncidentTimers timers = KLAXON__INCIDENT_TIMERS__INIT;
    uint64_t next;
    int rv;

    rv = store_meta_get(ctx->txn, ctx->store, META_NEXT_INCIDENT, &next);
    if (rv != 0) {
        return rv;
    }
    inc.id = next == 0 ? 1 : next;
    inc.service = t->service;
    inc.severity = t->severity;
    inc.summary = t->summary;
    inc.source = t->source;
    inc.dedup_key = t->dedup_key;
    inc.n_details = t->n_details;
    inc.details = t->details;
    inc.status = KLAXON__STATUS__TRIGGERED;
    inc.created_ms = ctx->now_ms;
    inc.alert_count = 1;
    inc.last_alert_ms = ctx->now_ms;
    inc.timers = &timers;
    rv = store_meta_put(ctx->txn, ctx->store, META_NEXT_INCIDENT, inc.id + 1);
    if (rv == 0) {
        rv = incident_event(ctx, &inc, KLAXON__EVENT_KIND__EVENT_TRIGGERED,
                            t->source, "%s", t->summary);
    }
    if (rv == 0) {
        rv = incident_paging_open(ctx, &inc);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &inc);
    }
    if (rv == 0) {
        rv = set_open(ctx, &inc, 1);
    }
    if (rv == 0 && t->dedup_key[0] != '\0') {
        uint8_t kb[DEDUP_KEY_MAX];
        uint8_t vb[8];
        MDB_val k = dedup_key(kb, t->service, t->dedup_key);
        MDB_val v = store_id_key(vb, inc.id);
        rv = mdb_put(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, &v, 0);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &inc);
        snprintf(res->message, sizeof res->message, "opened incident %llu",
                 (unsigned long long)inc.id);
    }
    return rv;
}

/* The open incident of service with dedup key `key`: 0 with *id,
 * MDB_NOTFOUND, or an LMDB error. */
static int dedup_lookup(struct apply_ctx *ctx,
                        const char *service,
                        const char *key,
                        uint64_t *id)
{
    uint8_t kb[DEDUP_KEY_MAX];
    MDB_val k = dedup_key(kb, service, key);
    MDB_val v;
    int rv = mdb_get(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, &v);

    if (rv != 0) {
        return rv;
    }
    if (v.mv_size != 8) {
        return MDB_CORRUPTED;
    }
    *id = store_get_be64(v.mv_data);
    return 0;
}

int incident_trigger(struct apply_ctx *ctx,
                     const Klaxon__TriggerRequest *t,
                     struct apply_result *res)
{
    uint64_t id;
    int rv;

    if (t->dedup_key[0] == '\0') {
        return open_incident(ctx, t, res);
    }
    rv = dedup_lookup(ctx, t->service, t->dedup_key, &id);
    if (rv == MDB_NOTFOUND) {
        return open_incident(ctx, t, res);
    }
    return rv != 0 ? rv : attach_alert(ctx, id, t, res);
}

/* Load the target of ack/resolve/note, or fill a NOT_FOUND result (and
 * return MDB_NOTFOUND). */
static int load_target(struct apply_ctx *ctx,
                       uint64_t id,
                       struct incident_work *w,
                       struct apply_result *res)
{
    int rv = incident_work_load(ctx, id, w);
    if (rv == MDB_NOTFOUND) {
        res->incident_id = id;
        apply_answer(res, KLAXON__CODE__NOT_FOUND, "incident %llu not found",
                     (unsigned long long)id);
    }
    return rv;
}

static void refuse_resolved(const Klaxon__Incident *inc,
                            const char *action,
                            struct apply_result *res)
{
    result_set(res, KLAXON__CODE__FAILED_PRECONDITION, inc);
    snprintf(res->message, sizeof res->message,
             "incident %llu is resolved (by %s); it cannot be %s",
             (unsigned long long)inc->id, inc->resolved_by, action);
}

/* Resolve an ack token into (incident, responder), or refuse. */
static int ack_from_token(struct apply_ctx *ctx,
                          const char *token,
                          struct ack_token *t,
                          struct apply_result *res)
{
    const char *why = "the cluster has no token secret yet";

    if (!ctx->env->has_secret ||
        token_verify(ctx->env->secret, SECRET_LEN, token, t, &why) != 0) {
        return apply_answer(res, KLAXON__CODE__PERMISSION_DENIED, "token: %s",
                            why);
    }
    if (t->expires_ms <= ctx->now_ms) {
        return apply_answer(
            res, KLAXON__CODE__PERMISSION_DENIED, "token: expired %llu s ago",
            (unsigned long long)(ctx->now_ms - t->expires_ms) / 1000);
    }
    return 0;
}

static int ack_work(struct apply_ctx *ctx,
                    struct incident_work *w,
                    const char *by,
                    struct apply_result *res)
{
    bool again = w->inc.status == KLAXON__STATUS__ACKNOWLEDGED;
    int rv;

    w->inc.status = KLAXON__STATUS__ACKNOWLEDGED;
    w->inc.acknowledged_ms = ctx->now_ms;
    w->inc.acknowledged_by = (char *)by;
    rv = incident_event(ctx, &w->inc, KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED,
                        by, "%s", again ? "acknowledged again" : "");
    if (rv == 0) {
        rv = incident_paging_ack(ctx, &w->inc);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &w->inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &w->inc);
        snprintf(res->message, sizeof res->message, "acknowledged by %s", by);
    }
    return rv;
}

/*
 * The incident a request names: its incident_id, or the open incident of
 * service with dedup_key. 0 with *id set; 0 with a NOT_FOUND result and
 * *id 0; or an LMDB error.
 */
static int resolve_target(struct apply_ctx *ctx,
                          uint64_t incident_id,
                          const char *service,
                          const char *dedup,
                          uint64_t *id,
                          struct apply_result *res)
{
    int rv;

    *id = incident_id;
    if (incident_id != 0 || service == NULL || service[0] == '\0') {
        return 0;
    }
    rv = dedup_lookup(ctx, service, dedup, id);
    if (rv == MDB_NOTFOUND) {
        *id = 0;
        res->code = KLAXON__CODE__NOT_FOUND;
        snprintf(res->message, sizeof res->message,
                 "no open incident of service %s has dedup key %s", service,
                 dedup);
        return 0;
    }
    return rv;
}

int incident_ack(struct apply_ctx *ctx,
                 const Klaxon__AckRequest *a,
                 struct apply_result *res)
{
    struct incident_work w;
    struct ack_token t;
    uint64_t id = a->incident_id;
    const char *by = a->by;
    int rv;

    if (a->token != NULL && a->token[0] != '\0') {
        if (ack_from_token(ctx, a->token, &t, res) != 0 ||
            res->code != KLAXON__CODE__OK) {
            return 0;
        }
        id = t.incident_id;
        by = t.user;
    } else {
        rv = resolve_target(ctx, id, a->service, a->dedup_key, &id, res);
        if (rv != 0 || id == 0) {
            return rv;
        }
    }
    rv = load_target(ctx, id, &w, res);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    if (w.inc.status == KLAXON__STATUS__RESOLVED) {
        refuse_resolved(&w.inc, "acknowledged", res);
    } else {
        rv = ack_work(ctx, &w, by, res);
    }
    incident_work_free(&w);
    return rv;
}

/* Free the dedup key of an incident being resolved, if it still owns it. */
static int release_dedup(struct apply_ctx *ctx, const Klaxon__Incident *inc)
{
    uint8_t kb[DEDUP_KEY_MAX];
    MDB_val k;
    MDB_val v;
    int rv;

    if (inc->dedup_key[0] == '\0') {
        return 0;
    }
    k = dedup_key(kb, inc->service, inc->dedup_key);
    rv = mdb_get(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, &v);
    if (rv == MDB_NOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        return rv;
    }
    if (v.mv_size != 8 || store_get_be64(v.mv_data) != inc->id) {
        return 0;
    }
    return mdb_del(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, NULL);
}

int incident_close(struct apply_ctx *ctx,
                   Klaxon__Incident *inc,
                   const char *by,
                   const char *why)
{
    int rv;

    inc->status = KLAXON__STATUS__RESOLVED;
    inc->resolved_ms = ctx->now_ms;
    inc->resolved_by = (char *)by;
    rv = incident_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_RESOLVED, by, "%s",
                        why);
    if (rv == 0) {
        rv = incident_paging_resolve(ctx, inc);
    }
    if (rv == 0) {
        rv = set_open(ctx, inc, 0);
    }
    if (rv == 0) {
        rv = release_dedup(ctx, inc);
    }
    return rv;
}

int incident_resolve(struct apply_ctx *ctx,
                     const Klaxon__ResolveRequest *r,
                     struct apply_result *res)
{
    struct incident_work w;
    uint64_t id;
    int rv =
        resolve_target(ctx, r->incident_id, r->service, r->dedup_key, &id, res);
    if (rv != 0 || id == 0) {
        return rv;
    }
    rv = load_target(ctx, id, &w, res);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    if (w.inc.status == KLAXON__STATUS__RESOLVED) {
        result_set(res, KLAXON__CODE__FAILED_PRECONDITION, &w.inc);
        snprintf(res->message, sizeof res->message,
                 "incident %llu is already resolved (by %s)",
                 (unsigned long long)w.inc.id, w.inc.resolved_by);
        incident_work_free(&w);
        return 0;
    }
    w.inc.false_positive = r->false_positive;
    rv = incident_close(ctx, &w.inc, r->by,
                        r->false_positive ? "false positive" : "");
    if (rv == 0) {
        rv = incident_save(ctx, &w.inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &w.inc);
        snprintf(res->message, sizeof res->message, "resolved by %s%s", r->by,
                 r->false_positive ? " (false positive)" : "");
    }
    incident_work_free(&w);
    return rv;
}

int incident_note(struct apply_ctx *ctx,
                  const Klaxon__NoteRequest *n,
                  struct apply_result *res)
{
    struct incident_work w;
    int rv = load_target(ctx, n->incident_id, &w, res);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    rv = incident_event(ctx, &w.inc, KLAXON__EVENT_KIND__EVENT_NOTE, n->by,
                        "%s", n->text);
    if (rv == 0) {
        rv = incident_paging_note(ctx, &w.inc);
    }
    if (rv == 0) {
        rv = incident_save(ctx, &w.inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &w.inc);
        snprintf(res->message, sizeof res->message, "note added (%s)",
                 status_name(w.inc.status));
    }
    incident_work_free(&w);
    return rv;
}

static const char *const public_names[] = {
    "none", "investigating", "identified", "monitoring", "resolved"};

/* Apply a status-page update to the incident being changed. */
static int status_update_work(struct apply_ctx *ctx,
                              struct incident_work *w,
                              const Klaxon__StatusUpdateRequest *u,
                              struct apply_result *res)
{
    Klaxon__TimelineEvent ev = KLAXON__TIMELINE_EVENT__INIT;
    const Klaxon__StatusUpdate *up = u->update;
    Klaxon__Incident *inc = &w->inc;
    int rv;

    ev.kind = KLAXON__EVENT_KIND__EVENT_STATUS_UPDATE;
    ev.actor = u->by;
    ev.message = up->message;
    ev.update = (Klaxon__StatusUpdate *)up;
    rv = incident_put_event(ctx, inc, &ev);
    if (rv != 0) {
        return rv;
    }
    if (inc->public_status == KLAXON__PUBLIC_STATUS__PUBLIC_NONE) {
        inc->public_since_ms = ctx->now_ms;
    }
    inc->public_status = up->status;
    if (up->n_components > 0) {
        inc->n_components = up->n_components;
        inc->components = up->components;
    }
    if (up->impact[0] != '\0') {
        inc->impact = up->impact;
    }
    rv = incident_paging_note(ctx, inc); /* an update counts as one */
    if (rv == 0 && up->status == KLAXON__PUBLIC_STATUS__PUBLIC_RESOLVED &&
        inc->status != KLAXON__STATUS__RESOLVED) {
        rv = incident_close(ctx, inc, u->by, "status page: resolved");
    }
    if (rv == 0) {
        rv = incident_save(ctx, inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, inc);
        snprintf(res->message, sizeof res->message, "status update posted (%s)",
                 public_names[(unsigned)up->status < 5 ? up->status : 0]);
    }
    return rv;
}

int incident_status_update(struct apply_ctx *ctx,
                           const Klaxon__StatusUpdateRequest *u,
                           struct apply_result *res)
{
    struct incident_work w;
    int rv = load_target(ctx, u->incident_id, &w, res);

    if (rv != 0) {
        return rv == MDB_NOTFOUND ? 0 : rv;
    }
    rv = status_update_work(ctx, &w, u, res);
    incident_work_free(&w);
    return rv;
}
