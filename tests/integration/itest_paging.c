/*
 * Paging on a real 3-node cluster (TLS, --fast Raft timeouts) with a local
 * receiver that records every webhook and its arrival time:
 *
 * - a Sev1 trigger pages level 1 within a second, level 2 at its deadline;
 *   an acknowledgement (with the page's token) stops every later page;
 *   without one the policy repeats and the incident ends up unanswered;
 *   a Sev4 trigger pages nobody;
 * - the leader SIGKILLed right after the first page: the level-2 page
 *   still arrives no later than its deadline + election timeout + 1 s,
 *   and every duplicate carries the Idempotency-Key of its original;
 * - a heartbeat monitor whose check-in is missed while the leader is
 *   being replaced opens exactly one incident, and the next check-in
 *   resolves it.
 *
 * The measured latencies are printed on stdout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "receiver.h"

#define LEVEL_S 3.0    /* each level's timeout */
#define ELECTION_S 1.0 /* --fast election timeout */

struct paging_fixture
{
    struct cluster_fixture base; /* first: cluster_fixture_teardown */
    struct receiver rx;
    klaxon_client *k;
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

#define CONFIG_PATH_MAX (PATH_MAX + 16)

/* The test configuration; carol's contacts (a YAML list) and extra lines
 * after the notification settings (NULL: none) vary by test. */
static void write_config(const struct paging_fixture *f,
                         char path[CONFIG_PATH_MAX],
                         const char *carol,
                         const char *extra)
{
    FILE *out;

    snprintf(path, CONFIG_PATH_MAX, "%s/oncall.yaml", f->base.cluster.dir);
    out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out,
            "users:\n"
            "  - id: alice\n"
            "    contacts: [{type: webhook, url: "
            "\"http://127.0.0.1:%u/alice\"}]\n"
            "  - id: bob\n"
            "    contacts: [{type: webhook, url: "
            "\"http://127.0.0.1:%u/bob\"}]\n"
            "  - id: carol\n"
            "    contacts: %s\n"
            "escalation_policies:\n"
            "  - id: fast\n"
            "    repeat: 1\n"
            "    levels:\n"
            "      - {timeout: 3s, targets: [{type: user, id: alice}]}\n"
            "      - {timeout: 3s, targets: [{type: user, id: bob}]}\n"
            "  - id: carol\n"
            "    levels: [{timeout: 1h, targets: [{type: user, id: carol}]}]\n"
            "services:\n"
            "  - {name: web, escalation_policy: fast}\n"
            "  - {name: carol, escalation_policy: carol}\n"
            "notifications:\n"
            "  timeout: 2s\n"
            "  retry_base: 200ms\n"
            "%s",
            f->rx.http_port, f->rx.http_port, carol != NULL ? carol : "[]",
            extra != NULL ? extra : "");
    assert_int_equal(fclose(out), 0);
}

