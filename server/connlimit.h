/*
 * Connection limits of one listener (client API, HTTPS or Raft transport):
 * the `limits:` section of klaxond.yaml applied to sockets.
 *
 * Owns: the listener's list of limited connections, the counts per source
 * IP (during the handshake) and per client name (once authenticated), a
 * deadline per connection and the timer that enforces it, and the
 * rate-limited log line and metrics counter of every limit hit.
 *
 * Each connection embeds a struct connlimit_conn. The listener calls
 *   connlimit_admit()          right after uv_accept: 0, or the limit that
 *                              refuses it (the caller closes it at once).
 *                              When max_handshakes connections are still
 *                              handshaking, the oldest of them is closed
 *                              (through the expire callback, with kind
 *                              LIMIT_HANDSHAKES) to admit the new one, so a
 *                              flood of half-open connections cannot lock
 *                              new clients out
 *   connlimit_authenticated()  once the peer is known: 0, or
 *                              LIMIT_PER_CLIENT (the caller answers with
 *                              an error and closes)
 *   connlimit_set_deadline()   to arm the idle / request deadline
 *   connlimit_remove()         when the connection is freed
 * A connection past its deadline is handed to the listener's expire
 * callback (from the sweep timer, never synchronously), which closes it
 * (the hit is then counted and logged here) or re-arms the deadline.
 */
#ifndef KLAXON_CONNLIMIT_H
#define KLAXON_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "list.h"

enum limit_listener {
    LISTENER_API = 0,
    LISTENER_HTTP,
    LISTENER_RAFT,
    LISTENERS
};

/* Which limit a connection hit (metrics label, log text). */
enum limit_kind {
    LIMIT_NONE = 0,
    LIMIT_CONNECTIONS,       /* max_connections */
    LIMIT_HANDSHAKES,        /* max_handshakes */
    LIMIT_PER_CLIENT_IP,     /* max_connections_per_client, by source IP */
    LIMIT_PER_CLIENT,        /* max_connections_per_client, by name */
    LIMIT_HANDSHAKE_TIMEOUT, /* handshake_timeout */
    LIMIT_IDLE_TIMEOUT,      /* idle_timeout / http_idle_timeout */
    LIMIT_REQUEST_TIMEOUT,   /* request_timeout */
    LIMIT_FRAME,             /* max_frame / max_body */
    LIMIT_RATE,              /* client_rate / key_rate */
    LIMIT_KINDS
};

#define CONNLIMIT_IP_MAX 64
#define CONNLIMIT_NAME_MAX 136

struct connlimit_conn
{
    struct list link;
    char ip[CONNLIMIT_IP_MAX];     /* source IP, without port */
    char name[CONNLIMIT_NAME_MAX]; /* client key once authenticated */
    bool authenticated;
    bool exempt;          /* a cluster node: no per-client cap */
    bool evicted;         /* closed to make room (max_handshakes) */
    uint64_t deadline_ms; /* uv_now() time; 0: none */
    enum limit_kind deadline_kind;
};

struct connlimit;
/* Close lc, past its deadline of `kind`: true; or false if it is busy
 * after all (the callback re-armed the deadline). */
typedef bool (*connlimit_expire_cb)(struct connlimit_conn *lc,
                                    enum limit_kind kind);

struct connlimit
{
    uv_loop_t *loop;
    const struct config *cfg;
    enum limit_listener listener;
    unsigned max_connections; /* this listener's total cap */
    uint64_t *hits;           /* [LIMIT_KINDS], this listener's counters */
    connlimit_expire_cb expire;
    uv_timer_t sweep;
    bool started;
    struct list conns;
    unsigned n_conns;
    unsigned n_handshaking;
    uint64_t last_log_ms[LIMIT_KINDS];
    uint64_t suppressed[LIMIT_KINDS];
};

/* Metrics label of a limit ("handshake_timeout"). */
const char *connlimit_kind_name(enum limit_kind kind);

/* Metrics label of a listener ("api"). */
const char *connlimit_listener_name(enum limit_listener l);

/* Set up and start the sweep timer. hits: LIMIT_KINDS counters, may be
 * NULL. max_connections 0: no total cap here. */
void connlimit_init(struct connlimit *s,
                    uv_loop_t *loop,
                    const struct config *cfg,
                    enum limit_listener listener,
                    unsigned max_connections,
                    uint64_t *hits,
                    connlimit_expire_cb expire);

/* Stop the timer (closes its handle; s must stay valid until the loop
 * ran it). Idempotent. */
void connlimit_close(struct connlimit *s);

/* Register an accepted connection (its source IP from tcp) with the
 * handshake deadline: LIMIT_NONE. Or the limit it is over: it is then not
 * registered (connlimit_remove() is harmless on it) and the caller closes
 * it at once. lc must be zeroed before. */
enum limit_kind connlimit_admit(struct connlimit *s,
                                struct connlimit_conn *lc,
                                uv_tcp_t *tcp);

/* The peer proved who it is (`name`; exempt: a cluster node). Clears the
 * handshake deadline. LIMIT_NONE or LIMIT_PER_CLIENT. */
enum limit_kind connlimit_authenticated(struct connlimit *s,
                                        struct connlimit_conn *lc,
                                        const char *name,
                                        bool exempt);

/* Arm (ms > 0) or clear (ms == 0) the deadline of lc. */
void connlimit_set_deadline(struct connlimit *s,
                            struct connlimit_conn *lc,
                            enum limit_kind kind,
                            unsigned ms);

/* Forget lc (idempotent once registered). */
void connlimit_remove(struct connlimit *s, struct connlimit_conn *lc);

/* Count a hit of `kind` and log it, at most one line per kind every 10 s
 * (the rest counted into the next line). who: the peer. */
void connlimit_hit(struct connlimit *s,
                   enum limit_kind kind,
                   const char *who,
                   const char *detail);

#endif /* KLAXON_CONNLIMIT_H */
