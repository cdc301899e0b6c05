/*
 * Unit tests of what a SIGHUP reload applies and what it reports as
 * needing a restart (server/reload.c: reload_plan, reload_apply).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "reload.h"

static const char base_yaml[] =
    "node:\n"
    "  id: 1\n"
    "  data_dir: data/node1\n"
    "  raft_address: 127.0.0.1:7001\n"
    "  api_address: 127.0.0.1:7101\n"
    "tls:\n"
    "  ca: tls/ca.pem\n"
    "  cert: tls/node1.pem\n"
    "  key: tls/node1-key.pem\n"
    "cluster:\n"
    "  members:\n"
    "    - { id: 1, raft_address: 127.0.0.1:7001, "
    "api_address: 127.0.0.1:7101 }\n"
    "    - { id: 2, raft_address: 127.0.0.1:7002, "
    "api_address: 127.0.0.1:7102 }\n"
    "    - { id: 3, raft_address: 127.0.0.1:7003, "
    "api_address: 127.0.0.1:7103 }\n"
    "raft:\n"
    "  heartbeat_timeout: 500ms\n"
    "  election_timeout: 3s\n"
    "log:\n"
    "  level: info\n";

/* base_yaml with the first occurrence of `from` replaced by `to`. */
static void load_edited(struct config *c, const char *from, const char *to)
{
    char text[4096];
    char err[512];
    const char *at = from != NULL ? strstr(base_yaml, from) : NULL;

    if (from == NULL) {
        snprintf(text, sizeof text, "%s", base_yaml);
    } else {
        assert_non_null(at);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base_yaml),
                 base_yaml, to, at + strlen(from));
    }
    if (config_load_string("t.yaml", text, "/etc/klaxon", c, err, sizeof err) !=
        0) {
        fail_msg("%s", err);
    }
}

static void plan_of(const char *from,
                    const char *to,
                    struct reload_plan *p,
                    struct config *next)
{
    struct config cur;
    load_edited(&cur, NULL, NULL);
    load_edited(next, from, to);
    reload_plan(&cur, next, p);
    config_free(&cur);
}

static void test_unchanged(void **state)
{
    struct reload_plan p;
    struct config next;
    (void)state;

    plan_of(NULL, NULL, &p, &next);
    assert_int_equal(p.n_restart, 0);
    assert_false(p.tls_paths_changed);
    assert_false(p.log_level_changed);
    config_free(&next);
}

static void test_log_level_applies(void **state)
{
    struct reload_plan p;
    struct config cur, next;
    (void)state;

    plan_of("level: info", "level: debug", &p, &next);
    assert_int_equal(p.n_restart, 0);
    assert_true(p.log_level_changed);
    load_edited(&cur, NULL, NULL);
    reload_apply(&cur, &next);
    assert_int_equal(cur.log_level, LOG_DEBUG);
    config_free(&cur);
    config_free(&next);
}

static void test_tls_paths_apply(void **state)
{
    struct reload_plan p;
    struct config cur, next;
    (void)state;

    plan_of("ca: tls/ca.pem", "ca: tls/bundle.pem", &p, &next);
    assert_int_equal(p.n_restart, 0);
    assert_true(p.tls_paths_changed);
    load_edited(&cur, NULL, NULL);
    reload_apply(&cur, &next);
    assert_string_equal(cur.tls_ca, "/etc/klaxon/tls/bundle.pem");
    assert_string_equal(cur.tls_cert, "/etc/klaxon/tls/node1.pem");
    /* nothing else moves */
    assert_string_equal(cur.data_dir, "/etc/klaxon/data/node1");
    assert_int_equal(cur.n_members, 3);
    config_free(&cur);
    config_free(&next);
}

static void expect_restart(const char *from, const char *to, const char *field)
{
    struct reload_plan p;
    struct config cur, next;

    plan_of(from, to, &p, &next);
    assert_int_equal(p.n_restart, 1);
    assert_string_equal(p.restart[0], field);
    /* applying keeps the running value */
    load_edited(&cur, NULL, NULL);
    reload_apply(&cur, &next);
    assert_int_equal(cur.id, 1);
    assert_string_equal(cur.data_dir, "/etc/klaxon/data/node1");
    assert_string_equal(cur.members[1].raft_address, "127.0.0.1:7002");
    assert_int_equal(cur.election_ms, 3000);
    config_free(&cur);
    config_free(&next);
}

static void test_restart_needed(void **state)
{
    (void)state;
    expect_restart("data_dir: data/node1", "data_dir: data/other",
                   "node.data_dir");
    expect_restart("election_timeout: 3s", "election_timeout: 5s",
                   "raft.election_timeout");
    expect_restart("raft_address: 127.0.0.1:7002",
                   "raft_address: 127.0.0.1:7012", "cluster.members");
}

static void test_several_at_once(void **state)
{
    struct reload_plan p;
    struct config cur, next;
    char text[4096];
    char err[512];
    (void)state;

    /* node 1 becomes node 2 with its addresses: four fields differ. */
    snprintf(text, sizeof text, "%s", base_yaml);
    load_edited(&cur, NULL, NULL);
    {
        const char *y =
            "node:\n"
            "  id: 2\n"
            "  data_dir: data/node2\n"
            "  raft_address: 127.0.0.1:7002\n"
            "  api_address: 127.0.0.1:7102\n";
        const char *rest = strstr(base_yaml, "tls:\n");
        snprintf(text, sizeof text, "%s%s", y, rest);
    }
    assert_int_equal(config_load_string("t.yaml", text, "/etc/klaxon", &next,
                                        err, sizeof err),
                     0);
    reload_plan(&cur, &next, &p);
    assert_int_equal(p.n_restart, 6);
    assert_string_equal(p.restart[0], "node.id");
    assert_string_equal(p.restart[1], "node.data_dir");
    assert_string_equal(p.restart[2], "node.raft_address");
    assert_string_equal(p.restart[3], "node.api_address");
    /* the binds default to the addresses */
    assert_string_equal(p.restart[4], "node.raft_bind");
    assert_string_equal(p.restart[5], "node.api_bind");
    config_free(&cur);
    config_free(&next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged),
        cmocka_unit_test(test_log_level_applies),
        cmocka_unit_test(test_tls_paths_apply),
        cmocka_unit_test(test_restart_needed),
        cmocka_unit_test(test_several_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
