/*
 * libklaxon against in-process fake nodes: each fake listens on 127.0.0.1
 * with a real TLS 1.3 server context (certificates from
 * deploy/gen-certs.sh), speaks the klaxon framing, and answers every
 * request through a per-test script, so that redirects, drops, silences,
 * retryable and final codes can be played exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "klaxon.h"
#include "klaxon.pb-c.h"

/* ---- certificates --------------------------------------------------- */

static char pki_root[64]; /* temporary directory of the test run */
static char pki[128];     /* the cluster PKI */
static char foreign[128]; /* a PKI with another CA */
static char path_buf[8][256];
static int path_next;

/* "<dir>/<name>" in a rotating static buffer. */
static const char *file_in(const char *dir, const char *name)
{
    char *p = path_buf[path_next++ % 8];
    snprintf(p, sizeof path_buf[0], "%s/%s", dir, name);
    return p;
}

/* deploy/gen-certs.sh under $KLAXON_SRC (set by tests/run.sh), the
 * working directory, or a directory above the test binary. */
static int find_gen_certs(char *out, size_t len)
{
    const char *src = getenv("KLAXON_SRC");
    char exe[512];
    ssize_t n;

    if (src != NULL) {
        snprintf(out, len, "%s/deploy/gen-certs.sh", src);
        if (access(out, R_OK) == 0) {
            return 0;
        }
    }
    snprintf(out, len, "deploy/gen-certs.sh");
    if (access(out, R_OK) == 0) {
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        return -1;
    }
    exe[n] = '\0';
    for (int up = 0; up < 5; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL) {
            break;
        }
        *slash = '\0';
        snprintf(out, len, "%s/deploy/gen-certs.sh", exe);
        if (access(out, R_OK) == 0) {
            return 0;
        }
    }
    return -1;
}

static int gen_certs(const char *script, const char *dir, int nodes)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, "sh '%s' --dir '%s' --nodes %d >/dev/null",
             script, dir, nodes);
    return system(cmd) == 0 ? 0 : -1;
}

static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *e;
    int rv;

    X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (e == NULL) {
        return -1;
    }
    rv = X509_add_ext(x, e, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free(e);
    return rv;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL) {
        return -1;
    }
    ok = x != NULL ? PEM_write_X509(f, x)
                   : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

/*
 * An "imposter": signed by the cluster CA, usable by a TLS server
 * (serverAuth), but with the client role /O=klaxon/OU=client/CN=imposter.
 * gen-certs.sh never makes such a certificate; the client must still
 * refuse it for lack of the node role.
 */
static int make_imposter(void)
{
    FILE *f = fopen(file_in(pki, "ca.pem"), "r");
    X509 *ca = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n;
    int rv = -1;

    if (f != NULL) {
        fclose(f);
    }
    f = fopen(file_in(pki, "ca-key.pem"), "r");
    if (f != NULL) {
        ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (ca == NULL || ca_key == NULL || key == NULL || x == NULL) {
        goto out;
    }
    n = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
        X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                   (const unsigned char *)"klaxon", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
                                   (const unsigned char *)"client", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"imposter", -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
        add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") != 0 ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid") != 0 ||
        X509_sign(x, ca_key, EVP_sha256()) == 0) {
        goto out;
    }
    rv = write_pem(file_in(pki, "imposter.pem"), x, NULL) == 0 &&
                 write_pem(file_in(pki, "imposter-key.pem"), NULL, key) == 0
             ? 0
             : -1;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return rv;
}

