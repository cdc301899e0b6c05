/*
 * Unit tests of the node configuration loader (server/config.c) and of the
 * YAML helpers under it (server/yamldoc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "yamldoc.h"

#define DURATION_FORMS                                                      \
    "expected an integer with unit ms, s, m or h, e.g. 500ms, 3s, 1m, 2h; " \
    "a bare integer is milliseconds"
#define ADDRESS_FORMS                                         \
    "expected host:port, e.g. 127.0.0.1:7001, [::1]:7001 or " \
    "node1.example.com:7001"

/* The reference file; error tests edit one piece of it. Line numbers in
 * the expected messages refer to it. */
static const char valid_yaml[] =
    "node:\n"                                       /* 1 */
    "  id: 1\n"                                     /* 2 */
    "  data_dir: data/node1\n"                      /* 3 */
    "  raft_address: 127.0.0.1:7001\n"              /* 4 */
    "  api_address: 127.0.0.1:7101\n"               /* 5 */
    "tls:\n"                                        /* 6 */
    "  ca: tls/ca.pem\n"                            /* 7 */
    "  cert: tls/node1.pem\n"                       /* 8 */
    "  key: tls/node1-key.pem\n"                    /* 9 */
    "cluster:\n"                                    /* 10 */
    "  members:\n"                                  /* 11 */
    "    - { id: 1, raft_address: 127.0.0.1:7001, " /* 12 */
    "api_address: 127.0.0.1:7101 }\n"               /*    */
    "    - { id: 2, raft_address: 127.0.0.1:7002, " /* 13 */
    "api_address: 127.0.0.1:7102 }\n"               /*    */
    "    - { id: 3, raft_address: 127.0.0.1:7003, " /* 14 */
    "api_address: 127.0.0.1:7103 }\n"               /*    */
    "raft:\n"                                       /* 15 */
    "  heartbeat_timeout: 500ms\n"                  /* 16 */
    "  election_timeout: 3s\n"                      /* 17 */
    "  snapshot_threshold: 8192\n"                  /* 18 */
    "  snapshot_trailing: 8192\n"                   /* 19 */
    "api:\n"                                        /* 20 */
    "  max_connections: 1024\n"                     /* 21 */
    "log:\n"                                        /* 22 */
    "  level: info\n";                              /* 23 */

/* Lines 1..14 of valid_yaml: only the required sections. */
static const char minimal_yaml[] =
    "node:\n"
    "  id: 2\n"
    "  data_dir: /var/lib/klaxon\n"
    "  raft_address: 127.0.0.1:7002\n"
    "  api_address: 127.0.0.1:7102\n"
    "tls:\n"
    "  ca: /etc/klaxon/ca.pem\n"
    "  cert: /etc/klaxon/node2.pem\n"
    "  key: /etc/klaxon/node2-key.pem\n"
    "cluster:\n"
    "  members:\n"
    "    - { id: 1, raft_address: 127.0.0.1:7001, "
    "api_address: 127.0.0.1:7101 }\n"
    "    - { id: 2, raft_address: 127.0.0.1:7002, "
    "api_address: 127.0.0.1:7102 }\n";

struct fixture
{
    struct config cfg;
    char err[1024];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    config_free(&f->cfg);
    free(f);
    return 0;
}

static int load(struct fixture *f, const char *text)
{
    config_free(&f->cfg);
    return config_load_string("t.yaml", text, "/etc/klaxon", &f->cfg, f->err,
                              sizeof f->err);
}

/* src with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *src, const char *from, const char *to)
{
    const char *at = strstr(src, from);
    size_t head;
    char *out;

    assert_non_null(at);
    head = (size_t)(at - src);
    out = malloc(strlen(src) + strlen(to) + 1);
    assert_non_null(out);
    memcpy(out, src, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

/* valid_yaml with the first `from` replaced by `to` (malloc'd). */
static char *edit(const char *from, const char *to)
{
    return replace(valid_yaml, from, to);
}

static void expect_error(struct fixture *f,
                         const char *text,
                         const char *expected)
{
    assert_int_equal(load(f, text), -1);
    assert_string_equal(f->err, expected);
    assert_null(f->cfg.members);
    assert_int_equal(f->cfg.n_members, 0);
}

static void expect_edit_error(struct fixture *f,
                              const char *from,
                              const char *to,
                              const char *expected)
{
    char *text = edit(from, to);

    expect_error(f, text, expected);
    free(text);
}

/* --- valid files --------------------------------------------------------- */

static void test_reference_file(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, valid_yaml), 0);
    assert_string_equal(f->err, "");
    assert_string_equal(f->cfg.path, "t.yaml");
    assert_int_equal(f->cfg.id, 1);
    assert_string_equal(f->cfg.data_dir, "/etc/klaxon/data/node1");
    assert_string_equal(f->cfg.raft_bind, "127.0.0.1:7001");
    assert_string_equal(f->cfg.api_bind, "127.0.0.1:7101");
    assert_string_equal(f->cfg.tls_key, "/etc/klaxon/tls/node1-key.pem");
    assert_int_equal(f->cfg.n_members, 3);
    assert_int_equal(f->cfg.members[2].id, 3);
    assert_string_equal(f->cfg.members[2].api_address, "127.0.0.1:7103");
}

static void test_full_file(void **state)
{
    static const char text[] =
        "# every field, block style members\n"
        "node:\n"
        "  id: 9007199254740992\n"
        "  data_dir: /srv/klaxon/node\n"
        "  raft_address: '[fd00::1]:7001'\n"
        "  api_address: node-a.example.com:443\n"
        "  raft_bind: '[::]:7001'\n"
        "  api_bind: 0.0.0.0:8443\n"
        "tls:\n"
        "  ca: /etc/ssl/ca.pem\n"
        "  cert: \"certs/node a.pem\"\n"
        "  key: keys/node.key\n"
        "cluster:\n"
        "  members:\n"
        "    - id: 9007199254740992\n"
        "      raft_address: '[fd00::1]:7001'\n"
        "      api_address: NODE-A.example.com:443\n"
        "    - id: 7\n"
        "      raft_address: 10.0.0.2:7001\n"
        "      api_address: node_b.example.com:443\n"
        "raft:\n"
        "  heartbeat_timeout: 1s\n"
        "  election_timeout: 2m\n"
        "  snapshot_threshold: 16\n"
        "  snapshot_trailing: 0\n"
        "  log_memory_mb: 0\n"
        "  read_lease: false\n"
        "api:\n"
        "  max_connections: 100000\n"
        "log:\n"
        "  level: debug\n";
    struct fixture *f = *state;
    const struct config *c = &f->cfg;

    assert_int_equal(load(f, text), 0);
    assert_true(c->id == (uint64_t)1 << 53);
    assert_string_equal(c->data_dir, "/srv/klaxon/node");
    assert_string_equal(c->raft_address, "[fd00::1]:7001");
    assert_string_equal(c->api_address, "node-a.example.com:443");
    assert_string_equal(c->raft_bind, "[::]:7001");
    assert_string_equal(c->api_bind, "0.0.0.0:8443");
    assert_string_equal(c->tls_ca, "/etc/ssl/ca.pem");
    assert_string_equal(c->tls_cert, "/etc/klaxon/certs/node a.pem");
    assert_string_equal(c->tls_key, "/etc/klaxon/keys/node.key");
    assert_int_equal(c->n_members, 2);
    assert_true(c->members[0].id == (uint64_t)1 << 53);
    assert_string_equal(c->members[0].raft_address, "[fd00::1]:7001");
    assert_string_equal(c->members[0].api_address, "NODE-A.example.com:443");
    assert_int_equal(c->members[1].id, 7);
    assert_string_equal(c->members[1].raft_address, "10.0.0.2:7001");
    assert_string_equal(c->members[1].api_address, "node_b.example.com:443");
    assert_int_equal(c->heartbeat_ms, 1000);
    assert_int_equal(c->election_ms, 120000);
    assert_int_equal(c->snapshot_threshold, 16);
    assert_int_equal(c->snapshot_trailing, 0);
    assert_int_equal(c->log_memory_mb, 0);
    assert_int_equal(c->read_lease, 0);
    assert_int_equal(c->max_connections, 100000);
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_string_equal(config_log_level_name(c->log_level), "debug");
}

