/*
 * Internal to the client API (api.c, api_write.c, api_read.c): a client
 * connection, one request in flight on it, and the helpers that answer.
 *
 * A request lives from the frame that carried it until its answer was
 * queued; api_req_free() releases it (and the connection, if that closed
 * meanwhile and this was its last request).
 */
#ifndef KLAXON_API_REQ_H
#define KLAXON_API_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "authz.h"
#include "cluster.pb-c.h"
#include "connlimit.h"
#include "klaxon.pb-c.h"
#include "list.h"
#include "node.h"
#include "tls.h"
#include "tls_stream.h"

struct api_conn
{
    struct list link;
    struct api *api;
    struct tls_stream ts;
    struct tls_identity peer;
    struct authz_principal principal; /* points into peer */
    uint8_t *buf;                     /* frame reassembly */
    size_t len;
    size_t cap;
    unsigned inflight;
    bool processing; /* inside process_frames */
    bool closed;     /* the stream's close callback ran */
    bool over_limit; /* over max_connections_per_client: refuse, close */
    bool limited;    /* closed by a limit (already logged) */
    char remote[80];
    struct connlimit_conn lim;
};

struct api_req;

/* Where a request came from: how its answer goes back, how it is freed. */
struct api_origin
{
    /* Queue the answer (version and seq already set). */
    void (*reply)(struct api_req *r, Klaxon__Response *resp);
    /* Free r (and r->req), after its answer was queued. */
    void (*release)(struct api_req *r);
};

struct api_req
{
    const struct api_origin *origin;
    void *owner; /* the origin's own: a client connection, an HTTP request */
    struct node *node;
    const char *who;    /* the caller's identity (certificate CN, user) */
    const char *remote; /* the caller's address */
    /* who asks, for authz_check() in api_req_dispatch() (only read
     * before it returns; NULL: refused) */
    const struct authz_principal *principal;
    uint64_t *n_refused;
    uint64_t started_ns; /* uv_hrtime() at arrival */
    Klaxon__Request *req;
    Klaxon__Cluster__Command cmd;
    /* the command's own parts when they are not the request's */
    Klaxon__Cluster__SetConfig set_config;
    Klaxon__OncallConfig *config; /* parsed, owned */
    struct node_op op;
    struct node_read read;
};

void api_response_init(Klaxon__Response *resp, uint64_t seq);

/* Answer r (sets the version and seq). */
void api_reply(struct api_req *r, Klaxon__Response *resp);

/* Answer r with a code and message only (NOT_LEADER gets the leader). */
void api_reply_error(struct api_req *r, int code, const char *msg);

/* Fill resp with an error; NOT_LEADER gets the leader's id and address,
 * or becomes UNAVAILABLE while this node still sees itself as leader.
 * True if it stayed NOT_LEADER. */
bool api_error_response(struct node *n,
                        Klaxon__Response *resp,
                        int code,
                        const char *msg);

/* Start a request whose origin fields and req are set: authorize
 * (authz.h), validate, then hand it to the write, read or status path. It is
 * answered and released exactly once, possibly before this returns. */
void api_req_dispatch(struct api_req *r);

/* The generic message of NOT_LEADER, UNKNOWN_OUTCOME, UNAVAILABLE... */
const char *api_code_message(int code);

/* Log a refused request and count it. */
void api_log_refused(struct api_req *r, const char *what, const char *msg);

/* Free what r owns (req, config), not r itself: for origins' release. */
void api_req_clear(struct api_req *r);

/* Release r through its origin. */
void api_req_free(struct api_req *r);

/* api_write.c: a mutating request (trigger ... maintenance_end). */
void api_handle_write(struct api_req *r);

/* api_read.c: a read (get, list, get_config, oncall, pages, ...). */
void api_handle_read(struct api_req *r);

/* api_backup.c: snapshot_save (start a backup, or read one). */
void api_handle_snapshot(struct api_req *r);

/*
 * Stamp cmd with the apply version it needs (version.h) and check that
 * this node and, on the leader, every member applying entries can apply
 * it. KLAXON__CODE__OK, or UNSUPPORTED / UNAVAILABLE with msg. Every
 * command proposed for a client goes through it.
 */
int api_check_version(struct node *n,
                      Klaxon__Cluster__Command *cmd,
                      char *msg,
                      size_t len);

#endif /* KLAXON_API_REQ_H */
