#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, len, "unknown error");
        return;
    }
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

const char *tls_error_string(SSL *ssl, char *buf, size_t len)
{
    long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK) {
        snprintf(buf, len, "certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return buf;
    }
    openssl_reason(buf, len);
    return buf;
}

/* What a context does apart from its files: kept across a reload. */
struct settings
{
    int min_version;
    uint64_t options;
    long mode;
    long cache_mode;
    size_t num_tickets;
    int verify;
    int verify_depth;
};

static void settings_of(SSL_CTX *ctx, struct settings *s)
{
    s->min_version = (int)SSL_CTX_get_min_proto_version(ctx);
    s->options = SSL_CTX_get_options(ctx);
    s->mode = SSL_CTX_get_mode(ctx);
    s->cache_mode = SSL_CTX_get_session_cache_mode(ctx);
    s->num_tickets = SSL_CTX_get_num_tickets(ctx);
    s->verify = SSL_CTX_get_verify_mode(ctx);
    s->verify_depth = SSL_CTX_get_verify_depth(ctx);
}

static int context_new(SSL_CTX **out,
                       const char *ca_file,
                       const char *cert_file,
                       const char *key_file,
                       const struct settings *set,
                       char *err,
                       size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());

    if (ctx == NULL) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "tls: %s", why);
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, set->min_version);
    SSL_CTX_set_options(ctx, set->options);
    SSL_CTX_set_mode(ctx, set->mode);
    SSL_CTX_set_session_cache_mode(ctx, set->cache_mode);
    SSL_CTX_set_num_tickets(ctx, set->num_tickets);
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "tls.ca: %s: %s", ca_file, why);
        goto err_after_ctx;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "tls.cert: %s: %s", cert_file, why);
        goto err_after_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) ==
            X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "tls.key: %s does not match %s", key_file,
                     cert_file);
            goto err_after_ctx;
        }
        openssl_reason(why, sizeof why);
        snprintf(err, errlen, "tls.key: %s: %s", key_file, why);
        goto err_after_ctx;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls.key: %s does not match %s", key_file,
                 cert_file);
        ERR_clear_error();
        goto err_after_ctx;
    }
    SSL_CTX_set_verify(ctx, set->verify, NULL);
    if (set->verify_depth >= 0) {
        SSL_CTX_set_verify_depth(ctx, set->verify_depth);
    }
    *out = ctx;
    return 0;

err_after_ctx:
    SSL_CTX_free(ctx);
    return -1;
}

int tls_context_new(SSL_CTX **out,
                    const char *ca_file,
                    const char *cert_file,
                    const char *key_file,
                    char *err,
                    size_t errlen)
{
    const struct settings set = {
        .min_version = TLS1_3_VERSION,
        .options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET,
        .mode = SSL_MODE_ENABLE_PARTIAL_WRITE |
                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS,
        .cache_mode = SSL_SESS_CACHE_OFF,
        .num_tickets = 0,
        .verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        .verify_depth = -1,
    };
    return context_new(out, ca_file, cert_file, key_file, &set, err, errlen);
}

int tls_http_context_new(SSL_CTX **out,
                         const char *ca_file,
                         const char *cert_file,
                         const char *key_file,
                         bool require_client_cert,
                         char *err,
                         size_t errlen)
{
    struct settings set = {
        .min_version = TLS1_2_VERSION,
        .options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET,
        .mode = SSL_MODE_ENABLE_PARTIAL_WRITE |
                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS,
        .cache_mode = SSL_SESS_CACHE_OFF,
        .num_tickets = 0,
        .verify = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
        .verify_depth = -1,
    };
    if (require_client_cert) {
        set.verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    return context_new(out, ca_file, cert_file, key_file, &set, err, errlen);
}

int tls_context_check(SSL_CTX *ctx,
                      const char *cert_file,
                      const char *ca_file,
                      char *err,
                      size_t errlen)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    STACK_OF(X509) *chain = NULL;
    X509_STORE_CTX *sctx;
    int rv = -1;

    if (cert == NULL) {
        snprintf(err, errlen, "tls.cert: %s: no certificate", cert_file);
        return -1;
    }
    (void)SSL_CTX_get0_chain_certs(ctx, &chain);
    sctx = X509_STORE_CTX_new();
    if (sctx == NULL || X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx),
                                            cert, chain) != 1) {
        snprintf(err, errlen, "tls: out of memory");
        goto out;
    }
    if (X509_verify_cert(sctx) != 1) {
        snprintf(err, errlen,
                 "tls.cert: %s does not verify against tls.ca %s: %s",
                 cert_file, ca_file,
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
        goto out;
    }
    rv = 0;
out:
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return rv;
}

