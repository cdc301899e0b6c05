/*
 * Authorization (server/authz.c): every op of klaxon.Request against every
 * role, service limits of senders and integration keys, the messages of
 * refusals, the rate limit of their log lines, and the service URIs that
 * tls.c reads from a certificate made by deploy/gen-certs.sh.
 *
 * The expected table is written out here independently of authz.c; an op
 * it does not name must be admin-only, so ops added to klaxon.proto later
 * are checked too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "log.h"
#include "tls.h"

/* The lowest role that may do each op; any op not listed: admin. */
static const struct
{
    const char *op;
    enum authz_role min;
} EXPECTED[] = {
    {"trigger", AUTHZ_SENDER},
    {"heartbeat", AUTHZ_SENDER},
    {"get", AUTHZ_SENDER},
    {"list", AUTHZ_SENDER},
    {"status", AUTHZ_SENDER},
    {"oncall", AUTHZ_SENDER},
    {"maintenance_list", AUTHZ_SENDER},
    {"pages", AUTHZ_SENDER},
    {"monitors", AUTHZ_SENDER},
    {"ack", AUTHZ_RESPONDER},
    {"resolve", AUTHZ_RESPONDER},
    {"note", AUTHZ_RESPONDER},
    {"status_update", AUTHZ_RESPONDER},
    {"maintenance_start", AUTHZ_RESPONDER},
    {"maintenance_end", AUTHZ_RESPONDER},
    {"get_config", AUTHZ_RESPONDER},
    {"apply_config", AUTHZ_ADMIN},
};

static enum authz_role expected_min(const char *op)
{
    for (size_t i = 0; i < sizeof EXPECTED / sizeof EXPECTED[0]; i++) {
        if (strcmp(EXPECTED[i].op, op) == 0) {
            return EXPECTED[i].min;
        }
    }
    return AUTHZ_ADMIN;
}

static int level(enum authz_role r)
{
    return r == AUTHZ_SENDER ? 1 : r == AUTHZ_RESPONDER ? 2 : 3;
}

/* One request of every op, with harmless sub-messages. */
struct any_request
{
    Klaxon__Request q;
    Klaxon__TriggerRequest trigger;
    Klaxon__AckRequest ack;
    Klaxon__ResolveRequest resolve;
    Klaxon__HeartbeatRequest heartbeat;
    uint8_t other[1024]; /* any other op's message: zeros are enough */
};

static void make_request(struct any_request *a, unsigned op)
{
    void **slot;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &klaxon__request__descriptor, op);

    memset(a, 0, sizeof *a);
    klaxon__request__init(&a->q);
    klaxon__trigger_request__init(&a->trigger);
    klaxon__ack_request__init(&a->ack);
    klaxon__resolve_request__init(&a->resolve);
    klaxon__heartbeat_request__init(&a->heartbeat);
    a->trigger.service = "web";
    a->ack.incident_id = 7;
    a->resolve.incident_id = 7;
    a->heartbeat.name = "hb-web";
    a->q.version = 1;
    a->q.op_case = (Klaxon__Request__OpCase)op;
    assert_non_null(f);
    slot = (void **)((char *)&a->q + f->offset);
    switch (op) {
        case KLAXON__REQUEST__OP_TRIGGER:
            *slot = &a->trigger;
            break;
        case KLAXON__REQUEST__OP_ACK:
            *slot = &a->ack;
            break;
        case KLAXON__REQUEST__OP_RESOLVE:
            *slot = &a->resolve;
            break;
        case KLAXON__REQUEST__OP_HEARTBEAT:
            *slot = &a->heartbeat;
            break;
        default:
            *slot = a->other;
            break;
    }
}

/* Fake configuration: monitor hb-<service> belongs to <service>. */
static int monitor_service(void *arg,
                           const char *monitor,
                           char *buf,
                           size_t len)
{
    (void)arg;
    if (strncmp(monitor, "hb-", 3) != 0) {
        return -1;
    }
    snprintf(buf, len, "%s", monitor + 3);
    return 0;
}

static int check(const struct authz_principal *p,
                 const Klaxon__Request *q,
                 char *msg)
{
    return authz_check(p, q, monitor_service, NULL, msg, 512);
}

