/*
 * A TLS connection on a libuv TCP handle. OpenSSL runs over memory BIOs:
 * ciphertext read from the socket is fed to OpenSSL, and what OpenSSL
 * produces is written to the socket with uv_write, so nothing ever blocks
 * the loop.
 *
 * Writes are coalesced: plaintext written during one turn of the loop is
 * kept per stream, encrypted into full TLS records (16 KiB of plaintext
 * each) and handed to the socket with one uv_write after the loop's I/O
 * phase (a check handle; an idle handle keeps the loop from blocking in
 * poll while plaintext waits, so a write from a timer goes out in the same
 * turn). Handshake messages are written at once; a graceful close writes
 * what is buffered before its close_notify; an abort drops it.
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
    uv_check_t check; /* writes what the turn buffered, after I/O */
    uv_idle_t idle;   /* no blocking poll while something is buffered */
    uv_shutdown_t shutdown;
    enum tls_stream_state state;
    bool paused;    /* caller stopped reading */
    bool reading;   /* uv_read_start active */
    bool scheduled; /* check and idle started */
    int open_handles;
    uint8_t *plain;     /* the record being filled, NULL when empty */
    size_t plain_len;   /* bytes in plain, below one record */
    size_t encrypted;   /* plaintext in wbio, not yet handed to uv_write */
    size_t write_queue; /* ciphertext handed to uv_write, not yet written */
    /* Optional: called when tls_stream_queued() drops to drain_mark or
     * below after a write completes (for backpressure). */
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

/* Queue bytes; they are encrypted and written at the end of this turn of
 * the loop, after earlier writes. 0, or -1 if the stream is not open or
 * failed (it is then closing, s->errmsg says why). */
int tls_stream_write(struct tls_stream *s, const void *data, size_t len);

/* Bytes written and not yet on the socket: plaintext still buffered plus
 * ciphertext handed to uv_write. What backpressure compares with limits. */
size_t tls_stream_queued(const struct tls_stream *s);

/* Stop / resume delivering on_data (backpressure). */
void tls_stream_pause(struct tls_stream *s);
void tls_stream_resume(struct tls_stream *s);

/* Graceful close (idempotent): what is buffered is written, then
 * close_notify. */
void tls_stream_close(struct tls_stream *s);

/* Close at once, dropping buffered and queued writes (idempotent). */
void tls_stream_abort(struct tls_stream *s, const char *why);

#endif /* KLAXON_TLS_STREAM_H */