static void assert_defaults(const struct config *c)
{
    assert_int_equal(c->heartbeat_ms, 500);
    assert_int_equal(c->election_ms, 3000);
    assert_int_equal(c->snapshot_threshold, 8192);
    assert_int_equal(c->snapshot_trailing, 8192);
    assert_int_equal(c->log_memory_mb, 32);
    assert_int_equal(c->read_lease, 1);
    assert_int_equal(c->max_connections, 1024);
    assert_int_equal(c->log_level, LOG_INFO);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, minimal_yaml), 0);
    assert_int_equal(f->cfg.id, 2);
    assert_string_equal(f->cfg.raft_bind, "127.0.0.1:7002");
    assert_string_equal(f->cfg.api_bind, "127.0.0.1:7102");
    assert_int_equal(f->cfg.n_members, 2);
    assert_defaults(&f->cfg);
}

static void test_empty_sections_and_values(void **state)
{
    struct fixture *f = *state;
    char *text;

    /* An optional section or field without a value keeps its default. */
    text = malloc(sizeof minimal_yaml + 100);
    assert_non_null(text);
    strcpy(text, minimal_yaml);
    strcat(text, "raft:\napi: ~\nlog:\n  level: null\n");
    assert_int_equal(load(f, text), 0);
    assert_defaults(&f->cfg);
    free(text);

    text = edit("  api_address: 127.0.0.1:7101\n",
                "  api_address: 127.0.0.1:7101\n  raft_bind:\n");
    assert_int_equal(load(f, text), 0);
    assert_string_equal(f->cfg.raft_bind, "127.0.0.1:7001");
    free(text);
}

static void test_each_log_level(void **state)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    struct fixture *f = *state;
    char line[32];
    char *text;

    for (unsigned i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "  level: %s\n", names[i]);
        text = edit("  level: info\n", line);
        assert_int_equal(load(f, text), 0);
        assert_int_equal(f->cfg.log_level, (enum log_level)i);
        assert_string_equal(config_log_level_name(f->cfg.log_level), names[i]);
        free(text);
    }
    assert_string_equal(config_log_level_name((enum log_level)7), "?");
}

/* --- paths --------------------------------------------------------------- */

static void expect_data_dir(struct fixture *f,
                            const char *base,
                            const char *data_dir,
                            const char *expected)
{
    char line[PATH_MAX + 32];
    char *text;

    snprintf(line, sizeof line, "  data_dir: %s\n", data_dir);
    text = edit("  data_dir: data/node1\n", line);
    config_free(&f->cfg);
    assert_int_equal(config_load_string("t.yaml", text, base, &f->cfg, f->err,
                                        sizeof f->err),
                     0);
    assert_string_equal(f->cfg.data_dir, expected);
    free(text);
}

static void test_relative_paths(void **state)
{
    struct fixture *f = *state;
    char cwd[PATH_MAX];
    char expected[PATH_MAX + 16];

    expect_data_dir(f, "/etc/klaxon", "data", "/etc/klaxon/data");
    expect_data_dir(f, "/etc/klaxon/", "data", "/etc/klaxon/data");
    expect_data_dir(f, "/etc/klaxon", "./data", "/etc/klaxon/data");
    expect_data_dir(f, "/etc/klaxon", ".//./data/", "/etc/klaxon/data/");
    expect_data_dir(f, "/etc/klaxon", ".", "/etc/klaxon");
    expect_data_dir(f, "/etc/klaxon", "../shared", "/etc/klaxon/../shared");
    expect_data_dir(f, "/etc/klaxon", "/abs/dir", "/abs/dir");
    expect_data_dir(f, "/", "data", "/data");

    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(expected, sizeof expected, "%s/conf/data", cwd);
    expect_data_dir(f, "conf", "data", expected);
    snprintf(expected, sizeof expected, "%s/data", cwd);
    expect_data_dir(f, NULL, "data", expected);
}

static void test_path_too_long(void **state)
{
    struct fixture *f = *state;
    char line[PATH_MAX + 32];
    char *text;

    /* Fits as written, not once made absolute. */
    memset(line, 'a', sizeof line);
    memcpy(line, "  data_dir: ", 12);
    strcpy(line + 12 + PATH_MAX - 5, "\n");
    text = edit("  data_dir: data/node1\n", line);
    expect_error(f, text,
                 "t.yaml:3: node.data_dir: path too long once made absolute "
                 "against /etc/klaxon");
    free(text);
}

/* A temporary directory with a config file in it, removed on teardown. */
struct tmp_tree
{
    char dir[PATH_MAX];
    char file[PATH_MAX + 32];
};

