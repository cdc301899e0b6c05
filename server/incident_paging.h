/*
 * Paging for incidents, as state-machine transitions: what opening,
 * acknowledging, resolving, a new alert and a note do to an incident's
 * escalation, pages and timers, and what each incident timer does when it
 * falls due (a Tick applied through Raft).
 *
 * On open (service configured, not in a maintenance window):
 * - the severity's paging mode decides: escalate (page level 1 now, then
 *   each level at its deadline, repeats, then "unanswered"), first level
 *   only, or nobody;
 * - Sev1/Sev2 get the policy's incident commander, who is reminded to
 *   post a status update (a note) every update_interval;
 * - response and resolution targets arm timers that mark the incident
 *   and count a miss; auto-resolve arms a timer from the last alert.
 * Acknowledging cancels pending pages, stops escalation (unless a later
 * level is IF_NOT_RESOLVED) and arms the acknowledgement timeout, which
 * triggers the incident again and restarts escalation. Resolving cancels
 * everything. Every step leaves a timeline event.
 *
 * The functions work on an incident held by the caller, who saves it.
 */
#ifndef KLAXON_INCIDENT_PAGING_H
#define KLAXON_INCIDENT_PAGING_H

#include "apply.h"
#include "klaxon.pb-c.h"
#include "timers.h"

int incident_paging_open(struct apply_ctx *ctx, Klaxon__Incident *inc);
int incident_paging_ack(struct apply_ctx *ctx, Klaxon__Incident *inc);
int incident_paging_resolve(struct apply_ctx *ctx, Klaxon__Incident *inc);
int incident_paging_alert(struct apply_ctx *ctx, Klaxon__Incident *inc);
int incident_paging_note(struct apply_ctx *ctx, Klaxon__Incident *inc);

/* An incident timer fell due (its key was just taken from the table).
 * Loads, changes and saves the incident. LMDB error or 0. */
int incident_tick(struct apply_ctx *ctx, const struct timer_key *k);

#endif /* KLAXON_INCIDENT_PAGING_H */
