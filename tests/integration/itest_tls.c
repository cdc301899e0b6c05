/*
 * Nobody gets in: a node whose certificates come from a foreign CA never
 * joins the cluster (and the cluster says so in its log and keeps
 * working), and clients with a foreign certificate are refused.
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

#include "cluster.h"

/* The foreign CA's files go to DIR/foreign of the cluster. */
static void foreign_path(const struct cluster *c,
                         const char *file,
                         char *buf,
                         size_t len)
{
    snprintf(buf, len, "%s/foreign/%s", c->dir, file);
}

static int setup(void **state)
{
    struct cluster_fixture *f;
    char dir[4200];
    char cmd[9000];

    if (cluster_fixture_setup(state, 3, NULL) != 0) {
        return -1;
    }
    f = *state;
    foreign_path(&f->cluster, "", dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "'%s/deploy/gen-certs.sh' --dir '%s' --nodes 3 >/dev/null",
             getenv("KLAXON_SRC") != NULL ? getenv("KLAXON_SRC") : ".", dir);
    if (system(cmd) != 0) {
        cluster_fixture_teardown(state);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    return cluster_fixture_teardown(state);
}

static klaxon_client *client_with(const char *endpoints,
                                  const char *ca,
                                  const char *cert,
                                  const char *key)
{
    struct klaxon_options o = {0};
    klaxon_client *k = NULL;
    char err[KLAXON_ERRMSG_SIZE];
    o.endpoints = endpoints;
    o.ca_file = ca;
    o.cert_file = cert;
    o.key_file = key;
    o.timeout_ms = 3000;
    o.connect_timeout_ms = 1000;
    assert_int_equal(klaxon_client_new(&o, &k, err), KLAXON_OK);
    return k;
}

static void test_foreign_node_never_joins(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    char dir[4096];
    char cmd[9000];
    char ca[4300], cert[4300], key[4300];
    char survivors[128];
    struct klaxon_node_status *st;
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *list;
    klaxon_client *k;
    int leader = cluster_wait_leader(c, 15000);
    unsigned rogue = leader == 3 ? 1 : 3;
    unsigned a = rogue == 1 ? 2 : 1;
    unsigned b = rogue == 1 ? 3 : 2;

    /* Node `rogue` comes back with a fresh data dir and certificates (and
     * trust) of a foreign CA. */
    assert_int_equal(cluster_kill(c, rogue), 0);
    cluster_node_dir(c, rogue, dir, sizeof dir);
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s/data' && sed -i 's#\\.\\./tls/#../foreign/#' "
             "'%s/klaxond.yaml'",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cluster_restart(c, rogue), 0);

    /* The two genuine nodes are a majority and keep working. */
    snprintf(survivors, sizeof survivors, "%s,%s", cluster_api_address(c, a),
             cluster_api_address(c, b));
    k = cluster_client(c, survivors, 20000);
    assert_non_null(k);
    for (int i = 0; i < 20; i++) {
        struct klaxon_trigger t = {0};
        struct klaxon_result res;
        t.service = "auth";
        t.severity = 2;
        t.summary = "login failures";
        assert_int_equal(klaxon_trigger(k, &t, &res), KLAXON_OK);
    }
    klaxon_client_free(k);
    sleep(2); /* give the rogue every chance to hear from the cluster */

    /* The rogue node, asked with its own CA's client certificate, knows no
     * leader and has applied nothing. */
    foreign_path(c, "ca.pem", ca, sizeof ca);
    foreign_path(c, "client-admin.pem", cert, sizeof cert);
    foreign_path(c, "client-admin-key.pem", key, sizeof key);
    k = client_with(cluster_api_address(c, rogue), ca, cert, key);
    assert_int_equal(klaxon_node_status(k, NULL, &st), KLAXON_OK);
    assert_int_equal(st->leader_id, 0);
    assert_true(st->applied_index <= 1); /* its own bootstrap entry only */
    assert_string_not_equal(st->role, "leader");
    klaxon_node_status_free(st);
    q.filter = KLAXON_FILTER_ANY;
    assert_int_equal(klaxon_list(k, &q, KLAXON_READ_STALE, &list), KLAXON_OK);
    assert_int_equal(list->n, 0);
    klaxon_incident_list_free(list);
    klaxon_client_free(k);

    /* The genuine nodes logged the refusal. */
    assert_true(cluster_log_contains(c, a, "refused") ||
                cluster_log_contains(c, b, "refused"));
    f->passed = true;
}

static void test_foreign_client_is_refused(void **state)
{
    struct cluster_fixture *f = *state;
    struct cluster *c = &f->cluster;
    char cert[4300], key[4300], ca[4300];
    struct klaxon_node_status *st = NULL;
    klaxon_client *k;
    int rv;

    /* A client certificate from another CA, trusting the cluster's CA. */
    foreign_path(c, "client-admin.pem", cert, sizeof cert);
    foreign_path(c, "client-admin-key.pem", key, sizeof key);
    k = client_with(c->endpoints, c->ca, cert, key);
    rv = klaxon_node_status(k, NULL, &st);
    assert_int_not_equal(rv, KLAXON_OK);
    assert_null(st);
    klaxon_client_free(k);

    /* A genuine client that trusts another CA does not trust the nodes. */
    foreign_path(c, "ca.pem", ca, sizeof ca);
    k = client_with(c->endpoints, ca, c->cert, c->key);
    rv = klaxon_node_status(k, NULL, &st);
    assert_int_equal(rv, KLAXON_ETLS);
    klaxon_client_free(k);

    /* A node certificate is not a client... but it is accepted as one
     * (nodes may query each other); the cluster's own client works. */
    k = client_with(c->endpoints, c->ca, c->cert, c->key);
    assert_int_equal(klaxon_node_status(k, NULL, &st), KLAXON_OK);
    klaxon_node_status_free(st);
    klaxon_client_free(k);
    f->passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_foreign_node_never_joins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_client_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