static void tmp_tree_make(struct tmp_tree *t, const char *text)
{
    char real[PATH_MAX];
    FILE *fp;

    strcpy(t->dir, "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    assert_non_null(realpath(t->dir, real));
    strcpy(t->dir, real);
    snprintf(t->file, sizeof t->file, "%s/node.yaml", t->dir);
    fp = fopen(t->file, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void tmp_tree_remove(struct tmp_tree *t)
{
    assert_int_equal(unlink(t->file), 0);
    assert_int_equal(rmdir(t->dir), 0);
}

static void test_load_file(void **state)
{
    struct fixture *f = *state;
    struct tmp_tree t;
    char expected[2 * PATH_MAX];
    char cwd[PATH_MAX];

    tmp_tree_make(&t, valid_yaml);
    assert_int_equal(config_load(t.file, &f->cfg, f->err, sizeof f->err), 0);
    assert_string_equal(f->cfg.path, t.file);
    snprintf(expected, sizeof expected, "%s/data/node1", t.dir);
    assert_string_equal(f->cfg.data_dir, expected);
    snprintf(expected, sizeof expected, "%s/tls/ca.pem", t.dir);
    assert_string_equal(f->cfg.tls_ca, expected);
    config_free(&f->cfg);

    /* A relative file name resolves against the working directory. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(t.dir), 0);
    assert_int_equal(config_load("node.yaml", &f->cfg, f->err, sizeof f->err),
                     0);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(f->cfg.path, t.file);
    snprintf(expected, sizeof expected, "%s/tls/node1.pem", t.dir);
    assert_string_equal(f->cfg.tls_cert, expected);
    tmp_tree_remove(&t);
}

static void test_load_file_errors(void **state)
{
    struct fixture *f = *state;
    struct tmp_tree t;
    char expected[2 * PATH_MAX];
    char *text = edit("  id: 1\n", "  id: one\n");

    assert_int_equal(
        config_load("/nonexistent/klaxon.yaml", &f->cfg, f->err, sizeof f->err),
        -1);
    assert_string_equal(f->err,
                        "/nonexistent/klaxon.yaml: cannot open: No such file "
                        "or directory");
    assert_int_equal(config_load("/tmp", &f->cfg, f->err, sizeof f->err), -1);
    assert_string_equal(f->err, "/tmp: cannot read: Is a directory");

    tmp_tree_make(&t, text);
    assert_int_equal(config_load(t.file, &f->cfg, f->err, sizeof f->err), -1);
    snprintf(expected, sizeof expected,
             "%s:2: node.id: invalid integer \"one\": not an unsigned integer",
             t.file);
    assert_string_equal(f->err, expected);
    assert_null(f->cfg.members);
    tmp_tree_remove(&t);
    free(text);
}

/* --- YAML-level errors --------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  data_dir: data/node1\n",
                      "   data_dir: data/node1\n",
                      "t.yaml:3: YAML syntax error: mapping values are not "
                      "allowed in this context");
    expect_edit_error(f, "api_address: 127.0.0.1:7102 }",
                      "api_address: 127.0.0.1:7102",
                      "t.yaml:14: YAML syntax error: did not find expected "
                      "',' or '}' (while parsing a flow mapping at line 13)");
    expect_edit_error(f, "  level: info\n", "  level: \"info\n",
                      "t.yaml:24: YAML syntax error: found unexpected end of "
                      "stream (while scanning a quoted scalar at line 23)");
    expect_edit_error(f, "  cert: tls/node1.pem\n", "\tcert: tls/node1.pem\n",
                      "t.yaml:8: YAML syntax error: found a tab character "
                      "that violates indentation (while scanning a plain "
                      "scalar at line 7)");
    expect_edit_error(f, "  cert: tls/node1.pem\n", "  cert: tls/\xff.pem\n",
                      "t.yaml:8: YAML syntax error: invalid leading UTF-8 "
                      "octet");
}

static void test_document_errors(void **state)
{
    struct fixture *f = *state;

    expect_error(f, "",
                 "t.yaml: empty configuration (node, tls and cluster "
                 "are required)");
    expect_error(f, "# nothing but a comment\n",
                 "t.yaml: empty configuration (node, tls and cluster are "
                 "required)");
    expect_error(f, "- node\n- tls\n",
                 "t.yaml:1: expected a mapping, got a sequence");
    expect_error(f, "klaxon\n", "t.yaml:1: expected a mapping, got a scalar");
    expect_edit_error(f, "  level: info\n", "  level: info\n---\nnode: {}\n",
                      "t.yaml:24: only one YAML document is allowed");
}

static void test_aliases_refused(void **state)
{
    struct fixture *f = *state;

    char *anchored = edit("  id: 1\n", "  id: &one 1\n");
    char *aliased = replace(anchored, "{ id: 1,", "{ id: *one,");

    /* An anchor alone is harmless. */
    assert_int_equal(load(f, anchored), 0);
    expect_error(f, aliased,
                 "t.yaml:12: YAML aliases (*one) are not supported");
    expect_edit_error(f, "  level: info\n", "  level: *undefined\n",
                      "t.yaml:23: YAML aliases (*undefined) are not "
                      "supported");
    free(aliased);
    free(anchored);
}

/* --- field errors -------------------------------------------------------- */

static void test_unknown_fields(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  election_timeout: 3s\n", "  electon_timeout: 3s\n",
                      "t.yaml:17: raft.electon_timeout: unknown field (known: "
                      "heartbeat_timeout, election_timeout, "
                      "snapshot_threshold, snapshot_trailing, log_memory_mb, "
                      "read_lease)");
    expect_edit_error(f, "api:\n", "apis:\n",
                      "t.yaml:20: apis: unknown field (known: node, tls, "
                      "cluster, raft, api, http, limits, log)");
    expect_edit_error(f, "  id: 1\n", "  id: 1\n  name: a\n",
                      "t.yaml:3: node.name: unknown field (known: id, "
                      "data_dir, raft_address, api_address, raft_bind, "
                      "api_bind)");
    expect_edit_error(f, "  key: tls/node1-key.pem\n",
                      "  key: tls/node1-key.pem\n  crl: x\n",
                      "t.yaml:10: tls.crl: unknown field (known: ca, cert, "
                      "key)");
    expect_edit_error(f, "  members:\n", "  member:\n",
                      "t.yaml:11: cluster.member: unknown field (known: "
                      "members, join)");
    expect_edit_error(f, "{ id: 2, raft_address", "{ id: 2, raft_adress",
                      "t.yaml:13: cluster.members[1].raft_adress: unknown "
                      "field (known: id, raft_address, api_address)");
    expect_edit_error(f, "  max_connections: 1024\n", "  max_conns: 1024\n",
                      "t.yaml:21: api.max_conns: unknown field (known: "
                      "max_connections)");
    expect_edit_error(f, "  level: info\n", "  level: info\n  file: x\n",
                      "t.yaml:24: log.file: unknown field (known: level)");
    /* Keys are quoted safely in the message. */
    expect_edit_error(f, "  level: info\n", "  level: info\n  \"a\\tb\": x\n",
                      "t.yaml:24: log.a\\x09b: unknown field (known: level)");
}

static void test_duplicate_and_complex_keys(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  snapshot_trailing: 8192\n",
                      "  snapshot_trailing: 8192\n  heartbeat_timeout: 1s\n",
                      "t.yaml:20: raft.heartbeat_timeout: duplicate field "
                      "(first at line 16)");
    expect_edit_error(f, "log:\n", "tls: {}\nlog:\n",
                      "t.yaml:22: tls: duplicate field (first at line 6)");
    expect_edit_error(f, "  level: info\n", "  level: info\n  ? [a]\n  : b\n",
                      "t.yaml:24: log: keys must be scalars, got a sequence");
}

static void test_missing_required(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  id: 1\n", "",
                      "t.yaml:2: node.id: required field is missing");
    expect_edit_error(f, "  data_dir: data/node1\n", "",
                      "t.yaml:2: node.data_dir: required field is missing");
    expect_edit_error(f, "  data_dir: data/node1\n", "  data_dir:\n",
                      "t.yaml:3: node.data_dir: required field has no value");
    expect_edit_error(f, "  raft_address: 127.0.0.1:7001\n", "",
                      "t.yaml:2: node.raft_address: required field is "
                      "missing");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n", "",
                      "t.yaml:2: node.api_address: required field is missing");
    expect_edit_error(f, "  key: tls/node1-key.pem\n", "",
                      "t.yaml:7: tls.key: required field is missing");
    expect_edit_error(f, "  ca: tls/ca.pem\n", "  ca: ~\n",
                      "t.yaml:7: tls.ca: required field has no value");
    expect_edit_error(f,
                      "tls:\n  ca: tls/ca.pem\n  cert: tls/node1.pem\n"
                      "  key: tls/node1-key.pem\n",
                      "", "t.yaml:1: tls: required field is missing");
    expect_edit_error(f,
                      "tls:\n  ca: tls/ca.pem\n  cert: tls/node1.pem\n"
                      "  key: tls/node1-key.pem\n",
                      "tls:\n", "t.yaml:6: tls: required field has no value");
    expect_error(f,
                 "node:\n  id: 1\n  data_dir: d\n"
                 "  raft_address: 127.0.0.1:7001\n"
                 "  api_address: 127.0.0.1:7101\n"
                 "tls: { ca: a, cert: b, key: c }\n"
                 "cluster:\n  members:\n",
                 "t.yaml:8: cluster.members: required field has no value");
    expect_error(f,
                 "node:\n  id: 1\n  data_dir: d\n"
                 "  raft_address: 127.0.0.1:7001\n"
                 "  api_address: 127.0.0.1:7101\n"
                 "tls: { ca: a, cert: b, key: c }\n"
                 "cluster: {}\n",
                 "t.yaml:7: cluster.members: required field is missing");
    expect_error(f, "node: {}\n",
                 "t.yaml:1: node.id: required field is missing");
    expect_edit_error(f, "{ id: 2, raft_address: 127.0.0.1:7002, ", "{ id: 2, ",
                      "t.yaml:13: cluster.members[1].raft_address: required "
                      "field is missing");
    expect_edit_error(f, ", api_address: 127.0.0.1:7103 }", " }",
                      "t.yaml:14: cluster.members[2].api_address: required "
                      "field is missing");
    expect_edit_error(f, "{ id: 1, ", "{ ",
                      "t.yaml:12: cluster.members[0].id: required field is "
                      "missing");
}

