/*
 * TLS contexts and peer identities. Every connection of a node, to peers
 * and from clients, is TLS 1.3 with certificates from the cluster CA on
 * both sides. A certificate names its holder in the subject:
 *
 *   node:   O=klaxon, OU=node,   CN=node-<id>
 *   client: O=klaxon, OU=<role>, CN=<user>   role: sender, responder,
 *                                            admin (or the legacy "client")
 *
 * OU is the role (authz.h says what each may do). A sender certificate
 * may also list the services it may trigger as subjectAltName URIs
 * "urn:klaxon:service:<name>". Peers must present a node certificate
 * whose id matches the id they claim.
 */
#ifndef KLAXON_TLS_H
#define KLAXON_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TLS_ROLE_NODE "node"
#define TLS_ROLE_CLIENT "client" /* legacy: an admin (authz.h) */

#define TLS_SERVICE_URI "urn:klaxon:service:"
#define TLS_MAX_SERVICES 16
#define TLS_SERVICE_MAX 128 /* = LIMIT_SERVICE */

struct tls_identity
{
    char role[32];  /* OU */
    char name[128]; /* CN */
    /* subjectAltName URIs urn:klaxon:service:<name>, in certificate order */
    unsigned n_services;
    char services[TLS_MAX_SERVICES][TLS_SERVICE_MAX + 1];
};

/*
 * Create a context that can both accept and connect: TLS 1.3 only, our
 * certificate and key, peers verified against the CA and required to
 * present a certificate. 0, or -1 with a message naming the file and the
 * OpenSSL reason.
 */
int tls_context_new(SSL_CTX **out,
                    const char *ca_file,
                    const char *cert_file,
                    const char *key_file,
                    char *err,
                    size_t errlen);

/*
 * A server context for the HTTPS port: TLS 1.2 or later (for monitoring
 * tools that do not speak 1.3 yet), our certificate, client certificates
 * requested and verified against the CA, and required only if asked.
 */
int tls_http_context_new(SSL_CTX **out,
                         const char *ca_file,
                         const char *cert_file,
                         const char *key_file,
                         bool require_client_cert,
                         char *err,
                         size_t errlen);

/*
 * Certificate rotation. A new context with the settings of `like` (TLS
 * versions, options, verification mode) and the files given, checked
 * before it is returned: the key matches the certificate and the
 * certificate verifies against the CA bundle (which may hold several
 * CAs). 0 and *out (one reference, the caller's), or -1 with a message
 * naming the field, the file and the reason. `like` is only read.
 */
int tls_context_renew(SSL_CTX *like,
                      SSL_CTX **out,
                      const char *ca_file,
                      const char *cert_file,
                      const char *key_file,
                      char *err,
                      size_t errlen);

/* Whether ctx's own certificate (and chain) verifies against ctx's CA
 * store. 0, or -1 with a message naming the files. */
int tls_context_check(SSL_CTX *ctx,
                      const char *cert_file,
                      const char *ca_file,
                      char *err,
                      size_t errlen);

struct tls_info
{
    char subject[256]; /* "/O=klaxon/OU=node/CN=node-1" */
    time_t not_after;  /* the certificate's expiry, Unix time */
    unsigned n_ca;     /* CA certificates trusted */
};

/* Describe ctx's own certificate and trust store. 0 or -1. */
int tls_context_info(SSL_CTX *ctx, struct tls_info *info);

/* Identity of our own certificate in ctx. 0 or -1. */
int tls_context_identity(SSL_CTX *ctx, struct tls_identity *id);

/* Identity of the verified peer of a finished handshake. 0, or -1 if the
 * peer presented no certificate, verification failed, or the subject or
 * a service URI is unreadable (empty or too long name, more than
 * TLS_MAX_SERVICES services). */
int tls_peer_identity(SSL *ssl, struct tls_identity *id);

/* Parse "node-<id>" into id. 0 or -1. */
int tls_node_id(const struct tls_identity *id, uint64_t *node_id);

/* Describe the last OpenSSL error (or the verify result of ssl) into buf. */
const char *tls_error_string(SSL *ssl, char *buf, size_t len);

#endif /* KLAXON_TLS_H */