/* Apply the test configuration (see write_config) with klaxonctl. */
static int apply_config(struct paging_fixture *f,
                        const char *carol,
                        const char *extra)
{
    const char *apply[] = {"apply", "-f", NULL, NULL};
    char path[CONFIG_PATH_MAX];
    char out[256];

    write_config(f, path, carol, extra);
    apply[2] = path;
    if (cluster_ctl(&f->base.cluster, out, sizeof out, apply) != 0) {
        fprintf(stderr, "apply failed: %s\n", out);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    struct paging_fixture *f = calloc(1, sizeof *f);

    if (f == NULL || cluster_start(&f->base.cluster, 3, NULL) != 0 ||
        receiver_start(&f->rx, f->base.cluster.dir, NULL) != 0) {
        free(f);
        return -1;
    }
    if (apply_config(f, NULL, NULL) != 0) {
        return -1;
    }
    f->k = cluster_client(&f->base.cluster, NULL, 20000);
    *state = f;
    return f->k != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct paging_fixture *f = *state;
    klaxon_client_free(f->k);
    receiver_stop(&f->rx);
    return cluster_fixture_teardown(state);
}

static uint64_t trigger_on(klaxon_client *k,
                           const char *service,
                           unsigned sev,
                           const char *dedup)
{
    struct klaxon_trigger t = {0};
    struct klaxon_result res;
    int rv;

    t.service = service;
    t.severity = sev;
    t.summary = "error rate above 50%";
    t.source = "itest";
    t.dedup_key = dedup;
    rv = klaxon_trigger(k, &t, &res);
    if (rv != KLAXON_OK) {
        fail_msg("trigger: %s", klaxon_errmsg(k));
    }
    return res.incident_id;
}

static uint64_t trigger(klaxon_client *k, unsigned sev, const char *dedup)
{
    return trigger_on(k, "web", sev, dedup);
}

static double arrival(json_t *rec)
{
    return json_real_value(json_object_get(rec, "t"));
}

static const char *path_of(json_t *rec)
{
    return json_string_value(json_object_get(rec, "path"));
}

static json_t *body(json_t *rec)
{
    return json_object_get(rec, "body");
}

static long level_of(json_t *rec)
{
    return (long)json_integer_value(json_object_get(body(rec), "level"));
}

static long repeat_of(json_t *rec)
{
    return (long)json_integer_value(json_object_get(body(rec), "repeat"));
}

static json_t *wait_pages(struct paging_fixture *f,
                          uint64_t id,
                          size_t n,
                          unsigned ms)
{
    json_t *p = receiver_wait_pages(&f->rx, id, n, ms);
    if (p == NULL) {
        json_t *got = receiver_pages_of(&f->rx, id);
        fail_msg("incident %llu: %zu page(s) within %u ms, expected %zu",
                 (unsigned long long)id, json_array_size(got), ms, n);
    }
    return p;
}

/* The first (earliest) page of each distinct (path, level, repeat). */
static void check_page(json_t *rec, const char *path, long level, long rep)
{
    const char *key =
        json_string_value(json_object_get(rec, "idempotency_key"));
    assert_string_equal(path_of(rec), path);
    assert_int_equal(level_of(rec), level);
    assert_int_equal(repeat_of(rec), rep);
    assert_non_null(key);
    assert_string_equal(
        key, json_string_value(json_object_get(body(rec), "idempotency_key")));
    /* Sent by the leader (same clock here) shortly before it arrived. */
    json_t *sent = json_object_get(body(rec), "sent_ms");
    assert_true(json_is_integer(sent));
    double sent_s = (double)json_integer_value(sent) / 1000.0;
    assert_true(sent_s <= arrival(rec) + 0.002);
    assert_true(sent_s > arrival(rec) - 10.0);
}

static struct klaxon_incident *get(klaxon_client *k, uint64_t id)
{
    struct klaxon_incident *inc = NULL;
    assert_int_equal(klaxon_get(k, id, KLAXON_READ_LINEARIZABLE, &inc),
                     KLAXON_OK);
    return inc;
}

static void test_escalation_ack_repeat_and_sev4(void **state)
{
    struct paging_fixture *f = *state;
    double t0 = receiver_now();
    uint64_t acked = trigger(f->k, 1, "acked");
    uint64_t ignored = trigger(f->k, 1, "ignored");
    uint64_t quiet = trigger(f->k, 4, "quiet");
    json_t *p;
    const char *token;
    struct klaxon_result res;
    struct klaxon_incident *inc;
    double t_ack;

    /* level 1 within a second, for both Sev1 incidents */
    p = wait_pages(f, acked, 1, 1000);
    check_page(json_array_get(p, 0), "/alice", 1, 0);
    printf("trigger-to-page latency: %.0f ms\n",
           (arrival(json_array_get(p, 0)) - t0) * 1000);
    json_decref(p);
    p = wait_pages(f, ignored, 1, 1000);
    json_decref(p);

    /* level 2 at its deadline */
    p = wait_pages(f, acked, 2, 5000);
    check_page(json_array_get(p, 1), "/bob", 2, 0);
    printf("level-2 page %.0f ms after the trigger (deadline %.0f ms)\n",
           (arrival(json_array_get(p, 1)) - t0) * 1000, LEVEL_S * 1000);
    assert_true(arrival(json_array_get(p, 1)) >= t0 + LEVEL_S - 0.05);
    assert_true(arrival(json_array_get(p, 1)) <= t0 + LEVEL_S + 1.0);

    /* acknowledge from the page itself */
    token = json_string_value(json_object_get(
        json_object_get(body(json_array_get(p, 1)), "acknowledge"), "token"));
    assert_non_null(token);
    assert_int_equal(klaxon_ack_token(f->k, token, &res), KLAXON_OK);
    t_ack = receiver_now();
    json_decref(p);
    inc = get(f->k, acked);
    assert_string_equal(inc->acknowledged_by, "bob");
    klaxon_incident_free(inc);
    assert_int_equal(klaxon_ack_token(f->k, "k1.AAAA.AAAA", &res),
                     KLAXON_EPERM);

    /* the unanswered one repeats: alice, bob, alice, bob, then gives up */
    p = wait_pages(f, ignored, 4, (unsigned)(5 * LEVEL_S * 1000));
    check_page(json_array_get(p, 2), "/alice", 1, 1);
    check_page(json_array_get(p, 3), "/bob", 2, 1);
    json_decref(p);
    for (int i = 0; i < 40; i++) {
        inc = get(f->k, ignored);
        if (inc->unanswered) {
            break;
        }
        klaxon_incident_free(inc);
        inc = NULL;
        sleep_s(0.1);
    }
    assert_non_null(inc);
    assert_true(inc->unanswered);
    assert_int_equal(inc->status, KLAXON_TRIGGERED);
    klaxon_incident_free(inc);

    /* nothing for the acknowledged incident after its ack, nothing for
     * the Sev4 one ever */
    p = receiver_pages_of(&f->rx, acked);
    assert_int_equal(json_array_size(p), 2);
    for (size_t i = 0; i < json_array_size(p); i++) {
        assert_true(arrival(json_array_get(p, i)) < t_ack);
    }
    json_decref(p);
    p = receiver_pages_of(&f->rx, quiet);
    assert_int_equal(json_array_size(p), 0);
    json_decref(p);
    f->base.passed = true;
}

/* Group pages by idempotency key: each key must belong to one page
 * (path, level, repeat); returns the number of duplicates. */
static size_t count_duplicates(json_t *pages, size_t *distinct)
{
    size_t dups = 0;

    *distinct = 0;
    for (size_t i = 0; i < json_array_size(pages); i++) {
        json_t *a = json_array_get(pages, i);
        const char *ka = json_string_value(json_object_get(a,
                                                           "idempotency_"
                                                           "key"));
        bool first = true;
        for (size_t j = 0; j < i; j++) {
            json_t *b = json_array_get(pages, j);
            bool same_page = strcmp(path_of(a), path_of(b)) == 0 &&
                             level_of(a) == level_of(b) &&
                             repeat_of(a) == repeat_of(b);
            bool same_key = strcmp(ka, json_string_value(json_object_get(
                                           b, "idempotency_key"))) == 0;
            assert_int_equal(same_page, same_key);
            first = first && !same_page;
        }
        dups += !first;
        *distinct += first;
    }
    return dups;
}

static void test_leader_killed_after_first_page(void **state)
{
    struct paging_fixture *f = *state;
    struct cluster *c = &f->base.cluster;
    int leader = cluster_wait_leader(c, 10000);
    double t0 = receiver_now();
    uint64_t id = trigger(f->k, 1, "failover");
    double t_kill;
    double late;
    size_t distinct;
    size_t dups;
    json_t *p;

    assert_true(leader > 0);
    p = wait_pages(f, id, 1, 1000);
    json_decref(p);
    assert_int_equal(cluster_kill(c, (unsigned)leader), 0);
    t_kill = receiver_now();
    printf("killed leader node %d %.0f ms after the trigger\n", leader,
           (t_kill - t0) * 1000);

    /* level 2 arrives no later than deadline + election timeout + 1 s */
    p = receiver_wait_pages(&f->rx, id, 2,
                            (unsigned)((LEVEL_S + ELECTION_S + 3) * 1000));
    assert_non_null(p);
    for (size_t i = 0; i < json_array_size(p); i++) {
        json_t *rec = json_array_get(p, i);
        if (level_of(rec) == 2) {
            late = arrival(rec) - (t0 + LEVEL_S);
            printf(
                "level-2 page after failover: %.0f ms after its deadline "
                "(allowed %.0f ms)\n",
                late * 1000, (ELECTION_S + 1) * 1000);
            assert_true(late <= ELECTION_S + 1.0);
            break;
        }
    }
    json_decref(p);
    assert_int_equal(klaxon_ack(f->k, id, "alice", NULL), KLAXON_OK);
    sleep_s(1.0); /* let re-sent pages of the old leader's era arrive */
    p = receiver_pages_of(&f->rx, id);
    dups = count_duplicates(p, &distinct);
    printf(
        "failover: %zu page(s) delivered, %zu distinct, %zu duplicate(s) "
        "(same Idempotency-Key as the original)\n",
        json_array_size(p), distinct, dups);
    assert_true(distinct >= 2);
    json_decref(p);
    assert_int_equal(cluster_restart(c, (unsigned)leader), 0);
    assert_int_equal(cluster_wait_node(c, (unsigned)leader, 20000), 0);
    f->base.passed = true;
}

/* The heartbeat incidents of the monitor (dedup key heartbeat/cron). */
static size_t heartbeat_incidents(klaxon_client *k, uint64_t *last)
{
    struct klaxon_list_query q = {0};
    struct klaxon_incident_list *l = NULL;
    size_t n = 0;

    q.filter = KLAXON_FILTER_ANY;
    q.service = "web";
    assert_int_equal(klaxon_list(k, &q, KLAXON_READ_LINEARIZABLE, &l),
                     KLAXON_OK);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].dedup_key, "heartbeat/cron") == 0) {
            *last = l->items[i].id;
            n++;
        }
    }
    klaxon_incident_list_free(l);
    return n;
}

