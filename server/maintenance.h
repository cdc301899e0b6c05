/*
 * Maintenance windows: per service, scheduled ahead or started now, any
 * length up to 366 days. An incident that opens while a window of its
 * service is active is recorded as usual but pages nobody (and its
 * timeline says which window). Windows can be listed and ended early.
 *
 * Windows live in the `maintenance` table (id -> klaxon.MaintenanceWindow);
 * a window that ended more than MAINTENANCE_RETENTION_MS ago is removed
 * when a new one starts. Every decision uses the Raft entry's time.
 */
#ifndef KLAXON_MAINTENANCE_H
#define KLAXON_MAINTENANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "apply.h"

#define MAINTENANCE_RETENTION_MS (30ull * 24 * 3600 * 1000)

int maintenance_start(struct apply_ctx *ctx,
                      const Klaxon__MaintenanceStartRequest *m,
                      struct apply_result *res);
int maintenance_end(struct apply_ctx *ctx,
                    const Klaxon__MaintenanceEndRequest *m,
                    struct apply_result *res);

/* The id of an active window of `service` at ctx->now_ms, 0 if none. */
int maintenance_active(struct apply_ctx *ctx,
                       const char *service,
                       uint64_t *window_id);

/* Windows that have not ended at now_ms (all with include_ended), oldest
 * first. Free with klaxon__maintenance_list_result__free_unpacked. */
int maintenance_list(MDB_txn *txn,
                     const struct store *s,
                     bool include_ended,
                     uint64_t now_ms,
                     Klaxon__MaintenanceListResult **out);

#endif /* KLAXON_MAINTENANCE_H */
