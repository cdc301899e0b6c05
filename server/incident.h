/*
 * Incidents: the transitions of the incident state machine and the reads
 * that go with them, inside an LMDB transaction of the store.
 *
 *   trigger ──► TRIGGERED ──ack──► ACKNOWLEDGED ──resolve──► RESOLVED
 *                   └────────────────resolve──────────────────┘
 *
 * - trigger with the dedup key of an open incident of the same service
 *   attaches to it (alert_count + 1) instead of opening another one;
 *   resolving frees the dedup key.
 * - ack of an acknowledged incident is allowed (re-acknowledge); ack or
 *   resolve of a resolved incident is refused; notes are allowed in every
 *   state.
 * - every change appends a timeline event with its time and actor.
 *
 * The functions never read a clock: `now_ms` comes from the Raft entry.
 * They return 0 with `res` filled in (a refusal is a result, not an error)
 * or an LMDB error code, after which the transaction must be aborted.
 */
#ifndef KLAXON_INCIDENT_H
#define KLAXON_INCIDENT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "klaxon.pb-c.h"
#include "store.h"

struct apply_ctx
{
    MDB_txn *txn;
    const struct store *store;
    uint64_t now_ms;
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
};

int incident_trigger(struct apply_ctx *ctx,
                     const Klaxon__TriggerRequest *t,
                     struct apply_result *res);
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

#endif /* KLAXON_INCIDENT_H */
