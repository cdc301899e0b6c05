/*
 * What a page says: the JSON document posted to webhooks and written to
 * exec programs, and the subject and text of e-mails. Built by the leader
 * from the replicated state just before each delivery attempt, so every
 * attempt of a page (by any leader) carries the same content, the same
 * Idempotency-Key and the same acknowledgement token.
 *
 * JSON (docs/ONCALL.md, "Pages"):
 *   {"type": "incident" | "reminder" | "handoff",
 *    "page_id", "idempotency_key", "text",
 *    "user": {"id", "name"}, "level", "repeat", "schedule",
 *    "incident": {"id", "service", "severity", "summary", "source",
 *                 "dedup_key", "status", "created", "alert_count",
 *                 "commander", "details": {...}},
 *    "acknowledge": {"token", "command", "url", "expires"},
 *    "shift": {"start", "end"}}
 */
#ifndef KLAXON_PAGE_MESSAGE_H
#define KLAXON_PAGE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "klaxon.pb-c.h"
#include "oncall.pb-c.h"

#define TOKEN_TTL_DEFAULT_MS (24ull * 3600 * 1000)

struct page_message
{
    char *json;    /* webhook and exec body */
    char *subject; /* one line */
    char *text;    /* e-mail body */
    char idempotency_key[80];
    uint64_t sent_ms; /* when this attempt starts (the node's clock) */
};

/* Build the message of page p (inc NULL for hand-off notices) for an
 * attempt starting at sent_ms. 0, or -1 when out of memory. Free with
 * page_message_free. */
int page_message_build(const Klaxon__Page *p,
                       const Klaxon__Incident *inc,
                       const Klaxon__OncallConfig *cfg,
                       const struct apply_env *env,
                       uint64_t sent_ms,
                       struct page_message *out);

void page_message_free(struct page_message *m);

#endif /* KLAXON_PAGE_MESSAGE_H */
