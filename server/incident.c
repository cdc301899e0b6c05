#include "incident.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"

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

/* Encode `m` straight into an LMDB page (MDB_RESERVE). */
static int put_message(MDB_txn *txn,
                       MDB_dbi dbi,
                       MDB_val *key,
                       const ProtobufCMessage *m)
{
    MDB_val val;
    int rv;

    val.mv_size = protobuf_c_message_get_packed_size(m);
    val.mv_data = NULL;
    rv = mdb_put(txn, dbi, key, &val, MDB_RESERVE);
    if (rv != 0) {
        return rv;
    }
    protobuf_c_message_pack(m, val.mv_data);
    return 0;
}

static MDB_val id_key(uint8_t buf[8], uint64_t id)
{
    MDB_val k = {8, buf};
    store_put_be64(buf, id);
    return k;
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

int incident_load(MDB_txn *txn,
                  const struct store *s,
                  uint64_t id,
                  Klaxon__Incident **out)
{
    uint8_t kb[8];
    MDB_val k = id_key(kb, id);
    MDB_val v;
    int rv = mdb_get(txn, s->dbi[TABLE_INCIDENTS], &k, &v);
    if (rv != 0) {
        return rv;
    }
    *out = klaxon__incident__unpack(NULL, v.mv_size, v.mv_data);
    return *out != NULL ? 0 : MDB_CORRUPTED;
}

static int save_incident(struct apply_ctx *ctx, const Klaxon__Incident *inc)
{
    uint8_t kb[8];
    MDB_val k = id_key(kb, inc->id);
    return put_message(ctx->txn, ctx->store->dbi[TABLE_INCIDENTS], &k,
                       &inc->base);
}

/* Append a timeline event and bump inc->timeline_len. */
static int add_event(struct apply_ctx *ctx,
                     Klaxon__Incident *inc,
                     Klaxon__EventKind kind,
                     const char *actor,
                     const char *message)
{
    Klaxon__TimelineEvent ev = KLAXON__TIMELINE_EVENT__INIT;
    uint8_t kb[12];
    MDB_val k = {sizeof kb, kb};

    ev.at_ms = ctx->now_ms;
    ev.kind = kind;
    ev.actor = (char *)actor;
    ev.message = (char *)message;
    store_put_be64(kb, inc->id);
    store_put_be32(kb + 8, inc->timeline_len);
    inc->timeline_len++;
    inc->updated_ms = ctx->now_ms;
    return put_message(ctx->txn, ctx->store->dbi[TABLE_TIMELINE], &k, &ev.base);
}

static int set_open(struct apply_ctx *ctx, uint64_t id, int open)
{
    uint8_t kb[8];
    MDB_val k = id_key(kb, id);
    MDB_val v = {0, NULL};
    int rv;
    if (open) {
        return mdb_put(ctx->txn, ctx->store->dbi[TABLE_OPEN], &k, &v, 0);
    }
    rv = mdb_del(ctx->txn, ctx->store->dbi[TABLE_OPEN], &k, NULL);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

/* Attach a trigger to the open incident `id` found through its dedup key. */
static int attach_alert(struct apply_ctx *ctx,
                        uint64_t id,
                        const Klaxon__TriggerRequest *t,
                        struct apply_result *res)
{
    Klaxon__Incident *inc;
    int rv = incident_load(ctx->txn, ctx->store, id, &inc);
    if (rv != 0) {
        return rv == MDB_NOTFOUND ? MDB_CORRUPTED : rv;
    }
    inc->alert_count++;
    inc->last_alert_ms = ctx->now_ms;
    rv = add_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_ALERT, t->source,
                   t->summary);
    if (rv == 0) {
        rv = save_incident(ctx, inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, inc);
        res->deduplicated = true;
        snprintf(res->message, sizeof res->message,
                 "attached to open incident %llu", (unsigned long long)inc->id);
    }
    klaxon__incident__free_unpacked(inc, NULL);
    return rv;
}

static int open_incident(struct apply_ctx *ctx,
                         const Klaxon__TriggerRequest *t,
                         struct apply_result *res)
{
    Klaxon__Incident inc = KLAXON__INCIDENT__INIT;
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
    rv = store_meta_put(ctx->txn, ctx->store, META_NEXT_INCIDENT, inc.id + 1);
    if (rv == 0) {
        rv = add_event(ctx, &inc, KLAXON__EVENT_KIND__EVENT_TRIGGERED,
                       t->source, t->summary);
    }
    if (rv == 0) {
        rv = save_incident(ctx, &inc);
    }
    if (rv == 0) {
        rv = set_open(ctx, inc.id, 1);
    }
    if (rv == 0 && t->dedup_key[0] != '\0') {
        uint8_t kb[DEDUP_KEY_MAX];
        uint8_t vb[8];
        MDB_val k = dedup_key(kb, t->service, t->dedup_key);
        MDB_val v = id_key(vb, inc.id);
        rv = mdb_put(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, &v, 0);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &inc);
        snprintf(res->message, sizeof res->message, "opened incident %llu",
                 (unsigned long long)inc.id);
    }
    return rv;
}