int tls_context_renew(SSL_CTX *like,
                      SSL_CTX **out,
                      const char *ca_file,
                      const char *cert_file,
                      const char *key_file,
                      char *err,
                      size_t errlen)
{
    struct settings set;
    SSL_CTX *ctx;

    settings_of(like, &set);
    if (context_new(&ctx, ca_file, cert_file, key_file, &set, err, errlen) !=
        0) {
        return -1;
    }
    if (tls_context_check(ctx, cert_file, ca_file, err, errlen) != 0) {
        SSL_CTX_free(ctx);
        return -1;
    }
    *out = ctx;
    return 0;
}

static unsigned count_cas(SSL_CTX *ctx)
{
    STACK_OF(X509_OBJECT) *objs =
        X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    unsigned n = 0;

    for (int i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) ==
            X509_LU_X509) {
            n++;
        }
    }
    return n;
}

int tls_context_info(SSL_CTX *ctx, struct tls_info *info)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    struct tm tm;

    memset(info, 0, sizeof *info);
    if (cert == NULL) {
        return -1;
    }
    if (X509_NAME_oneline(X509_get_subject_name(cert), info->subject,
                          (int)sizeof info->subject) == NULL ||
        ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
        ERR_clear_error();
        return -1;
    }
    info->not_after = timegm(&tm);
    info->n_ca = count_cas(ctx);
    return 0;
}

static int name_field(X509_NAME *name, int nid, char *buf, size_t len)
{
    int n = X509_NAME_get_text_by_NID(name, nid, buf, (int)len);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

/* Add the service of one subjectAltName URI, if it is one of ours. */
static int add_service(const GENERAL_NAME *gn, struct tls_identity *id)
{
    const size_t plen = sizeof TLS_SERVICE_URI - 1;
    const unsigned char *uri;
    int n;

    if (gn->type != GEN_URI) {
        return 0;
    }
    uri = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
    n = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
    if (n < 0 || (size_t)n < plen ||
        strncasecmp((const char *)uri, TLS_SERVICE_URI, plen) != 0) {
        return 0;
    }
    if ((size_t)n == plen || (size_t)n - plen > TLS_SERVICE_MAX ||
        memchr(uri, '\0', (size_t)n) != NULL ||
        id->n_services == TLS_MAX_SERVICES) {
        return -1;
    }
    memcpy(id->services[id->n_services], uri + plen, (size_t)n - plen);
    id->services[id->n_services][(size_t)n - plen] = '\0';
    id->n_services++;
    return 0;
}

static int services_of(X509 *cert, struct tls_identity *id)
{
    GENERAL_NAMES *names =
        X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int rv = 0;

    if (names == NULL) {
        return 0;
    }
    for (int i = 0; rv == 0 && i < sk_GENERAL_NAME_num(names); i++) {
        rv = add_service(sk_GENERAL_NAME_value(names, i), id);
    }
    GENERAL_NAMES_free(names);
    return rv;
}

static int identity_of(X509 *cert, struct tls_identity *id)
{
    X509_NAME *name = X509_get_subject_name(cert);
    memset(id, 0, sizeof *id);
    if (name == NULL) {
        return -1;
    }
    if (name_field(name, NID_organizationalUnitName, id->role,
                   sizeof id->role) != 0 ||
        name_field(name, NID_commonName, id->name, sizeof id->name) != 0) {
        return -1;
    }
    return services_of(cert, id);
}

int tls_context_identity(SSL_CTX *ctx, struct tls_identity *id)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    if (cert == NULL) {
        return -1;
    }
    return identity_of(cert, id);
}

int tls_peer_identity(SSL *ssl, struct tls_identity *id)
{
    X509 *cert;
    int rv;

    if (SSL_get_verify_result(ssl) != X509_V_OK) {
        return -1;
    }
    cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) {
        return -1;
    }
    rv = identity_of(cert, id);
    X509_free(cert);
    return rv;
}

int tls_node_id(const struct tls_identity *id, uint64_t *node_id)
{
    const char *p;
    char *end;
    unsigned long long v;

    if (strcmp(id->role, TLS_ROLE_NODE) != 0 ||
        strncmp(id->name, "node-", 5) != 0) {
        return -1;
    }
    p = id->name + 5;
    if (*p < '1' || *p > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0) {
        return -1;
    }
    *node_id = v;
    return 0;
}
