#include "tls_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define READ_CHUNK 65536
#define CLOSE_GRACE_MS 2000
/* Plaintext of one full TLS record (2^14, RFC 8446 5.1). */
#define RECORD_MAX 16384

struct write_req
{
    uv_write_t req;
    struct tls_stream *s;
    size_t len;
    char data[];
};

static void free_plain(struct tls_stream *s)
{
    free(s->plain);
    s->plain = NULL;
    s->plain_len = 0;
}

static void handle_closed(uv_handle_t *h)
{
    struct tls_stream *s = h->data;
    if (--s->open_handles > 0) {
        return;
    }
    s->state = TLS_STREAM_CLOSED;
    SSL_free(s->ssl); /* frees both BIOs */
    s->ssl = NULL;
    free_plain(s);
    s->encrypted = 0;
    if (s->on_close != NULL) {
        s->on_close(s);
    }
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, handle_closed);
    }
}

static void close_handles(struct tls_stream *s)
{
    close_handle((uv_handle_t *)&s->tcp);
    close_handle((uv_handle_t *)&s->timer);
    close_handle((uv_handle_t *)&s->check);
    close_handle((uv_handle_t *)&s->idle);
}

void tls_stream_abort(struct tls_stream *s, const char *why)
{
    if (s->state == TLS_STREAM_CLOSED) {
        return;
    }
    if (why != NULL && s->errmsg[0] == '\0') {
        snprintf(s->errmsg, sizeof s->errmsg, "%s", why);
    }
    s->state = TLS_STREAM_CLOSING;
    close_handles(s);
}

int tls_stream_init(struct tls_stream *s,
                    uv_loop_t *loop,
                    SSL_CTX *ctx,
                    bool server)
{
    void *data = s->data;

    memset(s, 0, sizeof *s);
    s->data = data;
    s->ssl = SSL_new(ctx);
    if (s->ssl == NULL) {
        return -1;
    }
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (s->rbio == NULL || s->wbio == NULL) {
        BIO_free(s->rbio);
        BIO_free(s->wbio);
        SSL_free(s->ssl);
        return -1;
    }
    BIO_set_mem_eof_return(s->rbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    if (server) {
        SSL_set_accept_state(s->ssl);
    } else {
        SSL_set_connect_state(s->ssl);
    }
    if (uv_tcp_init(loop, &s->tcp) != 0) {
        SSL_free(s->ssl);
        return -1;
    }
    /* libuv documents these as always succeeding. */
    (void)uv_timer_init(loop, &s->timer);
    (void)uv_check_init(loop, &s->check);
    (void)uv_idle_init(loop, &s->idle);
    s->tcp.data = s;
    s->timer.data = s;
    s->check.data = s;
    s->idle.data = s;
    s->open_handles = 4;
    return 0;
}

size_t tls_stream_queued(const struct tls_stream *s)
{
    return s->plain_len + s->encrypted + s->write_queue;
}

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = req->data;
    struct tls_stream *s = w->s;

    s->write_queue -= w->len;
    free(w);
    if (status != 0 && s->state < TLS_STREAM_CLOSING) {
        char why[128];
        snprintf(why, sizeof why, "write: %s", uv_strerror(status));
        tls_stream_abort(s, why);
        return;
    }
    if (s->on_drain != NULL && s->state == TLS_STREAM_OPEN &&
        tls_stream_queued(s) <= s->drain_mark) {
        s->on_drain(s);
    }
}

/* Move whatever OpenSSL produced to the socket, in one uv_write. 0 or -1
 * (out of memory, or the socket refused it). */
static int flush(struct tls_stream *s)
{
    size_t n = BIO_ctrl_pending(s->wbio);
    struct write_req *w;
    uv_buf_t buf;

    if (n == 0) {
        return 0;
    }
    w = malloc(sizeof *w + n);
    if (w == NULL) {
        return -1;
    }
    if (BIO_read(s->wbio, w->data, (int)n) != (int)n) {
        free(w);
        return -1;
    }
    w->s = s;
    w->len = n;
    w->req.data = w;
    buf = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, write_cb) != 0) {
        free(w);
        return -1;
    }
    s->write_queue += n;
    s->encrypted = 0;
    return 0;
}

static void fail(struct tls_stream *s, const char *what)
{
    char why[200];
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what,
             tls_error_string(s->ssl, why, sizeof why));
    tls_stream_abort(s, NULL);
}

/* --- coalesced writes -----------------------------------------------------
 *
 * tls_stream_write() fills a record's worth of plaintext (s->plain) and
 * encrypts each full record into wbio at once; the check handle encrypts
 * the partial record left and writes wbio to the socket, once per turn.
 */