static void test_bad_durations(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "heartbeat_timeout: 500ms", "heartbeat_timeout: 5x",
                      "t.yaml:16: raft.heartbeat_timeout: invalid duration "
                      "\"5x\": unknown unit (" DURATION_FORMS ")");
    expect_edit_error(f, "heartbeat_timeout: 500ms", "heartbeat_timeout: -1s",
                      "t.yaml:16: raft.heartbeat_timeout: invalid duration "
                      "\"-1s\": must not be negative (" DURATION_FORMS ")");
    expect_edit_error(f, "heartbeat_timeout: 500ms", "heartbeat_timeout: ''",
                      "t.yaml:16: raft.heartbeat_timeout: invalid duration "
                      "\"\": empty value (" DURATION_FORMS ")");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 1.5s",
                      "t.yaml:17: raft.election_timeout: invalid duration "
                      "\"1.5s\": fractions are not supported, use a smaller "
                      "unit (" DURATION_FORMS ")");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: s",
                      "t.yaml:17: raft.election_timeout: invalid duration "
                      "\"s\": does not start with a number (" DURATION_FORMS
                      ")");
    expect_edit_error(
        f, "election_timeout: 3s", "election_timeout: 99999999999999999999ms",
        "t.yaml:17: raft.election_timeout: invalid duration "
        "\"99999999999999999999ms\": too large (" DURATION_FORMS ")");
    expect_edit_error(f, "election_timeout: 3s",
                      "election_timeout: 9999999999999999h",
                      "t.yaml:17: raft.election_timeout: invalid duration "
                      "\"9999999999999999h\": too large (" DURATION_FORMS ")");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 3 s",
                      "t.yaml:17: raft.election_timeout: invalid duration "
                      "\"3 s\": unknown unit (" DURATION_FORMS ")");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 3S",
                      "t.yaml:17: raft.election_timeout: invalid duration "
                      "\"3S\": unknown unit (" DURATION_FORMS ")");
}

static void test_out_of_range(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  id: 1\n", "  id: 0\n",
                      "t.yaml:2: node.id: 0 is out of range (must be "
                      "1..9007199254740992)");
    expect_edit_error(f, "  id: 1\n", "  id: 9007199254740993\n",
                      "t.yaml:2: node.id: 9007199254740993 is out of range "
                      "(must be 1..9007199254740992)");
    expect_edit_error(f, "  id: 1\n", "  id: 18446744073709551616\n",
                      "t.yaml:2: node.id: invalid integer "
                      "\"18446744073709551616\": too large");
    expect_edit_error(f, "  id: 1\n", "  id: -1\n",
                      "t.yaml:2: node.id: invalid integer \"-1\": must not be "
                      "negative");
    expect_edit_error(f, "  id: 1\n", "  id: 1.0\n",
                      "t.yaml:2: node.id: invalid integer \"1.0\": not an "
                      "unsigned integer");
    expect_edit_error(f, "{ id: 3,", "{ id: 0x3,",
                      "t.yaml:14: cluster.members[2].id: invalid integer "
                      "\"0x3\": not an unsigned integer");
    expect_edit_error(f, "heartbeat_timeout: 500ms", "heartbeat_timeout: 9ms",
                      "t.yaml:16: raft.heartbeat_timeout: 9ms is out of range "
                      "(must be 10ms..1m)");
    expect_edit_error(f, "heartbeat_timeout: 500ms", "heartbeat_timeout: 61s",
                      "t.yaml:16: raft.heartbeat_timeout: 61s is out of range "
                      "(must be 10ms..1m)");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 99",
                      "t.yaml:17: raft.election_timeout: 99 is out of range "
                      "(must be 100ms..10m)");
    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 1h",
                      "t.yaml:17: raft.election_timeout: 1h is out of range "
                      "(must be 100ms..10m)");
    expect_edit_error(f, "snapshot_threshold: 8192", "snapshot_threshold: 15",
                      "t.yaml:18: raft.snapshot_threshold: 15 is out of range "
                      "(must be 16..10000000)");
    expect_edit_error(f, "snapshot_trailing: 8192",
                      "snapshot_trailing: 10000001",
                      "t.yaml:19: raft.snapshot_trailing: 10000001 is out of "
                      "range (must be 0..10000000)");
    expect_edit_error(f, "snapshot_trailing: 8192\n",
                      "snapshot_trailing: 8192\n  log_memory_mb: 65537\n",
                      "t.yaml:20: raft.log_memory_mb: 65537 is out of range "
                      "(must be 0..65536)");
    expect_edit_error(f, "max_connections: 1024", "max_connections: 0",
                      "t.yaml:21: api.max_connections: 0 is out of range "
                      "(must be 1..100000)");
    expect_edit_error(f, "max_connections: 1024", "max_connections: 100001",
                      "t.yaml:21: api.max_connections: 100001 is out of range "
                      "(must be 1..100000)");
}

/* The http section: defaults (off), every field, and refusals. */
static void test_http_section(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(load(f, valid_yaml), 0);
    assert_string_equal(f->cfg.http_bind, ""); /* no HTTPS port */
    assert_int_equal(f->cfg.http_max_body, 512 << 10);
    assert_int_equal(f->cfg.http_rate_limit, 100);
    assert_int_equal(f->cfg.http_client_certs[1], 0);
    text = edit("log:\n",
                "http:\n"                              /* 22 */
                "  bind: 127.0.0.1:8443\n"             /* 23 */
                "  max_body: 65536\n"                  /* 24 */
                "  rate_limit: 7\n"                    /* 25 */
                "  max_connections: 10\n"              /* 26 */
                "  client_certs: { metrics: required," /* 27 */
                " events: optional }\n"
                "log:\n");
    assert_int_equal(load(f, text), 0);
    free(text);
    assert_string_equal(f->cfg.http_bind, "127.0.0.1:8443");
    assert_int_equal(f->cfg.http_max_body, 65536);
    assert_int_equal(f->cfg.http_rate_limit, 7);
    assert_int_equal(f->cfg.http_max_connections, 10);
    assert_int_equal(f->cfg.http_client_certs[0], 0);
    assert_int_equal(f->cfg.http_client_certs[1], 1);
    assert_int_equal(f->cfg.http_client_certs[2], 0);
    expect_edit_error(f, "log:\n",
                      "http:\n  client_certs: { metrics: maybe }\nlog:\n",
                      "t.yaml:23: http.client_certs.metrics: invalid value "
                      "\"maybe\" (expected one of: optional, required)");
    expect_edit_error(f, "  snapshot_trailing: 8192\n",
                      "  snapshot_trailing: 8192\n  read_lease: yes\n",
                      "t.yaml:20: raft.read_lease: invalid value \"yes\" "
                      "(expected one of: false, true)");
    expect_edit_error(f, "log:\n", "http:\n  max_body: 100\nlog:\n",
                      "t.yaml:23: http.max_body: 100 is out of range (must be "
                      "1024..16777216)");
    expect_edit_error(f, "log:\n", "http:\n  bind: nowhere\nlog:\n",
                      "t.yaml:23: http.bind: invalid address \"nowhere\": "
                      "missing :port (expected host:port, e.g. 127.0.0.1:7001, "
                      "[::1]:7001 or node1.example.com:7001)");
    expect_edit_error(f, "log:\n", "http:\n  port: 1\nlog:\n",
                      "t.yaml:23: http.port: unknown field (known: bind, "
                      "max_body, rate_limit, max_connections, client_certs)");
}

/* The limits section: defaults, every field, aliases of http.*, and
 * refusals. */
