/*
 * Membership changes on a real cluster: a 3-node cluster grows to 5 (new
 * nodes start empty with cluster.join, are added as standbys, caught up
 * from a snapshot and the log, then promoted; the second one while the
 * first added node leads, which the second's klaxond.yaml does not list)
 * and shrinks back to 3 (two original nodes removed) while a client
 * thread keeps triggering; every acknowledged trigger must then be on every
 * remaining node. Also: leadership transfer to a chosen node, removing the
 * leader, and refused requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"

#define INITIAL_WRITES 150
#define LOAD_MAX 700        /* triggers of the load thread, at most */
#define LOAD_PAUSE_US 20000 /* between two of them */
#define LIST_MAX 1000       /* one list call sees them all */

/* --- the load --------------------------------------------------------------
 */

struct load
{
    struct cluster *c;
    pthread_t thread;
    pthread_mutex_t lock;
    bool stop;
    size_t n_ok;
    uint64_t ids[LOAD_MAX];
    size_t n_failed;
    char first_error[256];
    uint64_t slowest_ms;
};

static bool load_stopping(struct load *l)
{
    bool stop;
    pthread_mutex_lock(&l->lock);
    stop = l->stop;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

static void *load_run(void *arg)
{
    struct load *l = arg;
    klaxon_client *k = cluster_client(l->c, NULL, 30000);

    for (int i = 0; k != NULL && i < LOAD_MAX && !load_stopping(l); i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        char summary[64];
        uint64_t t0 = cluster_now_ms(), took;
        int rv;

        snprintf(summary, sizeof summary, "load %d", i);
        t.service = "load";
        t.severity = 4;
        t.summary = summary;
        rv = klaxon_trigger(k, &t, &res);
        took = cluster_now_ms() - t0;
        pthread_mutex_lock(&l->lock);
        if (took > l->slowest_ms) {
            l->slowest_ms = took;
        }
        if (rv == KLAXON_OK) {
            l->ids[l->n_ok++] = res.incident_id;
        } else if (l->n_failed++ == 0) {
            snprintf(l->first_error, sizeof l->first_error, "trigger %d: %s", i,
                     klaxon_errmsg(k));
        }
        pthread_mutex_unlock(&l->lock);
        usleep(LOAD_PAUSE_US);
    }
    klaxon_client_free(k);
    return NULL;
}

static void load_start(struct load *l, struct cluster *c)
{
    memset(l, 0, sizeof *l);
    l->c = c;
    pthread_mutex_init(&l->lock, NULL);
    assert_int_equal(pthread_create(&l->thread, NULL, load_run, l), 0);
}

static void load_stop(struct load *l)
{
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->lock);
}

/* --- helpers ---------------------------------------------------------------
 */

static int setup(void **state)
{
    return cluster_fixture_setup(
        state, 3, "--snapshot-threshold 64 --snapshot-trailing 16");
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static void write_many(struct cluster *c, int n)
{
    klaxon_client *k = cluster_client(c, NULL, 20000);
    assert_non_null(k);
    for (int i = 0; i < n; i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        char summary[64];
        snprintf(summary, sizeof summary, "before %d", i);
        t.service = "storage";
        t.severity = 3;
        t.summary = summary;
        if (klaxon_trigger(k, &t, &res) != KLAXON_OK) {
            fail_msg("trigger %d: %s", i, klaxon_errmsg(k));
        }
    }
    klaxon_client_free(k);
}

/* The member `id` of l, or NULL. */
static const struct klaxon_member *find_member(
    const struct klaxon_member_list *l,
    uint64_t id)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->members[i].id == id) {
            return &l->members[i];
        }
    }
    return NULL;
}

/* Poll the leader's member list until member id has role `role` and is
 * caught up (or, with role NULL, is gone). */
