#include "apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "oncall_config.h"

void apply_env_init(struct apply_env *env)
{
    memset(env, 0, sizeof *env);
    klaxon__oncall_config__init(&env->empty);
}

void apply_env_reset(struct apply_env *env)
{
    apply_env_close(env);
    apply_env_init(env);
}

void apply_env_close(struct apply_env *env)
{
    if (env->stored != NULL) {
        klaxon__cluster__stored_config__free_unpacked(env->stored, NULL);
        env->stored = NULL;
    }
    env->loaded = false;
    open_counts_reset(&env->open);
}

static int load_config(struct apply_env *env,
                       MDB_txn *txn,
                       const struct store *s)
{
    MDB_val k = {sizeof CONFIG_CURRENT - 1, CONFIG_CURRENT};
    Klaxon__Cluster__StoredConfig *sc;
    ProtobufCMessage *m;
    char err[512];
    int rv = store_get_message(txn, s->dbi[TABLE_CONFIG], &k,
                               &klaxon__cluster__stored_config__descriptor, &m);
    if (rv == MDB_NOTFOUND) {
        env->loaded = true;
        return 0;
    }
    if (rv != 0) {
        return rv;
    }
    sc = (Klaxon__Cluster__StoredConfig *)m;
    /* Every configuration was validated before it was stored; one that is
     * not valid now came from a corrupted store or snapshot, and apply
     * must not follow its missing references. */
    if (sc->config != NULL &&
        oncall_config_validate(sc->config, err, sizeof err) != 0) {
        log_error("state: the stored on-call configuration is invalid: %s",
                  err);
        klaxon__cluster__stored_config__free_unpacked(sc, NULL);
        return MDB_CORRUPTED;
    }
    env->stored = sc;
    env->loaded = true;
    return 0;
}

int apply_config(struct apply_ctx *ctx, const Klaxon__OncallConfig **out)
{
    return apply_env_config(ctx->env, ctx->txn, ctx->store, out);
}

int apply_env_config(struct apply_env *env,
                     MDB_txn *txn,
                     const struct store *s,
                     const Klaxon__OncallConfig **out)
{
    int rv;

    if (!env->loaded) {
        rv = load_config(env, txn, s);
        if (rv != 0) {
            return rv;
        }
    }
    *out = env->stored != NULL && env->stored->config != NULL
               ? env->stored->config
               : &env->empty;
    return 0;
}

uint64_t apply_config_version(const struct apply_ctx *ctx)
{
    return ctx->env->stored != NULL ? ctx->env->stored->version : 0;
}

static int get_bytes(MDB_txn *txn,
                     const struct store *s,
                     const char *key,
                     uint8_t *out,
                     size_t len)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v;
    int rv = mdb_get(txn, s->dbi[TABLE_CONFIG], &k, &v);
    if (rv != 0) {
        return rv;
    }
    if (v.mv_size != len) {
        return MDB_CORRUPTED;
    }
    memcpy(out, v.mv_data, len);
    return 0;
}

int apply_env_load_secret(struct apply_env *env,
                          MDB_txn *txn,
                          const struct store *s)
{
    int rv = get_bytes(txn, s, CONFIG_SECRET, env->secret, SECRET_LEN);
    if (rv == 0) {
        rv = get_bytes(txn, s, CONFIG_CLUSTER_ID, env->cluster_id,
                       CLUSTER_ID_LEN);
    }
    if (rv == MDB_NOTFOUND) {
        env->has_secret = false;
        return 0;
    }
    env->has_secret = rv == 0;
    return rv;
}

int apply_answer(struct apply_result *res, int code, const char *fmt, ...)
{
    va_list ap;

    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    return 0;
}
