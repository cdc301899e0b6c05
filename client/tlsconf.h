/*
 * TLS setup of a client: one SSL_CTX (TLS 1.3 only, the client's
 * certificate, the cluster CA as the only trust anchor) and the socket BIO
 * every connection writes through.
 *
 * Trust model: a node is trusted when its certificate chain verifies
 * against the cluster CA and the certificate's subject OU is "node". Host
 * names are not checked: the cluster CA only signs cluster members.
 *
 * SIGPIPE: OpenSSL's own socket BIO writes with write(2), which raises
 * SIGPIPE when the node has closed the connection. The BIO here writes with
 * send(2) and MSG_NOSIGNAL instead, so the library never raises SIGPIPE and
 * never touches the caller's signal dispositions or masks.
 */
#ifndef KLAXON_CLIENT_TLSCONF_H
#define KLAXON_CLIENT_TLSCONF_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "klaxon.h"

struct tlsconf
{
    SSL_CTX *ctx;
    BIO_METHOD *bio_method;
};

/* State of one socket as seen by its BIO. */
struct tlsconf_sock
{
    int fd;
    int err;  /* errno of the last failed send/recv, 0 if none */
    bool eof; /* the node closed its side */
};

/* Load the CA, certificate and key of `opts`. KLAXON_OK, KLAXON_ETLS or
 * KLAXON_ENOMEM with a message naming the file. */
int tlsconf_init(struct tlsconf *t,
                 const struct klaxon_options *opts,
                 char *msg,
                 size_t len);

void tlsconf_cleanup(struct tlsconf *t);

/* A BIO reading and writing `sock->fd` (not owned). NULL when out of
 * memory. */
BIO *tlsconf_bio_new(const struct tlsconf *t, struct tlsconf_sock *sock);

/* 0 if the verified peer certificate has the node role, else -1 with a
 * message. */
int tlsconf_check_node_role(SSL *ssl, char *msg, size_t len);

/* The reason of the most recent OpenSSL error of this thread, e.g.
 * "certificate verify failed"; clears the thread's error queue. */
void tlsconf_last_error(char *msg, size_t len);

#endif /* KLAXON_CLIENT_TLSCONF_H */