static void wait_member(klaxon_client *k,
                        uint64_t id,
                        const char *role,
                        unsigned timeout_ms)
{
    uint64_t t0 = cluster_now_ms();

    for (;;) {
        struct klaxon_member_list *l = NULL;
        bool ok = false;

        if (klaxon_member_list(k, KLAXON_READ_LINEARIZABLE, &l) == KLAXON_OK) {
            const struct klaxon_member *m = find_member(l, id);
            ok = role == NULL ? m == NULL
                              : m != NULL && strcmp(m->role, role) == 0 &&
                                    m->progress_known && m->caught_up;
            klaxon_member_list_free(l);
        }
        if (ok) {
            return;
        }
        if (cluster_now_ms() - t0 > timeout_ms) {
            fail_msg("node %llu did not become %s within %u ms",
                     (unsigned long long)id, role != NULL ? role : "gone",
                     timeout_ms);
        }
        usleep(100 * 1000);
    }
}

/* Start node c->n + 1 empty, add it as a standby, wait until it caught
 * up, promote it. Returns its number. */
static unsigned grow(struct cluster *c, klaxon_client *k)
{
    struct klaxon_member_add m = {0};
    char raft[64];
    unsigned node;

    assert_int_equal(cluster_add_node(c, &node), 0);
    m.id = node;
    m.raft_address = cluster_raft_address(c, node, raft, sizeof raft);
    m.api_address = cluster_api_address(c, node);
    if (klaxon_member_add(k, &m) != KLAXON_OK) {
        fail_msg("member add %u: %s", node, klaxon_errmsg(k));
    }
    /* Adding it again is a no-op: a retry is safe. */
    assert_int_equal(klaxon_member_add(k, &m), KLAXON_OK);
    wait_member(k, node, "standby", 60000);
    {
        const char *argv[] = {"status", NULL};
        char out[4096];
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 0);
        assert_non_null(strstr(out, "follower/standby"));
    }
    if (klaxon_member_promote(k, node, NULL) != KLAXON_OK) {
        fail_msg("member promote %u: %s", node, klaxon_errmsg(k));
    }
    wait_member(k, node, "voter", 10000);
    return node;
}

/* Remove node and stop it. */
static void shrink(struct cluster *c, klaxon_client *k, unsigned node)
{
    if (klaxon_member_remove(k, node) != KLAXON_OK) {
        fail_msg("member remove %u: %s", node, klaxon_errmsg(k));
    }
    wait_member(k, node, NULL, 10000);
    assert_int_equal(cluster_term(c, node), 0);
}

/* How many of ids[] are missing on `node` (a stale read of that node). */
static size_t missing_on(struct cluster *c,
                         unsigned node,
                         const uint64_t *ids,
                         size_t n)
{
    klaxon_client *k = cluster_client(c, cluster_api_address(c, node), 5000);
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *l;
    size_t missing = n;

    assert_non_null(k);
    q.filter = KLAXON_FILTER_ANY;
    q.limit = LIST_MAX;
    if (klaxon_list(k, &q, KLAXON_READ_STALE, &l) == KLAXON_OK) {
        missing = 0;
        for (size_t i = 0; i < n; i++) {
            bool found = false;
            for (size_t j = 0; j < l->n && !found; j++) {
                found = l->items[j].id == ids[i];
            }
            missing += !found;
        }
        klaxon_incident_list_free(l);
    }
    klaxon_client_free(k);
    return missing;
}

/* --- tests -----------------------------------------------------------------
 */

