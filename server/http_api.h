/*
 * HTTPS requests into the client API's request path: an endpoint builds a
 * klaxon.Request, and http_api_submit() runs it exactly as if libklaxon
 * had sent it (validation, request ids, Raft, linearizable reads). On a
 * follower the request is forwarded to the leader (forward.h). The
 * callback gets the final answer, or NULL with an HTTP status (503) when
 * no leader could give one.
 */
#ifndef KLAXON_HTTP_API_H
#define KLAXON_HTTP_API_H

#include "authz.h"
#include "http.h"
#include "klaxon.pb-c.h"

#define HTTP_FORWARD_TIMEOUT_MS 5000

/* resp: the answer (valid during the call), or NULL with why. */
typedef void (*http_api_cb)(struct http_request *rq,
                            const Klaxon__Response *resp,
                            const char *why,
                            void *arg);

/* Submit q (copied; its version is set here) on behalf of `who`, who is
 * authorized (authz.h) before this returns and whose name is the caller
 * in logs and the default actor. cb exactly once. */
void http_api_submit(struct http_request *rq,
                     const Klaxon__Request *q,
                     const struct authz_principal *who,
                     http_api_cb cb,
                     void *arg);

/* The HTTP status of a klaxon code: ok for OK, 4xx for refusals, 503
 * for "retry" (NOT_LEADER, UNAVAILABLE, UNKNOWN_OUTCOME), 500 INTERNAL. */
int http_status_of(int code, int ok);

/* A fresh random request id (32 hex digits) into buf[33]. */
void http_api_request_id(char buf[33]);

#endif /* KLAXON_HTTP_API_H */
