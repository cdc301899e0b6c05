/*
 * Shift hand-off notices: for every schedule with handoff_notices, one
 * timer at the schedule's next change of on-call user. When it falls due
 * the user coming on call (if anyone, and if it is not the same person as
 * just before) gets a PAGE_HANDOFF page with the shift's start and end,
 * and the timer moves to the next change. The armed due time of each
 * schedule is kept in the config table ("handoff/<schedule id>") so that
 * a new configuration can disarm it.
 */
#ifndef KLAXON_HANDOFF_H
#define KLAXON_HANDOFF_H

#include "apply.h"
#include "timers.h"

/* Look this far ahead for the next change; with none, check again then. */
#define HANDOFF_HORIZON_MS (35ll * 24 * 3600 * 1000)

/* A notice due longer ago than this (the cluster was down) is skipped. */
#define HANDOFF_STALE_MS (3600ll * 1000)

int handoffs_sync(struct apply_ctx *ctx,
                  const Klaxon__OncallConfig *old_cfg,
                  const Klaxon__OncallConfig *new_cfg);

int handoff_tick(struct apply_ctx *ctx, const struct timer_key *k);

#endif /* KLAXON_HANDOFF_H */