static void test_grow_to_five_and_back_under_load(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k;
    struct klaxon_node_status *st;
    struct load load;
    char out[8192];
    uint64_t leader = 0;
    unsigned n4, n5;

    assert_in_range(cluster_wait_leader(c, 15000), 1, 3);
    write_many(c, INITIAL_WRITES); /* past the snapshot threshold */
    k = cluster_client(c, NULL, 30000);
    assert_non_null(k);
    load_start(&load, c);

    n4 = grow(c, k);
    /* Node 4 leads while node 5 joins: node 5's klaxond.yaml does not
     * list it, so node 5 must accept a leader it knows only by its
     * certificate. */
    if (klaxon_leader_transfer(k, 4, &leader) != KLAXON_OK) {
        fail_msg("leader transfer to 4: %s", klaxon_errmsg(k));
    }
    assert_int_equal(leader, 4);
    n5 = grow(c, k);
    assert_true(cluster_log_contains(c, 5, "accepted node 4 at 127.0.0.1:"));
    assert_int_equal(n4, 4);
    assert_int_equal(n5, 5);
    {
        const char *argv[] = {"member", "list", "--json", NULL};
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 0);
        assert_non_null(strstr(out, "\"id\":5"));
        assert_null(strstr(out, "standby"));
        print_message("members: %s", out);
    }
    /* The new nodes serve reads of the whole state. */
    assert_true(
        cluster_log_contains(c, 4, "comp=snapshot msg=\"restored state"));

    /* Back to 3: nodes 1 and 2 go. */
    shrink(c, k, 1);
    shrink(c, k, 2);
    load_stop(&load);
    print_message(
        "load: %zu triggers acknowledged, %zu failed, slowest "
        "%llu ms\n",
        load.n_ok, load.n_failed, (unsigned long long)load.slowest_ms);
    if (load.n_failed > 0) {
        fail_msg("%zu triggers failed; first: %s", load.n_failed,
                 load.first_error);
    }
    assert_true(load.n_ok > 20);

    /* Everything acknowledged is on every remaining node. */
    for (unsigned node = 3; node <= 5; node++) {
        uint64_t t0 = cluster_now_ms();
        size_t missing = missing_on(c, node, load.ids, load.n_ok);
        while (missing > 0 && cluster_now_ms() - t0 < 10000) {
            usleep(200 * 1000);
            missing = missing_on(c, node, load.ids, load.n_ok);
        }
        if (missing > 0) {
            fail_msg("node %u lacks %zu of %zu acknowledged triggers", node,
                     missing, load.n_ok);
        }
    }

    /* Status shows the real configuration, with the added API addresses. */
    assert_int_equal(klaxon_node_status(k, cluster_api_address(c, 3), &st),
                     KLAXON_OK);
    assert_int_equal(st->n_members, 3);
    for (size_t i = 0; i < st->n_members; i++) {
        assert_in_range(st->members[i].id, 3, 5);
        assert_string_equal(st->members[i].role, "voter");
        assert_string_equal(
            st->members[i].api_address,
            cluster_api_address(c, (unsigned)st->members[i].id));
    }
    klaxon_node_status_free(st);
    klaxon_client_free(k);
    f->passed = true;
}

static void test_transfer_and_remove_leader(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    int leader = cluster_wait_leader(c, 15000);
    unsigned target;
    uint64_t now = 0;
    klaxon_client *k;
    char out[256];

    assert_in_range(leader, 1, 3);
    target = leader == 3 ? 1 : (unsigned)leader + 1;
    k = cluster_client(c, NULL, 20000);
    assert_non_null(k);

    if (klaxon_leader_transfer(k, target, &now) != KLAXON_OK) {
        fail_msg("leader transfer %u: %s", target, klaxon_errmsg(k));
    }
    assert_int_equal(now, target);
    assert_int_equal(cluster_wait_leader(c, 10000), (int)target);

    /* With the command line, to whichever voter libraft picks. */
    {
        const char *argv[] = {"leader", "transfer", NULL};
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 0);
        assert_non_null(strstr(out, "is the leader"));
        print_message("klaxonctl leader transfer: %s", out);
    }
    leader = cluster_wait_leader(c, 10000);
    assert_in_range(leader, 1, 3);
    assert_int_not_equal(leader, (int)target);

    /* Removing the leader: it hands over, the new leader removes it. */
    if (klaxon_member_remove(k, (uint64_t)leader) != KLAXON_OK) {
        fail_msg("member remove %d: %s", leader, klaxon_errmsg(k));
    }
    wait_member(k, (uint64_t)leader, NULL, 10000);
    assert_int_equal(cluster_term(c, (unsigned)leader), 0);
    {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        t.service = "after";
        t.severity = 2;
        t.summary = "the cluster still writes";
        assert_int_equal(klaxon_trigger(k, &t, &res), KLAXON_OK);
    }
    klaxon_client_free(k);
    f->passed = true;
}

/* A spare gets no log until it is promoted; promotion to voter catches
 * it up first and returns once the change committed. */
