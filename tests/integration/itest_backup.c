/*
 * Backups and disaster recovery on real clusters:
 *
 * (a) incidents triggered and acknowledged on cluster A, then
 *     klaxon_snapshot_save: the file verifies (its SHA-256 computed here
 *     too) and holds every write acknowledged before the save, none after;
 * (b) a brand-new 3-node cluster B restored from it with klaxond --restore
 *     on every node: every incident and ack is there, new triggers work and
 *     continue the incident ids;
 * (c) --restore refuses a data_dir that holds anything and a file with one
 *     damaged byte (exit 2), leaving the data dir empty;
 * (d) two nodes of B killed for good: --force-new-cluster on the survivor
 *     with a configuration of only itself; it becomes leader with all the
 *     data and takes writes. --force-new-cluster refuses a node without
 *     data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"

#define N_INCIDENTS 120
/* Details large enough that the backup takes several 512 KiB blocks. */
#define N_DETAILS 3
#define DETAIL_LEN 4000

struct backup_test
{
    struct cluster_fixture *a; /* the original cluster */
    struct cluster b;          /* the restored one */
    bool b_started;
    char dir[64]; /* backup files */
    char file[128];
    char bad[128];
};

static int setup(void **state)
{
    struct backup_test *t = calloc(1, sizeof *t);
    void *fx = NULL;

    if (t == NULL || cluster_fixture_setup(&fx, 3, NULL) != 0) {
        free(t);
        return -1;
    }
    t->a = fx;
    snprintf(t->dir, sizeof t->dir, "/tmp/klaxon-itest-backup-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        return -1;
    }
    snprintf(t->file, sizeof t->file, "%s/state.klxb", t->dir);
    snprintf(t->bad, sizeof t->bad, "%s/damaged.klxb", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct backup_test *t = *state;
    void *fx = t->a;
    char cmd[128];
    int rv = 0;

    if (t->b_started) {
        if (!t->a->passed) {
            cluster_keep(&t->b);
        }
        rv = cluster_stop(&t->b);
    }
    if (t->a->passed) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
        (void)system(cmd);
    } else {
        fprintf(stderr, "backup files kept in %s\n", t->dir);
    }
    if (cluster_fixture_teardown(&fx) != 0) {
        rv = -1;
    }
    free(t);
    return rv;
}

static void summary_of(uint64_t i, char *buf, size_t len)
{
    snprintf(buf, len, "disk full on db%llu", (unsigned long long)i);
}

static uint64_t trigger(klaxon_client *k, uint64_t i)
{
    static char value[DETAIL_LEN + 1];
    struct klaxon_detail details[N_DETAILS] = {
        {"log", value}, {"dmesg", value}, {"df", value}};
    struct klaxon_trigger tr = {0};
    struct klaxon_result res;
    char summary[64];
    int rv;

    memset(value, 'x', DETAIL_LEN);
    summary_of(i, summary, sizeof summary);
    memcpy(value, summary, strlen(summary));
    tr.service = "db";
    tr.severity = 2;
    tr.summary = summary;
    tr.details = details;
    tr.n_details = N_DETAILS;
    rv = klaxon_trigger(k, &tr, &res);
    if (rv != KLAXON_OK) {
        fail_msg("trigger %llu: %s", (unsigned long long)i, klaxon_errmsg(k));
    }
    return res.incident_id;
}

static bool acked(uint64_t id)
{
    return id % 3 == 0 || id == N_INCIDENTS;
}

/* Every incident 1..n as (a) left it. */
static void check_incidents(klaxon_client *k, uint64_t n)
{
    for (uint64_t id = 1; id <= n; id++) {
        struct klaxon_incident *inc = NULL;
        char summary[64];
        int rv = klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc);

        if (rv != KLAXON_OK) {
            fail_msg("get %llu: %s", (unsigned long long)id, klaxon_errmsg(k));
        }
        summary_of(id, summary, sizeof summary);
        assert_string_equal(inc->summary, summary);
        assert_int_equal(inc->n_details, N_DETAILS);
        assert_int_equal(strlen(inc->details[2].value), DETAIL_LEN);
        assert_memory_equal(inc->details[2].value, summary, strlen(summary));
        assert_int_equal(inc->status,
                         acked(id) ? KLAXON_ACKNOWLEDGED : KLAXON_TRIGGERED);
        if (acked(id)) {
            assert_string_equal(inc->acknowledged_by, "alice");
        }
        klaxon_incident_free(inc);
    }
}

