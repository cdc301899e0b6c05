/*
 * Pages: the record of every notification klaxon owes someone, kept in the
 * replicated state so that any leader can deliver it.
 *
 * Applying an escalation (or a reminder, or a shift hand-off) records one
 * page per contact method of each person it reaches, in state PENDING, in
 * the `pages` table, the `pending` index and the incident's page list.
 * Only the leader delivers, and only pages that are PENDING in its applied
 * state after a Raft barrier (dispatch.h); it then proposes the outcome,
 * which moves the page to DELIVERED or FAILED. Acknowledging or resolving
 * an incident cancels its pending pages in the same transaction, so once
 * an acknowledgement is confirmed no leader can start delivering them.
 *
 * Targets resolve at the time of the Raft entry: a schedule target is
 * whoever is on call then (schedule.h), so every node records the same
 * pages.
 */
#ifndef KLAXON_PAGING_H
#define KLAXON_PAGING_H

#include <stdint.h>

#include "apply.h"
#include "klaxon.pb-c.h"
#include "oncall.pb-c.h"

/* What a page is about, for the pages it creates. */
struct page_origin
{
    Klaxon__PageKind kind;
    Klaxon__Incident *inc; /* NULL for hand-off notices */
    uint32_t level;
    uint32_t loop;
    const char *schedule; /* hand-off: the schedule */
    uint64_t shift_start_ms;
    uint64_t shift_end_ms;
};

/*
 * Page every target of `level` (1-based) of policy p for o->inc: resolves
 * targets to users (each user once), records a page per contact method and
 * a timeline event per page (or one saying why nobody could be paged).
 * LMDB error or 0.
 */
int paging_level(struct apply_ctx *ctx,
                 const Klaxon__OncallConfig *cfg,
                 const Klaxon__EscalationPolicy *p,
                 const struct page_origin *o);

/* Page one user (every contact method). *n_pages gets the number of
 * pages recorded (0 if the user is unknown or has no contact method). */
int paging_user(struct apply_ctx *ctx,
                const Klaxon__OncallConfig *cfg,
                const char *user_id,
                const char *schedule,
                const struct page_origin *o,
                unsigned *n_pages);

/*
 * The user a target reaches at now_ms: the user itself, or a schedule's
 * on-call user (or the next/previous one in its rotation). NULL if nobody;
 * *schedule is set to the schedule's id for schedule targets, else NULL.
 */
const char *paging_target_user(const Klaxon__OncallConfig *cfg,
                               const Klaxon__Target *t,
                               uint64_t now_ms,
                               const char **schedule);

/* Cancel every pending page of an incident; *n gets how many. */
int paging_cancel(struct apply_ctx *ctx, Klaxon__Incident *inc, unsigned *n);

/* Apply a delivery outcome (cluster.PageOutcome). */
int paging_outcome(struct apply_ctx *ctx,
                   const Klaxon__Cluster__PageOutcome *o,
                   struct apply_result *res);

/* Load one page. 0, MDB_NOTFOUND or an LMDB error. */
int paging_load(MDB_txn *txn,
                const struct store *s,
                uint64_t id,
                Klaxon__Page **out);

/* Pages of an incident (oldest first), or the latest pages of all
 * (incident_id 0, newest first). Free with klaxon__pages_result__free_unpacked.
 */
int paging_list(MDB_txn *txn,
                const struct store *s,
                uint64_t incident_id,
                unsigned limit,
                Klaxon__PagesResult **out);

/* Name of a contact kind: "webhook", "exec", "email". */
const char *paging_contact_name(Klaxon__ContactKind k);

#endif /* KLAXON_PAGING_H */
