/*
 * The client API listener: TLS connections from libklaxon, carrying
 * length-prefixed klaxon.Request frames (see proto/klaxon.proto and
 * common/frame.h).
 *
 * Every node accepts every request:
 * - writes are validated here, then submitted to the node (leader) or
 *   answered with NOT_LEADER and the leader's API address;
 * - get/list are linearizable (after a barrier, on the leader) unless the
 *   request says stale, in which case the local state answers at once;
 * - status always answers from the local node.
 * Answers go out as soon as each request completes, so they may overtake
 * each other; the client matches them by seq.
 *
 * Bad input: an oversized frame is answered with TOO_LARGE and the
 * connection closed; a frame that does not decode is answered with
 * INVALID_ARGUMENT (seq 0) and the connection stays open; a peer without
 * a certificate of the cluster whose OU is a role (authz.h) never gets
 * past the TLS handshake, and every request is authorized (authz_check)
 * before anything else: PERMISSION_DENIED otherwise.
 *
 * Limits (klaxond.yaml limits:, see connlimit.h): a connection must be
 * authenticated within handshake_timeout, may stay without a request for
 * idle_timeout, and must finish a frame within request_timeout of its
 * first byte, or it is closed. A frame over max_frame is answered with
 * TOO_LARGE and the connection closed. Over max_connections or the
 * per-address cap a connection is closed at once (with max_handshakes
 * unauthenticated connections, the oldest of them is closed instead);
 * over the per-client cap its first request is answered with
 * RESOURCE_EXHAUSTED and it is closed. A client over client_rate requests
 * per second gets RESOURCE_EXHAUSTED with retry_after_ms; nothing of the
 * request is done. Cluster nodes are exempt from the per-client limits.
 */
#ifndef KLAXON_API_H
#define KLAXON_API_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "connlimit.h"
#include "list.h"
#include "node.h"
#include "ratelimit.h"

struct api
{
    uv_loop_t *loop;
    struct node *node;
    const struct config *cfg;
    SSL_CTX *tls;
    uv_tcp_t listener;
    struct list conns;
    unsigned n_conns;
    bool closing;
    struct connlimit limits; /* limits.*: connections, deadlines */
    struct ratelimit rates;  /* limits.client_rate, per client name */
    /* counters */
    uint64_t n_requests;
    uint64_t n_refused;
    uint64_t n_redirects;
};

/* Listen on cfg->api_bind. 0, or -1 with a message. */
int api_start(struct api *a,
              uv_loop_t *loop,
              struct node *node,
              const struct config *cfg,
              SSL_CTX *tls,
              char *err,
              size_t errlen);

/* Use tls (borrowed) for connections accepted from now on; open ones
 * keep theirs (certificate rotation). */
void api_set_tls(struct api *a, SSL_CTX *tls);

/* Stop listening and close every connection. Requests still in flight
 * complete (or fail) first; their connections are freed afterwards. */
void api_stop(struct api *a);

#endif /* KLAXON_API_H */