static void test_limits_section(void **state)
{
    struct fixture *f = *state;
    char *text;

    assert_int_equal(load(f, valid_yaml), 0);
    assert_int_equal(f->cfg.limit_max_frame, 1 << 20);
    assert_int_equal(f->cfg.limit_max_body, 512 << 10);
    assert_int_equal(f->cfg.limit_max_connections, 1024);
    assert_int_equal(f->cfg.http_max_connections, 1024);
    assert_int_equal(f->cfg.limit_max_handshakes, 128);
    assert_int_equal(f->cfg.limit_per_client, 512);
    assert_int_equal(f->cfg.limit_handshake_ms, 10000);
    assert_int_equal(f->cfg.limit_idle_ms, 300000);
    assert_int_equal(f->cfg.limit_http_idle_ms, 60000);
    assert_int_equal(f->cfg.limit_request_ms, 30000);
    assert_int_equal(f->cfg.limit_client_rate, 50000);
    assert_int_equal(f->cfg.limit_key_rate, 100);
    assert_int_equal(f->cfg.limit_state_mapped_mb, 256);
    text = edit("log:\n",
                "limits:\n"                         /* 22 */
                "  max_frame: 4096\n"               /* 23 */
                "  max_body: 2048\n"                /* 24 */
                "  max_connections: 50\n"           /* 25 */
                "  max_handshakes: 20\n"            /* 26 */
                "  max_connections_per_client: 5\n" /* 27 */
                "  handshake_timeout: 2s\n"         /* 28 */
                "  idle_timeout: 10m\n"             /* 29 */
                "  http_idle_timeout: 15s\n"        /* 30 */
                "  request_timeout: 500ms\n"        /* 31 */
                "  client_rate: 3\n"                /* 32 */
                "  key_rate: 9\n"                   /* 33 */
                "  state_mapped_mb: 0\n"            /* 34 */
                "log:\n");
    assert_int_equal(load(f, text), 0);
    free(text);
    assert_int_equal(f->cfg.limit_max_frame, 4096);
    assert_int_equal(f->cfg.limit_max_body, 2048);
    assert_int_equal(f->cfg.http_max_body, 2048);
    assert_int_equal(f->cfg.limit_max_connections, 50);
    assert_int_equal(f->cfg.http_max_connections, 50);
    assert_int_equal(f->cfg.max_connections, 1024); /* api's own wins */
    assert_int_equal(f->cfg.limit_max_handshakes, 20);
    assert_int_equal(f->cfg.limit_per_client, 5);
    assert_int_equal(f->cfg.limit_handshake_ms, 2000);
    assert_int_equal(f->cfg.limit_idle_ms, 600000);
    assert_int_equal(f->cfg.limit_http_idle_ms, 15000);
    assert_int_equal(f->cfg.limit_request_ms, 500);
    assert_int_equal(f->cfg.limit_client_rate, 3);
    assert_int_equal(f->cfg.limit_key_rate, 9);
    assert_int_equal(f->cfg.http_rate_limit, 9);
    assert_int_equal(f->cfg.limit_state_mapped_mb, 0);
    expect_edit_error(f, "log:\n", "limits:\n  state_mapped_mb: 65537\nlog:\n",
                      "t.yaml:23: limits.state_mapped_mb: 65537 is out of "
                      "range (must be 0..65536)");
}

/* A listener's own max_connections wins over limits.max_connections; an
 * alias given twice must agree. */
static void test_limits_aliases(void **state)
{
    struct fixture *f = *state;
    char *text;

    text = replace(minimal_yaml, "cluster:\n",
                   "http:\n"
                   "  max_connections: 7\n"
                   "  max_body: 4096\n"
                   "limits:\n"
                   "  max_connections: 30\n"
                   "  max_body: 4096\n"
                   "cluster:\n");
    assert_int_equal(load(f, text), 0);
    free(text);
    assert_int_equal(f->cfg.http_max_connections, 7);
    assert_int_equal(f->cfg.max_connections, 30);
    assert_int_equal(f->cfg.limit_max_connections, 30);
    assert_int_equal(f->cfg.http_max_body, 4096);
    expect_edit_error(f, "log:\n",
                      "http:\n"            /* 22 */
                      "  max_body: 4096\n" /* 23 */
                      "limits:\n"          /* 24 */
                      "  max_body: 8192\n" /* 25 */
                      "log:\n",
                      "t.yaml:25: limits.max_body: 8192 differs from "
                      "http.max_body (4096, line 23); give only one of them");
    expect_edit_error(f, "log:\n",
                      "http:\n"
                      "  rate_limit: 5\n"
                      "limits:\n"
                      "  key_rate: 6\n"
                      "log:\n",
                      "t.yaml:25: limits.key_rate: 6 differs from "
                      "http.rate_limit (5, line 23); give only one of them");
}

static void test_limits_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "log:\n", "limits:\n  max_frame: 2000000\nlog:\n",
                      "t.yaml:23: limits.max_frame: 2000000 is out of range "
                      "(must be 1024..1048576)");
    expect_edit_error(f, "log:\n", "limits:\n  max_handshakes: 0\nlog:\n",
                      "t.yaml:23: limits.max_handshakes: 0 is out of range "
                      "(must be 1..100000)");
    expect_edit_error(f, "log:\n", "limits:\n  handshake_timeout: 10ms\nlog:\n",
                      "t.yaml:23: limits.handshake_timeout: 10ms is out of "
                      "range (must be 100ms..5m)");
    expect_edit_error(
        f, "log:\n", "limits:\n  idle_timeout: soon\nlog:\n",
        "t.yaml:23: limits.idle_timeout: invalid duration \"soon\": does not "
        "start with a number (expected an integer with unit ms, s, m or h, "
        "e.g. 500ms, 3s, 1m, 2h; a bare integer is milliseconds)");
    expect_edit_error(f, "log:\n", "limits:\n  client_rate: -1\nlog:\n",
                      "t.yaml:23: limits.client_rate: invalid integer \"-1\": "
                      "must not be negative");
    expect_edit_error(
        f, "log:\n", "limits:\n  max_conns: 1\nlog:\n",
        "t.yaml:23: limits.max_conns: unknown field (known: max_frame, "
        "max_body, max_connections, max_handshakes, "
        "max_connections_per_client, handshake_timeout, idle_timeout, "
        "http_idle_timeout, request_timeout, client_rate, key_rate, "
        "state_mapped_mb)");
}

static void test_member_count(void **state)
{
    struct fixture *f = *state;
    char list[1024] = "";
    char line[128];
    char *text;

    for (unsigned i = 1; i <= 10; i++) {
        snprintf(line, sizeof line,
                 "    - { id: %u, raft_address: 127.0.0.1:%u, "
                 "api_address: 127.0.0.1:%u }\n",
                 i, 7000 + i, 7100 + i);
        strcat(list, line);
    }
    text = malloc(sizeof valid_yaml + sizeof list);
    assert_non_null(text);
    strcpy(text,
           "node:\n  id: 1\n  data_dir: d\n  raft_address: 127.0.0.1:7001\n"
           "  api_address: 127.0.0.1:7101\n"
           "tls: { ca: a, cert: b, key: c }\n"
           "cluster:\n  members: []\n");
    expect_error(f, text,
                 "t.yaml:8: cluster.members: must list 1 to 9 members, got 0");
    strcpy(strstr(text, "[]"), "\n");
    strcat(text, list);
    expect_error(f, text,
                 "t.yaml:9: cluster.members: must list 1 to 9 members, got "
                 "10");
    /* Nine is the most. */
    *strstr(text, "    - { id: 10") = '\0';
    assert_int_equal(load(f, text), 0);
    assert_int_equal(f->cfg.n_members, 9);
    free(text);
}

