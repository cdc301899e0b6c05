#include "http.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"
#include "tls_stream.h"

/* The handshake deadline is enforced by connlimit; the stream's own timer
 * is a backstop this much later. */
#define HANDSHAKE_BACKSTOP_MS 5000
#define HEADER_BLOCK_MAX (16u << 10)
#define INPUT_MAX (256u << 10) /* unparsed bytes held per connection */
/* An oversized body is read and dropped up to this size, so that the
 * sender gets its 413 instead of a reset connection. */
#define DISCARD_MAX (64u << 20)

enum header { H_OTHER, H_CONTENT_TYPE, H_AUTHORIZATION };

struct http_conn
{
    struct list link;
    struct http_server *srv;
    struct tls_stream ts;
    http_parser parser;
    struct http_request rq;
    size_t max_body; /* http.max_body */
    char remote[80];
    /* parsing */
    enum header header;
    char header_name[32];
    size_t header_name_len;
    bool in_value;
    int early_status; /* 413, 414, 431: refuse once parsing stops */
    const char *early_why;
    bool discarding; /* an oversized body: read and dropped */
    uint64_t discarded;
    /* bytes received, not parsed yet */
    uint8_t *in;
    size_t in_len, in_cap;
    bool busy;       /* a request is being answered */
    bool processing; /* inside process_input */
    bool closed;     /* the stream's close callback ran */
    bool over_limit; /* over max_connections_per_client: 503, close */
    bool limited;    /* closed by a limit (already logged) */
    struct connlimit_conn lim;
};

static void process_input(struct http_conn *c);

static struct http_conn *container_of_request(struct http_request *rq)
{
    return (struct http_conn *)((char *)rq - offsetof(struct http_conn, rq));
}

