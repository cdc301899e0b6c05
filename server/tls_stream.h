/*
 * A TLS connection on a libuv TCP handle. OpenSSL runs over memory BIOs:
 * ciphertext read from the socket is fed to OpenSSL, and what OpenSSL
 * produces is written to the socket with uv_write, so nothing ever blocks
 * the loop.
 *
 * Life cycle:
 *   tls_stream_init()           handles and SSL ready (server or client side)
 *   uv_accept()/uv_tcp_connect()  on s->tcp, by the caller
 *   tls_stream_start()          handshake begins, with a deadline
 *   on_handshake(s)             handshake done: check the peer, then write
 *   on_data(s, bytes)           decrypted bytes, in order
 *   tls_stream_close()          graceful: close_notify, flush, then close
 *   on_close(s)                 exactly once, after both handles closed;
 *                               the only place where s may be freed
 *
 * Callback contract: once tls_stream_init() succeeded, on_close fires
 * exactly once, whatever happens (EOF, error, handshake timeout, explicit
 * close), and never synchronously from a tls_stream_* call. After an
 * error, s->errmsg says why. No other callback fires after close began.
 */
#ifndef KLAXON_TLS_STREAM_H
#define KLAXON_TLS_STREAM_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tls_stream;

typedef void (*tls_stream_cb)(struct tls_stream *s);
typedef void (*tls_stream_data_cb)(struct tls_stream *s,
                                   const uint8_t *data,
                                   size_t len);

enum tls_stream_state {
    TLS_STREAM_NEW = 0,
    TLS_STREAM_HANDSHAKE,
    TLS_STREAM_OPEN,
    TLS_STREAM_CLOSING,
    TLS_STREAM_CLOSED
};

struct tls_stream
{
    uv_tcp_t tcp; /* owned; the caller accepts or connects on it */
    void *data;   /* user data */
    SSL *ssl;
    BIO *rbio;        /* socket -> OpenSSL */
    BIO *wbio;        /* OpenSSL -> socket */
    uv_timer_t timer; /* handshake and close deadlines */
    uv_shutdown_t shutdown;
    enum tls_stream_state state;
    bool paused;  /* caller stopped reading */
    bool reading; /* uv_read_start active */
    int open_handles;
    size_t write_queue; /* bytes handed to uv_write, not yet written */
    /* Optional: called when write_queue drops to drain_mark or below
     * after a write completes (for backpressure). */
    tls_stream_cb on_drain;
    size_t drain_mark;
    tls_stream_cb on_handshake;
    tls_stream_data_cb on_data;
    tls_stream_cb on_close;
    char errmsg[256];
};

/* Set up handles and the SSL object. 0, or a libuv/OpenSSL failure (-1). */
int tls_stream_init(struct tls_stream *s,
                    uv_loop_t *loop,
                    SSL_CTX *ctx,
                    bool server);

/*
 * Start reading and handshaking on the connected s->tcp. The handshake
 * must finish within timeout_ms or the stream closes. user_timeout_ms > 0
 * sets TCP_USER_TIMEOUT and keepalive so a dead peer is noticed. Errors are
 * reported through on_close.
 */
void tls_stream_start(struct tls_stream *s,
                      unsigned timeout_ms,
                      unsigned user_timeout_ms,
                      tls_stream_cb on_handshake,
                      tls_stream_data_cb on_data,
                      tls_stream_cb on_close);

/* Encrypt and queue bytes. 0, or -1 if the stream is not open. */
int tls_stream_write(struct tls_stream *s, const void *data, size_t len);

/* Stop / resume delivering on_data (backpressure). */
void tls_stream_pause(struct tls_stream *s);
void tls_stream_resume(struct tls_stream *s);

/* Graceful close (idempotent). */
void tls_stream_close(struct tls_stream *s);

/* Close at once, dropping queued writes (idempotent). */
void tls_stream_abort(struct tls_stream *s, const char *why);

#endif /* KLAXON_TLS_STREAM_H */
