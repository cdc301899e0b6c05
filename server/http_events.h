/*
 * Event ingestion over HTTPS, in the formats monitoring already sends:
 *
 * POST /v2/enqueue          the PagerDuty Events API v2 (alert events:
 *                           trigger, acknowledge, resolve); the routing
 *                           key is a service's integration_key.
 * POST /v1/alertmanager     the Prometheus Alertmanager webhook (version
 *   [/{integration_key}]    4); the service is the path's integration key
 *                           or ?service=NAME; ?dedup=fingerprint (default)
 *                           or group_key; ?severity_label=severity.
 *
 * Answers are sent once every resulting write was applied (or failed).
 */
#ifndef KLAXON_HTTP_EVENTS_H
#define KLAXON_HTTP_EVENTS_H

#include "http.h"

void http_pagerduty(struct http_request *rq);
void http_alertmanager(struct http_request *rq);

#endif /* KLAXON_HTTP_EVENTS_H */