/* Is unsigned op one of Request's `op` oneof? */
static bool is_op(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

static void test_every_op_every_role(void **state)
{
    static const enum authz_role roles[] = {AUTHZ_SENDER, AUTHZ_RESPONDER,
                                            AUTHZ_ADMIN};
    const ProtobufCMessageDescriptor *d = &klaxon__request__descriptor;
    unsigned n_ops = 0;
    struct any_request a;
    char msg[512];

    (void)state;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        enum authz_role min;
        if (!is_op(f)) {
            continue;
        }
        n_ops++;
        min = expected_min(f->name);
        assert_int_equal(authz_min_role((Klaxon__Request__OpCase)f->id), min);
        assert_string_equal(authz_op_name((Klaxon__Request__OpCase)f->id),
                            f->name);
        make_request(&a, f->id);
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
            struct authz_principal p;
            bool want = level(roles[r]) >= level(min);
            int got;
            authz_from_role(roles[r], "someone", &p);
            got = check(&p, &a.q, msg);
            if (got !=
                (want ? KLAXON__CODE__OK : KLAXON__CODE__PERMISSION_DENIED)) {
                fail_msg("op %s, role %s: got code %d", f->name,
                         authz_role_name(roles[r]), got);
            }
            if (!want) {
                /* the message names the op and the role needed */
                assert_non_null(strstr(msg, f->name));
                assert_non_null(strstr(
                    msg, min == AUTHZ_ADMIN       ? "needs the admin role"
                         : min == AUTHZ_RESPONDER ? "needs the responder or "
                                                    "admin role"
                                                  : "needs the sender"));
                assert_non_null(strstr(msg, authz_role_name(roles[r])));
            }
        }
        /* A node may do what a responder may, never an admin's op. */
        {
            struct authz_principal p;
            authz_from_role(AUTHZ_NODE, "node-2", &p);
            assert_int_equal(check(&p, &a.q, msg) == KLAXON__CODE__OK,
                             min != AUTHZ_ADMIN);
        }
        /* No role, no op. */
        {
            struct authz_principal p;
            authz_from_role(AUTHZ_NONE, "stranger", &p);
            assert_int_equal(check(&p, &a.q, msg),
                             KLAXON__CODE__PERMISSION_DENIED);
        }
    }
    assert_true(n_ops >= sizeof EXPECTED / sizeof EXPECTED[0]);
}

static void test_unknown_ops_are_admin_only(void **state)
{
    struct authz_principal p;
    Klaxon__Request q = KLAXON__REQUEST__INIT;
    char msg[512];

    (void)state;
    /* op numbers reserved for cluster operations, and beyond */
    for (unsigned op = 27; op < 200; op++) {
        assert_int_equal(authz_min_role((Klaxon__Request__OpCase)op),
                         AUTHZ_ADMIN);
    }
    assert_int_equal(authz_min_role(KLAXON__REQUEST__OP__NOT_SET), AUTHZ_ADMIN);
    q.version = 1;
    q.op_case = (Klaxon__Request__OpCase)99;
    authz_from_role(AUTHZ_RESPONDER, "bob", &p);
    assert_int_equal(check(&p, &q, msg), KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(msg, "needs the admin role"));
    authz_from_role(AUTHZ_NODE, "node-1", &p);
    assert_int_equal(check(&p, &q, msg), KLAXON__CODE__PERMISSION_DENIED);
    authz_from_role(AUTHZ_ADMIN, "root", &p);
    assert_int_equal(check(&p, &q, msg), KLAXON__CODE__OK);
}

static void test_roles_of_ou(void **state)
{
    bool legacy = true;

    (void)state;
    assert_int_equal(authz_role_of("sender", &legacy), AUTHZ_SENDER);
    assert_false(legacy);
    assert_int_equal(authz_role_of("responder", &legacy), AUTHZ_RESPONDER);
    assert_int_equal(authz_role_of("admin", &legacy), AUTHZ_ADMIN);
    assert_false(legacy);
    assert_int_equal(authz_role_of("node", &legacy), AUTHZ_NODE);
    assert_int_equal(authz_role_of("client", &legacy), AUTHZ_ADMIN);
    assert_true(legacy);
    assert_int_equal(authz_role_of("Admin", &legacy), AUTHZ_NONE);
    assert_false(legacy);
    assert_int_equal(authz_role_of("", &legacy), AUTHZ_NONE);
    assert_int_equal(authz_role_of("superuser", &legacy), AUTHZ_NONE);
}

