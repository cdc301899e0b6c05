/* Incident reads: one incident with its timeline, and list queries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "field_limits.h"
#include "incident.h"

int incident_load(MDB_txn *txn,
                  const struct store *s,
                  uint64_t id,
                  Klaxon__Incident **out)
{
    uint8_t kb[8];
    MDB_val k = store_id_key(kb, id);
    return store_get_message(txn, s->dbi[TABLE_INCIDENTS], &k,
                             &klaxon__incident__descriptor,
                             (ProtobufCMessage **)out);
}

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
