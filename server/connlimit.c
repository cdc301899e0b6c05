#include "connlimit.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

_Static_assert(LISTENERS == METRICS_LISTENERS, "METRICS_LISTENERS");
_Static_assert(LIMIT_KINDS == METRICS_LIMITS, "METRICS_LIMITS");

#define SWEEP_MS 250
#define LOG_INTERVAL_MS 10000

const char *connlimit_kind_name(enum limit_kind kind)
{
    static const char *const names[LIMIT_KINDS] = {
        [LIMIT_NONE] = "none",
        [LIMIT_CONNECTIONS] = "max_connections",
        [LIMIT_HANDSHAKES] = "max_handshakes",
        [LIMIT_PER_CLIENT_IP] = "max_connections_per_client_ip",
        [LIMIT_PER_CLIENT] = "max_connections_per_client",
        [LIMIT_HANDSHAKE_TIMEOUT] = "handshake_timeout",
        [LIMIT_IDLE_TIMEOUT] = "idle_timeout",
        [LIMIT_REQUEST_TIMEOUT] = "request_timeout",
        [LIMIT_FRAME] = "max_frame",
        [LIMIT_RATE] = "rate",
    };
    return (unsigned)kind < LIMIT_KINDS ? names[kind] : "?";
}

const char *connlimit_listener_name(enum limit_listener l)
{
    static const char *const names[LISTENERS] = {"api", "http", "raft"};
    return (unsigned)l < LISTENERS ? names[l] : "?";
}

void connlimit_hit(struct connlimit *s,
                   enum limit_kind kind,
                   const char *who,
                   const char *detail)
{
    uint64_t now = uv_now(s->loop);

    if ((unsigned)kind >= LIMIT_KINDS) {
        return;
    }
    if (s->hits != NULL) {
        s->hits[kind]++;
    }
    if (s->last_log_ms[kind] != 0 &&
        now - s->last_log_ms[kind] < LOG_INTERVAL_MS) {
        s->suppressed[kind]++;
        return;
    }
    if (s->suppressed[kind] > 0) {
        log_warn("%s: limits.%s: %s: %s (and %llu more in the last %d s)",
                 connlimit_listener_name(s->listener),
                 connlimit_kind_name(kind), who, detail,
                 (unsigned long long)s->suppressed[kind],
                 LOG_INTERVAL_MS / 1000);
    } else {
        log_warn("%s: limits.%s: %s: %s", connlimit_listener_name(s->listener),
                 connlimit_kind_name(kind), who, detail);
    }
    s->suppressed[kind] = 0;
    s->last_log_ms[kind] = now;
}

static void sweep(uv_timer_t *t)
{
    struct connlimit *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct list *i = s->conns.next;

    while (i != &s->conns) {
        struct connlimit_conn *lc = list_entry(i, struct connlimit_conn, link);
        enum limit_kind kind = lc->deadline_kind;
        i = i->next;
        if (lc->deadline_ms == 0 || now < lc->deadline_ms) {
            continue;
        }
        lc->deadline_ms = 0;
        if (s->expire(lc, kind)) {
            connlimit_hit(s, kind, lc->name[0] != '\0' ? lc->name : lc->ip,
                          "connection closed");
        }
    }
}

void connlimit_init(struct connlimit *s,
                    uv_loop_t *loop,
                    const struct config *cfg,
                    enum limit_listener listener,
                    unsigned max_connections,
                    uint64_t *hits,
                    connlimit_expire_cb expire)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->listener = listener;
    s->max_connections = max_connections;
    s->hits = hits;
    s->expire = expire;
    list_init(&s->conns);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, sweep, SWEEP_MS, SWEEP_MS);
    s->started = true;
}

void connlimit_close(struct connlimit *s)
{
    if (!s->started) {
        return;
    }
    s->started = false;
    uv_close((uv_handle_t *)&s->sweep, NULL);
}

static void peer_ip(uv_tcp_t *tcp, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    int rv = uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n);

    if (rv == 0 && ss.ss_family == AF_INET) {
        rv = uv_ip4_name((struct sockaddr_in *)&ss, buf, len);
    } else if (rv == 0 && ss.ss_family == AF_INET6) {
        rv = uv_ip6_name((struct sockaddr_in6 *)&ss, buf, len);
    } else {
        rv = -1;
    }
    if (rv != 0) {
        snprintf(buf, len, "?");
    }
}

/* Connections still handshaking from ip, and authenticated ones named
 * name (either may be NULL). */