static void limited_sender(struct tls_identity *id, struct authz_principal *p)
{
    memset(id, 0, sizeof *id);
    strcpy(id->role, "sender");
    strcpy(id->name, "ci");
    strcpy(id->services[0], "web");
    strcpy(id->services[1], "api");
    id->n_services = 2;
    authz_from_identity(id, p);
}

static void test_sender_services(void **state)
{
    struct tls_identity id;
    struct authz_principal p;
    struct any_request a;
    char msg[512];

    (void)state;
    limited_sender(&id, &p);
    assert_int_equal(p.role, AUTHZ_SENDER);
    assert_int_equal(p.n_services, 2);

    make_request(&a, KLAXON__REQUEST__OP_TRIGGER);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    a.trigger.service = "api";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    a.trigger.service = "payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(msg, "\"payments\""));
    assert_non_null(strstr(msg, "web, api"));
    a.trigger.service = "we"; /* no prefix matching */
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);

    /* heartbeats: the monitor's service, from the configuration */
    make_request(&a, KLAXON__REQUEST__OP_HEARTBEAT);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    a.heartbeat.name = "hb-payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(msg, "\"payments\""));
    a.heartbeat.name = "nightly";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(msg, "not configured"));
    a.heartbeat.name = "hb-web";
    assert_int_equal(authz_check(&p, &a.q, NULL, NULL, msg, sizeof msg),
                     KLAXON__CODE__PERMISSION_DENIED);

    /* reads are not limited */
    make_request(&a, KLAXON__REQUEST__OP_LIST);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);

    /* a sender without services may trigger any */
    id.n_services = 0;
    authz_from_identity(&id, &p);
    make_request(&a, KLAXON__REQUEST__OP_TRIGGER);
    a.trigger.service = "payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    make_request(&a, KLAXON__REQUEST__OP_HEARTBEAT);
    a.heartbeat.name = "anything";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
}

static void test_services_only_limit_senders(void **state)
{
    struct tls_identity id;
    struct authz_principal p;
    struct any_request a;
    char msg[512];

    (void)state;
    limited_sender(&id, &p);
    strcpy(id.role, "responder");
    authz_from_identity(&id, &p);
    assert_int_equal(p.n_services, 0);
    make_request(&a, KLAXON__REQUEST__OP_TRIGGER);
    a.trigger.service = "payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);

    strcpy(id.role, "client");
    authz_from_identity(&id, &p);
    assert_int_equal(p.role, AUTHZ_ADMIN);
    assert_true(p.legacy);
    make_request(&a, KLAXON__REQUEST__OP_APPLY_CONFIG);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
}

static void test_integration_key(void **state)
{
    struct authz_principal p;
    struct any_request a;
    char msg[512];

    (void)state;
    authz_integration("pagerduty-events", "web", &p);
    make_request(&a, KLAXON__REQUEST__OP_TRIGGER);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    a.trigger.service = "payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(msg, "\"payments\""));

    make_request(&a, KLAXON__REQUEST__OP_ACK);
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    a.ack.incident_id = 0;
    a.ack.service = "web";
    a.ack.dedup_key = "disk";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);
    a.ack.service = "payments";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
    a.ack.service = "web";
    a.ack.token = "k1.x";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);

    make_request(&a, KLAXON__REQUEST__OP_RESOLVE);
    a.resolve.incident_id = 0;
    a.resolve.service = "web";
    a.resolve.dedup_key = "disk";
    assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__OK);

    static const unsigned others[] = {
        KLAXON__REQUEST__OP_NOTE, KLAXON__REQUEST__OP_LIST,
        KLAXON__REQUEST__OP_HEARTBEAT, KLAXON__REQUEST__OP_APPLY_CONFIG,
        KLAXON__REQUEST__OP_MAINTENANCE_START};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        make_request(&a, others[i]);
        assert_int_equal(check(&p, &a.q, msg), KLAXON__CODE__PERMISSION_DENIED);
        assert_non_null(strstr(msg, "integration key"));
    }
}