static void test_spare_promoted_to_voter(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    struct klaxon_member_list *l;
    const struct klaxon_member *m;
    struct klaxon_member_add add = {0};
    klaxon_client *k;
    char raft[64];
    uint64_t ids[INITIAL_WRITES];
    unsigned node;

    assert_in_range(cluster_wait_leader(c, 15000), 1, 3);
    write_many(c, INITIAL_WRITES);
    for (size_t i = 0; i < INITIAL_WRITES; i++) {
        ids[i] = i + 1; /* incident ids are given out from 1 */
    }
    k = cluster_client(c, NULL, 30000);
    assert_non_null(k);
    assert_int_equal(cluster_add_node(c, &node), 0);
    add.id = node;
    add.raft_address = cluster_raft_address(c, node, raft, sizeof raft);
    add.role = "spare";
    if (klaxon_member_add(k, &add) != KLAXON_OK) {
        fail_msg("member add %u: %s", node, klaxon_errmsg(k));
    }
    assert_int_equal(klaxon_member_list(k, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_OK);
    m = find_member(l, node);
    assert_non_null(m);
    assert_string_equal(m->role, "spare");
    assert_string_equal(m->api_address, ""); /* added without one */
    assert_false(m->caught_up);
    klaxon_member_list_free(l);

    if (klaxon_member_promote(k, node, "voter") != KLAXON_OK) {
        fail_msg("member promote %u: %s", node, klaxon_errmsg(k));
    }
    assert_int_equal(klaxon_member_list(k, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_OK);
    m = find_member(l, node);
    assert_non_null(m);
    assert_string_equal(m->role, "voter");
    klaxon_member_list_free(l);
    /* promoting again is a no-op */
    assert_int_equal(klaxon_member_promote(k, node, NULL), KLAXON_OK);
    {
        uint64_t t0 = cluster_now_ms();
        size_t missing = missing_on(c, node, ids, INITIAL_WRITES);
        while (missing > 0 && cluster_now_ms() - t0 < 10000) {
            usleep(200 * 1000);
            missing = missing_on(c, node, ids, INITIAL_WRITES);
        }
        assert_int_equal(missing, 0);
    }
    klaxon_client_free(k);
    f->passed = true;
}

static void test_refused_requests(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    klaxon_client *k = cluster_client(c, NULL, 10000);
    struct klaxon_member_add m = {0};
    char raft1[64];
    char out[512];

    assert_non_null(k);
    assert_in_range(cluster_wait_leader(c, 15000), 1, 3);
    /* unknown ids */
    assert_int_equal(klaxon_member_remove(k, 99), KLAXON_ENOTFOUND);
    assert_non_null(strstr(klaxon_errmsg(k), "not a member"));
    assert_int_equal(klaxon_member_promote(k, 99, NULL), KLAXON_ENOTFOUND);
    assert_int_equal(klaxon_leader_transfer(k, 99, NULL), KLAXON_ENOTFOUND);
    /* bad addresses and roles, refused before anything is sent */
    m.id = 4;
    m.raft_address = "no-port";
    assert_int_equal(klaxon_member_add(k, &m), KLAXON_EINVAL);
    assert_non_null(strstr(klaxon_errmsg(k), "raft_address"));
    m.raft_address = "127.0.0.1:1";
    m.role = "boss";
    assert_int_equal(klaxon_member_add(k, &m), KLAXON_EINVAL);
    /* duplicate id (another address) and duplicate address */
    m.role = NULL;
    m.id = 1;
    assert_int_equal(klaxon_member_add(k, &m), KLAXON_ESTATE);
    assert_non_null(strstr(klaxon_errmsg(k), "already a member"));
    m.id = 7;
    m.raft_address = cluster_raft_address(c, 1, raft1, sizeof raft1);
    assert_int_equal(klaxon_member_add(k, &m), KLAXON_ESTATE);
    assert_non_null(strstr(klaxon_errmsg(k), "already the address"));
    /* the command line: usage errors exit 2, refusals 1 */
    {
        const char *argv[] = {"member", "add", "4", NULL};
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 2);
    }
    {
        const char *argv[] = {"member", "remove", "42", NULL};
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 1);
    }
    {
        const char *argv[] = {"member", "list", NULL};
        assert_int_equal(cluster_ctl(c, out, sizeof out, argv), 0);
        assert_non_null(strstr(out, "CAUGHT UP"));
        assert_non_null(strstr(out, "leader"));
    }
    klaxon_client_free(k);
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_promoted_to_voter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transfer_and_remove_leader, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_grow_to_five_and_back_under_load,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("membership", tests, NULL, NULL);
}