int incident_trigger(struct apply_ctx *ctx,
                     const Klaxon__TriggerRequest *t,
                     struct apply_result *res)
{
    uint8_t kb[DEDUP_KEY_MAX];
    MDB_val k;
    MDB_val v;
    int rv;

    if (t->dedup_key[0] == '\0') {
        return open_incident(ctx, t, res);
    }
    k = dedup_key(kb, t->service, t->dedup_key);
    rv = mdb_get(ctx->txn, ctx->store->dbi[TABLE_DEDUP], &k, &v);
    if (rv == MDB_NOTFOUND) {
        return open_incident(ctx, t, res);
    }
    if (rv != 0) {
        return rv;
    }
    if (v.mv_size != 8) {
        return MDB_CORRUPTED;
    }
    return attach_alert(ctx, store_get_be64(v.mv_data), t, res);
}

/* Load the target of ack/resolve/note, or fill a NOT_FOUND result. */
static int load_target(struct apply_ctx *ctx,
                       uint64_t id,
                       Klaxon__Incident **out,
                       struct apply_result *res)
{
    int rv = incident_load(ctx->txn, ctx->store, id, out);
    if (rv == MDB_NOTFOUND) {
        res->code = KLAXON__CODE__NOT_FOUND;
        res->incident_id = id;
        snprintf(res->message, sizeof res->message, "incident %llu not found",
                 (unsigned long long)id);
        *out = NULL;
        return 0;
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

int incident_ack(struct apply_ctx *ctx,
                 const Klaxon__AckRequest *a,
                 struct apply_result *res)
{
    Klaxon__Incident *inc;
    Klaxon__Incident upd;
    bool again;
    int rv = load_target(ctx, a->incident_id, &inc, res);
    if (rv != 0 || inc == NULL) {
        return rv;
    }
    if (inc->status == KLAXON__STATUS__RESOLVED) {
        refuse_resolved(inc, "acknowledged", res);
        klaxon__incident__free_unpacked(inc, NULL);
        return 0;
    }
    /* Work on a shallow copy so that borrowed strings are never freed. */
    upd = *inc;
    again = inc->status == KLAXON__STATUS__ACKNOWLEDGED;
    upd.status = KLAXON__STATUS__ACKNOWLEDGED;
    upd.acknowledged_ms = ctx->now_ms;
    upd.acknowledged_by = a->by;
    rv = add_event(ctx, &upd, KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED, a->by,
                   again ? "acknowledged again" : "");
    if (rv == 0) {
        rv = save_incident(ctx, &upd);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &upd);
        snprintf(res->message, sizeof res->message, "acknowledged by %s",
                 a->by);
    }
    klaxon__incident__free_unpacked(inc, NULL);
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

int incident_resolve(struct apply_ctx *ctx,
                     const Klaxon__ResolveRequest *r,
                     struct apply_result *res)
{
    Klaxon__Incident *inc;
    Klaxon__Incident upd;
    int rv = load_target(ctx, r->incident_id, &inc, res);
    if (rv != 0 || inc == NULL) {
        return rv;
    }
    if (inc->status == KLAXON__STATUS__RESOLVED) {
        result_set(res, KLAXON__CODE__FAILED_PRECONDITION, inc);
        snprintf(res->message, sizeof res->message,
                 "incident %llu is already resolved (by %s)",
                 (unsigned long long)inc->id, inc->resolved_by);
        klaxon__incident__free_unpacked(inc, NULL);
        return 0;
    }
    upd = *inc;
    upd.status = KLAXON__STATUS__RESOLVED;
    upd.resolved_ms = ctx->now_ms;
    upd.resolved_by = r->by;
    rv = add_event(ctx, &upd, KLAXON__EVENT_KIND__EVENT_RESOLVED, r->by, "");
    if (rv == 0) {
        rv = save_incident(ctx, &upd);
    }
    if (rv == 0) {
        rv = set_open(ctx, upd.id, 0);
    }
    if (rv == 0) {
        rv = release_dedup(ctx, &upd);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, &upd);
        snprintf(res->message, sizeof res->message, "resolved by %s", r->by);
    }
    klaxon__incident__free_unpacked(inc, NULL);
    return rv;
}

int incident_note(struct apply_ctx *ctx,
                  const Klaxon__NoteRequest *n,
                  struct apply_result *res)
{
    Klaxon__Incident *inc;
    int rv = load_target(ctx, n->incident_id, &inc, res);
    if (rv != 0 || inc == NULL) {
        return rv;
    }
    rv = add_event(ctx, inc, KLAXON__EVENT_KIND__EVENT_NOTE, n->by, n->text);
    if (rv == 0) {
        rv = save_incident(ctx, inc);
    }
    if (rv == 0) {
        result_set(res, KLAXON__CODE__OK, inc);
        snprintf(res->message, sizeof res->message, "note added (%s)",
                 status_name(inc->status));
    }
    klaxon__incident__free_unpacked(inc, NULL);
    return rv;
}

/* --- reads ---------------------------------------------------------------- */

static int load_timeline(MDB_txn *txn,
                         const struct store *s,
                         const Klaxon__Incident *inc,
                         Klaxon__GetResult *res)
{
    MDB_cursor *cur;
    uint8_t kb[12];
    MDB_val k = {sizeof kb, kb};
    MDB_val v;
    int rv;

    res->timeline = calloc(inc->timeline_len + 1, sizeof *res->timeline);
    if (res->timeline == NULL) {
        return ENOMEM;
    }
    rv = mdb_cursor_open(txn, s->dbi[TABLE_TIMELINE], &cur);
    if (rv != 0) {
        return rv;
    }
    store_put_be64(kb, inc->id);
    store_put_be32(kb + 8, 0);
    rv = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rv == 0 && res->n_timeline < inc->timeline_len && k.mv_size == 12 &&
           store_get_be64(k.mv_data) == inc->id) {
        Klaxon__TimelineEvent *ev =
            klaxon__timeline_event__unpack(NULL, v.mv_size, v.mv_data);
        if (ev == NULL) {
            rv = MDB_CORRUPTED;
            break;
        }
        res->timeline[res->n_timeline++] = ev;
        rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int incident_get(MDB_txn *txn,
                 const struct store *s,
                 uint64_t id,
                 Klaxon__GetResult **out)
{
    Klaxon__GetResult *res;
    Klaxon__Incident *inc;
    int rv = incident_load(txn, s, id, &inc);
    if (rv != 0) {
        return rv;
    }
    res = malloc(sizeof *res);
    if (res == NULL) {
        klaxon__incident__free_unpacked(inc, NULL);
        return ENOMEM;
    }
    klaxon__get_result__init(res);
    res->incident = inc;
    rv = load_timeline(txn, s, inc, res);
    if (rv != 0) {
        klaxon__get_result__free_unpacked(res, NULL);
        return rv;
    }
    *out = res;
    return 0;
}

static int matches(const Klaxon__Incident *inc, const Klaxon__ListRequest *q)
{
    if (q->service[0] != '\0' && strcmp(inc->service, q->service) != 0) {
        return 0;
    }
    switch (q->filter) {
        case KLAXON__STATUS_FILTER__OPEN:
            return inc->status != KLAXON__STATUS__RESOLVED;
        case KLAXON__STATUS_FILTER__ONLY_TRIGGERED:
            return inc->status == KLAXON__STATUS__TRIGGERED;
        case KLAXON__STATUS_FILTER__ONLY_ACKNOWLEDGED:
            return inc->status == KLAXON__STATUS__ACKNOWLEDGED;
        case KLAXON__STATUS_FILTER__ONLY_RESOLVED:
            return inc->status == KLAXON__STATUS__RESOLVED;
        default:
            return 1;
    }
}

/* Position a cursor on the newest id below q->before_id (or the newest). */
static int list_first(MDB_cursor *cur, uint64_t before, MDB_val *k)
{
    uint8_t kb[8];
    MDB_val v;
    int rv;
    if (before == 0) {
        return mdb_cursor_get(cur, k, &v, MDB_LAST);
    }
    store_put_be64(kb, before);
    k->mv_size = 8;
    k->mv_data = kb;
    rv = mdb_cursor_get(cur, k, &v, MDB_SET_RANGE);
    if (rv == MDB_NOTFOUND) {
        return mdb_cursor_get(cur, k, &v, MDB_LAST);
    }
    if (rv != 0) {
        return rv;
    }
    return mdb_cursor_get(cur, k, &v, MDB_PREV);
}

static int list_scan(MDB_txn *txn,
                     const struct store *s,
                     const Klaxon__ListRequest *q,
                     size_t limit,
                     Klaxon__ListResult *res)
{
    bool open_only = q->filter == KLAXON__STATUS_FILTER__OPEN ||
                     q->filter == KLAXON__STATUS_FILTER__ONLY_TRIGGERED ||
                     q->filter == KLAXON__STATUS_FILTER__ONLY_ACKNOWLEDGED;
    MDB_dbi dbi = s->dbi[open_only ? TABLE_OPEN : TABLE_INCIDENTS];
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    int rv = mdb_cursor_open(txn, dbi, &cur);
    if (rv != 0) {
        return rv;
    }
    if (q->before_id == 1) {
        rv = MDB_NOTFOUND;
    } else {
        rv = list_first(cur, q->before_id, &k);
    }
    while (rv == 0) {
        Klaxon__Incident *inc;
        if (k.mv_size != 8) {
            rv = MDB_CORRUPTED;
            break;
        }
        rv = incident_load(txn, s, store_get_be64(k.mv_data), &inc);
        if (rv != 0) {
            break;
        }
        if (!matches(inc, q)) {
            klaxon__incident__free_unpacked(inc, NULL);
        } else if (res->n_incidents == limit) {
            klaxon__incident__free_unpacked(inc, NULL);
            res->more = 1;
            break;
        } else {
            res->incidents[res->n_incidents++] = inc;
        }
        rv = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}

int incident_list(MDB_txn *txn,
                  const struct store *s,
                  const Klaxon__ListRequest *q,
                  Klaxon__ListResult **out)
{
    size_t limit = q->limit == 0 ? DEFAULT_LIST : q->limit;
    Klaxon__ListResult *res;
    int rv;

    if (limit > LIMIT_LIST) {
        limit = LIMIT_LIST;
    }
    res = malloc(sizeof *res);
    if (res == NULL) {
        return ENOMEM;
    }
    klaxon__list_result__init(res);
    res->incidents = calloc(limit + 1, sizeof *res->incidents);
    if (res->incidents == NULL) {
        free(res);
        return ENOMEM;
    }
    rv = list_scan(txn, s, q, limit, res);
    if (rv != 0) {
        klaxon__list_result__free_unpacked(res, NULL);
        return rv;
    }
    *out = res;
    return 0;
}