/* A missed check-in opens exactly one incident although the leader dies
 * just before it is due; the next check-in resolves it. */
static void test_heartbeat_miss_through_failover(void **state)
{
    struct paging_fixture *f = *state;
    struct cluster *c = &f->base.cluster;
    struct klaxon_incident *inc;
    uint64_t id = 0;
    int leader;

    assert_int_equal(apply_config(f, NULL,
                                  "heartbeats:\n"
                                  "  - {name: cron, service: web, "
                                  "interval: 3s}\n"),
                     0);
    assert_int_equal(klaxon_heartbeat(f->k, "cron"), KLAXON_OK);
    sleep_s(1.5);
    assert_int_equal(klaxon_heartbeat(f->k, "cron"), KLAXON_OK);
    assert_int_equal(heartbeat_incidents(f->k, &id), 0);
    /* due 3 s after that check-in; the leader dies 2.5 s before */
    sleep_s(0.5);
    leader = cluster_wait_leader(c, 5000);
    assert_true(leader > 0);
    assert_int_equal(cluster_kill(c, (unsigned)leader), 0);
    sleep_s(ELECTION_S + 4.0);
    assert_int_equal(heartbeat_incidents(f->k, &id), 1);
    inc = get(f->k, id);
    assert_int_equal(inc->status, KLAXON_TRIGGERED);
    assert_int_equal(inc->severity, 2);
    klaxon_incident_free(inc);
    json_decref(wait_pages(f, id, 1, 2000)); /* and it pages */
    /* still exactly one after more intervals: a miss is not repeated */
    sleep_s(3.5);
    assert_int_equal(heartbeat_incidents(f->k, &id), 1);
    assert_int_equal(klaxon_heartbeat(f->k, "cron"), KLAXON_OK);
    inc = get(f->k, id);
    assert_int_equal(inc->status, KLAXON_RESOLVED);
    assert_string_equal(inc->resolved_by, "heartbeat cron");
    klaxon_incident_free(inc);
    assert_int_equal(cluster_restart(c, (unsigned)leader), 0);
    assert_int_equal(cluster_wait_node(c, (unsigned)leader, 20000), 0);
    f->base.passed = true;
}

