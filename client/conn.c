#include "conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "frame.h"

#define TLS_RECORD_MAX 16384 /* plaintext of one full TLS record */

struct conn
{
    struct tlsconf_sock sock;
    SSL *ssl;
    char *endpoint;
    uint64_t seq;
    bool healthy; /* handshake done and no error since */
};

/* Wait until fd has `events` or the deadline passes: 0, ETIMEDOUT or an
 * errno of poll(). Errors and hang-ups count as ready: the next I/O call
 * reports them. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;

    do {
        r = poll(&p, 1, deadline_left(deadline));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return errno;
    }
    return r == 0 ? ETIMEDOUT : 0;
}

static int connect_addr(const struct addrinfo *ai, int64_t deadline, int *err)
{
    int one = 1;
    socklen_t sl = sizeof *err;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            *err = errno;
        } else if ((*err = wait_fd(fd, POLLOUT, deadline)) == 0 &&
                   getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &sl) != 0) {
            *err = errno;
        }
        if (*err != 0) {
            close(fd);
            return -1;
        }
    }
    /* Nagle only delays small frames; a failure here is harmless. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        *err = 0;
    }
    return fd;
}

static int tcp_connect(struct conn *c,
                       const struct endpoint *ep,
                       int64_t deadline,
                       char *msg,
                       size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int err = 0;
    int rv = getaddrinfo(ep->host, ep->port, &hints, &res);

    if (rv != 0) {
        if (rv == EAI_MEMORY) {
            snprintf(msg, len, "out of memory");
            return CONN_ENOMEM;
        }
        snprintf(msg, len, "cannot resolve %s: %s", ep->host,
                 rv == EAI_SYSTEM ? strerror(errno) : gai_strerror(rv));
        return CONN_ECONNECT;
    }
    for (struct addrinfo *ai = res; ai != NULL && c->sock.fd < 0;
         ai = ai->ai_next) {
        c->sock.fd = connect_addr(ai, deadline, &err);
    }
    freeaddrinfo(res);
    if (c->sock.fd < 0) {
        snprintf(msg, len, "%s",
                 err == ETIMEDOUT ? "connect timed out" : strerror(err));
        return CONN_ECONNECT;
    }
    return CONN_OK;
}

/* Reset the per-call error state before an SSL call. */
static void ssl_prepare(struct conn *c)
{
    c->sock.err = 0;
    ERR_clear_error();
}

/* The failure of an SSL call after SSL_get_error() said `e`. */
static int ssl_failure(struct conn *c, int e, char *msg, size_t len)
{
    c->healthy = false;
    if (c->sock.eof || e == SSL_ERROR_ZERO_RETURN ||
        (e == SSL_ERROR_SYSCALL && c->sock.err == 0)) {
        ERR_clear_error();
        snprintf(msg, len, "connection closed by the node");
        return CONN_EIO;
    }
    if (e == SSL_ERROR_SYSCALL) {
        ERR_clear_error();
        snprintf(msg, len, "%s", strerror(c->sock.err));
        return CONN_EIO;
    }
    tlsconf_last_error(msg, len);
    return CONN_ETLS;
}

/* After an SSL call returned r <= 0: wait for the socket when OpenSSL asks
 * for it (CONN_OK: call again), else report the failure. */
static int ssl_wait(struct conn *c,
                    int r,
                    int64_t deadline,
                    char *msg,
                    size_t len)
{
    int e = SSL_get_error(c->ssl, r);
    int err;

    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        return ssl_failure(c, e, msg, len);
    }
    ERR_clear_error();
    err = wait_fd(c->sock.fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                  deadline);
    if (err == 0) {
        return CONN_OK;
    }
    c->healthy = false;
    if (err == ETIMEDOUT) {
        snprintf(msg, len, "timed out");
        return CONN_ETIMEOUT;
    }
    snprintf(msg, len, "poll: %s", strerror(err));
    return CONN_EIO;
}