static int group_setup(void **state)
{
    char script[600];

    (void)state;
    snprintf(pki_root, sizeof pki_root, "/tmp/klaxon-test-client.XXXXXX");
    if (mkdtemp(pki_root) == NULL || find_gen_certs(script, sizeof script)) {
        fprintf(stderr, "cannot set up: no temp dir or deploy/gen-certs.sh\n");
        return -1;
    }
    snprintf(pki, sizeof pki, "%s/pki", pki_root);
    snprintf(foreign, sizeof foreign, "%s/foreign", pki_root);
    if (gen_certs(script, pki, 2) != 0 || gen_certs(script, foreign, 1) != 0 ||
        make_imposter() != 0) {
        fprintf(stderr, "cannot make test certificates\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki_root);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- the fake node -------------------------------------------------- */

enum fake_action {
    FAKE_REPLY,       /* answer */
    FAKE_REPLY_CLOSE, /* answer, then close the connection */
    FAKE_DROP,        /* close the connection without answering */
    FAKE_SILENT,      /* never answer */
};

struct fake;
typedef enum fake_action (*fake_script)(struct fake *f,
                                        const Klaxon__Request *req,
                                        unsigned n,
                                        Klaxon__Response *resp);

#define FAKE_LOG 64

struct fake
{
    int lfd;
    int stop[2];
    char addr[32];
    SSL_CTX *ctx;
    pthread_t thread;
    fake_script script;
    pthread_mutex_t mu;
    Klaxon__Request *log[FAKE_LOG]; /* every request received, in order */
    unsigned n_req;
    unsigned n_conn;
    /* Set by the test, read by its script. */
    int code;
    const char *message;
    uint64_t retry_after_ms;
    char redirect[32];
    /* Storage the scripts build answers in. */
    Klaxon__MutationResult mut;
    Klaxon__GetResult get;
    Klaxon__Incident inc[2];
    Klaxon__Incident *incp[2];
    Klaxon__Detail det[2];
    Klaxon__Detail *detp[2];
    Klaxon__TimelineEvent ev[4];
    Klaxon__TimelineEvent *evp[4];
    Klaxon__IncidentTimers timers;
    Klaxon__ListResult list;
    Klaxon__NodeStatus status;
    Klaxon__Member mem[3];
    Klaxon__Member *memp[3];
    Klaxon__StateCounters counters;
    Klaxon__ConfigResult config;
    Klaxon__OncallResult oncall;
    Klaxon__Shift shift[2];
    Klaxon__Shift *shiftp[2];
    Klaxon__MonitorsResult monitors;
    Klaxon__MonitorStatus mon[2];
    Klaxon__MonitorStatus *monp[2];
    Klaxon__MaintenanceListResult maint;
    Klaxon__MaintenanceWindow win[1];
    Klaxon__MaintenanceWindow *winp[1];
    Klaxon__PagesResult pages;
    Klaxon__Page page[2];
    Klaxon__Page *pagep[2];
    Klaxon__ContactMethod contact;
};

static int ssl_read_all(SSL *ssl, uint8_t *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        size_t r;
        if (SSL_read_ex(ssl, buf + got, n - got, &r) != 1) {
            return -1;
        }
        got += r;
    }
    return 0;
}

static Klaxon__Request *read_request(SSL *ssl)
{
    uint8_t hdr[FRAME_HEADER];
    uint8_t *body;
    uint32_t len;
    Klaxon__Request *req = NULL;

    if (ssl_read_all(ssl, hdr, sizeof hdr) != 0) {
        return NULL;
    }
    len = frame_get_len(hdr);
    body = len <= FRAME_MAX ? malloc(len + 1) : NULL;
    if (body != NULL && ssl_read_all(ssl, body, len) == 0) {
        req = klaxon__request__unpack(NULL, len, body);
    }
    free(body);
    return req;
}

static int write_response(SSL *ssl, const Klaxon__Response *resp)
{
    size_t n = klaxon__response__get_packed_size(resp);
    uint8_t *buf = malloc(FRAME_HEADER + n);
    size_t w;
    int rv;

    if (buf == NULL) {
        return -1;
    }
    frame_put_len(buf, (uint32_t)n);
    klaxon__response__pack(resp, buf + FRAME_HEADER);
    rv = SSL_write_ex(ssl, buf, FRAME_HEADER + n, &w) == 1 ? 0 : -1;
    free(buf);
    return rv;
}

/* Wait for data on fd; false once the fake is told to stop. */
static bool wait_readable(struct fake *f, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                          {.fd = f->stop[0], .events = POLLIN}};

    while (poll(p, 2, -1) < 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return p[1].revents == 0;
}

/* Answer requests on one connection until it closes or must close. */
static void serve(struct fake *f, SSL *ssl, int fd)
{
    for (;;) {
        Klaxon__Response resp = KLAXON__RESPONSE__INIT;
        Klaxon__Request *req;
        enum fake_action a;
        unsigned n;

        if (SSL_pending(ssl) == 0 && !wait_readable(f, fd)) {
            return;
        }
        req = read_request(ssl);
        if (req == NULL) {
            return;
        }
        pthread_mutex_lock(&f->mu);
        n = f->n_req++;
        if (n < FAKE_LOG) {
            f->log[n] = req;
        }
        pthread_mutex_unlock(&f->mu);
        resp.version = PROTOCOL_VERSION;
        resp.seq = req->seq;
        a = f->script(f, req, n, &resp);
        if (n >= FAKE_LOG) {
            klaxon__request__free_unpacked(req, NULL);
        }
        if (a == FAKE_DROP ||
            ((a == FAKE_REPLY || a == FAKE_REPLY_CLOSE) &&
             write_response(ssl, &resp) != 0) ||
            a == FAKE_REPLY_CLOSE) {
            return;
        }
    }
}

static void handle_conn(struct fake *f, int fd)
{
    struct timeval tv = {.tv_sec = 5};
    SSL *ssl = SSL_new(f->ctx);

    pthread_mutex_lock(&f->mu);
    f->n_conn++;
    pthread_mutex_unlock(&f->mu);
    if (ssl == NULL ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return;
    }
    serve(f, ssl, fd);
    SSL_free(ssl);
    ERR_clear_error();
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    sigset_t pipe_set;

    /* A write to a client that left raises SIGPIPE in this thread only:
     * keep it pending here, so that the library's own protection is what
     * the main thread's default disposition tests. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    while (wait_readable(f, f->lfd)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd >= 0) {
            handle_conn(f, fd);
            close(fd);
        }
    }
    return NULL;
}

static SSL_CTX *server_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM),
                     1);
    assert_int_equal(
        SSL_CTX_load_verify_locations(ctx, file_in(pki, "ca.pem"), NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    return ctx;
}

/* A bound, listening socket on 127.0.0.1 and an ephemeral port. */
static int listen_local(char *addr, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(addr, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* Start a fake node presenting `cert`/`key` (NULL: node1 of the PKI). */
static struct fake *fake_start_as(fake_script script,
                                  const char *cert,
                                  const char *key)
{
    struct fake *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->script = script;
    f->ctx = server_ctx(cert != NULL ? cert : file_in(pki, "node1.pem"),
                        key != NULL ? key : file_in(pki, "node1-key.pem"));
    f->lfd = listen_local(f->addr, sizeof f->addr);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(pipe(f->stop), 0);
    assert_int_equal(pthread_mutex_init(&f->mu, NULL), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    return f;
}

static struct fake *fake_start(fake_script script)
{
    return fake_start_as(script, NULL, NULL);
}

static void fake_stop(struct fake *f)
{
    assert_int_equal(write(f->stop[1], "x", 1), 1);
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    for (unsigned i = 0; i < f->n_req && i < FAKE_LOG; i++) {
        klaxon__request__free_unpacked(f->log[i], NULL);
    }
    pthread_mutex_destroy(&f->mu);
    close(f->stop[0]);
    close(f->stop[1]);
    close(f->lfd);
    SSL_CTX_free(f->ctx);
    free(f);
}

static unsigned fake_requests(struct fake *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = f->n_req;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static unsigned fake_conns(struct fake *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = f->n_conn;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Request i as the fake received it. */
static const Klaxon__Request *fake_req(struct fake *f, unsigned i)
{
    const Klaxon__Request *r;

    pthread_mutex_lock(&f->mu);
    r = i < f->n_req && i < FAKE_LOG ? f->log[i] : NULL;
    pthread_mutex_unlock(&f->mu);
    assert_non_null(r);
    return r;
}

/* ---- scripts -------------------------------------------------------- */

static void mutation_ok(struct fake *f, Klaxon__Response *resp)
{
    klaxon__mutation_result__init(&f->mut);
    f->mut.code = KLAXON__CODE__OK;
    f->mut.incident_id = 42;
    f->mut.deduplicated = true;
    f->mut.alert_count = 3;
    f->mut.status = KLAXON__STATUS__TRIGGERED;
    f->mut.config_version = 7;
    f->mut.unchanged = true;
    f->mut.window_id = 5;
    resp->result_case = KLAXON__RESPONSE__RESULT_MUTATION;
    resp->mutation = &f->mut;
}

static void incident_fill(Klaxon__Incident *i, uint64_t id)
{
    klaxon__incident__init(i);
    i->id = id;
    i->service = "payments";
    i->severity = 1;
    i->summary = "checkout 5xx above 5%";
    i->source = "prometheus";
    i->dedup_key = "pay-5xx";
    i->status = KLAXON__STATUS__ACKNOWLEDGED;
    i->created_ms = 1000;
    i->updated_ms = 2000;
    i->acknowledged_ms = 1500;
    i->acknowledged_by = "alice";
    i->alert_count = 2;
    i->last_alert_ms = 1200;
}

/* Answer every request with OK and the result its op expects. */
static enum fake_action ok_script(struct fake *f,
                                  const Klaxon__Request *req,
                                  unsigned n,
                                  Klaxon__Response *resp)
{
    (void)n;
    switch (req->op_case) {
        case KLAXON__REQUEST__OP_GET:
            klaxon__get_result__init(&f->get);
            incident_fill(&f->inc[0], req->get->incident_id);
            f->get.incident = &f->inc[0];
            resp->result_case = KLAXON__RESPONSE__RESULT_GET;
            resp->get = &f->get;
            break;
        case KLAXON__REQUEST__OP_LIST:
            klaxon__list_result__init(&f->list);
            resp->result_case = KLAXON__RESPONSE__RESULT_LIST;
            resp->list = &f->list;
            break;
        case KLAXON__REQUEST__OP_STATUS:
            klaxon__node_status__init(&f->status);
            f->status.id = 1;
            f->status.role = "follower";
            resp->result_case = KLAXON__RESPONSE__RESULT_STATUS;
            resp->status = &f->status;
            break;
        default:
            mutation_ok(f, resp);
            break;
    }
    return FAKE_REPLY;
}

static enum fake_action redirect_script(struct fake *f,
                                        const Klaxon__Request *req,
                                        unsigned n,
                                        Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    resp->code = KLAXON__CODE__NOT_LEADER;
    resp->message = "not the leader";
    resp->leader_id = 2;
    resp->leader_api_address = f->redirect;
    return FAKE_REPLY;
}

static enum fake_action drop_first_script(struct fake *f,
                                          const Klaxon__Request *req,
                                          unsigned n,
                                          Klaxon__Response *resp)
{
    return n == 0 ? FAKE_DROP : ok_script(f, req, n, resp);
}

static enum fake_action drop_all_script(struct fake *f,
                                        const Klaxon__Request *req,
                                        unsigned n,
                                        Klaxon__Response *resp)
{
    (void)f;
    (void)req;
    (void)n;
    (void)resp;
    return FAKE_DROP;
}

static enum fake_action silent_script(struct fake *f,
                                      const Klaxon__Request *req,
                                      unsigned n,
                                      Klaxon__Response *resp)
{
    (void)f;
    (void)req;
    (void)n;
    (void)resp;
    return FAKE_SILENT;
}

/* f->code (with f->message) for the first two requests, then OK. */
static enum fake_action code_twice_script(struct fake *f,
                                          const Klaxon__Request *req,
                                          unsigned n,
                                          Klaxon__Response *resp)
{
    if (n >= 2) {
        return ok_script(f, req, n, resp);
    }
    resp->code = f->code;
    resp->message = (char *)f->message;
    return FAKE_REPLY;
}

/* RESOURCE_EXHAUSTED with f->retry_after_ms twice, then OK. */
static enum fake_action exhausted_twice_script(struct fake *f,
                                               const Klaxon__Request *req,
                                               unsigned n,
                                               Klaxon__Response *resp)
{
    if (n >= 2) {
        return ok_script(f, req, n, resp);
    }
    resp->code = KLAXON__CODE__RESOURCE_EXHAUSTED;
    resp->message = (char *)f->message;
    resp->retry_after_ms = f->retry_after_ms;
    return FAKE_REPLY;
}

/* f->code with f->message for every request. */
static enum fake_action code_script(struct fake *f,
                                    const Klaxon__Request *req,
                                    unsigned n,
                                    Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    resp->code = f->code;
    resp->message = (char *)f->message;
    resp->retry_after_ms = f->retry_after_ms;
    return FAKE_REPLY;
}

/* OK with a MutationResult whose own code is f->code. */
static enum fake_action mutation_code_script(struct fake *f,
                                             const Klaxon__Request *req,
                                             unsigned n,
                                             Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    klaxon__mutation_result__init(&f->mut);
    f->mut.code = f->code;
    f->mut.message = (char *)f->message;
    resp->result_case = KLAXON__RESPONSE__RESULT_MUTATION;
    resp->mutation = &f->mut;
    return FAKE_REPLY;
}

static enum fake_action close_after_reply_script(struct fake *f,
                                                 const Klaxon__Request *req,
                                                 unsigned n,
                                                 Klaxon__Response *resp)
{
    ok_script(f, req, n, resp);
    return FAKE_REPLY_CLOSE;
}

/* ---- helpers -------------------------------------------------------- */

static klaxon_client *client_with(const char *endpoints,
                                  unsigned timeout_ms,
                                  const char *dir)
{
    struct klaxon_options o = {
        .endpoints = endpoints,
        .ca_file = file_in(pki, "ca.pem"),
        .cert_file = file_in(dir, "client-admin.pem"),
        .key_file = file_in(dir, "client-admin-key.pem"),
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = 1000,
    };
    char err[KLAXON_ERRMSG_SIZE];
    klaxon_client *c = NULL;
    int rv = klaxon_client_new(&o, &c, err);

    if (rv != KLAXON_OK) {
        fprintf(stderr, "klaxon_client_new: %s\n", err);
    }
    assert_int_equal(rv, KLAXON_OK);
    return c;
}

/* Deadlines of tests that count retries within them: 5 times longer
 * under valgrind (tests/run.sh sets KLAXON_TEST_SLOW=1), where one TLS
 * handshake can take hundreds of milliseconds on a busy machine. */
static unsigned slow(unsigned ms)
{
    const char *s = getenv("KLAXON_TEST_SLOW");

    return s != NULL && strcmp(s, "1") == 0 ? ms * 5 : ms;
}

static klaxon_client *client_for(const char *endpoints, unsigned timeout_ms)
{
    return client_with(endpoints, timeout_ms, pki);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct klaxon_trigger basic_trigger = {
    .service = "payments",
    .severity = 2,
    .summary = "checkout 5xx above 5%",
};

static void assert_same_request_id(const Klaxon__Request *a,
                                   const Klaxon__Request *b)
{
    assert_int_equal(a->request_id.len, 16);
    assert_int_equal(b->request_id.len, a->request_id.len);
    assert_memory_equal(a->request_id.data, b->request_id.data,
                        a->request_id.len);
}

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
    }
}

/* ---- tests ---------------------------------------------------------- */

static void test_trigger_sends_request(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_detail details[] = {{"region", "eu-west-1"},
                                      {"runbook", "https://runbooks/pay"}};
    struct klaxon_trigger t = basic_trigger;
    struct klaxon_result r;
    const Klaxon__Request *q;

    (void)state;
    t.source = "prometheus";
    t.dedup_key = "pay-5xx";
    t.details = details;
    t.n_details = 2;
    assert_int_equal(klaxon_trigger(c, &t, &r), KLAXON_OK);
    assert_int_equal(r.incident_id, 42);
    assert_true(r.deduplicated);
    assert_int_equal(r.alert_count, 3);
    assert_int_equal(r.status, KLAXON_TRIGGERED);
    q = fake_req(a, 0);
    assert_int_equal(q->version, PROTOCOL_VERSION);
    assert_int_equal(q->seq, 1);
    assert_false(q->stale);
    assert_int_equal(q->request_id.len, 16);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_TRIGGER);
    assert_string_equal(q->trigger->service, "payments");
    assert_int_equal(q->trigger->severity, 2);
    assert_string_equal(q->trigger->summary, "checkout 5xx above 5%");
    assert_string_equal(q->trigger->source, "prometheus");
    assert_string_equal(q->trigger->dedup_key, "pay-5xx");
    assert_int_equal(q->trigger->n_details, 2);
    assert_string_equal(q->trigger->details[1]->key, "runbook");
    assert_string_equal(q->trigger->details[1]->value, "https://runbooks/pay");
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_caller_request_id_and_reuse(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_trigger t = basic_trigger;
    const Klaxon__Request *q;

    (void)state;
    t.request_id = "alertmanager-7f3a";
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_OK);
    assert_int_equal(klaxon_ack(c, 42, "alice", NULL), KLAXON_OK);
    assert_int_equal(klaxon_resolve(c, 42, "bob", NULL), KLAXON_OK);
    assert_int_equal(klaxon_note(c, 42, "carol", "all good", NULL), KLAXON_OK);
    q = fake_req(a, 0);
    assert_int_equal(q->request_id.len, strlen(t.request_id));
    assert_memory_equal(q->request_id.data, t.request_id, q->request_id.len);
    /* One connection, sequence numbers counting up on it. */
    assert_int_equal(fake_conns(a), 1);
    assert_int_equal(fake_req(a, 3)->seq, 4);
    assert_int_equal(fake_req(a, 1)->op_case, KLAXON__REQUEST__OP_ACK);
    assert_int_equal(fake_req(a, 1)->ack->incident_id, 42);
    assert_string_equal(fake_req(a, 1)->ack->by, "alice");
    assert_string_equal(fake_req(a, 2)->resolve->by, "bob");
    assert_string_equal(fake_req(a, 3)->note->text, "all good");
    /* Each call has its own random request id. */
    assert_int_equal(fake_req(a, 1)->request_id.len, 16);
    assert_memory_not_equal(fake_req(a, 1)->request_id.data,
                            fake_req(a, 2)->request_id.data, 16);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_leader_redirect(void **state)
{
    struct fake *a = fake_start(redirect_script);
    struct fake *b = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_incident *inc;
    struct klaxon_result r;

    (void)state;
    snprintf(a->redirect, sizeof a->redirect, "%s", b->addr);
    assert_int_equal(klaxon_trigger(c, &basic_trigger, &r), KLAXON_OK);
    assert_int_equal(r.incident_id, 42);
    assert_int_equal(fake_requests(a), 1);
    assert_int_equal(fake_requests(b), 1);
    assert_same_request_id(fake_req(a, 0), fake_req(b, 0));
    /* The connection to the leader is kept: reads go straight there. */
    assert_int_equal(klaxon_get(c, 7, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_OK);
    assert_int_equal(inc->id, 7);
    klaxon_incident_free(inc);
    assert_int_equal(fake_requests(a), 1);
    assert_int_equal(fake_conns(b), 1);
    klaxon_client_free(c);
    fake_stop(b);
    fake_stop(a);
}

static void test_retry_after_drop_same_request_id(void **state)
{
    struct fake *a = fake_start(drop_first_script);
    struct fake *b = fake_start(ok_script);
    char endpoints[80];
    klaxon_client *c;

    (void)state;
    snprintf(endpoints, sizeof endpoints, "%s,%s", a->addr, b->addr);
    c = client_for(endpoints, 5000);
    assert_int_equal(klaxon_ack(c, 9, "alice", NULL), KLAXON_OK);
    assert_int_equal(fake_requests(a), 1);
    assert_int_equal(fake_requests(b), 1);
    assert_same_request_id(fake_req(a, 0), fake_req(b, 0));
    klaxon_client_free(c);
    fake_stop(b);
    fake_stop(a);
}

static void test_retry_codes_then_ok(void **state)
{
    static const int codes[] = {
        KLAXON__CODE__UNAVAILABLE, KLAXON__CODE__UNKNOWN_OUTCOME,
        KLAXON__CODE__INTERNAL, KLAXON__CODE__NOT_LEADER};

    (void)state;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct fake *a = fake_start(code_twice_script);
        klaxon_client *c = client_for(a->addr, 5000);
        struct klaxon_result r;

        a->code = codes[i];
        a->message = "try again";
        assert_int_equal(klaxon_trigger(c, &basic_trigger, &r), KLAXON_OK);
        assert_int_equal(r.incident_id, 42);
        assert_int_equal(fake_requests(a), 3);
        assert_same_request_id(fake_req(a, 0), fake_req(a, 1));
        assert_same_request_id(fake_req(a, 0), fake_req(a, 2));
        klaxon_client_free(c);
        fake_stop(a);
    }
}

/* RESOURCE_EXHAUSTED: the client waits retry_after_ms and retries on the
 * same connection with the same request id. */
static void test_exhausted_waits_then_ok(void **state)
{
    struct fake *a = fake_start(exhausted_twice_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_result r;
    int64_t start = now_ms();

    (void)state;
    a->message = "over 3 requests per second";
    a->retry_after_ms = 150;
    assert_int_equal(klaxon_trigger(c, &basic_trigger, &r), KLAXON_OK);
    assert_true(now_ms() - start >= 300);
    assert_int_equal(r.incident_id, 42);
    assert_int_equal(fake_requests(a), 3);
    assert_same_request_id(fake_req(a, 0), fake_req(a, 2));
    assert_int_equal(fake_conns(a), 1);
    assert_int_equal(klaxon_retry_after_ms(c), 0);
    klaxon_client_free(c);
    fake_stop(a);
}

/* A wait longer than the time left fails at once with KLAXON_ELIMIT and
 * the wait the node asked for. */
static void test_exhausted_past_deadline(void **state)
{
    struct fake *a = fake_start(code_script);
    klaxon_client *c = client_for(a->addr, slow(600));
    int64_t start = now_ms();

    (void)state;
    a->code = KLAXON__CODE__RESOURCE_EXHAUSTED;
    a->message = "over 3 requests per second";
    a->retry_after_ms = 5000;
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_ELIMIT);
    assert_true(now_ms() - start < slow(300));
    assert_int_equal(fake_requests(a), 1);
    assert_int_equal(klaxon_retry_after_ms(c), 5000);
    assert_contains(klaxon_errmsg(c), "over 3 requests per second");
    assert_string_equal(klaxon_strerror(KLAXON_ELIMIT),
                        "over a node limit; retry later");
    /* The next call starts afresh. */
    a->code = KLAXON__CODE__NOT_FOUND;
    a->retry_after_ms = 0;
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_ENOTFOUND);
    assert_int_equal(klaxon_retry_after_ms(c), 0);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_mutation_result_retry(void **state)
{
    struct fake *a = fake_start(mutation_code_script);
    klaxon_client *c = client_for(a->addr, slow(600));

    (void)state;
    a->code = KLAXON__CODE__UNKNOWN_OUTCOME;
    a->message = "leadership lost";
    assert_int_equal(klaxon_resolve(c, 5, "bob", NULL), KLAXON_EUNAVAILABLE);
    assert_true(fake_requests(a) >= 2);
    assert_same_request_id(fake_req(a, 0), fake_req(a, 1));
    assert_contains(klaxon_errmsg(c), "UNKNOWN_OUTCOME: leadership lost");
    klaxon_client_free(c);
    fake_stop(a);
}

struct final_case
{
    int code;
    bool in_mutation;
    int expect;
};

static void test_final_errors(void **state)
{
    static const struct final_case cases[] = {
        {KLAXON__CODE__INVALID_ARGUMENT, false, KLAXON_EINVAL},
        {KLAXON__CODE__NOT_FOUND, false, KLAXON_ENOTFOUND},
        {KLAXON__CODE__FAILED_PRECONDITION, false, KLAXON_ESTATE},
        {KLAXON__CODE__TOO_LARGE, false, KLAXON_ETOOLARGE},
        {KLAXON__CODE__UNSUPPORTED, false, KLAXON_EUNSUPPORTED},
        {KLAXON__CODE__UNAUTHENTICATED, false, KLAXON_EAUTH},
        {KLAXON__CODE__INVALID_ARGUMENT, true, KLAXON_EINVAL},
        {KLAXON__CODE__NOT_FOUND, true, KLAXON_ENOTFOUND},
        {KLAXON__CODE__FAILED_PRECONDITION, true, KLAXON_ESTATE},
        {KLAXON__CODE__PERMISSION_DENIED, false, KLAXON_EPERM},
        {KLAXON__CODE__PERMISSION_DENIED, true, KLAXON_EPERM},
    };
    struct fake *a = fake_start(code_script);
    struct fake *m = fake_start(mutation_code_script);

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake *f = cases[i].in_mutation ? m : a;
        klaxon_client *c = client_for(f->addr, 5000);
        unsigned before = fake_requests(f);
        struct klaxon_result r;

        f->code = cases[i].code;
        f->message = "severity: must be 1..4, got 7";
        assert_int_equal(klaxon_trigger(c, &basic_trigger, &r),
                         cases[i].expect);
        assert_string_equal(klaxon_errmsg(c), "severity: must be 1..4, got 7");
        assert_int_equal(r.incident_id, 0);
        assert_int_equal(fake_requests(f), before + 1);
        klaxon_client_free(c);
    }
    fake_stop(m);
    fake_stop(a);
}

static void test_deadline_when_node_never_answers(void **state)
{
    struct fake *a = fake_start(silent_script);
    klaxon_client *c = client_for(a->addr, slow(400));
    int64_t start = now_ms();
    int64_t took;

    (void)state;
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_ETIMEOUT);
    took = now_ms() - start;
    assert_true(took >= slow(400) - 10);
    assert_true(took < slow(400) + slow(300));
    assert_contains(klaxon_errmsg(c), a->addr);
    assert_contains(klaxon_errmsg(c),
                    "outcome unknown; retrying with the "
                    "same request id is safe");
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_unavailable_until_deadline(void **state)
{
    struct fake *a = fake_start(code_script);
    klaxon_client *c = client_for(a->addr, slow(600));
    int64_t start = now_ms();
    struct klaxon_incident_list *l;

    (void)state;
    a->code = KLAXON__CODE__UNAVAILABLE;
    a->message = "election in progress";
    assert_int_equal(klaxon_list(c, NULL, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_EUNAVAILABLE);
    assert_null(l);
    assert_true(now_ms() - start < slow(600) + slow(300));
    assert_true(fake_requests(a) >= 2); /* backoff 25, 50, 100 ms ... */
    assert_contains(klaxon_errmsg(c), "UNAVAILABLE: election in progress");
    /* The last answer decides: INTERNAL until the deadline. */
    a->code = KLAXON__CODE__INTERNAL;
    a->message = "disk full";
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_EINTERNAL);
    assert_contains(klaxon_errmsg(c), "INTERNAL: disk full");
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_connect_refused(void **state)
{
    char addr[32];
    int fd = listen_local(addr, sizeof addr); /* bound, not listening */
    klaxon_client *c = client_for(addr, slow(300));
    int64_t start = now_ms();

    (void)state;
    assert_int_equal(klaxon_trigger(c, &basic_trigger, NULL), KLAXON_ECONNECT);
    assert_true(now_ms() - start < slow(300) + slow(300));
    assert_contains(klaxon_errmsg(c), addr);
    assert_contains(klaxon_errmsg(c), "refused");
    klaxon_client_free(c);
    close(fd);
}

static void test_lost_connection_then_unavailable(void **state)
{
    struct fake *a = fake_start(drop_all_script);
    /* Long enough for two TLS handshakes under valgrind on a busy
     * machine. */
    klaxon_client *c = client_for(a->addr, 2000);
    int rv;

    (void)state;
    /* The deadline ends either a backoff (EUNAVAILABLE) or the wait for
     * an answer to a retry (ETIMEOUT): both leave the outcome open. */
    rv = klaxon_note(c, 3, "al", "x", NULL);
    assert_true(rv == KLAXON_EUNAVAILABLE || rv == KLAXON_ETIMEOUT);
    assert_contains(klaxon_errmsg(c), a->addr);
    assert_true(fake_requests(a) >= 2);
    assert_same_request_id(fake_req(a, 0), fake_req(a, 1));
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_reconnect_after_node_closed(void **state)
{
    struct fake *a = fake_start(close_after_reply_script);
    klaxon_client *c = client_for(a->addr, 5000);

    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_OK);
        usleep(20 * 1000); /* let the close reach the client */
    }
    assert_int_equal(fake_requests(a), 3);
    assert_int_equal(fake_conns(a), 3);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_redirect_loop_backs_off(void **state)
{
    struct fake *a = fake_start(redirect_script);
    struct fake *b = fake_start(redirect_script);
    klaxon_client *c = client_for(a->addr, slow(400));

    (void)state;
    snprintf(a->redirect, sizeof a->redirect, "%s", b->addr);
    snprintf(b->redirect, sizeof b->redirect, "%s", a->addr);
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_EUNAVAILABLE);
    assert_contains(klaxon_errmsg(c), "is not the leader");
    /* A few free redirects, then 25, 50, 100, 200 ms of backoff (and
     * 400, 500, 500 ms more with the longer deadline). */
    assert_true(fake_requests(a) + fake_requests(b) <= (slow(1) > 1 ? 16 : 12));
    assert_same_request_id(fake_req(a, 0), fake_req(b, 0));
    klaxon_client_free(c);
    fake_stop(b);
    fake_stop(a);
}

/* A follower names a leader that just refused a connection (it died, and
 * the follower has not noticed yet): the client does not go there again,
 * it waits for the election and asks the other nodes. */
static void test_unreachable_leader_not_followed(void **state)
{
    char dead[32];
    char endpoints[80];
    int fd = listen_local(dead, sizeof dead); /* bound, not listening */
    struct fake *a = fake_start(redirect_script);
    klaxon_client *c;

    (void)state;
    snprintf(a->redirect, sizeof a->redirect, "%s", dead);
    snprintf(endpoints, sizeof endpoints, "%s, %s", dead, a->addr);
    /* Long enough for a TLS handshake under valgrind; shorter than the
     * connect timeout, so the refusal stays fresh. */
    c = client_for(endpoints, 900);
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_EUNAVAILABLE);
    assert_contains(klaxon_errmsg(c), "is not the leader");
    assert_contains(klaxon_errmsg(c), "unreachable");
    assert_true(fake_requests(a) >= 2);
    klaxon_client_free(c);
    fake_stop(a);
    close(fd);
}

static void test_stale_read_does_not_follow(void **state)
{
    struct fake *a = fake_start(redirect_script);
    struct fake *b = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, slow(300));
    struct klaxon_incident *inc = NULL;

    (void)state;
    snprintf(a->redirect, sizeof a->redirect, "%s", b->addr);
    assert_int_equal(klaxon_get(c, 7, KLAXON_READ_STALE, &inc),
                     KLAXON_EUNAVAILABLE);
    assert_null(inc);
    assert_true(fake_requests(a) >= 1);
    assert_true(fake_req(a, 0)->stale);
    assert_int_equal(fake_conns(b), 0);
    klaxon_client_free(c);
    fake_stop(b);
    fake_stop(a);
}

static void test_stale_read_first_endpoint(void **state)
{
    struct fake *a = fake_start(ok_script);
    struct fake *b = fake_start(ok_script);
    char endpoints[80];
    klaxon_client *c;
    struct klaxon_incident_list *l;

    (void)state;
    snprintf(endpoints, sizeof endpoints, "%s, %s", a->addr, b->addr);
    c = client_for(endpoints, 2000);
    assert_int_equal(klaxon_list(c, NULL, KLAXON_READ_STALE, &l), KLAXON_OK);
    assert_int_equal(l->n, 0);
    assert_false(l->more);
    klaxon_incident_list_free(l);
    assert_int_equal(fake_requests(a), 1);
    assert_true(fake_req(a, 0)->stale);
    assert_int_equal(fake_conns(b), 0);
    klaxon_client_free(c);
    fake_stop(b);
    fake_stop(a);
}

static void expect_tls_refusal(struct fake *a, const char *part)
{
    klaxon_client *c = client_for(a->addr, 3000);
    int64_t start = now_ms();

    assert_int_equal(klaxon_trigger(c, &basic_trigger, NULL), KLAXON_ETLS);
    assert_true(now_ms() - start < 1500); /* refused at once, no retries */
    assert_contains(klaxon_errmsg(c), part);
    assert_int_equal(fake_requests(a), 0);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_foreign_ca_refused(void **state)
{
    (void)state;
    expect_tls_refusal(fake_start_as(ok_script, file_in(foreign, "node1.pem"),
                                     file_in(foreign, "node1-key.pem")),
                       "certificate verify failed");
}

static void test_client_certificate_as_node_refused(void **state)
{
    (void)state;
    /* The client certificate lacks serverAuth: the chain check fails. */
    expect_tls_refusal(
        fake_start_as(ok_script, file_in(pki, "client-admin.pem"),
                      file_in(pki, "client-admin-key.pem")),
        "certificate verify failed");
    /* Valid for a server, but with the client role. */
    expect_tls_refusal(fake_start_as(ok_script, file_in(pki, "imposter.pem"),
                                     file_in(pki, "imposter-key.pem")),
                       "subject OU \"client\", expected \"node\"");
}

static void test_node_refuses_client_certificate(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_with(a->addr, 3000, foreign);

    (void)state;
    assert_int_equal(klaxon_ack(c, 1, "alice", NULL), KLAXON_ETLS);
    assert_contains(klaxon_errmsg(c), a->addr);
    assert_int_equal(fake_requests(a), 0);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_local_validation(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    char big[2000];
    struct klaxon_trigger t;
    struct klaxon_detail d[1] = {{NULL, "v"}};
    struct klaxon_list_query q = {.limit = 1001};
    struct klaxon_incident *inc;
    struct klaxon_incident_list *l;
    struct klaxon_node_status *st;

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    t = basic_trigger;
    t.service = NULL;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "service: required");
    t = basic_trigger;
    t.severity = 7;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "severity: must be 1..4, got 7");
    t.severity = 0;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    t = basic_trigger;
    t.summary = "";
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "summary: required");
    t = basic_trigger;
    t.summary = big;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "summary: too long");
    t = basic_trigger;
    t.dedup_key = big;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "dedup_key: too long");
    t = basic_trigger;
    t.details = d;
    t.n_details = 1;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "details[0].key: required");
    t = basic_trigger;
    t.request_id = big;
    assert_int_equal(klaxon_trigger(c, &t, NULL), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "request_id: too long");
    assert_int_equal(klaxon_trigger(c, NULL, NULL), KLAXON_EINVAL);
    assert_int_equal(klaxon_ack(c, 0, "alice", NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "incident_id: required");
    assert_int_equal(klaxon_resolve(c, 1, NULL, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "by: required");
    assert_int_equal(klaxon_note(c, 1, "alice", "", NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "text: required");
    assert_int_equal(klaxon_get(c, 0, KLAXON_READ_STALE, &inc), KLAXON_EINVAL);
    assert_int_equal(klaxon_list(c, &q, KLAXON_READ_STALE, &l), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "limit");
    assert_int_equal(klaxon_node_status(c, "no-port", &st), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "endpoint: \"no-port\"");
    assert_int_equal(fake_conns(a), 0);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_client_new_errors(void **state)
{
    struct klaxon_options o = {
        .endpoints = "127.0.0.1:7101",
        .ca_file = file_in(pki, "ca.pem"),
        .cert_file = file_in(pki, "client-admin.pem"),
        .key_file = file_in(pki, "client-admin-key.pem"),
    };
    struct klaxon_options bad;
    char err[KLAXON_ERRMSG_SIZE];
    klaxon_client *c = (klaxon_client *)&o;

    (void)state;
    assert_int_equal(klaxon_client_new(NULL, &c, err), KLAXON_ECONFIG);
    assert_null(c);
    bad = o;
    bad.key_file = NULL;
    assert_int_equal(klaxon_client_new(&bad, &c, err), KLAXON_ECONFIG);
    assert_string_equal(err, "key_file: required");
    bad = o;
    bad.endpoints = "127.0.0.1:7101,localhost";
    assert_int_equal(klaxon_client_new(&bad, &c, err), KLAXON_ECONFIG);
    assert_contains(err, "endpoints: \"localhost\": expected host:port");
    bad.endpoints = "[::1]:0";
    assert_int_equal(klaxon_client_new(&bad, &c, err), KLAXON_ECONFIG);
    assert_contains(err, "port must be 1..65535");
    bad = o;
    bad.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(klaxon_client_new(&bad, &c, err), KLAXON_ETLS);
    assert_string_equal(err,
                        "ca_file /nonexistent/ca.pem: No such file or "
                        "directory");
    bad = o;
    bad.key_file = file_in(pki, "node1-key.pem");
    assert_int_equal(klaxon_client_new(&bad, &c, NULL), KLAXON_ETLS);
    bad.cert_file = file_in(pki, "ca-key.pem");
    assert_int_equal(klaxon_client_new(&bad, &c, err), KLAXON_ETLS);
    assert_contains(err, "cert_file");
    assert_int_equal(klaxon_client_new(&o, &c, err), KLAXON_OK);
    assert_string_equal(klaxon_errmsg(c), "");
    klaxon_client_free(c);
    klaxon_client_free(NULL);
}

/* Paging fields of an incident, with f->timers. */
static void paging_fill(struct fake *f, Klaxon__Incident *i)
{
    klaxon__incident_timers__init(&f->timers);
    f->timers.escalate_ms = 9000;
    f->timers.response_ms = 8000;
    i->escalation_policy = "platform";
    i->paging = KLAXON__PAGING__PAGING_FIRST_LEVEL;
    i->escalation_level = 2;
    i->escalation_loop = 1;
    i->unanswered = true;
    i->maintenance = true;
    i->commander = "carol";
    i->response_missed = true;
    i->resolution_missed = true;
    i->pages = 5;
    i->timers = &f->timers;
    i->last_update_ms = 7000;
}

static enum fake_action get_script(struct fake *f,
                                   const Klaxon__Request *req,
                                   unsigned n,
                                   Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    incident_fill(&f->inc[0], 42);
    for (int i = 0; i < 2; i++) {
        klaxon__detail__init(&f->det[i]);
        klaxon__timeline_event__init(&f->ev[i]);
        f->detp[i] = &f->det[i];
        f->evp[i] = &f->ev[i];
    }
    f->det[0].key = "region";
    f->det[0].value = "eu-west-1";
    f->det[1].key = "pod";
    f->ev[0].at_ms = 1000;
    f->ev[0].kind = KLAXON__EVENT_KIND__EVENT_TRIGGERED;
    f->ev[0].actor = "prometheus";
    f->ev[0].message = "checkout 5xx above 5%";
    f->ev[1].at_ms = 1500;
    f->ev[1].kind = KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED;
    f->ev[1].actor = "alice";
    for (int i = 2; i < 4; i++) {
        klaxon__timeline_event__init(&f->ev[i]);
        f->evp[i] = &f->ev[i];
    }
    f->ev[2].kind = KLAXON__EVENT_KIND__EVENT_PAGE_DELIVERED;
    f->ev[2].actor = "alice";
    f->ev[2].message = "webhook https://hooks/alice";
    f->ev[3].kind = 99; /* from a newer node */
    f->inc[0].n_details = 2;
    f->inc[0].details = f->detp;
    f->inc[0].timeline_len = 4;
    paging_fill(f, &f->inc[0]);
    klaxon__get_result__init(&f->get);
    f->get.incident = &f->inc[0];
    f->get.n_timeline = 4;
    f->get.timeline = f->evp;
    resp->result_case = KLAXON__RESPONSE__RESULT_GET;
    resp->get = &f->get;
    return FAKE_REPLY;
}

static void test_get_decoding(void **state)
{
    struct fake *a = fake_start(get_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_incident *i;

    (void)state;
    assert_int_equal(klaxon_get(c, 42, KLAXON_READ_LINEARIZABLE, &i),
                     KLAXON_OK);
    assert_false(fake_req(a, 0)->stale);
    assert_int_equal(fake_req(a, 0)->get->incident_id, 42);
    assert_int_equal(fake_req(a, 0)->request_id.len, 0);
    assert_int_equal(i->id, 42);
    assert_string_equal(i->service, "payments");
    assert_int_equal(i->severity, 1);
    assert_string_equal(i->summary, "checkout 5xx above 5%");
    assert_string_equal(i->source, "prometheus");
    assert_string_equal(i->dedup_key, "pay-5xx");
    assert_int_equal(i->n_details, 2);
    assert_string_equal(i->details[0].key, "region");
    assert_string_equal(i->details[0].value, "eu-west-1");
    assert_string_equal(i->details[1].value, "");
    assert_int_equal(i->status, KLAXON_ACKNOWLEDGED);
    assert_string_equal(klaxon_status_name(i->status), "acknowledged");
    assert_int_equal(i->created_ms, 1000);
    assert_int_equal(i->updated_ms, 2000);
    assert_int_equal(i->acknowledged_ms, 1500);
    assert_string_equal(i->acknowledged_by, "alice");
    assert_int_equal(i->resolved_ms, 0);
    assert_string_equal(i->resolved_by, "");
    assert_int_equal(i->alert_count, 2);
    assert_int_equal(i->last_alert_ms, 1200);
    assert_int_equal(i->n_timeline, 4);
    assert_string_equal(i->timeline[0].kind, "triggered");
    assert_string_equal(i->timeline[0].actor, "prometheus");
    assert_string_equal(i->timeline[0].message, "checkout 5xx above 5%");
    assert_int_equal(i->timeline[1].at_ms, 1500);
    assert_string_equal(i->timeline[1].kind, "acknowledged");
    assert_string_equal(i->timeline[1].message, "");
    assert_string_equal(i->timeline[2].kind, "page_delivered");
    assert_string_equal(i->timeline[2].message, "webhook https://hooks/alice");
    assert_string_equal(i->timeline[3].kind, "unknown");
    assert_string_equal(i->escalation_policy, "platform");
    assert_string_equal(i->paging, "first_level");
    assert_int_equal(i->escalation_level, 2);
    assert_int_equal(i->escalation_loop, 1);
    assert_true(i->unanswered);
    assert_true(i->maintenance);
    assert_string_equal(i->commander, "carol");
    assert_true(i->response_missed);
    assert_true(i->resolution_missed);
    assert_int_equal(i->pages, 5);
    assert_int_equal(i->next_escalation_ms, 9000);
    assert_int_equal(i->last_update_ms, 7000);
    klaxon_incident_free(i);
    klaxon_incident_free(NULL);
    klaxon_client_free(c);
    fake_stop(a);
}

static enum fake_action list_script(struct fake *f,
                                    const Klaxon__Request *req,
                                    unsigned n,
                                    Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    for (int i = 0; i < 2; i++) {
        incident_fill(&f->inc[i], 20 - (uint64_t)i);
        f->incp[i] = &f->inc[i];
    }
    f->inc[1].status = KLAXON__STATUS__RESOLVED;
    f->inc[1].resolved_by = "bob";
    klaxon__list_result__init(&f->list);
    f->list.n_incidents = 2;
    f->list.incidents = f->incp;
    f->list.more = true;
    resp->result_case = KLAXON__RESPONSE__RESULT_LIST;
    resp->list = &f->list;
    return FAKE_REPLY;
}

static void test_list_decoding(void **state)
{
    struct fake *a = fake_start(list_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_list_query q = {.filter = KLAXON_FILTER_ACKNOWLEDGED,
                                  .service = "payments",
                                  .limit = 2,
                                  .before_id = 21};
    struct klaxon_incident_list *l;
    const Klaxon__ListRequest *lr;

    (void)state;
    assert_int_equal(klaxon_list(c, &q, KLAXON_READ_STALE, &l), KLAXON_OK);
    lr = fake_req(a, 0)->list;
    assert_int_equal(lr->filter, KLAXON__STATUS_FILTER__ONLY_ACKNOWLEDGED);
    assert_string_equal(lr->service, "payments");
    assert_int_equal(lr->limit, 2);
    assert_int_equal(lr->before_id, 21);
    assert_int_equal(l->n, 2);
    assert_true(l->more);
    assert_int_equal(l->items[0].id, 20);
    assert_int_equal(l->items[1].id, 19);
    assert_int_equal(l->items[1].status, KLAXON_RESOLVED);
    assert_string_equal(l->items[1].resolved_by, "bob");
    assert_string_equal(l->items[1].service, "payments");
    assert_int_equal(l->items[0].n_timeline, 0);
    assert_null(l->items[0].timeline);
    /* An incident without paging state: empty strings, no timers. */
    assert_string_equal(l->items[0].escalation_policy, "");
    assert_string_equal(l->items[0].paging, "");
    assert_string_equal(l->items[0].commander, "");
    assert_int_equal(l->items[0].next_escalation_ms, 0);
    assert_false(l->items[0].unanswered);
    klaxon_incident_list_free(l);
    klaxon_incident_list_free(NULL);
    klaxon_client_free(c);
    fake_stop(a);
}

static enum fake_action status_script(struct fake *f,
                                      const Klaxon__Request *req,
                                      unsigned n,
                                      Klaxon__Response *resp)
{
    static char *const api[] = {"127.0.0.1:7101", "127.0.0.1:7102",
                                "127.0.0.1:7103"};

    (void)req;
    (void)n;
    klaxon__node_status__init(&f->status);
    for (int i = 0; i < 3; i++) {
        klaxon__member__init(&f->mem[i]);
        f->mem[i].id = (uint64_t)i + 1;
        f->mem[i].raft_address = "127.0.0.1:7201";
        f->mem[i].api_address = api[i];
        f->memp[i] = &f->mem[i];
    }
    f->status.id = 2;
    f->status.role = "leader";
    f->status.term = 3;
    f->status.commit_index = 10;
    f->status.applied_index = 9;
    f->status.last_log_index = 11;
    f->status.leader_id = 2;
    f->status.leader_api_address = "127.0.0.1:7102";
    f->status.ready = true;
    f->status.version = "klaxond 0.1.0";
    f->status.uptime_ms = 12345;
    klaxon__state_counters__init(&f->counters);
    f->counters.config_version = 3;
    f->counters.open_incidents = 4;
    f->counters.pages_created = 10;
    f->counters.pages_delivered = 8;
    f->counters.pages_failed = 1;
    f->counters.pages_cancelled = 1;
    f->counters.escalations = 6;
    f->counters.unanswered = 2;
    f->counters.response_missed = 7;
    f->counters.resolution_missed = 5;
    f->counters.heartbeats_missed = 9;
    f->status.counters = &f->counters;
    f->status.n_members = 3;
    f->status.members = f->memp;
    resp->result_case = KLAXON__RESPONSE__RESULT_STATUS;
    resp->status = &f->status;
    return FAKE_REPLY;
}

static void test_node_status(void **state)
{
    struct fake *a = fake_start(status_script);
    struct fake *r = fake_start(redirect_script);
    char dead[32];
    int dead_fd = listen_local(dead, sizeof dead);
    char endpoints[100];
    klaxon_client *c;
    struct klaxon_node_status *s;
    int64_t start;

    (void)state;
    snprintf(endpoints, sizeof endpoints, "%s,%s", dead, a->addr);
    snprintf(r->redirect, sizeof r->redirect, "%s", a->addr);
    c = client_for(endpoints, 5000);
    /* NULL: the first endpoint that answers. */
    assert_int_equal(klaxon_node_status(c, NULL, &s), KLAXON_OK);
    assert_int_equal(s->id, 2);
    assert_string_equal(s->role, "leader");
    assert_int_equal(s->term, 3);
    assert_int_equal(s->commit_index, 10);
    assert_int_equal(s->applied_index, 9);
    assert_int_equal(s->last_log_index, 11);
    assert_int_equal(s->leader_id, 2);
    assert_string_equal(s->leader_api_address, "127.0.0.1:7102");
    assert_true(s->ready);
    assert_string_equal(s->version, "klaxond 0.1.0");
    assert_int_equal(s->uptime_ms, 12345);
    assert_int_equal(s->n_members, 3);
    assert_int_equal(s->members[2].id, 3);
    assert_string_equal(s->members[2].api_address, "127.0.0.1:7103");
    assert_string_equal(s->members[0].raft_address, "127.0.0.1:7201");
    assert_int_equal(s->counters.config_version, 3);
    assert_int_equal(s->counters.open_incidents, 4);
    assert_int_equal(s->counters.pages_created, 10);
    assert_int_equal(s->counters.pages_delivered, 8);
    assert_int_equal(s->counters.pages_failed, 1);
    assert_int_equal(s->counters.pages_cancelled, 1);
    assert_int_equal(s->counters.escalations, 6);
    assert_int_equal(s->counters.unanswered, 2);
    assert_int_equal(s->counters.response_missed, 7);
    assert_int_equal(s->counters.resolution_missed, 5);
    assert_int_equal(s->counters.heartbeats_missed, 9);
    klaxon_node_status_free(s);
    klaxon_node_status_free(NULL);
    /* A given endpoint, even outside the list; one try, no retries. */
    assert_int_equal(klaxon_node_status(c, a->addr, &s), KLAXON_OK);
    klaxon_node_status_free(s);
    start = now_ms();
    assert_int_equal(klaxon_node_status(c, dead, &s), KLAXON_ECONNECT);
    assert_null(s);
    assert_true(now_ms() - start < 1000);
    assert_contains(klaxon_errmsg(c), dead);
    /* Never follows the leader. */
    assert_int_equal(klaxon_node_status(c, r->addr, &s), KLAXON_EUNAVAILABLE);
    assert_int_equal(fake_requests(r), 1);
    assert_int_equal(fake_requests(a), 2);
    assert_contains(klaxon_errmsg(c), "NOT_LEADER");
    klaxon_client_free(c);
    close(dead_fd);
    fake_stop(r);
    fake_stop(a);
}

/* ---- on-call and paging --------------------------------------------- */

static const char oncall_yaml[] = "users:\n  - id: alice\n";

static const struct klaxon_maintenance basic_window = {
    .service = "db",
    .start_ms = 1000,
    .duration_ms = 7200000,
    .reason = "schema migration",
    .by = "alice",
};

static void test_oncall_writes(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_apply_result ar;
    struct klaxon_result r;
    uint64_t window = 0;
    const Klaxon__Request *q;

    (void)state;
    assert_int_equal(klaxon_ack_token(c, "tok.abc", &r), KLAXON_OK);
    assert_int_equal(r.incident_id, 42);
    q = fake_req(a, 0);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_ACK);
    assert_string_equal(q->ack->token, "tok.abc");
    assert_int_equal(q->ack->incident_id, 0);
    assert_string_equal(q->ack->by, "");
    assert_int_equal(q->request_id.len, 16);

    assert_int_equal(
        klaxon_apply_config(c, "oncall.yaml", oncall_yaml, strlen(oncall_yaml),
                            false, "alice", &ar),
        KLAXON_OK);
    assert_int_equal(ar.version, 7);
    assert_true(ar.unchanged);
    q = fake_req(a, 1);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_APPLY_CONFIG);
    assert_string_equal(q->apply_config->file_name, "oncall.yaml");
    assert_string_equal(q->apply_config->yaml, oncall_yaml);
    assert_false(q->apply_config->dry_run);
    assert_string_equal(q->apply_config->by, "alice");
    assert_int_equal(q->request_id.len, 16);

    assert_int_equal(klaxon_heartbeat(c, "nightly-backup"), KLAXON_OK);
    q = fake_req(a, 2);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_HEARTBEAT);
    assert_string_equal(q->heartbeat->name, "nightly-backup");
    assert_int_equal(q->request_id.len, 16);

    assert_int_equal(klaxon_maintenance_start(c, &basic_window, &window),
                     KLAXON_OK);
    assert_int_equal(window, 5);
    q = fake_req(a, 3);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_MAINTENANCE_START);
    assert_string_equal(q->maintenance_start->service, "db");
    assert_int_equal(q->maintenance_start->start_ms, 1000);
    assert_int_equal(q->maintenance_start->end_ms, 0);
    assert_int_equal(q->maintenance_start->duration_ms, 7200000);
    assert_string_equal(q->maintenance_start->reason, "schema migration");
    assert_string_equal(q->maintenance_start->by, "alice");
    assert_int_equal(q->request_id.len, 16);

    assert_int_equal(klaxon_maintenance_end(c, 5, "bob"), KLAXON_OK);
    q = fake_req(a, 4);
    assert_int_equal(q->op_case, KLAXON__REQUEST__OP_MAINTENANCE_END);
    assert_int_equal(q->maintenance_end->window_id, 5);
    assert_string_equal(q->maintenance_end->by, "bob");
    assert_int_equal(q->request_id.len, 16);
    assert_memory_not_equal(fake_req(a, 3)->request_id.data, q->request_id.data,
                            16);
    /* NULL results are allowed; `by` of apply is optional. */
    assert_int_equal(klaxon_ack_token(c, "tok.abc", NULL), KLAXON_OK);
    assert_int_equal(klaxon_maintenance_start(c, &basic_window, NULL),
                     KLAXON_OK);
    assert_int_equal(klaxon_apply_config(c, "x.yaml", "", 0, false, NULL, NULL),
                     KLAXON_OK);
    assert_string_equal(fake_req(a, 7)->apply_config->by, "");
    assert_string_equal(fake_req(a, 7)->apply_config->yaml, "");
    klaxon_client_free(c);
    fake_stop(a);
}

/* Answer an apply with f->code set: no result at all; else OK. */
static enum fake_action bare_ok_script(struct fake *f,
                                       const Klaxon__Request *req,
                                       unsigned n,
                                       Klaxon__Response *resp)
{
    if (f->code != 0) {
        return FAKE_REPLY;
    }
    return ok_script(f, req, n, resp);
}

static void test_apply_dry_run(void **state)
{
    struct fake *a = fake_start(bare_ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_apply_result ar;
    const Klaxon__Request *q;

    (void)state;
    /* A validation only: no request id, and a bare OK is enough. */
    a->code = 1;
    assert_int_equal(klaxon_apply_config(c, "oncall.yaml", oncall_yaml,
                                         strlen(oncall_yaml), true, NULL, &ar),
                     KLAXON_OK);
    assert_int_equal(ar.version, 0);
    assert_false(ar.unchanged);
    q = fake_req(a, 0);
    assert_true(q->apply_config->dry_run);
    assert_int_equal(q->request_id.len, 0);
    assert_false(q->stale);
    /* The version in force when the node tells it. */
    a->code = 0;
    assert_int_equal(klaxon_apply_config(c, "oncall.yaml", oncall_yaml,
                                         strlen(oncall_yaml), true, NULL, &ar),
                     KLAXON_OK);
    assert_int_equal(ar.version, 7);
    klaxon_client_free(c);
    fake_stop(a);
}

/* Every new write is retried with the same request id; a dry run is
 * retried without one. */
static void test_oncall_writes_retry_same_id(void **state)
{
    (void)state;
    for (int op = 0; op < 6; op++) {
        struct fake *a = fake_start(code_twice_script);
        klaxon_client *c = client_for(a->addr, 5000);
        int rv;

        a->code = KLAXON__CODE__UNAVAILABLE;
        a->message = "election in progress";
        switch (op) {
            case 0:
                rv = klaxon_ack_token(c, "tok", NULL);
                break;
            case 1:
                rv = klaxon_apply_config(c, "a.yaml", "x: 1", 4, false, NULL,
                                         NULL);
                break;
            case 2:
                rv = klaxon_heartbeat(c, "backup");
                break;
            case 3:
                rv = klaxon_maintenance_start(c, &basic_window, NULL);
                break;
            case 4:
                rv = klaxon_maintenance_end(c, 3, "alice");
                break;
            default:
                rv = klaxon_apply_config(c, "a.yaml", "x: 1", 4, true, NULL,
                                         NULL);
                break;
        }
        assert_int_equal(rv, KLAXON_OK);
        assert_int_equal(fake_requests(a), 3);
        if (op < 5) {
            assert_same_request_id(fake_req(a, 0), fake_req(a, 2));
        } else {
            assert_int_equal(fake_req(a, 2)->request_id.len, 0);
        }
        klaxon_client_free(c);
        fake_stop(a);
    }
}

static void test_ack_token_refused(void **state)
{
    struct fake *a = fake_start(mutation_code_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_result r;

    (void)state;
    a->code = KLAXON__CODE__PERMISSION_DENIED;
    a->message = "token: expired";
    assert_int_equal(klaxon_ack_token(c, "tok.old", &r), KLAXON_EPERM);
    assert_string_equal(klaxon_errmsg(c), "token: expired");
    assert_int_equal(r.incident_id, 0);
    assert_int_equal(fake_requests(a), 1);
    /* A node's refusal of a configuration reaches the caller verbatim. */
    a->code = KLAXON__CODE__INVALID_ARGUMENT;
    a->message =
        "oncall.yaml:12: users[1].time_zone: unknown time zone "
        "\"Mars/Base\"";
    assert_int_equal(
        klaxon_apply_config(c, "oncall.yaml", oncall_yaml, strlen(oncall_yaml),
                            false, NULL, NULL),
        KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), a->message);
    klaxon_client_free(c);
    fake_stop(a);
}

static void oncall_answer(struct fake *f, Klaxon__Response *resp)
{
    klaxon__oncall_result__init(&f->oncall);
    for (int i = 0; i < 2; i++) {
        klaxon__shift__init(&f->shift[i]);
        f->shiftp[i] = &f->shift[i];
    }
    f->shift[0].schedule = "platform";
    f->shift[0].user = "alice";
    f->shift[0].start_ms = 1000;
    f->shift[0].end_ms = 2000;
    f->shift[0].layer = "primary";
    f->shift[1].schedule = "platform";
    f->shift[1].start_ms = 2000;
    f->oncall.n_shifts = 2;
    f->oncall.shifts = f->shiftp;
    f->oncall.config_version = 4;
    resp->result_case = KLAXON__RESPONSE__RESULT_ONCALL;
    resp->oncall = &f->oncall;
}

static void monitors_answer(struct fake *f, Klaxon__Response *resp)
{
    klaxon__monitors_result__init(&f->monitors);
    for (int i = 0; i < 2; i++) {
        klaxon__monitor_status__init(&f->mon[i]);
        f->monp[i] = &f->mon[i];
    }
    f->mon[0].name = "backup";
    f->mon[0].service = "db";
    f->mon[0].interval_ms = 86400000;
    f->mon[0].last_checkin_ms = 1000;
    f->mon[0].due_ms = 87401000;
    f->mon[1].name = "cron";
    f->mon[1].down = true;
    f->mon[1].incident_id = 12;
    f->monitors.n_monitors = 2;
    f->monitors.monitors = f->monp;
    resp->result_case = KLAXON__RESPONSE__RESULT_MONITORS;
    resp->monitors = &f->monitors;
}

static void maintenance_answer(struct fake *f, Klaxon__Response *resp)
{
    klaxon__maintenance_list_result__init(&f->maint);
    klaxon__maintenance_window__init(&f->win[0]);
    f->winp[0] = &f->win[0];
    f->win[0].id = 3;
    f->win[0].service = "db";
    f->win[0].start_ms = 1000;
    f->win[0].end_ms = 5000;
    f->win[0].reason = "migration";
    f->win[0].created_by = "alice";
    f->win[0].created_ms = 900;
    f->win[0].ended_ms = 4000;
    f->win[0].ended_by = "bob";
    f->maint.n_windows = 1;
    f->maint.windows = f->winp;
    resp->result_case = KLAXON__RESPONSE__RESULT_MAINTENANCE;
    resp->maintenance = &f->maint;
}

static void pages_answer(struct fake *f, Klaxon__Response *resp)
{
    klaxon__pages_result__init(&f->pages);
    klaxon__contact_method__init(&f->contact);
    f->contact.kind = KLAXON__CONTACT_KIND__CONTACT_WEBHOOK;
    f->contact.address = "https://hooks/alice";
    for (int i = 0; i < 2; i++) {
        klaxon__page__init(&f->page[i]);
        f->pagep[i] = &f->page[i];
    }
    f->page[0].id = 77;
    f->page[0].incident_id = 42;
    f->page[0].kind = KLAXON__PAGE_KIND__PAGE_REMINDER;
    f->page[0].level = 2;
    f->page[0].loop = 1;
    f->page[0].user = "alice";
    f->page[0].schedule = "platform";
    f->page[0].contact = &f->contact;
    f->page[0].state = KLAXON__PAGE_STATE__PAGE_FAILED;
    f->page[0].attempts = 5;
    f->page[0].created_ms = 1000;
    f->page[0].finished_ms = 2000;
    f->page[0].error = "HTTP 500";
    f->page[0].shift_start_ms = 3000;
    f->page[0].shift_end_ms = 4000;
    f->page[1].kind = 9;  /* from a newer node */
    f->page[1].state = 9; /* likewise */
    f->pages.n_pages = 2;
    f->pages.pages = f->pagep;
    resp->result_case = KLAXON__RESPONSE__RESULT_PAGES;
    resp->pages = &f->pages;
}

/* Full answers to the on-call reads. */
static enum fake_action oncall_read_script(struct fake *f,
                                           const Klaxon__Request *req,
                                           unsigned n,
                                           Klaxon__Response *resp)
{
    switch (req->op_case) {
        case KLAXON__REQUEST__OP_GET_CONFIG:
            klaxon__config_result__init(&f->config);
            f->config.version = 4;
            f->config.file_name = "oncall.yaml";
            f->config.yaml = (char *)oncall_yaml;
            f->config.applied_ms = 1000;
            f->config.applied_by = "alice";
            resp->result_case = KLAXON__RESPONSE__RESULT_CONFIG;
            resp->config = &f->config;
            break;
        case KLAXON__REQUEST__OP_ONCALL:
            oncall_answer(f, resp);
            break;
        case KLAXON__REQUEST__OP_MONITORS:
            monitors_answer(f, resp);
            break;
        case KLAXON__REQUEST__OP_MAINTENANCE_LIST:
            maintenance_answer(f, resp);
            break;
        case KLAXON__REQUEST__OP_PAGES:
            pages_answer(f, resp);
            break;
        default:
            return ok_script(f, req, n, resp);
    }
    return FAKE_REPLY;
}

static void test_config_and_oncall_decoding(void **state)
{
    struct fake *a = fake_start(oncall_read_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_oncall_query q = {
        .schedule = "platform", .from_ms = 1000, .to_ms = 90000};
    struct klaxon_config *cfg;
    struct klaxon_shift_list *l;

    (void)state;
    assert_int_equal(klaxon_get_config(c, KLAXON_READ_STALE, &cfg), KLAXON_OK);
    assert_true(fake_req(a, 0)->stale);
    assert_int_equal(fake_req(a, 0)->op_case, KLAXON__REQUEST__OP_GET_CONFIG);
    assert_int_equal(fake_req(a, 0)->request_id.len, 0);
    assert_int_equal(cfg->version, 4);
    assert_string_equal(cfg->file_name, "oncall.yaml");
    assert_string_equal(cfg->yaml, oncall_yaml);
    assert_int_equal(cfg->applied_ms, 1000);
    assert_string_equal(cfg->applied_by, "alice");
    klaxon_config_free(cfg);
    klaxon_config_free(NULL);

    assert_int_equal(klaxon_oncall(c, &q, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_OK);
    assert_false(fake_req(a, 1)->stale);
    assert_string_equal(fake_req(a, 1)->oncall->schedule, "platform");
    assert_int_equal(fake_req(a, 1)->oncall->at_ms, 0);
    assert_int_equal(fake_req(a, 1)->oncall->from_ms, 1000);
    assert_int_equal(fake_req(a, 1)->oncall->to_ms, 90000);
    assert_int_equal(l->config_version, 4);
    assert_int_equal(l->n, 2);
    assert_string_equal(l->items[0].schedule, "platform");
    assert_string_equal(l->items[0].user, "alice");
    assert_int_equal(l->items[0].start_ms, 1000);
    assert_int_equal(l->items[0].end_ms, 2000);
    assert_string_equal(l->items[0].layer, "primary");
    assert_string_equal(l->items[1].user, ""); /* nobody */
    assert_int_equal(l->items[1].end_ms, 0);
    klaxon_shift_list_free(l);
    klaxon_shift_list_free(NULL);
    /* NULL query: every schedule, now. */
    assert_int_equal(klaxon_oncall(c, NULL, KLAXON_READ_STALE, &l), KLAXON_OK);
    assert_string_equal(fake_req(a, 2)->oncall->schedule, "");
    assert_int_equal(fake_req(a, 2)->oncall->at_ms, 0);
    klaxon_shift_list_free(l);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_monitors_and_windows_decoding(void **state)
{
    struct fake *a = fake_start(oncall_read_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_monitor_list *m;
    struct klaxon_window_list *w;

    (void)state;
    assert_int_equal(klaxon_monitors(c, KLAXON_READ_LINEARIZABLE, &m),
                     KLAXON_OK);
    assert_int_equal(fake_req(a, 0)->op_case, KLAXON__REQUEST__OP_MONITORS);
    assert_int_equal(m->n, 2);
    assert_string_equal(m->items[0].name, "backup");
    assert_string_equal(m->items[0].service, "db");
    assert_int_equal(m->items[0].interval_ms, 86400000);
    assert_int_equal(m->items[0].last_checkin_ms, 1000);
    assert_int_equal(m->items[0].due_ms, 87401000);
    assert_false(m->items[0].down);
    assert_true(m->items[1].down);
    assert_int_equal(m->items[1].incident_id, 12);
    assert_string_equal(m->items[1].service, "");
    klaxon_monitor_list_free(m);
    klaxon_monitor_list_free(NULL);

    assert_int_equal(klaxon_maintenance_list(c, true, KLAXON_READ_STALE, &w),
                     KLAXON_OK);
    assert_true(fake_req(a, 1)->maintenance_list->include_ended);
    assert_true(fake_req(a, 1)->stale);
    assert_int_equal(w->n, 1);
    assert_int_equal(w->items[0].id, 3);
    assert_string_equal(w->items[0].service, "db");
    assert_int_equal(w->items[0].start_ms, 1000);
    assert_int_equal(w->items[0].end_ms, 5000);
    assert_string_equal(w->items[0].reason, "migration");
    assert_string_equal(w->items[0].created_by, "alice");
    assert_int_equal(w->items[0].created_ms, 900);
    assert_int_equal(w->items[0].ended_ms, 4000);
    assert_string_equal(w->items[0].ended_by, "bob");
    klaxon_window_list_free(w);
    klaxon_window_list_free(NULL);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_pages_decoding(void **state)
{
    struct fake *a = fake_start(oncall_read_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_page_list *l;
    const struct klaxon_page *p;

    (void)state;
    assert_int_equal(klaxon_pages(c, 42, 20, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_OK);
    assert_int_equal(fake_req(a, 0)->pages->incident_id, 42);
    assert_int_equal(fake_req(a, 0)->pages->limit, 20);
    assert_int_equal(l->n, 2);
    p = &l->items[0];
    assert_int_equal(p->id, 77);
    assert_int_equal(p->incident_id, 42);
    assert_string_equal(p->kind, "reminder");
    assert_int_equal(p->level, 2);
    assert_int_equal(p->loop, 1);
    assert_string_equal(p->user, "alice");
    assert_string_equal(p->schedule, "platform");
    assert_string_equal(p->contact_kind, "webhook");
    assert_string_equal(p->contact_address, "https://hooks/alice");
    assert_string_equal(p->state, "failed");
    assert_int_equal(p->attempts, 5);
    assert_int_equal(p->created_ms, 1000);
    assert_int_equal(p->finished_ms, 2000);
    assert_string_equal(p->error, "HTTP 500");
    assert_int_equal(p->shift_start_ms, 3000);
    assert_int_equal(p->shift_end_ms, 4000);
    p = &l->items[1];
    assert_string_equal(p->kind, "unknown");
    assert_string_equal(p->state, "unknown");
    assert_string_equal(p->contact_kind, ""); /* no contact */
    assert_string_equal(p->contact_address, "");
    klaxon_page_list_free(l);
    klaxon_page_list_free(NULL);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_oncall_local_validation(void **state)
{
    struct fake *a = fake_start(ok_script);
    klaxon_client *c = client_for(a->addr, 5000);
    static char big[2000];
    char *huge = malloc(FRAME_MAX);
    struct klaxon_oncall_query q = {.from_ms = 1, .to_ms = 2};
    struct klaxon_maintenance m;
    struct klaxon_apply_result ar = {.version = 9};
    struct klaxon_shift_list *l = (struct klaxon_shift_list *)&q;
    struct klaxon_page_list *pl = (struct klaxon_page_list *)&q;

    (void)state;
    assert_non_null(huge);
    memset(big, 'x', sizeof big - 1);
    memset(huge, 'y', FRAME_MAX);
    assert_int_equal(klaxon_ack_token(c, "", NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "token: required");
    assert_int_equal(klaxon_ack_token(c, big, NULL), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "token: too long");
    assert_int_equal(klaxon_apply_config(c, NULL, "x", 1, false, NULL, &ar),
                     KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "file_name: required");
    assert_int_equal(ar.version, 0);
    assert_int_equal(
        klaxon_apply_config(c, "a.yaml", "x\0y", 3, false, NULL, NULL),
        KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c),
                        "yaml: a.yaml has a NUL byte at offset 1");
    assert_int_equal(klaxon_apply_config(c, "a.yaml", "x", 1, false, big, NULL),
                     KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "by: too long");
    assert_int_equal(
        klaxon_apply_config(c, "big.yaml", huge, FRAME_MAX, true, NULL, NULL),
        KLAXON_ETOOLARGE);
    assert_contains(klaxon_errmsg(c), "yaml: big.yaml is 1048576 bytes");
    assert_int_equal(klaxon_oncall(c, &q, KLAXON_READ_STALE, &l),
                     KLAXON_EINVAL);
    assert_null(l);
    assert_string_equal(klaxon_errmsg(c),
                        "schedule: required with from_ms and to_ms");
    q.schedule = "platform";
    q.from_ms = 5;
    assert_int_equal(klaxon_oncall(c, &q, KLAXON_READ_STALE, &l),
                     KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c),
                        "to_ms: must be after from_ms (5), got 2");
    q.to_ms = 9;
    q.at_ms = 7;
    assert_int_equal(klaxon_oncall(c, &q, KLAXON_READ_STALE, &l),
                     KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c),
                        "at_ms: must be 0 with from_ms and to_ms");
    q = (struct klaxon_oncall_query){.schedule = big};
    assert_int_equal(klaxon_oncall(c, &q, KLAXON_READ_STALE, &l),
                     KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "schedule: too long");
    assert_int_equal(klaxon_heartbeat(c, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "name: required");
    assert_int_equal(klaxon_maintenance_start(c, NULL, NULL), KLAXON_EINVAL);
    m = basic_window;
    m.service = "";
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "service: required");
    m = basic_window;
    m.end_ms = 9000;
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c),
                        "end_ms and duration_ms: give only one");
    m.duration_ms = 0;
    m.end_ms = 0;
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "end_ms or duration_ms: required");
    m.end_ms = 1000;
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c),
                        "end_ms: must be after start_ms (1000), got 1000");
    m = basic_window;
    m.by = NULL;
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "by: required");
    m = basic_window;
    m.reason = big;
    assert_int_equal(klaxon_maintenance_start(c, &m, NULL), KLAXON_EINVAL);
    assert_contains(klaxon_errmsg(c), "reason: too long");
    assert_int_equal(klaxon_maintenance_end(c, 0, "alice"), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "window_id: required");
    assert_int_equal(klaxon_maintenance_end(c, 3, ""), KLAXON_EINVAL);
    assert_string_equal(klaxon_errmsg(c), "by: required");
    assert_int_equal(klaxon_pages(c, 0, 1001, KLAXON_READ_STALE, &pl),
                     KLAXON_EINVAL);
    assert_null(pl);
    assert_string_equal(klaxon_errmsg(c),
                        "limit: must be at most 1000, got 1001");
    assert_int_equal(klaxon_monitors(c, (enum klaxon_read)7, NULL),
                     KLAXON_EINVAL);
    assert_int_equal(fake_conns(a), 0);
    free(huge);
    klaxon_client_free(c);
    fake_stop(a);
}

/* A node that answers a read with another result, or a write without
 * its MutationResult. */
static enum fake_action wrong_result_script(struct fake *f,
                                            const Klaxon__Request *req,
                                            unsigned n,
                                            Klaxon__Response *resp)
{
    (void)req;
    (void)n;
    klaxon__list_result__init(&f->list);
    resp->result_case = KLAXON__RESPONSE__RESULT_LIST;
    resp->list = &f->list;
    return FAKE_REPLY;
}

static void test_oncall_unexpected_answers(void **state)
{
    struct fake *a = fake_start(wrong_result_script);
    klaxon_client *c = client_for(a->addr, 5000);
    struct klaxon_config *cfg;
    struct klaxon_page_list *pl;

    (void)state;
    assert_int_equal(klaxon_get_config(c, KLAXON_READ_STALE, &cfg),
                     KLAXON_EPROTO);
    assert_null(cfg);
    assert_string_equal(klaxon_errmsg(c), "node answered without the result");
    assert_int_equal(klaxon_pages(c, 0, 0, KLAXON_READ_STALE, &pl),
                     KLAXON_EPROTO);
    assert_null(pl);
    assert_int_equal(klaxon_heartbeat(c, "backup"), KLAXON_EPROTO);
    assert_contains(klaxon_errmsg(c), "without its result");
    assert_int_equal(klaxon_apply_config(c, "a.yaml", "x", 1, true, NULL, NULL),
                     KLAXON_EPROTO);
    klaxon_client_free(c);
    fake_stop(a);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(klaxon_strerror(KLAXON_OK), "success");
    assert_string_equal(klaxon_strerror(KLAXON_EINVAL), "invalid argument");
    assert_string_equal(klaxon_strerror(KLAXON_EAUTH),
                        "certificate refused by the node");
    assert_string_equal(klaxon_strerror(KLAXON_EPERM), "permission denied");
    assert_string_equal(klaxon_strerror(99), "unknown error");
    assert_string_equal(klaxon_strerror(-1), "unknown error");
    assert_string_equal(klaxon_status_name(KLAXON_TRIGGERED), "triggered");
    assert_string_equal(klaxon_status_name(KLAXON_RESOLVED), "resolved");
    assert_string_equal(klaxon_status_name(KLAXON_STATUS_UNKNOWN), "unknown");
    assert_string_equal(klaxon_errmsg(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_client_new_errors),
        cmocka_unit_test(test_local_validation),
        cmocka_unit_test(test_trigger_sends_request),
        cmocka_unit_test(test_caller_request_id_and_reuse),
        cmocka_unit_test(test_leader_redirect),
        cmocka_unit_test(test_retry_after_drop_same_request_id),
        cmocka_unit_test(test_retry_codes_then_ok),
        cmocka_unit_test(test_exhausted_waits_then_ok),
        cmocka_unit_test(test_exhausted_past_deadline),
        cmocka_unit_test(test_mutation_result_retry),
        cmocka_unit_test(test_final_errors),
        cmocka_unit_test(test_deadline_when_node_never_answers),
        cmocka_unit_test(test_unavailable_until_deadline),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_lost_connection_then_unavailable),
        cmocka_unit_test(test_reconnect_after_node_closed),
        cmocka_unit_test(test_redirect_loop_backs_off),
        cmocka_unit_test(test_unreachable_leader_not_followed),
        cmocka_unit_test(test_stale_read_does_not_follow),
        cmocka_unit_test(test_stale_read_first_endpoint),
        cmocka_unit_test(test_foreign_ca_refused),
        cmocka_unit_test(test_client_certificate_as_node_refused),
        cmocka_unit_test(test_node_refuses_client_certificate),
        cmocka_unit_test(test_get_decoding),
        cmocka_unit_test(test_list_decoding),
        cmocka_unit_test(test_node_status),
        cmocka_unit_test(test_oncall_writes),
        cmocka_unit_test(test_apply_dry_run),
        cmocka_unit_test(test_oncall_writes_retry_same_id),
        cmocka_unit_test(test_ack_token_refused),
        cmocka_unit_test(test_config_and_oncall_decoding),
        cmocka_unit_test(test_monitors_and_windows_decoding),
        cmocka_unit_test(test_pages_decoding),
        cmocka_unit_test(test_oncall_local_validation),
        cmocka_unit_test(test_oncall_unexpected_answers),
    };

    /* SIGPIPE keeps its default action: if the library ever wrote to a
     * closed connection without MSG_NOSIGNAL, the run would die. */
    if (signal(SIGPIPE, SIG_DFL) == SIG_ERR) {
        return 1;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
