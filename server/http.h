/*
 * The node's HTTPS port: HTTP/1.1 over TLS (tls_stream), parsed by
 * http-parser, one request at a time per connection.
 *
 * A request is handed to http_route() (http_routes.c) once its body is
 * complete; the handler answers it exactly once with http_respond() or one
 * of the helpers, at once or later (after a Raft commit). The request
 * stays valid until then, even if the connection closed meanwhile (the
 * answer is then dropped).
 *
 * Limits: URL 8 KiB (414), header block 16 KiB (431), body http.max_body
 * (413). From klaxond.yaml limits: (connlimit.h): connections
 * http.max_connections and the per-address cap during the handshake
 * (closed at once), max_handshakes (the oldest handshaking connection
 * is closed to admit a new one), the per-client cap (by certificate CN,
 * or by address without one: the first request gets 503 and the
 * connection closes), handshake_timeout, http_idle_timeout between
 * requests, request_timeout from a request's first byte to its last
 * (closed). 429 and 503 carry Retry-After.
 */
#ifndef KLAXON_HTTP_H
#define KLAXON_HTTP_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "authz.h"
#include "config.h"
#include "connlimit.h"
#include "forward.h"
#include "list.h"
#include "node.h"
#include "ratelimit.h"
#include "tls.h"

#define HTTP_URL_MAX 8192
#define HTTP_PATH_MAX 1024

struct http_conn;
struct http_server;

/* Endpoint groups, for http.client_certs (responders' endpoints always
 * need a client certificate or a user's token). */
enum http_group {
    HTTP_EVENTS = 0,  /* /v2/enqueue, /v1/alertmanager */
    HTTP_METRICS = 1, /* /metrics */
    HTTP_STATUS = 2,  /* /status, /status.json, /v1/schedules/ID.ics */
    HTTP_HEALTH = 3,  /* /healthz, /readyz */
    HTTP_RESPONDERS = 4,
};

struct http_request
{
    struct http_server *srv;
    int method; /* enum http_method */
    char url[HTTP_URL_MAX + 1];
    size_t url_len;
    char path[HTTP_PATH_MAX + 1]; /* percent-decoded */
    const char *query;            /* into url, "" if none */
    char content_type[128];
    char authorization[1024];
    char *body;
    size_t body_len, body_cap;
    bool keep_alive;
    bool has_cert; /* a verified client certificate */
    struct tls_identity peer;
    char user[129]; /* the user of a bearer token, once looked up */
    struct authz_principal principal; /* responders' API: the caller */
    const char *remote;
    uint64_t started_ns;
};

struct http_server
{
    uv_loop_t *loop;
    struct node *node;
    const struct config *cfg;
    SSL_CTX *tls; /* owned: optional client certificates */
    uv_tcp_t listener;
    struct connlimit limits; /* limits.*: connections, deadlines */
    struct list conns;
    unsigned n_conns;
    bool started;
    bool closing;
    struct forwarder fwd;
    struct ratelimit rates;
    uint64_t n_refused; /* requests refused by validation */
};

/* Listen on cfg->http_bind (nothing to do if it is empty). 0, or -1 with
 * a message. */
int http_start(struct http_server *s,
               uv_loop_t *loop,
               struct node *node,
               const struct config *cfg,
               SSL_CTX *peer_tls,
               char *err,
               size_t errlen);

/*
 * Certificate rotation: accept with http_tls from now on (its reference
 * passes to the server, which frees the one it held; in-flight
 * connections keep their own) and forward to the leader with peer_tls
 * (borrowed). Nothing to do, and http_tls freed, when the port is off.
 */
void http_set_tls(struct http_server *s, SSL_CTX *http_tls, SSL_CTX *peer_tls);

/* Stop listening, close every connection; handles close on the loop. */
void http_stop(struct http_server *s);

/* Free what outlives the loop. */
void http_destroy(struct http_server *s);

/* Answer rq: status, content type, body (copied). extra: more header
 * lines, each ending in \r\n, or NULL. */
void http_respond(struct http_request *rq,
                  int status,
                  const char *content_type,
                  const char *body,
                  size_t len,
                  const char *extra);

/* Answer with a JSON document (taken: decref'd here). */
void http_respond_json(struct http_request *rq,
                       int status,
                       json_t *doc,
                       const char *extra);

/* rq->path fit for a log line: an integration key in it (Alertmanager's
 * /v1/alertmanager/KEY) replaced by "KEY". rq->path itself, or buf. Every
 * log line that names a path uses this: keys never reach the logs. */
const char *http_log_path(const struct http_request *rq, char *buf, size_t len);

/* Answer {"error": message, "field": field} (field may be NULL) and log
 * the refusal. */
void http_error(struct http_request *rq,
                int status,
                const char *field,
                const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/* The percent-decoded value of query parameter `name`: 0 with it in buf,
 * -1 if absent or longer than len - 1. */
int http_query(const struct http_request *rq,
               const char *name,
               char *buf,
               size_t len);

/* "GET", "POST", ... */
const char *http_method_name(const struct http_request *rq);

/* Routing (http_routes.c): answer rq. */
void http_route(struct http_request *rq);

/*
 * Parse bytes as a connection's request parser does, without a connection
 * (for tests and fuzzing): on_request gets every complete request whose
 * target parsed, until one does not keep the connection alive. Returns
 * the status the connection would refuse with and close (400, 413, 414,
 * 431), or 0.
 */
int http_parse_stream(const uint8_t *data,
                      size_t len,
                      size_t max_body,
                      void (*on_request)(struct http_request *rq, void *arg),
                      void *arg);

#endif /* KLAXON_HTTP_H */
