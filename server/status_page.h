/*
 * The public status page: GET /status (HTML, self-contained) and
 * GET /status.json, from this node's applied state.
 *
 * Components are the configured services (with their descriptions) and
 * any other component named in a status update. An incident is on the
 * page once a responder posted a status update on it (`klaxonctl
 * update`); it is current until it is resolved (by a "resolved" update or
 * otherwise), then listed under recently resolved for 7 days (at most 10).
 * A component's state is the worst of the current incidents affecting it
 * (their components, or their service if none were named): Sev1 major
 * outage, Sev2 partial outage, Sev3/Sev4 degraded performance.
 */
#ifndef KLAXON_STATUS_PAGE_H
#define KLAXON_STATUS_PAGE_H

#include <jansson.h>
#include <stdint.h>

#include "node.h"

/* The page as JSON (the body of /status.json), or NULL with errno-like
 * failure (state unreadable, out of memory). */
json_t *status_model(struct node *n, uint64_t now_ms);

/* The page as HTML from its model: a malloc'ed string, or NULL. */
char *status_html(const json_t *model);

#endif /* KLAXON_STATUS_PAGE_H */