static unsigned count(const struct connlimit *s,
                      const char *ip,
                      const char *name)
{
    unsigned n = 0;

    for (struct list *i = s->conns.next; i != &s->conns; i = i->next) {
        const struct connlimit_conn *lc =
            list_entry(i, struct connlimit_conn, link);
        if (lc->evicted) {
            continue;
        }
        if (ip != NULL && !lc->authenticated && strcmp(lc->ip, ip) == 0) {
            n++;
        } else if (name != NULL && lc->authenticated && !lc->exempt &&
                   strcmp(lc->name, name) == 0) {
            n++;
        }
    }
    return n;
}

/*
 * max_handshakes is reached: close the connection that has waited longest
 * for its handshake, so that a flood of half-open connections cannot lock
 * new clients out (it has to open connections faster than a client can
 * handshake). true if one was closed.
 */
static bool evict_oldest(struct connlimit *s)
{
    char detail[128];

    for (struct list *i = s->conns.next; i != &s->conns; i = i->next) {
        struct connlimit_conn *lc = list_entry(i, struct connlimit_conn, link);
        if (lc->authenticated || lc->evicted) {
            continue;
        }
        if (!s->expire(lc, LIMIT_HANDSHAKES)) {
            return false;
        }
        lc->evicted = true;
        lc->deadline_ms = 0;
        s->n_handshaking--;
        snprintf(detail, sizeof detail,
                 "%u connections not authenticated yet, the most allowed: "
                 "closed the oldest",
                 s->cfg->limit_max_handshakes);
        connlimit_hit(s, LIMIT_HANDSHAKES, lc->ip, detail);
        return true;
    }
    return false;
}

enum limit_kind connlimit_admit(struct connlimit *s,
                                struct connlimit_conn *lc,
                                uv_tcp_t *tcp)
{
    const struct config *cfg = s->cfg;
    char detail[128];
    enum limit_kind kind = LIMIT_NONE;
    unsigned same_ip;

    peer_ip(tcp, lc->ip, sizeof lc->ip);
    same_ip = count(s, lc->ip, NULL);
    if (s->max_connections > 0 && s->n_conns >= s->max_connections) {
        kind = LIMIT_CONNECTIONS;
        snprintf(detail, sizeof detail,
                 "refused: %u connections open, the most allowed", s->n_conns);
    } else if (same_ip >= cfg->limit_per_client) {
        kind = LIMIT_PER_CLIENT_IP;
        snprintf(detail, sizeof detail,
                 "refused: %u connections from this address not "
                 "authenticated yet, the most allowed",
                 same_ip);
    } else if (s->n_handshaking >= cfg->limit_max_handshakes &&
               !evict_oldest(s)) {
        kind = LIMIT_HANDSHAKES;
        snprintf(detail, sizeof detail,
                 "refused: %u connections not authenticated yet, the most "
                 "allowed",
                 s->n_handshaking);
    }
    if (kind != LIMIT_NONE) {
        connlimit_hit(s, kind, lc->ip, detail);
        return kind; /* not registered: it takes no slot while closing */
    }
    list_push(&s->conns, &lc->link);
    s->n_conns++;
    s->n_handshaking++;
    lc->deadline_kind = LIMIT_HANDSHAKE_TIMEOUT;
    lc->deadline_ms = uv_now(s->loop) + cfg->limit_handshake_ms;
    return LIMIT_NONE;
}

enum limit_kind connlimit_authenticated(struct connlimit *s,
                                        struct connlimit_conn *lc,
                                        const char *name,
                                        bool exempt)
{
    char detail[320];
    unsigned same;

    if (lc->authenticated) {
        return LIMIT_NONE;
    }
    snprintf(lc->name, sizeof lc->name, "%s", name);
    lc->authenticated = true;
    lc->exempt = exempt;
    lc->deadline_ms = 0;
    s->n_handshaking--;
    if (exempt) {
        return LIMIT_NONE;
    }
    same = count(s, NULL, lc->name);
    if (same <= s->cfg->limit_per_client) {
        return LIMIT_NONE;
    }
    snprintf(detail, sizeof detail,
             "refused %s: %u connections open for this client, the most "
             "allowed is %u",
             lc->name, same - 1, s->cfg->limit_per_client);
    connlimit_hit(s, LIMIT_PER_CLIENT, lc->ip, detail);
    return LIMIT_PER_CLIENT;
}

void connlimit_set_deadline(struct connlimit *s,
                            struct connlimit_conn *lc,
                            enum limit_kind kind,
                            unsigned ms)
{
    lc->deadline_kind = kind;
    lc->deadline_ms = ms > 0 ? uv_now(s->loop) + ms : 0;
}

void connlimit_remove(struct connlimit *s, struct connlimit_conn *lc)
{
    if (lc->link.next == NULL || lc->link.next == &lc->link) {
        return;
    }
    list_remove(&lc->link);
    s->n_conns--;
    if (!lc->authenticated && !lc->evicted) {
        s->n_handshaking--;
    }
}