static void expect_missing(klaxon_client *k, uint64_t id)
{
    struct klaxon_incident *inc = NULL;
    assert_int_equal(klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_ENOTFOUND);
}

/* SHA-256 of the file but its last 32 bytes equals those bytes. */
static void check_sha256(const char *path, const char *hex)
{
    uint8_t sum[32];
    char got[65];
    unsigned n = 0;
    uint8_t *p;
    struct stat st;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    assert_int_equal(fstat(fileno(f), &st), 0);
    assert_true(st.st_size > 96);
    p = malloc((size_t)st.st_size);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    assert_memory_equal(p, "KLXNBKUP", 8);
    assert_int_equal(
        EVP_Digest(p, (size_t)st.st_size - 32, sum, &n, EVP_sha256(), NULL), 1);
    assert_memory_equal(sum, p + st.st_size - 32, 32);
    for (int i = 0; i < 32; i++) {
        snprintf(got + 2 * i, 3, "%02x", sum[i]);
    }
    assert_string_equal(got, hex);
    free(p);
}

static void data_dir(const struct cluster *c, unsigned node, char *buf)
{
    char dir[PATH_MAX];
    assert_non_null(cluster_node_dir(c, node, dir, sizeof dir));
    snprintf(buf, PATH_MAX + 8, "%s/data", dir);
}

static void remove_data(const struct cluster *c, unsigned node)
{
    char dir[PATH_MAX + 8];
    char cmd[PATH_MAX + 32];
    data_dir(c, node, dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The data dir does not exist or holds nothing. */
static void expect_empty(const struct cluster *c, unsigned node)
{
    char dir[PATH_MAX + 8];
    struct dirent *e;
    DIR *d;

    data_dir(c, node, dir);
    d = opendir(dir);
    if (d == NULL) {
        assert_int_equal(errno, ENOENT);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            fail_msg("%s holds %s after a refused restore", dir, e->d_name);
        }
    }
    closedir(d);
}

static int run_klaxond(struct cluster *c,
                       unsigned node,
                       const char *a1,
                       const char *a2,
                       char *out,
                       size_t len)
{
    const char *argv[] = {a1, a2, NULL};
    int rv = cluster_klaxond(c, node, argv, out, len);
    fprintf(stderr, "klaxond %s %s on node %u: exit %d: %s", a1,
            a2 != NULL ? a2 : "", node, rv, out);
    return rv;
}

static void expect_output(const char *out, const char *text)
{
    if (strstr(out, text) == NULL) {
        fail_msg("output does not say \"%s\": %s", text, out);
    }
}

/* (a) */
static void save_backup(struct backup_test *t)
{
    struct klaxon_snapshot_info info;
    struct klaxon_snapshot_info again;
    klaxon_client *k = cluster_client(&t->a->cluster, NULL, 20000);
    char err[512];

    assert_non_null(k);
    for (uint64_t i = 1; i <= N_INCIDENTS; i++) {
        assert_int_equal(trigger(k, i), i);
    }
    for (uint64_t id = 1; id <= N_INCIDENTS; id++) {
        if (acked(id)) {
            assert_int_equal(klaxon_ack(k, id, "alice", NULL), KLAXON_OK);
        }
    }
    /* the last ack (incident N_INCIDENTS) was acknowledged just now: the
     * backup must hold it */
    if (klaxon_snapshot_save(k, t->file, NULL, NULL, &info) != KLAXON_OK) {
        fail_msg("snapshot save: %s", klaxon_errmsg(k));
    }
    assert_int_equal(trigger(k, N_INCIDENTS + 1), N_INCIDENTS + 1);
    assert_int_equal(info.format_version, 1);
    assert_true(info.applied_index > N_INCIDENTS);
    assert_true(info.records > N_INCIDENTS);
    assert_true(info.cluster_id != 0);
    assert_true(info.size > 2 * 512 * 1024); /* fetched in several blocks */
    check_sha256(t->file, info.sha256);
    assert_int_equal(klaxon_snapshot_inspect(t->file, &again, err, sizeof err),
                     KLAXON_OK);
    assert_int_equal(again.applied_index, info.applied_index);
    assert_string_equal(again.sha256, info.sha256);
    assert_int_equal(access(t->bad, F_OK), -1);
    klaxon_client_free(k);
}

/* A copy of the backup with one byte changed in the middle. */
static void make_damaged(struct backup_test *t)
{
    char cmd[400];
    FILE *f;
    long size;
    int c;

    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", t->file, t->bad);
    assert_int_equal(system(cmd), 0);
    f = fopen(t->bad, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    c = fgetc(f);
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    fputc(c ^ 0x20, f);
    fclose(f);
}

/* (c), then (b) */
static void restore_new_cluster(struct backup_test *t)
{
    struct cluster *b = &t->b;
    klaxon_client *k;
    char out[4096];

    assert_int_equal(cluster_start(b, 3, NULL), 0);
    t->b_started = true;
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_term(b, i), 0);
    }
    /* (c) a data dir with data is refused */
    assert_int_equal(run_klaxond(b, 1, "--restore", t->file, out, sizeof out),
                     2);
    expect_output(out, "is not empty");
    for (unsigned i = 1; i <= 3; i++) {
        remove_data(b, i);
    }
    /* (c) a damaged file is refused and nothing is written */
    make_damaged(t);
    assert_int_equal(run_klaxond(b, 1, "--restore", t->bad, out, sizeof out),
                     2);
    expect_output(out, "checksum mismatch");
    expect_empty(b, 1);
    /* (b) every node from the same file */
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(
            run_klaxond(b, i, "--restore", t->file, out, sizeof out), 0);
        expect_output(out, "restore done");
    }
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_restart(b, i), 0);
    }
    assert_true(cluster_wait_leader(b, 30000) >= 1);
    k = cluster_client(b, NULL, 20000);
    assert_non_null(k);
    check_incidents(k, N_INCIDENTS);
    expect_missing(k, N_INCIDENTS + 1); /* triggered after the save */
    assert_int_equal(trigger(k, N_INCIDENTS + 1), N_INCIDENTS + 1);
    /* every node has the state, not only the leader */
    for (unsigned i = 1; i <= 3; i++) {
        assert_int_equal(cluster_wait_node(b, i, 20000), 0);
    }
    klaxon_client_free(k);
}

