#include "requests.h"

#include <stdio.h>
#include <string.h>

#include "cluster.pb-c.h"
#include "field_limits.h"

void apply_result_to_proto(const struct apply_result *res,
                           Klaxon__MutationResult *m)
{
    klaxon__mutation_result__init(m);
    m->code = (Klaxon__Code)res->code;
    m->message = (char *)res->message;
    m->incident_id = res->incident_id;
    m->deduplicated = res->deduplicated;
    m->alert_count = res->alert_count;
    m->status = (Klaxon__Status)res->status;
    m->config_version = res->config_version;
    m->unchanged = res->unchanged;
    m->window_id = res->window_id;
}

static void proto_to_apply_result(const Klaxon__MutationResult *m,
                                  struct apply_result *res)
{
    memset(res, 0, sizeof *res);
    res->code = m->code;
    snprintf(res->message, sizeof res->message, "%s", m->message);
    res->incident_id = m->incident_id;
    res->deduplicated = m->deduplicated;
    res->alert_count = m->alert_count;
    res->status = m->status;
    res->config_version = m->config_version;
    res->unchanged = m->unchanged;
    res->window_id = m->window_id;
}

int requests_lookup(MDB_txn *txn,
                    const struct store *s,
                    ProtobufCBinaryData id,
                    struct apply_result *res,
                    bool *found)
{
    MDB_val k = {id.len, id.data};
    MDB_val v;
    Klaxon__Cluster__StoredRequest *sr;
    int rv;

    *found = false;
    rv = mdb_get(txn, s->dbi[TABLE_REQUESTS], &k, &v);
    if (rv == MDB_NOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        return rv;
    }
    sr = klaxon__cluster__stored_request__unpack(NULL, v.mv_size, v.mv_data);
    if (sr == NULL || sr->result == NULL) {
        if (sr != NULL) {
            klaxon__cluster__stored_request__free_unpacked(sr, NULL);
        }
        return MDB_CORRUPTED;
    }
    proto_to_apply_result(sr->result, res);
    klaxon__cluster__stored_request__free_unpacked(sr, NULL);
    *found = true;
    return 0;
}

int requests_record(MDB_txn *txn,
                    const struct store *s,
                    ProtobufCBinaryData id,
                    const struct apply_result *res,
                    uint64_t now_ms)
{
    Klaxon__Cluster__StoredRequest sr = KLAXON__CLUSTER__STORED_REQUEST__INIT;
    Klaxon__MutationResult m;
    uint8_t age[8 + LIMIT_REQUEST_ID];
    MDB_val k = {id.len, id.data};
    MDB_val ak = {8 + id.len, age};
    MDB_val v;
    int rv;

    if (id.len > LIMIT_REQUEST_ID) {
        return MDB_BAD_VALSIZE;
    }
    apply_result_to_proto(res, &m);
    sr.result = &m;
    sr.at_ms = now_ms;
    v.mv_size = klaxon__cluster__stored_request__get_packed_size(&sr);
    rv = mdb_put(txn, s->dbi[TABLE_REQUESTS], &k, &v, MDB_RESERVE);
    if (rv != 0) {
        return rv;
    }
    klaxon__cluster__stored_request__pack(&sr, v.mv_data);
    store_put_be64(age, now_ms);
    memcpy(age + 8, id.data, id.len);
    v.mv_size = 0;
    v.mv_data = NULL;
    return mdb_put(txn, s->dbi[TABLE_REQUEST_AGE], &ak, &v, 0);
}

int requests_expire(MDB_txn *txn,
                    const struct store *s,
                    uint64_t now_ms,
                    unsigned max)
{
    MDB_cursor *cur;
    MDB_val k;
    MDB_val v;
    unsigned n = 0;
    int rv;

    if (now_ms < REQUEST_RETENTION_MS) {
        return 0;
    }
    rv = mdb_cursor_open(txn, s->dbi[TABLE_REQUEST_AGE], &cur);
    if (rv != 0) {
        return rv;
    }
    rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rv == 0 && n < max && k.mv_size > 8 &&
           store_get_be64(k.mv_data) < now_ms - REQUEST_RETENTION_MS) {
        MDB_val rk = {k.mv_size - 8, (uint8_t *)k.mv_data + 8};
        rv = mdb_del(txn, s->dbi[TABLE_REQUESTS], &rk, NULL);
        if (rv != 0 && rv != MDB_NOTFOUND) {
            break;
        }
        rv = mdb_cursor_del(cur, 0);
        if (rv != 0) {
            break;
        }
        n++;
        rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? 0 : rv;
}
