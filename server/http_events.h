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
#include "http_service.h"

void http_pagerduty(struct http_request *rq);
void http_alertmanager(struct http_request *rq);

/*
 * The conversions of both endpoints without a node, for tests and fuzzing:
 * the body (and for Alertmanager the query) to the klaxon requests the
 * endpoint submits for service svc, each passed to emit, which must not
 * keep it. 0, or -1 with the message the endpoint answers with in err.
 */
typedef void (*http_events_emit)(const Klaxon__Request *q, void *arg);

int http_pagerduty_convert(const char *body,
                           size_t len,
                           const struct service_view *svc,
                           http_events_emit emit,
                           void *arg,
                           char *err,
                           size_t errlen);

int http_alertmanager_convert(const struct http_request *rq,
                              const struct service_view *svc,
                              http_events_emit emit,
                              void *arg,
                              char *err,
                              size_t errlen);

#endif /* KLAXON_HTTP_EVENTS_H */