static const char *reason(int status)
{
    switch (status) {
        case 200:
            return "OK";
        case 202:
            return "Accepted";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 409:
            return "Conflict";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

const char *http_method_name(const struct http_request *rq)
{
    return http_method_str((enum http_method)rq->method);
}

/* --- connection life -------------------------------------------------- */

static void conn_maybe_free(struct http_conn *c)
{
    if (!c->closed || c->busy) {
        return;
    }
    list_remove(&c->link);
    c->srv->n_conns--;
    connlimit_remove(&c->srv->limits, &c->lim);
    free(c->rq.body);
    free(c->in);
    free(c);
}

static void on_close(struct tls_stream *s)
{
    struct http_conn *c = s->data;
    if (!c->rq.has_cert && c->parser.nread == 0 && s->errmsg[0] != '\0' &&
        !c->limited) {
        log_debug("http: connection from %s failed: %s", c->remote, s->errmsg);
    }
    c->closed = true;
    conn_maybe_free(c);
}

/* --- answers ---------------------------------------------------------- */

void http_respond(struct http_request *rq,
                  int status,
                  const char *content_type,
                  const char *body,
                  size_t len,
                  const char *extra)
{
    struct http_conn *c = container_of_request(rq);
    char head[1024];
    int n;

    metrics_http(&rq->srv->node->metrics, status);
    c->busy = false;
    if (extra == NULL && (status == 429 || status == 503)) {
        extra = "Retry-After: 1\r\n";
    }
    if (c->closed || c->ts.state != TLS_STREAM_OPEN) {
        conn_maybe_free(c);
        return;
    }
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n"
                 "Connection: %s\r\n"
                 "%s\r\n",
                 status, reason(status), content_type, len,
                 rq->keep_alive ? "keep-alive" : "close",
                 extra != NULL ? extra : "");
    if (n < 0 || (size_t)n >= sizeof head ||
        tls_stream_write(&c->ts, head, (size_t)n) != 0 ||
        (len > 0 && tls_stream_write(&c->ts, body, len) != 0)) {
        tls_stream_abort(&c->ts, "cannot write the answer");
        return;
    }
    connlimit_set_deadline(&rq->srv->limits, &c->lim, LIMIT_IDLE_TIMEOUT,
                           rq->srv->cfg->limit_http_idle_ms);
    if (!rq->keep_alive) {
        tls_stream_close(&c->ts);
        return;
    }
    tls_stream_resume(&c->ts);
    process_input(c);
}

void http_respond_json(struct http_request *rq,
                       int status,
                       json_t *doc,
                       const char *extra)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (text == NULL) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        http_respond(rq, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    http_respond(rq, status, "application/json", text, strlen(text), extra);
    free(text);
}

const char *http_log_path(const struct http_request *rq, char *buf, size_t len)
{
    static const char am[] = "/v1/alertmanager/";

    if (strncmp(rq->path, am, sizeof am - 1) != 0 ||
        rq->path[sizeof am - 1] == '\0') {
        return rq->path;
    }
    snprintf(buf, len, "%sKEY", am);
    return buf;
}

void http_error(struct http_request *rq,
                int status,
                const char *field,
                const char *fmt,
                ...)
{
    char msg[512], path[64];
    va_list ap;
    json_t *doc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_info("http: %s %s from %s: %d %s%s%s", http_method_name(rq),
             http_log_path(rq, path, sizeof path), rq->remote, status,
             field != NULL ? field : "", field != NULL ? ": " : "", msg);
    doc = json_pack("{s:s}", "error", msg);
    if (doc != NULL && field != NULL) {
        json_object_set_new(doc, "field", json_string(field));
    }
    http_respond_json(rq, status, doc,
                      status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* --- URL and query ---------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Percent-decode src[0..n) into out (plus_space: '+' is ' '). 0, or -1 if
 * it does not fit, is malformed or decodes to a NUL. */
static int decode(const char *src,
                  size_t n,
                  bool plus_space,
                  char *out,
                  size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)src[i];
        if (ch == '%') {
            if (i + 2 >= n || hexval(src[i + 1]) < 0 ||
                hexval(src[i + 2]) < 0) {
                return -1;
            }
            ch = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
            i += 2;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        }
        if (ch == 0 || o + 1 >= len) {
            return -1;
        }
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

int http_query(const struct http_request *rq,
               const char *name,
               char *buf,
               size_t len)
{
    size_t nlen = strlen(name);
    const char *p = rq->query;

    while (*p != '\0') {
        size_t plen = strcspn(p, "&");
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - p) : plen;
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            const char *v = eq != NULL ? eq + 1 : p + plen;
            return decode(v, (size_t)(p + plen - v), true, buf, len);
        }
        p += plen;
        if (*p == '&') {
            p++;
        }
    }
    return -1;
}

/* Split the URL into path (decoded) and query. 0, or -1 if malformed. */
static int parse_target(struct http_request *rq)
{
    struct http_parser_url u;

    http_parser_url_init(&u);
    if (http_parser_parse_url(rq->url, rq->url_len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        return -1;
    }
    if (decode(rq->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len,
               false, rq->path, sizeof rq->path) != 0) {
        return -1;
    }
    rq->query = "";
    if (u.field_set & (1 << UF_QUERY)) {
        rq->url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = '\0';
        rq->query = rq->url + u.field_data[UF_QUERY].off;
    }
    return 0;
}

/* --- parsing ---------------------------------------------------------- */

static struct http_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int refuse_early(struct http_conn *c, int status, const char *why)
{
    c->early_status = status;
    c->early_why = why;
    return -1; /* stops the parser (1 would mean "no body" here) */
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    struct http_request *rq = &c->rq;

    c->early_status = 0;
    c->early_why = NULL;
    c->discarding = false;
    c->discarded = 0;
    rq->url_len = 0;
    rq->url[0] = '\0';
    rq->path[0] = '\0';
    rq->query = "";
    rq->content_type[0] = '\0';
    rq->authorization[0] = '\0';
    rq->body_len = 0;
    c->header = H_OTHER;
    c->header_name_len = 0;
    c->in_value = false;
    rq->started_ns = uv_hrtime();
    /* From its first byte, the request must be complete in time (a
     * connection of http_parse_stream has no server and no deadlines). */
    if (c->srv != NULL) {
        connlimit_set_deadline(&c->srv->limits, &c->lim, LIMIT_REQUEST_TIMEOUT,
                               c->srv->cfg->limit_request_ms);
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_request *rq = &conn_of(p)->rq;
    if (rq->url_len + len > HTTP_URL_MAX) {
        return refuse_early(conn_of(p), 414, "the URL is longer than 8 KiB");
    }
    memcpy(rq->url + rq->url_len, at, len);
    rq->url_len += len;
    rq->url[rq->url_len] = '\0';
    return 0;
}

static enum header header_kind(const char *name, size_t len)
{
    if (len == 12 && strncasecmp(name, "content-type", 12) == 0) {
        return H_CONTENT_TYPE;
    }
    if (len == 13 && strncasecmp(name, "authorization", 13) == 0) {
        return H_AUTHORIZATION;
    }
    return H_OTHER;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    if (c->in_value) {
        c->in_value = false;
        c->header_name_len = 0;
    }
    if (c->header_name_len + len < sizeof c->header_name) {
        memcpy(c->header_name + c->header_name_len, at, len);
    }
    c->header_name_len += len;
    return 0;
}

static void append_value(char *dst, size_t cap, const char *at, size_t len)
{
    size_t have = strlen(dst);
    size_t n = have + len < cap ? len : cap - 1 - have;
    memcpy(dst + have, at, n);
    dst[have + n] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    struct http_request *rq = &c->rq;

    if (!c->in_value) {
        c->in_value = true;
        c->header = c->header_name_len < sizeof c->header_name
                        ? header_kind(c->header_name, c->header_name_len)
                        : H_OTHER;
    }
    if (c->header == H_CONTENT_TYPE) {
        append_value(rq->content_type, sizeof rq->content_type, at, len);
    } else if (c->header == H_AUTHORIZATION) {
        append_value(rq->authorization, sizeof rq->authorization, at, len);
    }
    return 0;
}

static const char too_large[] = "the body is larger than http.max_body";

/* Drop the rest of an oversized body (or give up past DISCARD_MAX). */
static int discard(struct http_conn *c, uint64_t len)
{
    c->early_status = 413;
    c->early_why = too_large;
    c->discarding = true;
    c->discarded += len;
    return c->discarded > DISCARD_MAX ? -1 : 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->max_body) {
        return discard(c, 0) != 0 || p->content_length > DISCARD_MAX
                   ? refuse_early(c, 413, too_large)
                   : 0;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = conn_of(p);
    struct http_request *rq = &c->rq;

    if (c->discarding || rq->body_len + len > c->max_body) {
        return discard(c, len);
    }
    if (rq->body_len + len + 1 > rq->body_cap) {
        size_t cap = rq->body_cap == 0 ? 4096 : rq->body_cap;
        while (cap < rq->body_len + len + 1) {
            cap *= 2;
        }
        char *b = realloc(rq->body, cap);
        if (b == NULL) {
            return refuse_early(c, 413, "out of memory for the body");
        }
        rq->body = b;
        rq->body_cap = cap;
    }
    memcpy(rq->body + rq->body_len, at, len);
    rq->body_len += len;
    rq->body[rq->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = conn_of(p);
    c->rq.keep_alive = http_should_keep_alive(p) != 0;
    c->rq.method = (int)p->method;
    if (c->rq.body == NULL) {
        c->rq.body = calloc(1, 1);
        c->rq.body_cap = c->rq.body != NULL ? 1 : 0;
    }
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* The parser stopped on an error: answer it and close. */
static void refuse_malformed(struct http_conn *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    struct http_request *rq = &c->rq;

    rq->keep_alive = false;
    rq->method = (int)c->parser.method;
    if (rq->path[0] == '\0') {
        snprintf(rq->path, sizeof rq->path, "-");
    }
    c->busy = true;
    if (c->early_status != 0) {
        http_error(rq, c->early_status, NULL, "%s", c->early_why);
    } else if (e == HPE_HEADER_OVERFLOW) {
        http_error(rq, 431, NULL, "the header block is larger than 16 KiB");
    } else {
        http_error(rq, 400, NULL, "malformed HTTP request: %s",
                   http_errno_description(e));
    }
}

/* A complete request: route it. */
static void start_request(struct http_conn *c)
{
    struct http_request *rq = &c->rq;
    bool target_ok = parse_target(rq) == 0;

    c->busy = true;
    connlimit_set_deadline(&c->srv->limits, &c->lim, LIMIT_NONE, 0);
    tls_stream_pause(&c->ts);
    if (!target_ok) {
        snprintf(rq->path, sizeof rq->path, "-");
    }
    if (c->over_limit) {
        rq->keep_alive = false;
        http_error(rq, 503, NULL,
                   "%u connections open from this client, the most allowed "
                   "(limits.max_connections_per_client)",
                   c->srv->cfg->limit_per_client);
    } else if (c->early_status != 0) {
        rq->keep_alive = false;
        http_error(rq, c->early_status, NULL, "%s", c->early_why);
    } else if (rq->body == NULL) {
        http_error(rq, 500, NULL, "out of memory");
    } else if (!target_ok) {
        http_error(rq, 400, NULL, "malformed request target");
    } else {
        http_route(rq);
    }
}

static void process_input(struct http_conn *c)
{
    if (c->processing) {
        return;
    }
    c->processing = true;
    while (!c->busy && !c->closed && c->ts.state == TLS_STREAM_OPEN &&
           c->in_len > 0) {
        size_t n = http_parser_execute(&c->parser, &settings,
                                       (const char *)c->in, c->in_len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        memmove(c->in, c->in + n, c->in_len - n);
        c->in_len -= n;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            start_request(c);
        } else if (e != HPE_OK || c->parser.upgrade) {
            c->in_len = 0;
            refuse_malformed(c);
            break;
        } else {
            break; /* needs more bytes */
        }
    }
    c->processing = false;
    if (!c->busy && !c->closed && c->ts.state == TLS_STREAM_OPEN) {
        tls_stream_resume(&c->ts);
    }
}

int http_parse_stream(const uint8_t *data,
                      size_t len,
                      size_t max_body,
                      void (*on_request)(struct http_request *rq, void *arg),
                      void *arg)
{
    struct http_conn *c = calloc(1, sizeof *c);
    int status = 0;
    size_t off = 0;

    if (c == NULL) {
        return 500;
    }
    http_parser_set_max_header_size(HEADER_BLOCK_MAX);
    c->max_body = max_body;
    c->rq.query = "";
    c->rq.remote = "-";
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    while (off < len && status == 0) {
        size_t n = http_parser_execute(&c->parser, &settings,
                                       (const char *)data + off, len - off);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        off += n;
        if (e == HPE_PAUSED) {
            /* as start_request() */
            http_parser_pause(&c->parser, 0);
            if (c->early_status != 0) {
                status = c->early_status;
            } else if (parse_target(&c->rq) == 0) {
                on_request(&c->rq, arg);
            }
            if (!c->rq.keep_alive) {
                break;
            }
        } else if (e != HPE_OK || c->parser.upgrade) {
            /* as refuse_malformed() */
            status = c->early_status != 0       ? c->early_status
                     : e == HPE_HEADER_OVERFLOW ? 431
                                                : 400;
        } else {
            break; /* needs more bytes */
        }
    }
    free(c->rq.body);
    free(c);
    return status;
}

static void on_data(struct tls_stream *s, const uint8_t *data, size_t len)
{
    struct http_conn *c = s->data;

    if (c->in_len + len > INPUT_MAX) {
        tls_stream_abort(&c->ts, "too much unparsed input");
        return;
    }
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_cap == 0 ? 16384 : c->in_cap;
        while (cap < c->in_len + len) {
            cap *= 2;
        }
        uint8_t *p = realloc(c->in, cap);
        if (p == NULL) {
            tls_stream_abort(&c->ts, "out of memory");
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    process_input(c);
}

static void on_handshake(struct tls_stream *s)
{
    struct http_conn *c = s->data;
    char key[CONNLIMIT_NAME_MAX];

    c->rq.has_cert = tls_peer_identity(s->ssl, &c->rq.peer) == 0;
    /* Callers without a certificate are told apart by address only. */
    snprintf(key, sizeof key, "%s%.128s", c->rq.has_cert ? "cn:" : "ip:",
             c->rq.has_cert ? c->rq.peer.name : c->lim.ip);
    c->over_limit = connlimit_authenticated(&c->srv->limits, &c->lim, key,
                                            false) != LIMIT_NONE;
    connlimit_set_deadline(&c->srv->limits, &c->lim, LIMIT_IDLE_TIMEOUT,
                           c->srv->cfg->limit_http_idle_ms);
}

/* --- listener --------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status)
{
    struct http_server *srv = server->data;
    struct http_conn *c;

    if (status != 0 || srv->closing) {
        return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    c->srv = srv;
    c->ts.data = c;
    if (tls_stream_init(&c->ts, srv->loop, srv->tls, true) != 0) {
        free(c);
        return;
    }
    list_push(&srv->conns, &c->link);
    srv->n_conns++;
    c->ts.on_close = on_close;
    c->rq.srv = srv;
    c->rq.remote = c->remote;
    c->rq.query = "";
    c->max_body = srv->cfg->http_max_body;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->ts.tcp) != 0) {
        tls_stream_abort(&c->ts, "accept failed");
        return;
    }
    netaddr_peer_name(&c->ts.tcp, c->remote, sizeof c->remote);
    if (connlimit_admit(&srv->limits, &c->lim, &c->ts.tcp) != LIMIT_NONE) {
        c->limited = true;
        tls_stream_abort(&c->ts, "over a connection limit");
        return;
    }
    tls_stream_start(&c->ts,
                     srv->cfg->limit_handshake_ms + HANDSHAKE_BACKSTOP_MS, 0,
                     on_handshake, on_data, on_close);
}

/* Past a deadline: close, unless a request is being answered. */
static bool expire(struct connlimit_conn *lc, enum limit_kind kind)
{
    struct http_conn *c = list_entry(lc, struct http_conn, lim);

    if (c->closed || c->busy) {
        return false;
    }
    c->limited = true;
    if (kind == LIMIT_IDLE_TIMEOUT) {
        tls_stream_close(&c->ts); /* a kept-alive connection: politely */
    } else {
        tls_stream_abort(&c->ts, connlimit_kind_name(kind));
    }
    return true;
}

static int listen_on(struct http_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rv;

    if (netaddr_parse_ip(s->cfg->http_bind, &ss) != 0) {
        snprintf(err, errlen, "http.bind: %.200s is not an IP address and port",
                 s->cfg->http_bind);
        return -1;
    }
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    }
    if (rv != 0) {
        snprintf(err, errlen, "http: listen on %.200s: %s", s->cfg->http_bind,
                 uv_strerror(rv));
        uv_close((uv_handle_t *)&s->listener, NULL);
        return -1;
    }
    return 0;
}

int http_start(struct http_server *s,
               uv_loop_t *loop,
               struct node *node,
               const struct config *cfg,
               SSL_CTX *peer_tls,
               char *err,
               size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->node = node;
    s->cfg = cfg;
    list_init(&s->conns);
    if (cfg->http_bind[0] == '\0') {
        return 0;
    }
    http_parser_set_max_header_size(HEADER_BLOCK_MAX);
    ratelimit_init(&s->rates, cfg->http_rate_limit);
    if (tls_http_context_new(&s->tls, cfg->tls_ca, cfg->tls_cert, cfg->tls_key,
                             false, err, errlen) != 0) {
        return -1;
    }
    if (forwarder_init(&s->fwd, loop, peer_tls) != 0) {
        snprintf(err, errlen, "http: cannot set up forwarding");
        SSL_CTX_free(s->tls);
        s->tls = NULL;
        return -1;
    }
    if (listen_on(s, err, errlen) != 0) {
        forwarder_close(&s->fwd);
        SSL_CTX_free(s->tls);
        s->tls = NULL;
        return -1;
    }
    connlimit_init(&s->limits, loop, cfg, LISTENER_HTTP,
                   cfg->http_max_connections,
                   node->metrics.limits[LISTENER_HTTP], expire);
    s->started = true;
    return 0;
}

void http_set_tls(struct http_server *s, SSL_CTX *http_tls, SSL_CTX *peer_tls)
{
    if (!s->started) {
        SSL_CTX_free(http_tls);
        return;
    }
    SSL_CTX_free(s->tls);
    s->tls = http_tls;
    forwarder_set_tls(&s->fwd, peer_tls);
}

void http_stop(struct http_server *s)
{
    if (!s->started || s->closing) {
        return;
    }
    s->closing = true;
    uv_close((uv_handle_t *)&s->listener, NULL);
    connlimit_close(&s->limits);
    forwarder_close(&s->fwd);
    for (struct list *i = s->conns.next; i != &s->conns; i = i->next) {
        struct http_conn *c = list_entry(i, struct http_conn, link);
        tls_stream_close(&c->ts);
    }
}

void http_destroy(struct http_server *s)
{
    if (s->tls != NULL) {
        SSL_CTX_free(s->tls);
        s->tls = NULL;
    }
}
