/*
 * Incidents: the transitions of the incident state machine and the reads
 * that go with them, inside an LMDB transaction of the store.
 *
 *   trigger ──► TRIGGERED ──ack──► ACKNOWLEDGED ──resolve──► RESOLVED
 *                   ▲  └────────────────resolve───────────────┘
 *                   └── acknowledgement timeout ──┘
 *
 * - trigger with the dedup key of an open incident of the same service
 *   attaches to it (alert_count + 1) instead of opening another one;
 *   resolving frees the dedup key.
 * - ack of an acknowledged incident is allowed (re-acknowledge); ack or
 *   resolve of a resolved incident is refused; notes are allowed in every
 *   state.
 * - every change appends a timeline event with its time and actor.
 * - opening, acknowledging and resolving start and stop paging
 *   (incident_paging.h).
 *
 * The functions never read a clock: ctx->now_ms comes from the Raft entry.
 * They return 0 with `res` filled in (a refusal is a result, not an error)
 * or an LMDB error code, after which the transaction must be aborted.
 */
#ifndef KLAXON_INCIDENT_H
#define KLAXON_INCIDENT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "klaxon.pb-c.h"
#include "store.h"

int incident_trigger(struct apply_ctx *ctx,
                     const Klaxon__TriggerRequest *t,
                     struct apply_result *res);
/* With a token, the incident and the responder come from it. */
int incident_ack(struct apply_ctx *ctx,
                 const Klaxon__AckRequest *a,
                 struct apply_result *res);
int incident_resolve(struct apply_ctx *ctx,
                     const Klaxon__ResolveRequest *r,
                     struct apply_result *res);
int incident_note(struct apply_ctx *ctx,
                  const Klaxon__NoteRequest *n,
                  struct apply_result *res);

/*
 * A loaded incident being changed: `inc` is a shallow copy of `orig` (its
 * strings stay owned by orig) with its own timers, so fields can be
 * replaced by borrowed strings without freeing anything twice.
 */
struct incident_work
{
    Klaxon__Incident *orig;
    Klaxon__Incident inc;
    Klaxon__IncidentTimers timers;
};

/* 0, MDB_NOTFOUND, or an LMDB error. */
int incident_work_load(struct apply_ctx *ctx,
                       uint64_t id,
                       struct incident_work *w);
int incident_save(struct apply_ctx *ctx, const Klaxon__Incident *inc);
void incident_work_free(struct incident_work *w);

/* Append a timeline event (message formatted) and bump timeline_len. */
int incident_event(struct apply_ctx *ctx,
                   Klaxon__Incident *inc,
                   Klaxon__EventKind kind,
                   const char *actor,
                   const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* Append a built event (at_ms is set here) and bump timeline_len. */
int incident_put_event(struct apply_ctx *ctx,
                       Klaxon__Incident *inc,
                       Klaxon__TimelineEvent *ev);

/* Post a status-page update (incident_status.c). */
int incident_status_update(struct apply_ctx *ctx,
                           const Klaxon__StatusUpdateRequest *u,
                           struct apply_result *res);

/* Mark an incident resolved (timeline, open set, dedup key, paging). */
int incident_close(struct apply_ctx *ctx,
                   Klaxon__Incident *inc,
                   const char *by,
                   const char *why);

/*
 * Load one incident. 0 and *out (free with klaxon__incident__free_unpacked),
 * MDB_NOTFOUND, or another LMDB error (MDB_CORRUPTED if it does not decode).
 */
int incident_load(MDB_txn *txn,
                  const struct store *s,
                  uint64_t id,
                  Klaxon__Incident **out);

/* Load an incident's timeline into a GetResult (incident included).
 * Free with klaxon__get_result__free_unpacked. */
int incident_get(MDB_txn *txn,
                 const struct store *s,
                 uint64_t id,
                 Klaxon__GetResult **out);

/* Run a list query. Free with klaxon__list_result__free_unpacked. */
int incident_list(MDB_txn *txn,
                  const struct store *s,
                  const Klaxon__ListRequest *q,
                  Klaxon__ListResult **out);

/* Counters in meta (StateCounters). */
#define COUNT_OPEN "open_incidents"
#define COUNT_PAGES_CREATED "pages_created"
#define COUNT_PAGES_DELIVERED "pages_delivered"
#define COUNT_PAGES_FAILED "pages_failed"
#define COUNT_PAGES_CANCELLED "pages_cancelled"
#define COUNT_ESCALATIONS "escalations"
#define COUNT_UNANSWERED "unanswered"
#define COUNT_RESPONSE_MISSED "response_missed"
#define COUNT_RESOLUTION_MISSED "resolution_missed"
#define COUNT_HEARTBEATS_MISSED "heartbeats_missed"

#endif /* KLAXON_INCIDENT_H */
