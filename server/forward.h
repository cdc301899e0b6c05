/*
 * Forwarding to the leader: a follower that received a write over HTTPS
 * sends the same klaxon.Request to the leader's client API, over one TLS
 * connection made with this node's certificate, and hands the answer
 * back. The connection follows the leader: a request for another address
 * closes the old connection (its calls fail) and opens a new one.
 *
 * Every call ends exactly once through its callback: with OK and the
 * leader's answer, or with UNAVAILABLE (no connection, the connection
 * broke, or no answer within the timeout). After UNAVAILABLE the write
 * may or may not have been applied; retrying it is what the sender does.
 */
#ifndef KLAXON_FORWARD_H
#define KLAXON_FORWARD_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "klaxon.pb-c.h"
#include "list.h"

struct forward_call;

/* code: KLAXON__CODE__OK with resp (valid during the call), or
 * KLAXON__CODE__UNAVAILABLE with resp NULL and why. */
typedef void (*forward_cb)(struct forward_call *call,
                           int code,
                           const Klaxon__Response *resp,
                           const char *why);

struct forward_call
{
    struct list link;
    struct fwd_conn *conn;
    uint64_t seq;
    uint64_t deadline; /* uv_now() ms */
    uint8_t *frame;    /* until written */
    size_t frame_len;
    forward_cb cb;
    void *data;
};

struct forwarder
{
    uv_loop_t *loop;
    SSL_CTX *tls;
    struct fwd_conn *conn; /* to the current leader, or NULL */
    struct list orphans;   /* calls that failed before being sent */
    uv_timer_t timer;      /* deadlines */
    bool timer_open;
    uint64_t next_seq;
    bool closing;
};

int forwarder_init(struct forwarder *f, uv_loop_t *loop, SSL_CTX *tls);

/* Use tls (borrowed) for connections opened from now on; an open one to
 * the leader keeps its context until it closes. */
void forwarder_set_tls(struct forwarder *f, SSL_CTX *tls);

/*
 * Send q (its seq is replaced) to the client API at address; cb later,
 * never from within this call.
 */
void forward_send(struct forwarder *f,
                  const char *address,
                  Klaxon__Request *q,
                  unsigned timeout_ms,
                  struct forward_call *call);

/* Fail every call and close the connection and timer. */
void forwarder_close(struct forwarder *f);

#endif /* KLAXON_FORWARD_H */