/* Encrypt plaintext into wbio, at most one record per SSL_write. 0, or -1
 * after aborting the stream. */
static int encrypt(struct tls_stream *s, const uint8_t *data, size_t len)
{
    while (len > 0) {
        int n =
            SSL_write(s->ssl, data, len > RECORD_MAX ? RECORD_MAX : (int)len);
        if (n <= 0) {
            fail(s, "write");
            return -1;
        }
        data += n;
        len -= (size_t)n;
        s->encrypted += (size_t)n;
    }
    return 0;
}

/* Encrypt the partial record, if any. 0, or -1 after aborting. */
static int encrypt_plain(struct tls_stream *s)
{
    size_t n = s->plain_len;

    if (n == 0) {
        return 0;
    }
    s->plain_len = 0; /* counted in s->encrypted from here */
    return encrypt(s, s->plain, n);
}

/* Add to the record being filled, encrypting it once full. 0, or -1 after
 * aborting. */
static int append(struct tls_stream *s, const uint8_t *data, size_t len)
{
    if (s->plain == NULL) {
        s->plain = malloc(RECORD_MAX);
        if (s->plain == NULL) {
            tls_stream_abort(s, "write: out of memory");
            return -1;
        }
    }
    memcpy(s->plain + s->plain_len, data, len);
    s->plain_len += len;
    return s->plain_len == RECORD_MAX ? encrypt_plain(s) : 0;
}

static void unschedule(struct tls_stream *s)
{
    if (s->scheduled) {
        (void)uv_check_stop(&s->check); /* always 0 */
        (void)uv_idle_stop(&s->idle);   /* always 0 */
        s->scheduled = false;
    }
}

static void idle_cb(uv_idle_t *h)
{
    (void)h; /* only there so that the loop polls without blocking */
}

static void check_cb(uv_check_t *h)
{
    struct tls_stream *s = h->data;

    unschedule(s);
    if (s->state != TLS_STREAM_OPEN || encrypt_plain(s) != 0) {
        return;
    }
    free_plain(s); /* an idle stream holds no buffer */
    if (flush(s) != 0) {
        tls_stream_abort(s, "write: out of memory");
    }
}

/* Write wbio and the partial record at the end of this turn. 0, or -1
 * after aborting. */
static int schedule(struct tls_stream *s)
{
    if (s->scheduled) {
        return 0;
    }
    if (uv_check_start(&s->check, check_cb) != 0 ||
        uv_idle_start(&s->idle, idle_cb) != 0) {
        (void)uv_check_stop(&s->check);
        tls_stream_abort(s, "write: cannot schedule the flush");
        return -1;
    }
    s->scheduled = true;
    return 0;
}

/* Decrypt and deliver what is available, until paused or closed. */
static void deliver(struct tls_stream *s)
{
    uint8_t buf[READ_CHUNK];

    while (s->state == TLS_STREAM_OPEN && !s->paused) {
        int n = SSL_read(s->ssl, buf, sizeof buf);
        if (n > 0) {
            s->on_data(s, buf, (size_t)n);
            continue;
        }
        switch (SSL_get_error(s->ssl, n)) {
            case SSL_ERROR_WANT_READ:
                break;
            case SSL_ERROR_ZERO_RETURN:
                snprintf(s->errmsg, sizeof s->errmsg, "closed by peer");
                tls_stream_abort(s, NULL);
                break;
            default:
                fail(s, "read");
                break;
        }
        break;
    }
    /* Post-handshake messages (tickets, key updates) go with the turn's
     * writes. */
    if (s->state == TLS_STREAM_OPEN && BIO_ctrl_pending(s->wbio) > 0) {
        (void)schedule(s); /* aborts on failure */
    }
}