/* (d) */
static void force_new_cluster(struct backup_test *t)
{
    static const unsigned only_one[] = {1};
    struct cluster *b = &t->b;
    klaxon_client *k;
    char out[4096];

    assert_int_equal(cluster_kill(b, 2), 0);
    assert_int_equal(cluster_kill(b, 3), 0);
    remove_data(b, 3);
    assert_int_equal(
        run_klaxond(b, 3, "--force-new-cluster", NULL, out, sizeof out), 2);
    expect_output(out, "no Raft state");
    /* refused while the node runs */
    assert_int_equal(
        run_klaxond(b, 1, "--force-new-cluster", NULL, out, sizeof out), 2);
    expect_output(out, "stop that klaxond first");
    assert_int_equal(cluster_term(b, 1), 0);
    assert_int_equal(cluster_set_members(b, 1, only_one, 1), 0);
    assert_int_equal(
        run_klaxond(b, 1, "--force-new-cluster", NULL, out, sizeof out), 0);
    expect_output(out, "rewriting the Raft configuration");
    expect_output(out, "member 1 at");
    assert_int_equal(cluster_restart(b, 1), 0);
    assert_int_equal(cluster_wait_leader(b, 30000), 1);
    k = cluster_client(b, cluster_api_address(b, 1), 20000);
    assert_non_null(k);
    check_incidents(k, N_INCIDENTS);
    assert_int_equal(trigger(k, N_INCIDENTS + 2), N_INCIDENTS + 2);
    assert_int_equal(klaxon_ack(k, N_INCIDENTS + 2, "bob", NULL), KLAXON_OK);
    klaxon_client_free(k);
}

static void test_backup_restore_recover(void **state)
{
    struct backup_test *t = *state;

    save_backup(t);
    restore_new_cluster(t);
    force_new_cluster(t);
    t->a->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_restore_recover, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
