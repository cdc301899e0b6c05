#include "oncall_state.h"

#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "incident.h"
#include "monitor.h"
#include "oncall_config.h"

static MDB_val config_key(void)
{
    MDB_val k = {sizeof CONFIG_CURRENT - 1, CONFIG_CURRENT};
    return k;
}

int oncall_stored(MDB_txn *txn,
                  const struct store *s,
                  Klaxon__Cluster__StoredConfig **out)
{
    MDB_val k = config_key();
    return store_get_message(txn, s->dbi[TABLE_CONFIG], &k,
                             &klaxon__cluster__stored_config__descriptor,
                             (ProtobufCMessage **)out);
}

/* Do two configurations encode to the same bytes? */
static int same_config(const Klaxon__OncallConfig *a,
                       const Klaxon__OncallConfig *b,
                       bool *same)
{
    size_t na = klaxon__oncall_config__get_packed_size(a);
    size_t nb = klaxon__oncall_config__get_packed_size(b);
    uint8_t *pa;
    uint8_t *pb;

    *same = false;
    if (na != nb) {
        return 0;
    }
    pa = malloc(na + 1);
    pb = malloc(nb + 1);
    if (pa == NULL || pb == NULL) {
        free(pa);
        free(pb);
        return MDB_PANIC;
    }
    klaxon__oncall_config__pack(a, pa);
    klaxon__oncall_config__pack(b, pb);
    *same = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return 0;
}

static int store_config(struct apply_ctx *ctx,
                        const Klaxon__Cluster__SetConfig *c,
                        uint64_t version)
{
    Klaxon__Cluster__StoredConfig sc = KLAXON__CLUSTER__STORED_CONFIG__INIT;
    MDB_val k = config_key();

    sc.version = version;
    sc.config = c->config;
    sc.file_name = c->file_name;
    sc.yaml = c->yaml;
    sc.applied_ms = ctx->now_ms;
    sc.applied_by = c->by;
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k,
                             &sc.base);
}

int oncall_set_config(struct apply_ctx *ctx,
                      const Klaxon__Cluster__SetConfig *c,
                      struct apply_result *res)
{
    const Klaxon__OncallConfig *old;
    uint64_t version;
    bool same;
    int rv = apply_config(ctx, &old);

    if (rv != 0) {
        return rv;
    }
    version = apply_config_version(ctx);
    res->config_version = version;
    if (oncall_config_validate(c->config, res->message, sizeof res->message) !=
        0) {
        res->code = KLAXON__CODE__INVALID_ARGUMENT;
        return 0;
    }
    rv = same_config(old, c->config, &same);
    if (rv != 0 || (same && version != 0)) {
        res->unchanged = true;
        return rv != 0 ? rv
                       : apply_answer(res, KLAXON__CODE__OK,
                                      "configuration unchanged (version %llu)",
                                      (unsigned long long)version);
    }
    rv = store_config(ctx, c, version + 1);
    if (rv == 0) {
        rv = monitors_sync(ctx, old, c->config);
    }
    if (rv == 0) {
        rv = handoffs_sync(ctx, old, c->config);
    }
    apply_env_close(ctx->env); /* reload the new one on next use */
    res->config_version = version + 1;
    apply_answer(res, KLAXON__CODE__OK, "configuration version %llu applied",
                 (unsigned long long)(version + 1));
    return rv;
}

static int put_bytes(struct apply_ctx *ctx,
                     const char *key,
                     const ProtobufCBinaryData *b)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v = {b->len, b->data};
    return mdb_put(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k, &v, 0);
}

int oncall_set_secret(struct apply_ctx *ctx,
                      const Klaxon__Cluster__SetSecret *s,
                      struct apply_result *res)
{
    int rv;

    if (ctx->env->has_secret) {
        return apply_answer(res, KLAXON__CODE__OK, "secret already set");
    }
    if (s->secret.len != SECRET_LEN || s->cluster_id.len != CLUSTER_ID_LEN) {
        return apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                            "secret: must be %d bytes, cluster_id %d",
                            SECRET_LEN, CLUSTER_ID_LEN);
    }
    rv = put_bytes(ctx, CONFIG_SECRET, &s->secret);
    if (rv == 0) {
        rv = put_bytes(ctx, CONFIG_CLUSTER_ID, &s->cluster_id);
    }
    if (rv == 0) {
        memcpy(ctx->env->secret, s->secret.data, SECRET_LEN);
        memcpy(ctx->env->cluster_id, s->cluster_id.data, CLUSTER_ID_LEN);
        ctx->env->has_secret = true;
    }
    return rv;
}

int oncall_counters(MDB_txn *txn,
                    const struct store *s,
                    Klaxon__StateCounters *out)
{
    static const char *const keys[] = {
        COUNT_OPEN,
        COUNT_PAGES_CREATED,
        COUNT_PAGES_DELIVERED,
        COUNT_PAGES_FAILED,
        COUNT_PAGES_CANCELLED,
        COUNT_ESCALATIONS,
        COUNT_UNANSWERED,
        COUNT_RESPONSE_MISSED,
        COUNT_RESOLUTION_MISSED,
        COUNT_HEARTBEATS_MISSED,
    };
    uint64_t *slots[] = {
        &out->open_incidents,    &out->pages_created,   &out->pages_delivered,
        &out->pages_failed,      &out->pages_cancelled, &out->escalations,
        &out->unanswered,        &out->response_missed, &out->resolution_missed,
        &out->heartbeats_missed,
    };
    Klaxon__Cluster__StoredConfig *sc;
    int rv = 0;

    klaxon__state_counters__init(out);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && rv == 0; i++) {
        rv = store_meta_get(txn, s, keys[i], slots[i]);
    }
    if (rv == 0) {
        rv = oncall_stored(txn, s, &sc);
        if (rv == 0) {
            out->config_version = sc->version;
            klaxon__cluster__stored_config__free_unpacked(sc, NULL);
        }
    }
    return rv == MDB_NOTFOUND ? 0 : rv;
}
