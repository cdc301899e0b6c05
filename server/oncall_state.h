/*
 * The replicated on-call configuration and cluster secret, as
 * state-machine transitions, plus reading them back for clients.
 *
 * SetConfig validates the configuration again (oncall_config_validate),
 * and is a no-op when it encodes exactly like the one in force; otherwise
 * it stores it with the next version, then brings heartbeat monitors and
 * hand-off timers in line with it. Incidents already open keep their
 * escalation position and use the new policies from their next step.
 *
 * SetSecret stores the token secret and cluster id if there are none yet;
 * later ones change nothing.
 */
#ifndef KLAXON_ONCALL_STATE_H
#define KLAXON_ONCALL_STATE_H

#include "apply.h"

int oncall_set_config(struct apply_ctx *ctx,
                      const Klaxon__Cluster__SetConfig *c,
                      struct apply_result *res);

int oncall_set_secret(struct apply_ctx *ctx,
                      const Klaxon__Cluster__SetSecret *s,
                      struct apply_result *res);

/* The stored configuration: 0 and *out (free with
 * klaxon__cluster__stored_config__free_unpacked), MDB_NOTFOUND, or an
 * LMDB error. */
int oncall_stored(MDB_txn *txn,
                  const struct store *s,
                  Klaxon__Cluster__StoredConfig **out);

/* Fill the state counters (NodeStatus.counters) from meta. */
int oncall_counters(MDB_txn *txn,
                    const struct store *s,
                    Klaxon__StateCounters *out);

#endif /* KLAXON_ONCALL_STATE_H */
