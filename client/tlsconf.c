#include "tlsconf.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define NODE_ROLE "node"

void tlsconf_last_error(char *msg, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (reason != NULL) {
        snprintf(msg, len, "%s", reason);
    } else if (e != 0) {
        ERR_error_string_n(e, msg, len);
    } else {
        snprintf(msg, len, "unknown TLS error");
    }
    ERR_clear_error();
}

static int bio_write(BIO *b, const char *buf, int n)
{
    struct tlsconf_sock *s = BIO_get_data(b);
    ssize_t w;

    BIO_clear_retry_flags(b);
    w = send(s->fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (w >= 0) {
        return (int)w;
    }
    s->err = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_write(b);
    }
    return -1;
}

static int bio_read(BIO *b, char *buf, int n)
{
    struct tlsconf_sock *s = BIO_get_data(b);
    ssize_t r;

    BIO_clear_retry_flags(b);
    r = recv(s->fd, buf, (size_t)n, 0);
    if (r > 0) {
        return (int)r;
    }
    if (r == 0) {
        s->eof = true;
        return 0;
    }
    s->err = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_read(b);
    }
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tlsconf_sock *s = BIO_get_data(b);

    (void)num;
    (void)ptr;
    switch (cmd) {
        case BIO_CTRL_FLUSH:
            return 1; /* nothing is buffered here */
        case BIO_CTRL_EOF:
            return s != NULL && s->eof;
        default:
            return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int make_bio_method(struct tlsconf *t)
{
    t->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "klaxon socket");
    if (t->bio_method == NULL) {
        return -1;
    }
    if (BIO_meth_set_write(t->bio_method, bio_write) != 1 ||
        BIO_meth_set_read(t->bio_method, bio_read) != 1 ||
        BIO_meth_set_ctrl(t->bio_method, bio_ctrl) != 1 ||
        BIO_meth_set_create(t->bio_method, bio_create) != 1) {
        return -1;
    }
    return 0;
}

BIO *tlsconf_bio_new(const struct tlsconf *t, struct tlsconf_sock *sock)
{
    BIO *b = BIO_new(t->bio_method);

    if (b != NULL) {
        BIO_set_data(b, sock);
    }
    return b;
}

/* Fail with "<field> <file>: <reason>"; a file that cannot be opened gets
 * the system's reason rather than OpenSSL's. */
static int file_error(const char *field,
                      const char *file,
                      char *msg,
                      size_t len)
{
    char reason[160];
    FILE *f = fopen(file, "r");

    if (f == NULL) {
        snprintf(reason, sizeof reason, "%s", strerror(errno));
    } else {
        fclose(f);
        tlsconf_last_error(reason, sizeof reason);
    }
    ERR_clear_error();
    snprintf(msg, len, "%s %s: %s", field, file, reason);
    return KLAXON_ETLS;
}

static int load_files(struct tlsconf *t,
                      const struct klaxon_options *o,
                      char *msg,
                      size_t len)
{
    if (SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL) != 1) {
        return file_error("ca_file", o->ca_file, msg, len);
    }
    if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1) {
        return file_error("cert_file", o->cert_file, msg, len);
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) !=
        1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) !=
            X509_R_KEY_VALUES_MISMATCH) {
            return file_error("key_file", o->key_file, msg, len);
        }
        ERR_clear_error();
        snprintf(msg, len, "key_file %s does not match cert_file %s",
                 o->key_file, o->cert_file);
        return KLAXON_ETLS;
    }
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        ERR_clear_error();
        snprintf(msg, len, "key_file %s does not match cert_file %s",
                 o->key_file, o->cert_file);
        return KLAXON_ETLS;
    }
    return KLAXON_OK;
}

int tlsconf_init(struct tlsconf *t,
                 const struct klaxon_options *opts,
                 char *msg,
                 size_t len)
{
    int rv;

    memset(t, 0, sizeof *t);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL || make_bio_method(t) != 0) {
        ERR_clear_error();
        tlsconf_cleanup(t);
        snprintf(msg, len, "out of memory setting up TLS");
        return KLAXON_ENOMEM;
    }
    if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) != 1) {
        tlsconf_cleanup(t);
        tlsconf_last_error(msg, len);
        return KLAXON_ETLS;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    rv = load_files(t, opts, msg, len);
    if (rv != KLAXON_OK) {
        tlsconf_cleanup(t);
    }
    return rv;
}

void tlsconf_cleanup(struct tlsconf *t)
{
    BIO_meth_free(t->bio_method);
    SSL_CTX_free(t->ctx);
    memset(t, 0, sizeof *t);
}

/* Is the subject's only OU entry NODE_ROLE? The OU found goes to `ou`. */
static bool has_node_ou(X509_NAME *name, char *ou, size_t len)
{
    int i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
    const ASN1_STRING *d;
    int n;

    snprintf(ou, len, "none");
    if (i < 0) {
        return false;
    }
    d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    n = ASN1_STRING_length(d);
    snprintf(ou, len, "\"%.*s\"", n, (const char *)ASN1_STRING_get0_data(d));
    if (X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, i) >= 0) {
        return false; /* several OUs: ambiguous role */
    }
    return (size_t)n == strlen(NODE_ROLE) &&
           memcmp(ASN1_STRING_get0_data(d), NODE_ROLE, (size_t)n) == 0;
}

int tlsconf_check_node_role(SSL *ssl, char *msg, size_t len)
{
    X509 *peer = SSL_get1_peer_certificate(ssl);
    char ou[80];
    bool ok;

    if (peer == NULL) {
        snprintf(msg, len, "node sent no certificate");
        return -1;
    }
    ok = has_node_ou(X509_get_subject_name(peer), ou, sizeof ou);
    X509_free(peer);
    if (!ok) {
        snprintf(msg, len,
                 "peer certificate is not a node certificate (subject OU %s, "
                 "expected \"" NODE_ROLE "\")",
                 ou);
        return -1;
    }
    return 0;
}
