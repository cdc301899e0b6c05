/*
 * GET /v1/schedules/{id}.ics: a schedule's shifts as an iCalendar feed
 * (RFC 5545) that calendar applications can subscribe to: one event per
 * shift from 30 days back to 90 days ahead, in UTC, at most 1000.
 */
#ifndef KLAXON_HTTP_ICS_H
#define KLAXON_HTTP_ICS_H

#include "http.h"

void http_schedule_ics(struct http_request *rq);

#endif /* KLAXON_HTTP_ICS_H */