/* Describe a failed handshake: verification, TLS refusal or I/O. */
static int handshake_failure(struct conn *c, int rv, char *msg, size_t len)
{
    long vr = SSL_get_verify_result(c->ssl);
    char why[200];

    if (vr != X509_V_OK) {
        ERR_clear_error();
        snprintf(msg, len, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
        return CONN_ETLS;
    }
    if (rv == CONN_ETIMEOUT) {
        snprintf(msg, len, "TLS handshake timed out");
        return CONN_ECONNECT;
    }
    snprintf(why, sizeof why, "%s", msg);
    snprintf(msg, len, "TLS handshake failed: %s", why);
    return rv == CONN_ETLS ? CONN_ETLS : CONN_ECONNECT;
}

static int tls_handshake(struct conn *c,
                         const struct tlsconf *t,
                         int64_t deadline,
                         char *msg,
                         size_t len)
{
    BIO *bio;
    int r;
    int rv;

    c->ssl = SSL_new(t->ctx);
    bio = c->ssl != NULL ? tlsconf_bio_new(t, &c->sock) : NULL;
    if (bio == NULL) {
        ERR_clear_error();
        snprintf(msg, len, "out of memory");
        return CONN_ENOMEM;
    }
    SSL_set_bio(c->ssl, bio, bio);
    /* conn_write_some's caller may move its buffer between retries. */
    SSL_set_mode(c->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_connect_state(c->ssl);
    do {
        ssl_prepare(c);
        r = SSL_do_handshake(c->ssl);
        rv = r == 1 ? CONN_OK : ssl_wait(c, r, deadline, msg, len);
    } while (r != 1 && rv == CONN_OK);
    if (rv != CONN_OK) {
        return handshake_failure(c, rv, msg, len);
    }
    if (tlsconf_check_node_role(c->ssl, msg, len) != 0) {
        return CONN_ETLS;
    }
    return CONN_OK;
}

static void conn_free(struct conn *c)
{
    SSL_free(c->ssl);
    if (c->sock.fd >= 0) {
        close(c->sock.fd);
    }
    free(c->endpoint);
    free(c);
}

int conn_open(const struct tlsconf *t,
              const struct endpoint *ep,
              int64_t deadline,
              struct conn **out,
              char *msg,
              size_t len)
{
    struct conn *c = calloc(1, sizeof *c);
    int rv;

    *out = NULL;
    if (c == NULL) {
        snprintf(msg, len, "out of memory");
        return CONN_ENOMEM;
    }
    c->sock.fd = -1;
    c->endpoint = strdup(ep->addr);
    if (c->endpoint == NULL) {
        snprintf(msg, len, "out of memory");
        conn_free(c);
        return CONN_ENOMEM;
    }
    rv = tcp_connect(c, ep, deadline, msg, len);
    if (rv == CONN_OK) {
        rv = tls_handshake(c, t, deadline, msg, len);
    }
    if (rv != CONN_OK) {
        conn_free(c);
        return rv;
    }
    c->healthy = true;
    *out = c;
    return CONN_OK;
}

void conn_close(struct conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->healthy) {
        /* Best effort: the socket is non-blocking and about to close, so a
         * close_notify that does not fit at once is dropped. */
        if (SSL_shutdown(c->ssl) < 0) {
            c->healthy = false;
        }
        ERR_clear_error();
    }
    conn_free(c);
}

const char *conn_endpoint(const struct conn *c)
{
    return c->endpoint;
}

uint64_t conn_next_seq(struct conn *c)
{
    return ++c->seq;
}

/*
 * After a failed write: a node that refused our certificate sends an alert
 * and closes, and the reset can fail the write before the alert is read.
 * Report that alert (CONN_ETLS) if it is already here, else keep `rv`.
 */
static int pending_alert(struct conn *c, int rv, char *msg, size_t len)
{
    uint8_t byte;
    int r;

    ssl_prepare(c);
    r = SSL_read(c->ssl, &byte, 1);
    if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_SSL && !c->sock.eof) {
        tlsconf_last_error(msg, len);
        return CONN_ETLS;
    }
    ERR_clear_error();
    return rv;
}

