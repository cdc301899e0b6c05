/*
 * One call to the cluster: send a Request and wait for its Response,
 * following the leader, retrying and failing over until the call's
 * deadline. The retry policy lives here:
 *
 * - NOT_LEADER with an address: go to that address at once.
 * - UNAVAILABLE, UNKNOWN_OUTCOME, INTERNAL, NOT_LEADER without an address,
 *   a refused/reset/closed connection, a failed handshake or no answer
 *   within min(time left, 5 s): back off (25 ms doubling to 500 ms, with
 *   jitter) and try the next endpoint, with the same request (same
 *   request_id).
 * - RESOURCE_EXHAUSTED: wait its retry_after_ms and try the same node
 *   again if that fits before the deadline; else KLAXON_ELIMIT at once,
 *   with c->retry_after_ms set.
 * - Any other code is final.
 */
#ifndef KLAXON_CLIENT_CALL_H
#define KLAXON_CLIENT_CALL_H

#include "client.h"
#include "klaxon.pb-c.h"

enum call_mode {
    CALL_LEADER, /* writes and linearizable reads: follow the leader */
    CALL_STALE,  /* stale reads: first reachable endpoint in list order */
    CALL_ONE,    /* status: one given endpoint, or each endpoint once */
};

/*
 * Run `req` (its seq is set per attempt). `endpoint` is only used with
 * CALL_ONE (NULL: the client's endpoints in order). On KLAXON_OK, *out is
 * the answer (free with klaxon__response__free_unpacked), whose code (and
 * MutationResult code) is OK. Otherwise the client's errmsg is set.
 */
int call_run(klaxon_client *c,
             Klaxon__Request *req,
             enum call_mode mode,
             const struct endpoint *endpoint,
             Klaxon__Response **out);

/* The most bytes `req` can take on the wire once call_run sets its seq
 * (its request id, if any, is counted as set). A request over FRAME_MAX
 * is refused by call_run with KLAXON_ETOOLARGE before anything is sent. */
size_t call_request_size(const Klaxon__Request *req);

/* The KLAXON_E* code of a node's final (not retried) answer code;
 * KLAXON_EPROTO for a code this library does not know. */
int call_final_code(int code);

#endif /* KLAXON_CLIENT_CALL_H */
