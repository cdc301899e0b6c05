/*
 * One TLS connection to a node: connect, handshake, and exchange frames
 * (4-byte big-endian length + body, see common/frame.h). The socket is
 * non-blocking and every wait goes through poll() bounded by a deadline.
 */
#ifndef KLAXON_CLIENT_CONN_H
#define KLAXON_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "tlsconf.h"

/* Results of conn_* functions; messages go to the caller's buffer. */
enum conn_result {
    CONN_OK = 0,
    CONN_ECONNECT, /* name resolution, TCP connect or handshake I/O failed */
    CONN_ETLS,     /* TLS refused: certificate verification, role, alert */
    CONN_EIO,      /* connection closed or reset after it was set up */
    CONN_ETIMEOUT, /* the deadline passed */
    CONN_EPROTO,   /* the node sent a frame over FRAME_MAX */
    CONN_ENOMEM,
};

struct conn;

/* Connect to `ep` and complete the TLS handshake before `deadline`. */
int conn_open(const struct tlsconf *t,
              const struct endpoint *ep,
              int64_t deadline,
              struct conn **out,
              char *msg,
              size_t len);

/* Close the connection (with a best-effort close_notify when it is still
 * healthy) and free it. NULL is allowed. */
void conn_close(struct conn *c);

/* Address this connection was opened to ("host:port"). */
const char *conn_endpoint(const struct conn *c);

/* Next request sequence number of this connection (1, 2, ...). */
uint64_t conn_next_seq(struct conn *c);

/* Send one frame whose body is `body` (n bytes). */
int conn_send(struct conn *c,
              const uint8_t *body,
              size_t n,
              int64_t deadline,
              char *msg,
              size_t len);

/* Receive one frame; *body is malloc'ed (free it), *n its length. */
int conn_recv(struct conn *c,
              int64_t deadline,
              uint8_t **body,
              size_t *n,
              char *msg,
              size_t len);

/*
 * Non-blocking I/O for pipelining (client/pipeline.c), on the socket
 * conn_fd() returns:
 * - conn_write_some writes up to n bytes of plaintext, in TLS records of
 *   up to 16 KiB, and stores how many it took (0 when the socket is
 *   full); the rest must be offered again, from any address.
 * - conn_read_some reads up to cap bytes of plaintext (0 when nothing is
 *   ready).
 * *want_write is set when OpenSSL waits for the socket to be writable
 * (before more can be written or read).
 */
int conn_fd(const struct conn *c);
int conn_write_some(struct conn *c,
                    const uint8_t *buf,
                    size_t n,
                    size_t *done,
                    bool *want_write,
                    char *msg,
                    size_t len);
int conn_read_some(struct conn *c,
                   uint8_t *buf,
                   size_t cap,
                   size_t *got,
                   bool *want_write,
                   char *msg,
                   size_t len);

#endif /* KLAXON_CLIENT_CONN_H */
