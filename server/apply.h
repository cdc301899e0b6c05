/*
 * What every state-machine transition gets: the LMDB write transaction of
 * the entry being applied, the entry's time, and the apply environment
 * (the on-call configuration in force, the cluster secret, and what
 * changed for the leader's engine to look at).
 *
 * Transitions never read a clock or randomness: `now_ms` is the Raft
 * entry's time. They return 0 with a result filled in (a refusal is a
 * result, not an error) or an LMDB error code, after which the whole
 * transaction is aborted and the node stops (see fsm.h).
 */
#ifndef KLAXON_APPLY_H
#define KLAXON_APPLY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "klaxon.pb-c.h"
#include "open_counts.h"
#include "store.h"

#define SECRET_LEN 32
#define CLUSTER_ID_LEN 8

/* Lives as long as the state machine; caches what apply reads often. */
struct apply_env
{
    /* The configuration in force, decoded; NULL until loaded or if none. */
    Klaxon__Cluster__StoredConfig *stored;
    bool loaded;
    Klaxon__OncallConfig empty; /* stands in when none is applied */
    /* The cluster secret (acknowledgement tokens, page keys). */
    bool has_secret;
    uint8_t secret[SECRET_LEN];
    uint8_t cluster_id[CLUSTER_ID_LEN];
    /* Set by transitions, cleared by the leader's engine when it looked. */
    bool timers_changed;
    bool pages_added;
    /* Open incidents by service and severity (for /metrics). */
    struct open_counts open;
};

struct apply_ctx
{
    MDB_txn *txn;
    const struct store *store;
    uint64_t now_ms;
    struct apply_env *env;
};

/* Outcome of one command, as kept for retries and sent to the client. */
struct apply_result
{
    int code; /* KLAXON__CODE__* */
    char message[256];
    uint64_t incident_id;
    bool deduplicated;
    uint32_t alert_count;
    int status; /* KLAXON__STATUS__* */
    uint64_t config_version;
    bool unchanged;
    uint64_t window_id;
};

void apply_env_init(struct apply_env *env);

/* Forget the cached state (after a snapshot was restored). */
void apply_env_reset(struct apply_env *env);

/* Release the cache. */
void apply_env_close(struct apply_env *env);

/* The configuration in force (an empty one if none was applied), loaded
 * from the store on first use. LMDB error or 0. */
int apply_config(struct apply_ctx *ctx, const Klaxon__OncallConfig **out);

/* The same for readers outside apply on the loop thread (the leader's
 * dispatcher), with any transaction. */
int apply_env_config(struct apply_env *env,
                     MDB_txn *txn,
                     const struct store *s,
                     const Klaxon__OncallConfig **out);

/* Version of the configuration in force (0: none). Call after
 * apply_config(). */
uint64_t apply_config_version(const struct apply_ctx *ctx);

/* Load the secret into env if the store has one. LMDB error or 0. */
int apply_env_load_secret(struct apply_env *env,
                          MDB_txn *txn,
                          const struct store *s);

/* res = {code, message}; returns 0 (for `return apply_answer(...)`). */
int apply_answer(struct apply_result *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* KLAXON_APPLY_H */