static void handshake(struct tls_stream *s)
{
    int rv = SSL_do_handshake(s->ssl);
    if (flush(s) != 0) {
        tls_stream_abort(s, "write: out of memory");
        return;
    }
    if (rv == 1) {
        s->state = TLS_STREAM_OPEN;
        uv_timer_stop(&s->timer);
        s->on_handshake(s);
        return;
    }
    if (SSL_get_error(s->ssl, rv) != SSL_ERROR_WANT_READ) {
        fail(s, "handshake");
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(READ_CHUNK);
    buf->len = buf->base != NULL ? READ_CHUNK : 0;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct tls_stream *s = stream->data;

    if (nread < 0) {
        free(buf->base);
        snprintf(s->errmsg, sizeof s->errmsg, "%s",
                 nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
        tls_stream_abort(s, NULL);
        return;
    }
    if (nread > 0 && s->state < TLS_STREAM_CLOSING) {
        if (BIO_write(s->rbio, buf->base, (int)nread) != (int)nread) {
            tls_stream_abort(s, "read: out of memory");
        } else if (s->state == TLS_STREAM_HANDSHAKE) {
            handshake(s);
        }
        if (s->state == TLS_STREAM_OPEN) {
            deliver(s);
        }
    }
    free(buf->base);
}

static void handshake_timeout_cb(uv_timer_t *t)
{
    struct tls_stream *s = t->data;
    tls_stream_abort(s, s->state == TLS_STREAM_CLOSING ? "close timed out"
                                                       : "handshake timed out");
}

/* Start reading the socket; on failure the stream closes. 0 or -1. */
static int start_reading(struct tls_stream *s)
{
    int rv = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb);
    if (rv != 0) {
        snprintf(s->errmsg, sizeof s->errmsg, "read: %s", uv_strerror(rv));
        tls_stream_abort(s, NULL);
        return -1;
    }
    s->reading = true;
    return 0;
}

static void set_socket_options(struct tls_stream *s, unsigned user_timeout_ms)
{
    uv_os_fd_t fd;

    uv_tcp_nodelay(&s->tcp, 1);
    if (user_timeout_ms == 0) {
        return;
    }
    uv_tcp_keepalive(&s->tcp, 1, user_timeout_ms / 2000 + 1);
    if (uv_fileno((uv_handle_t *)&s->tcp, &fd) == 0) {
        unsigned v = user_timeout_ms;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v);
    }
}

void tls_stream_start(struct tls_stream *s,
                      unsigned timeout_ms,
                      unsigned user_timeout_ms,
                      tls_stream_cb on_handshake,
                      tls_stream_data_cb on_data,
                      tls_stream_cb on_close)
{
    s->on_handshake = on_handshake;
    s->on_data = on_data;
    s->on_close = on_close;
    s->state = TLS_STREAM_HANDSHAKE;
    set_socket_options(s, user_timeout_ms);
    uv_timer_start(&s->timer, handshake_timeout_cb, timeout_ms, 0);
    if (start_reading(s) != 0) {
        return;
    }
    /* The client speaks first; the server waits for its hello. */
    if (!SSL_is_server(s->ssl)) {
        handshake(s);
    }
}

int tls_stream_write(struct tls_stream *s, const void *data, size_t len)
{
    const uint8_t *p = data;

    if (s->state != TLS_STREAM_OPEN || schedule(s) != 0) {
        return -1;
    }
    while (len > 0) {
        size_t n;
        int rv;
        if (s->plain_len == 0 && len >= RECORD_MAX) {
            n = len - len % RECORD_MAX; /* full records, without a copy */
            rv = encrypt(s, p, n);
        } else {
            n = RECORD_MAX - s->plain_len < len ? RECORD_MAX - s->plain_len
                                                : len;
            rv = append(s, p, n);
        }
        if (rv != 0) {
            return -1;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void tls_stream_pause(struct tls_stream *s)
{
    if (s->paused || s->state >= TLS_STREAM_CLOSING) {
        return;
    }
    s->paused = true;
    if (s->reading) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->reading = false;
    }
}

void tls_stream_resume(struct tls_stream *s)
{
    if (!s->paused || s->state >= TLS_STREAM_CLOSING) {
        return;
    }
    s->paused = false;
    if (start_reading(s) != 0) {
        return;
    }
    /* Plaintext OpenSSL decrypted before the pause. */
    if (s->state == TLS_STREAM_OPEN) {
        deliver(s);
    }
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct tls_stream *s = req->data;
    (void)status;
    close_handles(s);
}

/* Write what is buffered, then close_notify. 0, or -1 after aborting. */
static int send_close_notify(struct tls_stream *s)
{
    if (encrypt_plain(s) != 0) {
        return -1;
    }
    (void)SSL_shutdown(s->ssl); /* 0: sent, the peer's is not awaited */
    ERR_clear_error();
    if (flush(s) != 0) {
        tls_stream_abort(s, "write: out of memory");
        return -1;
    }
    return 0;
}

void tls_stream_close(struct tls_stream *s)
{
    bool open = s->state == TLS_STREAM_OPEN;

    if (s->state >= TLS_STREAM_CLOSING) {
        return;
    }
    s->state = TLS_STREAM_CLOSING;
    if (s->reading) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->reading = false;
    }
    unschedule(s);
    if (open && send_close_notify(s) != 0) {
        return; /* aborted */
    }
    s->shutdown.data = s;
    if (uv_shutdown(&s->shutdown, (uv_stream_t *)&s->tcp, shutdown_cb) != 0) {
        close_handles(s);
        return;
    }
    /* A peer that does not read could hold the shutdown forever. */
    uv_timer_start(&s->timer, handshake_timeout_cb, CLOSE_GRACE_MS, 0);
}