/* Run fn with stderr going to a file; return what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/test_authz_XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    static char buf[65536];
    ssize_t n;

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static void refuse_many(void)
{
    struct authz_principal p;

    authz_from_role(AUTHZ_SENDER, "flood", &p);
    for (int i = 0; i < AUTHZ_LOG_BURST + 10; i++) {
        authz_log_refusal(&p, "127.0.0.1:1", "ack needs more", 1000000);
    }
    authz_log_refusal(&p, "127.0.0.1:1", "ack needs more",
                      1000000 + AUTHZ_LOG_WINDOW_MS);
}

static void test_refusal_log_rate_limited(void **state)
{
    const char *out;
    int lines = 0;

    (void)state;
    log_init(1, LOG_INFO);
    out = capture_stderr(refuse_many);
    for (const char *s = out; (s = strchr(s, '\n')) != NULL; s++) {
        lines++;
    }
    assert_int_equal(lines, AUTHZ_LOG_BURST + 1);
    assert_non_null(
        strstr(out, "comp=authz msg=\"refused flood (sender, 127.0.0.1:1)"));
    assert_non_null(strstr(out, "(10 earlier refusal(s) not logged)"));
}

static void warn_twice(void)
{
    struct authz_principal p;

    authz_from_role(AUTHZ_ADMIN, "old-ci", &p);
    p.legacy = true;
    authz_warn_legacy(&p, "127.0.0.1:2");
    authz_warn_legacy(&p, "127.0.0.1:3");
}

static void test_legacy_warned_once(void **state)
{
    const char *out;

    (void)state;
    log_init(1, LOG_INFO);
    out = capture_stderr(warn_twice);
    assert_non_null(strstr(out, "old-ci (127.0.0.1:2)"));
    assert_non_null(strstr(out, "deprecated"));
    assert_null(strstr(out, "127.0.0.1:3"));
}

/* --- service URIs in a real certificate (tls.c) ------------------------ */

static int find_gen_certs(char *out, size_t len)
{
    const char *src = getenv("KLAXON_SRC");

    snprintf(out, len, "%s/deploy/gen-certs.sh", src != NULL ? src : ".");
    return access(out, R_OK);
}

static void test_certificate_services(void **state)
{
    char script[512], dir[] = "/tmp/test_authz_certs_XXXXXX", cmd[2048];
    char ca[600], cert[600], key[600], err[256];
    struct tls_identity id;
    SSL_CTX *ctx;

    (void)state;
    assert_int_equal(find_gen_certs(script, sizeof script), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "sh '%s' --dir '%s' --nodes 1 --client ci:sender "
             "--services web,payments --client ops --role responder "
             ">/dev/null",
             script, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);

    snprintf(cert, sizeof cert, "%s/client-ci.pem", dir);
    snprintf(key, sizeof key, "%s/client-ci-key.pem", dir);
    assert_int_equal(tls_context_new(&ctx, ca, cert, key, err, sizeof err), 0);
    assert_int_equal(tls_context_identity(ctx, &id), 0);
    SSL_CTX_free(ctx);
    assert_string_equal(id.role, "sender");
    assert_string_equal(id.name, "ci");
    assert_int_equal(id.n_services, 2);
    assert_string_equal(id.services[0], "web");
    assert_string_equal(id.services[1], "payments");

    snprintf(cert, sizeof cert, "%s/client-ops.pem", dir);
    snprintf(key, sizeof key, "%s/client-ops-key.pem", dir);
    assert_int_equal(tls_context_new(&ctx, ca, cert, key, err, sizeof err), 0);
    assert_int_equal(tls_context_identity(ctx, &id), 0);
    SSL_CTX_free(ctx);
    assert_string_equal(id.role, "responder");
    assert_int_equal(id.n_services, 0);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_every_role),
        cmocka_unit_test(test_unknown_ops_are_admin_only),
        cmocka_unit_test(test_roles_of_ou),
        cmocka_unit_test(test_sender_services),
        cmocka_unit_test(test_services_only_limit_senders),
        cmocka_unit_test(test_integration_key),
        cmocka_unit_test(test_refusal_log_rate_limited),
        cmocka_unit_test(test_legacy_warned_once),
        cmocka_unit_test(test_certificate_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
