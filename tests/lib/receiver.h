/*
 * The page receiver for integration tests: deploy/page-receiver.py as a
 * child process on 127.0.0.1 (an HTTP endpoint for webhooks and an SMTP
 * sink), recording every page with its arrival time, and the records read
 * back as JSON (jansson).
 *
 * Environment: KLAXON_SRC (repository root, default the current
 * directory) to find deploy/page-receiver.py.
 */
#ifndef KLAXON_TESTS_RECEIVER_H
#define KLAXON_TESTS_RECEIVER_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct receiver
{
    pid_t pid;
    unsigned http_port;
    unsigned smtp_port;
    char out[PATH_MAX]; /* the JSON-lines file */
};

/* Start it writing to DIR/receiver.jsonl; extra (may be NULL) is split on
 * blanks and appended to its arguments (e.g. "--fail-first 2"). 0 or -1
 * (prints why). */
int receiver_start(struct receiver *r, const char *dir, const char *extra);

/* Kill it and wait. Harmless when not running. */
void receiver_stop(struct receiver *r);

/* Every record so far as a JSON array (decref it), never NULL. */
json_t *receiver_records(const struct receiver *r);

/* Records whose webhook body has incident.id == incident_id (0: all
 * webhook records), as a new array. */
json_t *receiver_pages_of(const struct receiver *r, uint64_t incident_id);

/* Wait until at least n webhook records of incident_id arrived; the
 * matching array or NULL after timeout_ms. */
json_t *receiver_wait_pages(const struct receiver *r,
                            uint64_t incident_id,
                            size_t n,
                            unsigned timeout_ms);

/* Wall-clock time now, in seconds (the receiver's "t" uses the same). */
double receiver_now(void);

#endif /* KLAXON_TESTS_RECEIVER_H */