static void test_bad_addresses(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  raft_address: 127.0.0.1:7001\n",
                      "  raft_address: 127.0.0.1\n",
                      "t.yaml:4: node.raft_address: invalid address "
                      "\"127.0.0.1\": missing :port (" ADDRESS_FORMS ")");
    expect_edit_error(f, "  raft_address: 127.0.0.1:7001\n",
                      "  raft_address: 127.0.0.1:0\n",
                      "t.yaml:4: node.raft_address: invalid address "
                      "\"127.0.0.1:0\": port must be a number from 1 to 65535 "
                      "(" ADDRESS_FORMS ")");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n",
                      "  api_address: 127.0.0.1:65536\n",
                      "t.yaml:5: node.api_address: invalid address "
                      "\"127.0.0.1:65536\": port must be a number from 1 to "
                      "65535 (" ADDRESS_FORMS ")");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n",
                      "  api_address: 127.0.0.1:http\n",
                      "t.yaml:5: node.api_address: invalid address "
                      "\"127.0.0.1:http\": port must be a number from 1 to "
                      "65535 (" ADDRESS_FORMS ")");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n",
                      "  api_address: 127.0.0.1:7101\n  api_bind: ::1:7101\n",
                      "t.yaml:6: node.api_bind: invalid address \"::1:7101\": "
                      "an IPv6 address must be in brackets (" ADDRESS_FORMS
                      ")");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n",
                      "  api_address: 127.0.0.1:7101\n"
                      "  raft_bind: '[::1:7001'\n",
                      "t.yaml:6: node.raft_bind: invalid address "
                      "\"[::1:7001\": missing ']' after the IPv6 address "
                      "(" ADDRESS_FORMS ")");
    expect_edit_error(f, "raft_address: 127.0.0.1:7002,",
                      "raft_address: 300.0.0.1:7002,",
                      "t.yaml:13: cluster.members[1].raft_address: invalid "
                      "address \"300.0.0.1:7002\": invalid IPv4 address "
                      "(" ADDRESS_FORMS ")");
    expect_edit_error(f, "raft_address: 127.0.0.1:7002,",
                      "raft_address: ':7002',",
                      "t.yaml:13: cluster.members[1].raft_address: invalid "
                      "address \":7002\": missing host (" ADDRESS_FORMS ")");
    expect_edit_error(f, "raft_address: 127.0.0.1:7002,",
                      "raft_address: 'no de:7002',",
                      "t.yaml:13: cluster.members[1].raft_address: invalid "
                      "address \"no de:7002\": invalid character in host name "
                      "(" ADDRESS_FORMS ")");
    expect_edit_error(f, "raft_address: 127.0.0.1:7002,",
                      "raft_address: '[fe80::zz]:7002',",
                      "t.yaml:13: cluster.members[1].raft_address: invalid "
                      "address \"[fe80::zz]:7002\": invalid IPv6 address "
                      "(" ADDRESS_FORMS ")");
    expect_edit_error(
        f, "raft_address: 127.0.0.1:7002,", "raft_address: '[::1]7002',",
        "t.yaml:13: cluster.members[1].raft_address: invalid "
        "address \"[::1]7002\": missing :port (" ADDRESS_FORMS ")");
    expect_edit_error(f, "raft_address: 127.0.0.1:7002,",
                      "raft_address: a..b:7002,",
                      "t.yaml:13: cluster.members[1].raft_address: invalid "
                      "address \"a..b:7002\": host name labels must be 1 to "
                      "63 characters (" ADDRESS_FORMS ")");
}

static void test_duplicate_member_id(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "{ id: 3,", "{ id: 2,",
                      "t.yaml:14: cluster.members[2].id: duplicate member id "
                      "2 (also cluster.members[1].id at line 13)");
}

static void test_duplicate_member_address(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "raft_address: 127.0.0.1:7003,",
                      "raft_address: 127.0.0.1:7001,",
                      "t.yaml:14: cluster.members[2].raft_address: address "
                      "127.0.0.1:7001 is already used by "
                      "cluster.members[0].raft_address (line 12)");
    expect_edit_error(f, "api_address: 127.0.0.1:7102 }",
                      "api_address: 127.0.0.1:7101 }",
                      "t.yaml:13: cluster.members[1].api_address: address "
                      "127.0.0.1:7101 is already used by "
                      "cluster.members[0].api_address (line 12)");
    /* A raft address may not be another member's api address either. */
    expect_edit_error(f, "api_address: 127.0.0.1:7103 }",
                      "api_address: 127.0.0.1:7002 }",
                      "t.yaml:14: cluster.members[2].api_address: address "
                      "127.0.0.1:7002 is already used by "
                      "cluster.members[1].raft_address (line 13)");
    expect_edit_error(f, "api_address: 127.0.0.1:7102 }",
                      "api_address: 127.0.0.1:7002 }",
                      "t.yaml:13: cluster.members[1].api_address: address "
                      "127.0.0.1:7002 is already used by "
                      "cluster.members[1].raft_address (line 13)");
    /* Host names compare without regard to case. */
    expect_edit_error(f,
                      "raft_address: 127.0.0.1:7002, "
                      "api_address: 127.0.0.1:7102",
                      "raft_address: Node2:7002, api_address: node2:7002",
                      "t.yaml:13: cluster.members[1].api_address: address "
                      "node2:7002 is already used by "
                      "cluster.members[1].raft_address (line 13)");
}

static void test_self_not_member(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  id: 1\n", "  id: 4\n",
                      "t.yaml:2: node.id: 4 is not the id of any of "
                      "cluster.members (a node that joins a running cluster "
                      "needs cluster.join: true)");
}

static void test_self_address_mismatch(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  raft_address: 127.0.0.1:7001\n",
                      "  raft_address: 127.0.0.1:7009\n",
                      "t.yaml:4: node.raft_address: 127.0.0.1:7009 differs "
                      "from 127.0.0.1:7001 in this node's member entry "
                      "cluster.members[0] (line 12)");
    expect_edit_error(f, "  api_address: 127.0.0.1:7101\n",
                      "  api_address: localhost:7101\n",
                      "t.yaml:5: node.api_address: localhost:7101 differs "
                      "from 127.0.0.1:7101 in this node's member entry "
                      "cluster.members[0] (line 12)");
    expect_edit_error(f, "  id: 1\n", "  id: 2\n",
                      "t.yaml:4: node.raft_address: 127.0.0.1:7001 differs "
                      "from 127.0.0.1:7002 in this node's member entry "
                      "cluster.members[1] (line 13)");
}

static void test_election_vs_heartbeat(void **state)
{
    struct fixture *f = *state;
    char *text;

    expect_edit_error(f, "election_timeout: 3s", "election_timeout: 1499ms",
                      "t.yaml:17: raft.election_timeout: 1499ms is less than "
                      "3 x raft.heartbeat_timeout (500ms), must be at least "
                      "1500ms");
    expect_edit_error(f, "  heartbeat_timeout: 500ms\n  election_timeout: 3s\n",
                      "  heartbeat_timeout: 2s\n",
                      "t.yaml:16: raft.heartbeat_timeout: 2s is more than a "
                      "third of raft.election_timeout (3s, the default)");
    text = edit("heartbeat_timeout: 500ms", "heartbeat_timeout: 1s");
    assert_int_equal(load(f, text), 0);
    free(text);
    text = edit("election_timeout: 3s", "election_timeout: 1500");
    assert_int_equal(load(f, text), 0);
    assert_int_equal(f->cfg.election_ms, 1500);
    free(text);
}

static void test_wrong_node_types(void **state)
{
    struct fixture *f = *state;

    expect_edit_error(f, "  id: 1\n", "  id: [1]\n",
                      "t.yaml:2: node.id: expected an integer, got a "
                      "sequence");
    expect_edit_error(f, "  data_dir: data/node1\n",
                      "  data_dir: { path: x }\n",
                      "t.yaml:3: node.data_dir: expected a string, got a "
                      "mapping");
    expect_edit_error(f, "heartbeat_timeout: 500ms",
                      "heartbeat_timeout: [500ms]",
                      "t.yaml:16: raft.heartbeat_timeout: expected a "
                      "duration, got a sequence");
    expect_edit_error(f, "  level: info\n", "  level:\n    - info\n",
                      "t.yaml:24: log.level: expected a name, got a "
                      "sequence");
    expect_error(f, "node: 1\n",
                 "t.yaml:1: node: expected a mapping, got a "
                 "scalar");
    expect_error(f, "node: [1]\n",
                 "t.yaml:1: node: expected a mapping, got a "
                 "sequence");
    expect_edit_error(f, "  members:\n", "  members: {}\n  x:\n",
                      "t.yaml:12: cluster.x: unknown field (known: members, "
                      "join)");
    expect_edit_error(f, "cluster:\n", "cluster: []\nx:\n",
                      "t.yaml:11: x: unknown field (known: node, tls, "
                      "cluster, raft, api, http, limits, log)");
    expect_edit_error(f, "    - { id: 3,", "    - 3\n    - { id: 3,",
                      "t.yaml:14: cluster.members[2]: expected a mapping, got "
                      "a scalar");
}

