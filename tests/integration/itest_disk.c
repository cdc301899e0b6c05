/*
 * A leader whose disk fills up: libraft 0.15 can stay leader after a failed
 * write, so klaxond hands leadership over and exits with status 1. Every
 * node keeps its data on a small tmpfs of its own; the test fills the
 * leader's, writes through the cluster (every write must succeed, the
 * client retrying through the failover), then frees the space, restarts
 * the node and checks that it catches up. Needs root (mount); skipped
 * otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cluster.h"

/* Room for libraft's three preallocated 8 MiB open segments and the
 * state, so that only the disk the test fills runs out. */
#define DISK_MB 64
#define WRITES 400

static void disk_path(const struct cluster *c,
                      unsigned node,
                      char *buf,
                      size_t len)
{
    snprintf(buf, len, "%s/disk%u", c->dir, node);
}

static void unmount_all(const struct cluster *c)
{
    char path[4200];
    for (unsigned i = 1; i <= c->n; i++) {
        disk_path(c, i, path, sizeof path);
        (void)umount2(path, MNT_DETACH);
    }
}

/* Move every node's data directory onto a tmpfs of its own. */
static int move_data_to_tmpfs(struct cluster *c)
{
    char disk[4200];
    char dir[4096];
    char cmd[17000];
    char opts[32];

    snprintf(opts, sizeof opts, "size=%dm", DISK_MB);
    for (unsigned i = 1; i <= c->n; i++) {
        if (cluster_term(c, i) != 0) {
            return -1;
        }
    }
    for (unsigned i = 1; i <= c->n; i++) {
        disk_path(c, i, disk, sizeof disk);
        cluster_node_dir(c, i, dir, sizeof dir);
        if (mkdir(disk, 0700) != 0 ||
            mount("tmpfs", disk, "tmpfs", 0, opts) != 0) {
            return -1;
        }
        snprintf(cmd, sizeof cmd,
                 "mv '%s/data' '%s/data' && ln -s '%s/data' "
                 "'%s/data'",
                 dir, disk, disk, dir);
        if (system(cmd) != 0) {
            return -1;
        }
    }
    for (unsigned i = 1; i <= c->n; i++) {
        if (cluster_restart(c, i) != 0) {
            return -1;
        }
    }
    return cluster_wait_leader(c, 20000) > 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct cluster_fixture *f;

    if (geteuid() != 0) {
        print_message("itest_disk needs root to mount tmpfs; skipped\n");
        *state = NULL;
        return 0;
    }
    if (cluster_fixture_setup(state, 3, NULL) != 0) {
        return -1;
    }
    f = *state;
    if (move_data_to_tmpfs(&f->cluster) != 0) {
        unmount_all(&f->cluster);
        cluster_fixture_teardown(state);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster copy;
    int rv;

    if (f == NULL) {
        return 0;
    }
    copy = f->cluster;
    rv = cluster_fixture_teardown(state);
    unmount_all(&copy);
    return rv;
}

/* Fill the filesystem of `path` up to `leave` bytes free. */
static int fill(const char *path, off_t leave)
{
    struct statvfs sv;
    char file[4300];
    off_t size;
    int fd;
    int rv;

    if (statvfs(path, &sv) != 0) {
        return -1;
    }
    size = (off_t)sv.f_bavail * (off_t)sv.f_frsize - leave;
    snprintf(file, sizeof file, "%s/filler", path);
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    if (fd < 0) {
        return -1;
    }
    rv = size > 0 ? posix_fallocate(fd, 0, size) : 0;
    close(fd);
    return rv == 0 ? 0 : -1;
}

static long count_stale(struct cluster *c, unsigned node)
{
    klaxon_client *k = cluster_client(c, cluster_api_address(c, node), 3000);
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *l;
    long n = -1;

    q.limit = 1000;
    if (k != NULL && klaxon_list(k, &q, KLAXON_READ_STALE, &l) == KLAXON_OK) {
        n = (long)l->n;
        klaxon_incident_list_free(l);
    }
    klaxon_client_free(k);
    return n;
}

static void test_full_disk_hands_leadership_over(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c;
    char disk[4200];
    char filler[4300];
    char summary[1100];
    klaxon_client *k;
    uint64_t t0;
    int leader;
    int next;
    long seen;

    if (f == NULL) {
        skip();
    }
    c = &f->cluster;
    leader = cluster_wait_leader(c, 20000);
    assert_in_range(leader, 1, 3);
    disk_path(c, (unsigned)leader, disk, sizeof disk);
    assert_int_equal(fill(disk, 1 << 20), 0);

    k = cluster_client(c, NULL, 30000);
    assert_non_null(k);
    memset(summary, 'x', 1000);
    for (int i = 0; i < WRITES; i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        snprintf(summary + 1000, 100, " %d", i);
        t.service = "disk";
        t.severity = 3;
        t.summary = summary;
        if (klaxon_trigger(k, &t, &res) != KLAXON_OK) {
            fail_msg("trigger %d: %s", i, klaxon_errmsg(k));
        }
    }
    klaxon_client_free(k);

    /* The full node stopped itself after handing leadership over. */
    assert_int_equal(cluster_node_pid(c, (unsigned)leader), -1);
    assert_int_equal(cluster_exit_status(c, (unsigned)leader), 1);
    assert_true(
        cluster_log_contains(c, (unsigned)leader, "comp=node msg=\"fatal: "));
    assert_true(
        cluster_log_contains(c, (unsigned)leader, "leadership handed to node"));
    next = cluster_wait_leader(c, 20000);
    assert_in_range(next, 1, 3);
    assert_int_not_equal(next, leader);

    /* Space back, node back: it catches up with every write. */
    snprintf(filler, sizeof filler, "%s/filler", disk);
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(cluster_restart(c, (unsigned)leader), 0);
    t0 = cluster_now_ms();
    seen = count_stale(c, (unsigned)leader);
    while (seen != WRITES && cluster_now_ms() - t0 < 20000) {
        usleep(200 * 1000);
        seen = count_stale(c, (unsigned)leader);
    }
    assert_int_equal(seen, WRITES);
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk_hands_leadership_over,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("disk", tests, NULL, NULL);
}