int conn_send(struct conn *c,
              const uint8_t *body,
              size_t n,
              int64_t deadline,
              char *msg,
              size_t len)
{
    uint8_t *frame;
    int r;
    int rv;

    if (n > FRAME_MAX) {
        snprintf(msg, len, "request of %zu bytes over the frame limit", n);
        return CONN_EPROTO;
    }
    frame = malloc(FRAME_HEADER + n);
    if (frame == NULL) {
        snprintf(msg, len, "out of memory");
        return CONN_ENOMEM;
    }
    frame_put_len(frame, (uint32_t)n);
    memcpy(frame + FRAME_HEADER, body, n);
    do {
        ssl_prepare(c);
        r = SSL_write(c->ssl, frame, (int)(FRAME_HEADER + n));
        rv = r > 0 ? CONN_OK : ssl_wait(c, r, deadline, msg, len);
    } while (r <= 0 && rv == CONN_OK);
    free(frame);
    return rv == CONN_EIO ? pending_alert(c, rv, msg, len) : rv;
}

/* Read exactly n bytes into buf. */
static int read_full(struct conn *c,
                     uint8_t *buf,
                     size_t n,
                     int64_t deadline,
                     char *msg,
                     size_t len)
{
    size_t got = 0;
    int rv = CONN_OK;

    while (got < n && rv == CONN_OK) {
        int r;
        ssl_prepare(c);
        r = SSL_read(c->ssl, buf + got, (int)(n - got));
        if (r > 0) {
            got += (size_t)r;
        } else {
            rv = ssl_wait(c, r, deadline, msg, len);
        }
    }
    return rv;
}

int conn_recv(struct conn *c,
              int64_t deadline,
              uint8_t **body,
              size_t *n,
              char *msg,
              size_t len)
{
    uint8_t hdr[FRAME_HEADER];
    uint32_t size;
    int rv;

    *body = NULL;
    *n = 0;
    rv = read_full(c, hdr, sizeof hdr, deadline, msg, len);
    if (rv != CONN_OK) {
        return rv;
    }
    size = frame_get_len(hdr);
    if (size > FRAME_MAX) {
        c->healthy = false;
        snprintf(msg, len, "answer frame of %u bytes over the limit", size);
        return CONN_EPROTO;
    }
    *body = malloc(size > 0 ? size : 1);
    if (*body == NULL) {
        c->healthy = false;
        snprintf(msg, len, "out of memory");
        return CONN_ENOMEM;
    }
    rv = read_full(c, *body, size, deadline, msg, len);
    if (rv != CONN_OK) {
        free(*body);
        *body = NULL;
        return rv;
    }
    *n = size;
    return CONN_OK;
}

int conn_fd(const struct conn *c)
{
    return c->sock.fd;
}

/* After a non-blocking SSL call returned r <= 0: CONN_OK when it only
 * has to wait for the socket (*want_write says which way), else the
 * failure. */
static int ssl_would_block(struct conn *c,
                           int r,
                           bool *want_write,
                           char *msg,
                           size_t len)
{
    int e = SSL_get_error(c->ssl, r);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return CONN_OK;
    }
    return ssl_failure(c, e, msg, len);
}

int conn_write_some(struct conn *c,
                    const uint8_t *buf,
                    size_t n,
                    size_t *done,
                    bool *want_write,
                    char *msg,
                    size_t len)
{
    *done = 0;
    *want_write = false;
    while (*done < n) {
        size_t chunk = n - *done < TLS_RECORD_MAX ? n - *done : TLS_RECORD_MAX;
        int r;

        ssl_prepare(c);
        r = SSL_write(c->ssl, buf + *done, (int)chunk);
        if (r <= 0) {
            int rv = ssl_would_block(c, r, want_write, msg, len);
            return rv == CONN_EIO ? pending_alert(c, rv, msg, len) : rv;
        }
        *done += (size_t)r;
    }
    return CONN_OK;
}

int conn_read_some(struct conn *c,
                   uint8_t *buf,
                   size_t cap,
                   size_t *got,
                   bool *want_write,
                   char *msg,
                   size_t len)
{
    *got = 0;
    *want_write = false;
    while (*got < cap) {
        int chunk = cap - *got > INT32_MAX ? INT32_MAX : (int)(cap - *got);
        int r;

        ssl_prepare(c);
        r = SSL_read(c->ssl, buf + *got, chunk);
        if (r <= 0) {
            return ssl_would_block(c, r, want_write, msg, len);
        }
        *got += (size_t)r;
    }
    return CONN_OK;
}
