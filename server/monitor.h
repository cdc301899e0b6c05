/*
 * Heartbeat monitors (dead man's switches): a job checks in every
 * interval; a missed check-in opens an incident on the monitor's service
 * (dedup key "heartbeat/<name>"), and the next check-in resolves it.
 *
 * Each monitor has a record in the `monitors` table and one timer at its
 * due time. A monitor starts counting when the configuration that defines
 * it is applied. The miss is decided once, by the leader's tick through
 * Raft, so a failover neither misses nor doubles it.
 */
#ifndef KLAXON_MONITOR_H
#define KLAXON_MONITOR_H

#include "apply.h"
#include "timers.h"

/* Bring monitor records and timers in line with a new configuration. */
int monitors_sync(struct apply_ctx *ctx,
                  const Klaxon__OncallConfig *old_cfg,
                  const Klaxon__OncallConfig *new_cfg);

int monitor_checkin(struct apply_ctx *ctx,
                    const Klaxon__HeartbeatRequest *h,
                    struct apply_result *res);

/* A monitor's timer fell due. */
int monitor_tick(struct apply_ctx *ctx, const struct timer_key *k);

/* Every configured monitor with its state. Free with
 * klaxon__monitors_result__free_unpacked. */
int monitors_list(MDB_txn *txn,
                  const struct store *s,
                  const Klaxon__OncallConfig *cfg,
                  Klaxon__MonitorsResult **out);

#endif /* KLAXON_MONITOR_H */