/* A receiver that fails twice gets the page on the third attempt; an
 * unreachable one is given up after max_attempts and the failure lands in
 * the timeline; neither delays the other pages. */
static void test_delivery_retries_and_failure(void **state)
{
    struct paging_fixture *f = *state;
    struct receiver flaky;
    struct klaxon_page_list *pl = NULL;
    struct klaxon_incident *inc;
    char flaky_dir[PATH_MAX + 8];
    char contacts[512];
    uint64_t id;
    json_t *p;
    bool done = false;

    snprintf(flaky_dir, sizeof flaky_dir, "%s/flaky", f->base.cluster.dir);
    assert_int_equal(mkdir(flaky_dir, 0700), 0);
    assert_int_equal(receiver_start(&flaky, flaky_dir, "--fail-first 2"), 0);
    snprintf(contacts, sizeof contacts,
             "[{type: webhook, url: \"http://127.0.0.1:%u/carol\"}, "
             "{type: webhook, url: \"http://127.0.0.1:1/down\"}, "
             "{type: webhook, url: \"http://127.0.0.1:%u/fast\"}]",
             flaky.http_port, f->rx.http_port);
    assert_int_equal(apply_config(f, contacts, "  max_attempts: 3\n"), 0);
    id = trigger_on(f->k, "carol", 1, "retries");
    /* the healthy receiver is not held up by the others */
    p = wait_pages(f, id, 1, 1000);
    assert_string_equal(path_of(json_array_get(p, 0)), "/fast");
    json_decref(p);
    for (int i = 0; i < 100 && !done; i++) {
        size_t final = 0;
        sleep_s(0.1);
        assert_int_equal(
            klaxon_pages(f->k, id, 0, KLAXON_READ_LINEARIZABLE, &pl),
            KLAXON_OK);
        for (size_t j = 0; j < pl->n; j++) {
            final += strcmp(pl->items[j].state, "pending") != 0;
        }
        done = final == 3;
        if (!done) {
            klaxon_page_list_free(pl);
        }
    }
    assert_true(done);
    for (size_t j = 0; j < pl->n; j++) {
        const struct klaxon_page *pg = &pl->items[j];
        if (strstr(pg->contact_address, "/carol") != NULL) {
            assert_string_equal(pg->state, "delivered");
            assert_int_equal(pg->attempts, 3);
        } else if (strstr(pg->contact_address, "/down") != NULL) {
            assert_string_equal(pg->state, "failed");
            assert_int_equal(pg->attempts, 3);
            assert_true(pg->error[0] != '\0');
        } else {
            assert_string_equal(pg->state, "delivered");
            assert_int_equal(pg->attempts, 1);
        }
    }
    klaxon_page_list_free(pl);
    inc = get(f->k, id);
    done = false;
    for (size_t j = 0; j < inc->n_timeline; j++) {
        done = done || strcmp(inc->timeline[j].kind, "page_failed") == 0;
    }
    assert_true(done);
    klaxon_incident_free(inc);
    /* the flaky receiver saw the same Idempotency-Key three times */
    p = receiver_pages_of(&flaky, id);
    assert_int_equal(json_array_size(p), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0),
                                                          "idempotency_key")),
                        json_string_value(json_object_get(json_array_get(p, 2),
                                                          "idempotency_key")));
    json_decref(p);
    assert_int_equal(klaxon_ack(f->k, id, "carol", NULL), KLAXON_OK);
    receiver_stop(&flaky);
    f->base.passed = true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escalation_ack_repeat_and_sev4,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_killed_after_first_page,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_miss_through_failover,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_retries_and_failure,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