static void test_wrong_section_types(void **state)
{
    struct fixture *f = *state;
    static const char prefix[] =
        "node:\n  id: 1\n  data_dir: d\n  raft_address: 127.0.0.1:7001\n"
        "  api_address: 127.0.0.1:7101\n"
        "tls: { ca: a, cert: b, key: c }\n";

    char text[512];

    snprintf(text, sizeof text, "%scluster:\n  members: 3\n", prefix);
    expect_error(f, text,
                 "t.yaml:8: cluster.members: expected a sequence, got a "
                 "scalar");
    snprintf(text, sizeof text, "%scluster:\n  members: { id: 1 }\n", prefix);
    expect_error(f, text,
                 "t.yaml:8: cluster.members: expected a sequence, got a "
                 "mapping");
    snprintf(text, sizeof text, "%scluster: [members]\n", prefix);
    expect_error(f, text,
                 "t.yaml:7: cluster: expected a mapping, got a sequence");
    snprintf(text, sizeof text, "%scluster:\n  members:\n    - [1]\n", prefix);
    expect_error(f, text,
                 "t.yaml:9: cluster.members[0]: expected a mapping, got a "
                 "sequence");
    snprintf(text, sizeof text, "%scluster:\n  members:\n    -\n", prefix);
    expect_error(f, text,
                 "t.yaml:9: cluster.members[0]: expected a mapping, got "
                 "null");
    expect_edit_error(f,
                      "raft:\n  heartbeat_timeout: 500ms\n"
                      "  election_timeout: 3s\n  snapshot_threshold: 8192\n"
                      "  snapshot_trailing: 8192\n",
                      "raft: fast\n",
                      "t.yaml:15: raft: expected a mapping, got a scalar");
}

static void test_bad_values(void **state)
{
    struct fixture *f = *state;
    char line[400];
    char *text;

    expect_edit_error(f, "  level: info\n", "  level: verbose\n",
                      "t.yaml:23: log.level: invalid value \"verbose\" "
                      "(expected one of: debug, info, warn, error)");
    expect_edit_error(f, "  level: info\n", "  level: INFO\n",
                      "t.yaml:23: log.level: invalid value \"INFO\" "
                      "(expected one of: debug, info, warn, error)");
    expect_edit_error(f, "  data_dir: data/node1\n", "  data_dir: \"\"\n",
                      "t.yaml:3: node.data_dir: must not be empty");
    expect_edit_error(f, "  data_dir: data/node1\n", "  data_dir: \"a\\0b\"\n",
                      "t.yaml:3: node.data_dir: value contains a NUL byte");
    expect_edit_error(f, "  id: 1\n", "  id: \"1\\n2\"\n",
                      "t.yaml:2: node.id: invalid integer \"1\\x0a2\": not an "
                      "unsigned integer");

    memset(line, 'a', sizeof line);
    memcpy(line, "  api_address: ", 15);
    strcpy(line + 15 + 256, ":1\n");
    text = edit("  api_address: 127.0.0.1:7101\n", line);
    expect_error(f, text,
                 "t.yaml:5: node.api_address: too long (258 bytes, max 255)");
    free(text);
}

/* --- parsers ------------------------------------------------------------- */

static void test_parse_uint(void **state)
{
    const char *reason = NULL;
    uint64_t v = 42;

    (void)state;
    assert_int_equal(yamldoc_parse_uint("0", &v, &reason), 0);
    assert_int_equal(v, 0);
    assert_int_equal(yamldoc_parse_uint("007", &v, &reason), 0);
    assert_int_equal(v, 7);
    assert_int_equal(yamldoc_parse_uint("18446744073709551615", &v, &reason),
                     0);
    assert_true(v == UINT64_MAX);

    v = 42;
    assert_int_equal(yamldoc_parse_uint("18446744073709551616", &v, &reason),
                     -1);
    assert_string_equal(reason, "too large");
    assert_int_equal(yamldoc_parse_uint("", &v, &reason), -1);
    assert_string_equal(reason, "empty value");
    assert_int_equal(yamldoc_parse_uint("-1", &v, &reason), -1);
    assert_string_equal(reason, "must not be negative");
    assert_int_equal(yamldoc_parse_uint("+1", &v, &reason), -1);
    assert_string_equal(reason, "not an unsigned integer");
    assert_int_equal(yamldoc_parse_uint("12a", &v, &reason), -1);
    assert_string_equal(reason, "not an unsigned integer");
    assert_int_equal(yamldoc_parse_uint(" 1", &v, &reason), -1);
    assert_int_equal(yamldoc_parse_uint("1e3", &v, NULL), -1);
    assert_int_equal(v, 42);
}

static void expect_duration(const char *text, uint64_t ms)
{
    const char *reason = NULL;
    uint64_t v = 0;

    assert_int_equal(yamldoc_parse_duration_ms(text, &v, &reason), 0);
    assert_true(v == ms);
}

static void expect_bad_duration(const char *text, const char *why)
{
    const char *reason = NULL;
    uint64_t v = 42;

    assert_int_equal(yamldoc_parse_duration_ms(text, &v, &reason), -1);
    assert_string_equal(reason, why);
    assert_int_equal(v, 42);
}

static void test_parse_duration(void **state)
{
    (void)state;
    expect_duration("0", 0);
    expect_duration("0s", 0);
    expect_duration("250", 250);
    expect_duration("500ms", 500);
    expect_duration("3s", 3000);
    expect_duration("1m", 60000);
    expect_duration("2h", 7200000);
    expect_duration("18446744073709551615ms", UINT64_MAX);
    expect_duration("5124095576030h", 5124095576030ULL * 3600000);

    expect_bad_duration("", "empty value");
    expect_bad_duration("-3s", "must not be negative");
    expect_bad_duration("ms", "does not start with a number");
    expect_bad_duration("+3s", "does not start with a number");
    expect_bad_duration("3d", "unknown unit");
    expect_bad_duration("3sec", "unknown unit");
    expect_bad_duration("3 s", "unknown unit");
    expect_bad_duration("3s5ms", "unknown unit");
    expect_bad_duration("1.5s",
                        "fractions are not supported, use a smaller "
                        "unit");
    expect_bad_duration("18446744073709551616", "too large");
    expect_bad_duration("18446744073709552s", "too large");
    expect_bad_duration("5124095576031h", "too large");
    assert_int_equal(yamldoc_parse_duration_ms("x", &(uint64_t){0}, NULL), -1);
}

static void expect_format(uint64_t ms, const char *text)
{
    char buf[32];

    yamldoc_format_duration(ms, buf, sizeof buf);
    assert_string_equal(buf, text);
}

static void test_format_duration(void **state)
{
    (void)state;
    expect_format(0, "0ms");
    expect_format(10, "10ms");
    expect_format(1500, "1500ms");
    expect_format(3000, "3s");
    expect_format(90000, "90s");
    expect_format(60000, "1m");
    expect_format(600000, "10m");
    expect_format(7200000, "2h");
}

static void test_printable(void **state)
{
    char buf[16];

    (void)state;
    yamldoc_printable("plain", 5, buf, sizeof buf);
    assert_string_equal(buf, "plain");
    yamldoc_printable("a\"b\\c\n", 6, buf, sizeof buf);
    assert_string_equal(buf, "a\\\"b\\\\c\\x0a");
    yamldoc_printable("0123456789abcdef", 16, buf, sizeof buf);
    assert_string_equal(buf, "01234567...");
    yamldoc_printable("abc", 3, buf, 4);
    assert_string_equal(buf, "");
}

/* --- yamldoc walking ----------------------------------------------------- */

static void test_yamldoc_walk(void **state)
{
    static const char text[] =
        "name: pager\n"
        "enabled: yes\n"
        "off: OFF\n"
        "people: [ann, bob]\n"
        "empty:\n"
        "quoted: ''\n"
        "kind: weekly\n"
        "timeout: 2m\n";
    static const char *const kinds[] = {"daily", "weekly", NULL};
    static const char *const known[] = {"name",   "enabled", "off",
                                        "people", "empty",   "quoted",
                                        "kind",   "timeout", NULL};
    struct yamldoc d;
    char err[256];
    yaml_node_t *root, *people, *k, *v;
    bool b = false;
    unsigned kind = 9;
    uint64_t ms = 0;

    (void)state;
    assert_int_equal(
        yamldoc_load_string(&d, "s.yaml", text, strlen(text), err, sizeof err),
        0);
    root = yamldoc_root(&d);
    assert_non_null(root);
    assert_int_equal(yamldoc_check_keys(&d, root, "", known), 0);
    assert_int_equal(yamldoc_size(root), 8);
    assert_int_equal(yamldoc_pair(&d, root, 0, &k, &v), 0);
    assert_string_equal(yamldoc_scalar(k), "name");
    assert_string_equal(yamldoc_scalar(v), "pager");
    assert_int_equal(yamldoc_line(v), 1);
    assert_int_equal(yamldoc_pair(&d, root, 8, &k, &v), -1);

    people = yamldoc_get(&d, root, "people");
    assert_int_equal(yamldoc_expect_sequence(&d, people, "people"), 0);
    assert_int_equal(yamldoc_size(people), 2);
    assert_string_equal(yamldoc_scalar(yamldoc_item(&d, people, 1)), "bob");
    assert_null(yamldoc_item(&d, people, 2));
    assert_null(yamldoc_item(&d, root, 0));
    assert_null(yamldoc_scalar(people));
    assert_null(yamldoc_get(&d, root, "missing"));
    assert_string_equal(yamldoc_kind(people), "a sequence");
    assert_string_equal(yamldoc_kind(root), "a mapping");

    assert_int_equal(
        yamldoc_bool(&d, yamldoc_get(&d, root, "enabled"), "enabled", &b), 0);
    assert_true(b);
    assert_int_equal(yamldoc_bool(&d, yamldoc_get(&d, root, "off"), "off", &b),
                     0);
    assert_false(b);
    assert_int_equal(
        yamldoc_bool(&d, yamldoc_get(&d, root, "name"), "name", &b), -1);
    assert_string_equal(err,
                        "s.yaml:1: name: invalid boolean \"pager\" (expected "
                        "true or false, yes or no, on or off)");
    assert_true(yamldoc_is_null(yamldoc_get(&d, root, "empty")));
    assert_false(yamldoc_is_null(yamldoc_get(&d, root, "quoted")));
    assert_int_equal(
        yamldoc_bool(&d, yamldoc_get(&d, root, "empty"), "empty", &b), -1);
    assert_string_equal(err, "s.yaml:5: empty: expected a boolean, got null");

    assert_int_equal(
        yamldoc_enum(&d, yamldoc_get(&d, root, "kind"), "kind", kinds, &kind),
        0);
    assert_int_equal(kind, 1);
    assert_int_equal(yamldoc_duration_ms(&d, yamldoc_get(&d, root, "timeout"),
                                         "timeout", 0, UINT64_MAX, &ms),
                     0);
    assert_int_equal(ms, 120000);
    assert_int_equal(yamldoc_expect_mapping(&d, people, "people"), -1);
    assert_string_equal(err,
                        "s.yaml:4: people: expected a mapping, got a "
                        "sequence");
    assert_int_equal(yamldoc_error(&d, NULL, "x", "%s %d", "n", 1), -1);
    assert_string_equal(err, "s.yaml: x: n 1");
    yamldoc_free(&d);
    yamldoc_free(&d);
}

static void test_yamldoc_fields(void **state)
{
    char buf[YAMLDOC_FIELD_MAX];

    (void)state;
    yamldoc_field(buf, sizeof buf, "", "node");
    assert_string_equal(buf, "node");
    yamldoc_field(buf, sizeof buf, NULL, "node");
    assert_string_equal(buf, "node");
    yamldoc_field(buf, sizeof buf, "cluster", "members");
    assert_string_equal(buf, "cluster.members");
    yamldoc_field_index(buf, sizeof buf, "cluster.members", 8);
    assert_string_equal(buf, "cluster.members[8]");
}

static void test_yamldoc_errors_without_buffer(void **state)
{
    struct yamldoc d;
    char small[12];

    (void)state;
    assert_int_equal(yamldoc_load_string(&d, "s.yaml", "a: [", 4, NULL, 0), -1);
    yamldoc_free(&d);
    assert_int_equal(
        yamldoc_load_string(&d, "s.yaml", "a: [", 4, small, sizeof small), -1);
    assert_string_equal(small, "s.yaml:2: Y");
    yamldoc_free(&d);
}

/* --- addresses and lookups ----------------------------------------------- */

static void expect_split(const char *addr, const char *host, unsigned port)
{
    char h[CONFIG_ADDR_MAX];
    unsigned p = 0;

    assert_int_equal(config_split_address(addr, h, sizeof h, &p), 0);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void test_split_address(void **state)
{
    char h[16];
    unsigned p = 0;

    (void)state;
    expect_split("127.0.0.1:7001", "127.0.0.1", 7001);
    expect_split("[::1]:1", "::1", 1);
    expect_split("[2001:db8::7]:65535", "2001:db8::7", 65535);
    expect_split("node-1.example.com:443", "node-1.example.com", 443);
    expect_split("localhost:80", "localhost", 80);
    expect_split("0.0.0.0:7001", "0.0.0.0", 7001);

    assert_int_equal(config_split_address("localhost", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("localhost:", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address(":80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("::1:80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("[::1]", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("[]:80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("[1.2.3.4]:80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("1.2.3:80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("-:80", h, sizeof h, &p), 0);
    assert_int_equal(config_split_address("a.:80", h, sizeof h, &p), -1);
    assert_int_equal(config_split_address("h:-1", h, sizeof h, &p), -1);
    assert_int_equal(
        config_split_address("h:99999999999999999999", h, sizeof h, &p), -1);
    /* The host must fit the caller's buffer. */
    assert_int_equal(
        config_split_address("a-very-long-hostname:80", h, sizeof h, &p), -1);
    assert_int_equal(
        config_split_address("fifteen-chars-h:80", h, sizeof h, &p), 0);
}

static void test_member_lookup(void **state)
{
    struct fixture *f = *state;
    const struct config_member *m;

    assert_int_equal(load(f, valid_yaml), 0);
    m = config_member(&f->cfg, 2);
    assert_non_null(m);
    assert_int_equal(m->id, 2);
    assert_string_equal(m->raft_address, "127.0.0.1:7002");
    assert_null(config_member(&f->cfg, 4));
    config_free(&f->cfg);
    assert_null(config_member(&f->cfg, 2));
    config_free(&f->cfg);
    config_free(NULL);
}

static void test_error_buffer_sizes(void **state)
{
    struct config c;
    char small[10];

    (void)state;
    assert_int_equal(
        config_load_string("t.yaml", "node: 1\n", "/", &c, NULL, 0), -1);
    assert_int_equal(
        config_load_string("t.yaml", "node: 1\n", "/", &c, small, sizeof small),
        -1);
    assert_string_equal(small, "t.yaml:1:");
    assert_int_equal(config_load("/nonexistent", &c, NULL, 0), -1);
    config_free(&c);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reference_file),
        T(test_full_file),
        T(test_defaults),
        T(test_empty_sections_and_values),
        T(test_each_log_level),
        T(test_relative_paths),
        T(test_path_too_long),
        T(test_load_file),
        T(test_load_file_errors),
        T(test_syntax_errors),
        T(test_document_errors),
        T(test_aliases_refused),
        T(test_unknown_fields),
        T(test_duplicate_and_complex_keys),
        T(test_missing_required),
        T(test_bad_durations),
        T(test_out_of_range),
        T(test_http_section),
        T(test_member_count),
        T(test_bad_addresses),
        T(test_duplicate_member_id),
        T(test_duplicate_member_address),
        T(test_self_not_member),
        T(test_self_address_mismatch),
        T(test_election_vs_heartbeat),
        T(test_wrong_node_types),
        T(test_wrong_section_types),
        T(test_bad_values),
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_yamldoc_walk),
        cmocka_unit_test(test_yamldoc_fields),
        cmocka_unit_test(test_yamldoc_errors_without_buffer),
        cmocka_unit_test(test_split_address),
        T(test_member_lookup),
        cmocka_unit_test(test_error_buffer_sizes),
        cmocka_unit_test_setup_teardown(test_limits_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_refused, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
