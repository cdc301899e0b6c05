/*
 * Paging as state-machine transitions, on a real fsm and LMDB store:
 * configuration versions, escalation through levels and repeats by ticks,
 * acknowledgement cancelling pages and stopping escalation, the
 * acknowledgement timeout, severities, maintenance windows, heartbeat
 * monitors, page outcomes, tokens, response targets, and ticks that act
 * at most once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm_fixture.h"
#include "incident.h"
#include "oncall_config.h"
#include "oncall_state.h"
#include "paging.h"
#include "timers.h"
#include "token.h"

/* 2023-11-14T22:13:20Z, a Tuesday: alice is on call in `primary`. */
#define T0 1700000000000ull
#define SEC 1000ull
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)

static const char config_yaml[] =
    "users:\n"
    "  - id: alice\n"
    "    contacts: [{type: webhook, url: \"http://127.0.0.1:9/alice\"}]\n"
    "  - id: bob\n"
    "    contacts:\n"
    "      - {type: webhook, url: \"http://127.0.0.1:9/bob\"}\n"
    "      - {type: email, address: bob@example.com}\n"
    "  - id: carol\n"
    "    contacts: [{type: webhook, url: \"http://127.0.0.1:9/carol\"}]\n"
    "  - id: manager\n"
    "    contacts: [{type: webhook, url: \"http://127.0.0.1:9/manager\"}]\n"
    "schedules:\n"
    "  - id: primary\n"
    "    handoff_notices: false\n"
    "    layers:\n"
    "      - name: weekly\n"
    "        users: [alice, carol]\n"
    "        start: \"2023-11-13T00:00\"\n"
    "        turn: weekly\n"
    "escalation_policies:\n"
    "  - id: critical\n"
    "    repeat: 1\n"
    "    commander: {type: user, id: manager}\n"
    "    levels:\n"
    "      - timeout: 60s\n"
    "        targets: [{type: schedule, id: primary}]\n"
    "      - timeout: 120s\n"
    "        targets: [{type: user, id: bob}]\n"
    "services:\n"
    "  - name: checkout\n"
    "    escalation_policy: critical\n"
    "    ack_timeout: 30m\n"
    "  - name: batch\n"
    "    escalation_policy: critical\n"
    "    auto_resolve: 2h\n"
    "heartbeats:\n"
    "  - name: backup\n"
    "    service: checkout\n"
    "    interval: 24h\n"
    "notifications:\n"
    "  smtp_url: smtp://127.0.0.1:25\n"
    "  smtp_from: klaxon@example.com\n";

struct cmd
{
    Klaxon__Cluster__Command c;
    union
    {
        Klaxon__TriggerRequest trigger;
        Klaxon__AckRequest ack;
        Klaxon__ResolveRequest resolve;
        Klaxon__NoteRequest note;
        Klaxon__Cluster__SetConfig set_config;
        Klaxon__Cluster__Tick tick;
        Klaxon__Cluster__PageOutcome outcome;
        Klaxon__Cluster__SetSecret secret;
        Klaxon__HeartbeatRequest heartbeat;
        Klaxon__MaintenanceStartRequest mstart;
        Klaxon__MaintenanceEndRequest mend;
    } u;
    char rid[32];
    uint8_t key[TIMER_KEY_MAX];
};

static struct apply_result run(struct fixture *fx, uint64_t t, struct cmd *c)
{
    Klaxon__Cluster__Command *arr[1] = {&c->c};
    if (c->c.op_case != KLAXON__CLUSTER__COMMAND__OP_TICK &&
        c->c.op_case != KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME &&
        c->c.op_case != KLAXON__CLUSTER__COMMAND__OP_SET_SECRET) {
        snprintf(c->rid, sizeof c->rid, "rid-%d", ++fx->request_counter);
        c->c.request_id.data = (uint8_t *)c->rid;
        c->c.request_id.len = strlen(c->rid);
    }
    fsm_fixture_apply(fx, t, arr, 1);
    return fx->results[0];
}

static void cmd_init(struct cmd *c, Klaxon__Cluster__Command__OpCase op)
{
    memset(c, 0, sizeof *c);
    klaxon__cluster__command__init(&c->c);
    c->c.op_case = op;
}

static uint64_t set_yaml(struct fixture *fx,
                         uint64_t t,
                         const char *yaml,
                         bool *unchanged)
{
    Klaxon__OncallConfig *cfg;
    struct apply_result r;
    struct cmd c;
    char err[512];

    assert_int_equal(oncall_config_parse("oncall.yaml", yaml, strlen(yaml),
                                         &cfg, err, sizeof err),
                     0);
    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG);
    klaxon__cluster__set_config__init(&c.u.set_config);
    c.u.set_config.config = cfg;
    c.u.set_config.file_name = "oncall.yaml";
    c.u.set_config.yaml = (char *)yaml;
    c.u.set_config.by = "admin";
    c.c.set_config = &c.u.set_config;
    r = run(fx, t, &c);
    oncall_config_free(cfg);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    if (unchanged != NULL) {
        *unchanged = r.unchanged;
    }
    return r.config_version;
}

static uint64_t set_config(struct fixture *fx, uint64_t t, bool *unchanged)
{
    return set_yaml(fx, t, config_yaml, unchanged);
}

static int setup(void **state)
{
    fsm_fixture_setup(state);
    assert_int_equal(set_config(*state, T0 - MIN, NULL), 1);
    return 0;
}

static uint64_t trigger(struct fixture *fx,
                        uint64_t t,
                        const char *service,
                        unsigned sev,
                        const char *dedup)
{
    struct apply_result r;
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_TRIGGER);
    klaxon__trigger_request__init(&c.u.trigger);
    c.u.trigger.service = (char *)service;
    c.u.trigger.severity = sev;
    c.u.trigger.summary = "error rate above 50%";
    c.u.trigger.source = "test";
    c.u.trigger.dedup_key = (char *)(dedup != NULL ? dedup : "");
    c.c.trigger = &c.u.trigger;
    r = run(fx, t, &c);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    return r.incident_id;
}

static struct apply_result ack(struct fixture *fx,
                               uint64_t t,
                               uint64_t id,
                               const char *token)
{
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_ACK);
    klaxon__ack_request__init(&c.u.ack);
    c.u.ack.incident_id = token != NULL ? 0 : id;
    c.u.ack.by = token != NULL ? "" : "alice";
    c.u.ack.token = (char *)(token != NULL ? token : "");
    c.c.ack = &c.u.ack;
    return run(fx, t, &c);
}

static Klaxon__Incident *load(struct fixture *fx, uint64_t id)
{
    MDB_txn *txn = fsm_fixture_read(fx);
    Klaxon__Incident *inc = NULL;
    assert_int_equal(incident_load(txn, &fx->store, id, &inc), 0);
    mdb_txn_abort(txn);
    return inc;
}

static Klaxon__PagesResult *pages(struct fixture *fx, uint64_t id)
{
    MDB_txn *txn = fsm_fixture_read(fx);
    Klaxon__PagesResult *res = NULL;
    assert_int_equal(paging_list(txn, &fx->store, id, 100, &res), 0);
    mdb_txn_abort(txn);
    return res;
}

static size_t count_pages(struct fixture *fx,
                          uint64_t id,
                          Klaxon__PageState state,
                          const char *user)
{
    Klaxon__PagesResult *res = pages(fx, id);
    size_t n = 0;
    for (size_t i = 0; i < res->n_pages; i++) {
        if (res->pages[i]->state == state &&
            (user == NULL || strcmp(res->pages[i]->user, user) == 0)) {
            n++;
        }
    }
    klaxon__pages_result__free_unpacked(res, NULL);
    return n;
}

struct due_keys
{
    uint8_t keys[32][TIMER_KEY_MAX];
    size_t len[32];
    size_t n;
};

static int collect(void *arg, const void *key, size_t len)
{
    struct due_keys *d = arg;
    assert_true(d->n < 32);
    memcpy(d->keys[d->n], key, len);
    d->len[d->n++] = len;
    return 0;
}

/* Apply a Tick for every timer due at t, as the leader's engine does. */
static size_t tick_all(struct fixture *fx, uint64_t t)
{
    struct due_keys d = {.n = 0};
    MDB_txn *txn = fsm_fixture_read(fx);

    assert_int_equal(timers_scan_due(txn, &fx->store, t, 32, collect, &d), 0);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < d.n; i++) {
        struct cmd c;
        cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_TICK);
        klaxon__cluster__tick__init(&c.u.tick);
        memcpy(c.key, d.keys[i], d.len[i]);
        c.u.tick.key.data = c.key;
        c.u.tick.key.len = d.len[i];
        c.c.tick = &c.u.tick;
        assert_int_equal(run(fx, t, &c).code, KLAXON__CODE__OK);
    }
    return d.n;
}

static bool has_event(struct fixture *fx,
                      uint64_t id,
                      Klaxon__EventKind kind,
                      const char *text)
{
    MDB_txn *txn = fsm_fixture_read(fx);
    Klaxon__GetResult *g = NULL;
    bool found = false;

    assert_int_equal(incident_get(txn, &fx->store, id, &g), 0);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < g->n_timeline && !found; i++) {
        found = g->timeline[i]->kind == kind &&
                (text == NULL || strstr(g->timeline[i]->message, text) != NULL);
    }
    klaxon__get_result__free_unpacked(g, NULL);
    return found;
}

static uint64_t counter(struct fixture *fx, const char *key)
{
    MDB_txn *txn = fsm_fixture_read(fx);
    uint64_t v = 0;
    assert_int_equal(store_meta_get(txn, &fx->store, key, &v), 0);
    mdb_txn_abort(txn);
    return v;
}

/* --- tests ----------------------------------------------------------------
 */

static void test_config_versions(void **state)
{
    struct fixture *fx = *state;
    Klaxon__OncallConfig *cfg;
    struct apply_result r;
    bool unchanged = false;
    struct cmd c;
    char err[512];

    assert_int_equal(set_config(fx, T0, &unchanged), 1);
    assert_true(unchanged);
    /* An invalid configuration that reached the log changes nothing. */
    assert_int_equal(
        oncall_config_parse("x.yaml", config_yaml, strlen(config_yaml), &cfg,
                            err, sizeof err),
        0);
    free(cfg->services[0]->escalation_policy);
    cfg->services[0]->escalation_policy = strdup("nope");
    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG);
    klaxon__cluster__set_config__init(&c.u.set_config);
    c.u.set_config.config = cfg;
    c.u.set_config.by = "admin";
    c.c.set_config = &c.u.set_config;
    r = run(fx, T0, &c);
    oncall_config_free(cfg);
    assert_int_equal(r.code, KLAXON__CODE__INVALID_ARGUMENT);
    assert_non_null(strstr(r.message, "nope"));
    assert_int_equal(r.config_version, 1);
    assert_int_equal(set_config(fx, T0, &unchanged), 1);
    assert_true(unchanged);
}

static void test_sev1_pages_level_one_then_escalates(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, "k");
    Klaxon__Incident *inc = load(fx, id);

    assert_int_equal(inc->paging, KLAXON__PAGING__PAGING_ESCALATE);
    assert_string_equal(inc->escalation_policy, "critical");
    assert_int_equal(inc->escalation_level, 1);
    assert_string_equal(inc->commander, "manager");
    assert_int_equal(inc->timers->escalate_ms, T0 + MIN);
    assert_int_equal(inc->timers->response_ms, T0 + 5 * MIN);
    assert_int_equal(inc->timers->resolution_ms, T0 + 240 * MIN);
    assert_int_equal(inc->timers->reminder_ms, T0 + 30 * MIN);
    assert_int_equal(inc->pages, 1);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "alice"), 1);
    assert_true(has_event(fx, id, KLAXON__EVENT_KIND__EVENT_PAGED,
                          "via schedule primary"));

    /* Nothing is due a millisecond early. */
    assert_int_equal(tick_all(fx, T0 + MIN - 1), 0);
    assert_int_equal(tick_all(fx, T0 + MIN), 1);
    inc = load(fx, id);
    assert_int_equal(inc->escalation_level, 2);
    assert_int_equal(inc->timers->escalate_ms, T0 + 3 * MIN);
    klaxon__incident__free_unpacked(inc, NULL);
    /* bob: webhook and e-mail */
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "bob"), 2);
}

static void test_repeat_then_unanswered(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 2, NULL);
    Klaxon__Incident *inc;

    /* level 2 at +1m, repeat level 1 at +3m, level 2 at +4m, end at +6m */
    tick_all(fx, T0 + MIN);
    tick_all(fx, T0 + 3 * MIN);
    inc = load(fx, id);
    assert_int_equal(inc->escalation_level, 1);
    assert_int_equal(inc->escalation_loop, 1);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_true(has_event(fx, id, KLAXON__EVENT_KIND__EVENT_ESCALATED,
                          "repeating from level 1"));
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "alice"), 2);
    tick_all(fx, T0 + 4 * MIN);
    tick_all(fx, T0 + 6 * MIN);
    inc = load(fx, id);
    assert_true(inc->unanswered);
    assert_int_equal(inc->timers->escalate_ms, 0);
    assert_int_equal(inc->status, KLAXON__STATUS__TRIGGERED);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "bob"), 4);
    assert_int_equal(counter(fx, COUNT_UNANSWERED), 1);
    assert_true(has_event(fx, id, KLAXON__EVENT_KIND__EVENT_UNANSWERED, NULL));
}

static void test_ack_cancels_and_times_out(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);
    Klaxon__Incident *inc;

    assert_int_equal(ack(fx, T0 + 10 * SEC, id, NULL).code, KLAXON__CODE__OK);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_CANCELLED, "alice"), 1);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, NULL), 0);
    inc = load(fx, id);
    assert_int_equal(inc->timers->escalate_ms, 0);
    assert_int_equal(inc->timers->response_ms, 0);
    assert_int_equal(inc->timers->ack_timeout_ms, T0 + 10 * SEC + 30 * MIN);
    klaxon__incident__free_unpacked(inc, NULL);
    /* Nothing escalates while acknowledged. */
    assert_int_equal(tick_all(fx, T0 + 20 * MIN), 0);
    /* The acknowledgement times out: triggered again, level 1 again. */
    tick_all(fx, T0 + 10 * SEC + 30 * MIN);
    inc = load(fx, id);
    assert_int_equal(inc->status, KLAXON__STATUS__TRIGGERED);
    assert_int_equal(inc->escalation_level, 1);
    assert_int_equal(inc->timers->escalate_ms, T0 + 10 * SEC + 31 * MIN);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_true(has_event(fx, id, KLAXON__EVENT_KIND__EVENT_RETRIGGERED, NULL));
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "alice"), 1);
}

static void test_resolve_stops_everything(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, "dup");
    struct apply_result r;
    Klaxon__Incident *inc;
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_RESOLVE);
    klaxon__resolve_request__init(&c.u.resolve);
    c.u.resolve.incident_id = id;
    c.u.resolve.by = "alice";
    c.c.resolve = &c.u.resolve;
    r = run(fx, T0 + SEC, &c);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    inc = load(fx, id);
    assert_int_equal(inc->timers->escalate_ms, 0);
    assert_int_equal(inc->timers->reminder_ms, 0);
    assert_int_equal(inc->timers->resolution_ms, 0);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(tick_all(fx, T0 + DAY), 1); /* the heartbeat only */
    /* The dedup key is free: a new trigger opens a new incident. */
    assert_true(trigger(fx, T0 + 2 * SEC, "checkout", 1, "dup") != id);
}

static void test_severities(void **state)
{
    struct fixture *fx = *state;
    uint64_t sev3 = trigger(fx, T0, "checkout", 3, NULL);
    uint64_t sev4 = trigger(fx, T0, "checkout", 4, NULL);
    uint64_t other = trigger(fx, T0, "unknown-service", 1, NULL);
    Klaxon__Incident *inc = load(fx, sev3);

    assert_int_equal(inc->paging, KLAXON__PAGING__PAGING_FIRST_LEVEL);
    assert_int_equal(inc->timers->escalate_ms, 0);
    assert_string_equal(inc->commander, "");
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, sev3, KLAXON__PAGE_STATE__PAGE_PENDING, "alice"), 1);
    assert_int_equal(
        count_pages(fx, sev4, KLAXON__PAGE_STATE__PAGE_PENDING, NULL), 0);
    assert_true(has_event(fx, sev4, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                          "severity pages nobody"));
    assert_int_equal(
        count_pages(fx, other, KLAXON__PAGE_STATE__PAGE_PENDING, NULL), 0);
    assert_true(has_event(fx, other, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                          "not in the on-call configuration"));
}

static struct apply_result maintenance(struct fixture *fx,
                                       uint64_t t,
                                       const char *service,
                                       uint64_t duration)
{
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START);
    klaxon__maintenance_start_request__init(&c.u.mstart);
    c.u.mstart.service = (char *)service;
    c.u.mstart.duration_ms = duration;
    c.u.mstart.reason = "deploy";
    c.u.mstart.by = "alice";
    c.c.maintenance_start = &c.u.mstart;
    return run(fx, t, &c);
}

static void test_maintenance_window(void **state)
{
    struct fixture *fx = *state;
    struct apply_result r = maintenance(fx, T0, "checkout", 60 * MIN);
    uint64_t in;
    uint64_t after;
    struct cmd c;
    Klaxon__Incident *inc;

    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.window_id, 1);
    assert_int_equal(maintenance(fx, T0, "nope", MIN).code,
                     KLAXON__CODE__INVALID_ARGUMENT);
    in = trigger(fx, T0 + MIN, "checkout", 1, NULL);
    inc = load(fx, in);
    assert_true(inc->maintenance);
    assert_int_equal(inc->timers->escalate_ms, 0);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, in, KLAXON__PAGE_STATE__PAGE_PENDING, NULL), 0);
    assert_true(has_event(fx, in, KLAXON__EVENT_KIND__EVENT_NOT_PAGED,
                          "maintenance window 1"));
    /* Ended early: the next trigger pages again. */
    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END);
    klaxon__maintenance_end_request__init(&c.u.mend);
    c.u.mend.window_id = 1;
    c.u.mend.by = "alice";
    c.c.maintenance_end = &c.u.mend;
    assert_int_equal(run(fx, T0 + 2 * MIN, &c).code, KLAXON__CODE__OK);
    assert_int_equal(run(fx, T0 + 3 * MIN, &c).code,
                     KLAXON__CODE__FAILED_PRECONDITION);
    after = trigger(fx, T0 + 3 * MIN, "checkout", 1, NULL);
    assert_int_equal(
        count_pages(fx, after, KLAXON__PAGE_STATE__PAGE_PENDING, "alice"), 1);
}

static struct apply_result heartbeat(struct fixture *fx, uint64_t t)
{
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT);
    klaxon__heartbeat_request__init(&c.u.heartbeat);
    c.u.heartbeat.name = "backup";
    c.c.heartbeat = &c.u.heartbeat;
    return run(fx, t, &c);
}

static void test_heartbeat_miss_and_recovery(void **state)
{
    struct fixture *fx = *state;
    uint64_t applied = T0 - MIN; /* when setup applied the config */
    Klaxon__Incident *inc;

    assert_int_equal(heartbeat(fx, T0).code, KLAXON__CODE__OK);
    /* due a day after the check-in, not after the config */
    assert_int_equal(tick_all(fx, applied + DAY), 0);
    assert_int_equal(tick_all(fx, T0 + DAY), 1);
    assert_int_equal(counter(fx, COUNT_HEARTBEATS_MISSED), 1);
    inc = load(fx, 1);
    assert_string_equal(inc->dedup_key, "heartbeat/backup");
    assert_int_equal(inc->severity, 2);
    assert_int_equal(inc->status, KLAXON__STATUS__TRIGGERED);
    klaxon__incident__free_unpacked(inc, NULL);
    /* Only the incident's escalation is due now, no second miss. */
    assert_int_equal(tick_all(fx, T0 + DAY + 2 * MIN), 1);
    assert_int_equal(counter(fx, COUNT_HEARTBEATS_MISSED), 1);
    /* The next check-in resolves it. */
    assert_int_equal(heartbeat(fx, T0 + DAY + 3 * MIN).code, KLAXON__CODE__OK);
    inc = load(fx, 1);
    assert_int_equal(inc->status, KLAXON__STATUS__RESOLVED);
    assert_string_equal(inc->resolved_by, "heartbeat backup");
    klaxon__incident__free_unpacked(inc, NULL);
}

static struct apply_result outcome(struct fixture *fx,
                                   uint64_t page,
                                   bool delivered)
{
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME);
    klaxon__cluster__page_outcome__init(&c.u.outcome);
    c.u.outcome.page_id = page;
    c.u.outcome.delivered = delivered;
    c.u.outcome.attempts = delivered ? 1 : 5;
    c.u.outcome.error = delivered ? "" : "HTTP 500";
    c.c.page_outcome = &c.u.outcome;
    return run(fx, T0 + SEC, &c);
}

static void test_page_outcomes(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);

    tick_all(fx, T0 + MIN); /* pages 2 and 3: bob */
    assert_int_equal(outcome(fx, 1, true).code, KLAXON__CODE__OK);
    assert_int_equal(outcome(fx, 2, false).code, KLAXON__CODE__OK);
    /* a second report of the same page changes nothing */
    assert_int_equal(outcome(fx, 2, true).code, KLAXON__CODE__OK);
    assert_int_equal(outcome(fx, 99, true).code, KLAXON__CODE__NOT_FOUND);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_DELIVERED, "alice"), 1);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_FAILED, "bob"), 1);
    assert_int_equal(counter(fx, COUNT_PAGES_DELIVERED), 1);
    assert_int_equal(counter(fx, COUNT_PAGES_FAILED), 1);
    assert_true(
        has_event(fx, id, KLAXON__EVENT_KIND__EVENT_PAGE_FAILED, "HTTP 500"));
    assert_true(
        has_event(fx, id, KLAXON__EVENT_KIND__EVENT_PAGE_DELIVERED, "page 1"));
}

static void set_secret(struct fixture *fx, uint8_t fill)
{
    uint8_t secret[SECRET_LEN];
    uint8_t cid[CLUSTER_ID_LEN];
    struct cmd c;

    memset(secret, fill, sizeof secret);
    memset(cid, fill, sizeof cid);
    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_SET_SECRET);
    klaxon__cluster__set_secret__init(&c.u.secret);
    c.u.secret.secret.data = secret;
    c.u.secret.secret.len = sizeof secret;
    c.u.secret.cluster_id.data = cid;
    c.u.secret.cluster_id.len = sizeof cid;
    c.c.set_secret = &c.u.secret;
    assert_int_equal(run(fx, T0, &c).code, KLAXON__CODE__OK);
}

static void test_token_acknowledgement(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);
    uint8_t secret[SECRET_LEN];
    struct ack_token t = {id, T0 + 60 * MIN, 1, "alice"};
    char good[TOKEN_MAX];
    char forged[TOKEN_MAX];
    struct apply_result r;
    Klaxon__Incident *inc;

    r = ack(fx, T0 + SEC, 0, "k1.AAAA.AAAA");
    assert_int_equal(r.code, KLAXON__CODE__PERMISSION_DENIED);
    set_secret(fx, 7);
    set_secret(fx, 9); /* the first secret stays */
    assert_true(fx->fsm.env.has_secret);
    memset(secret, 7, sizeof secret);
    assert_int_equal(token_make(secret, sizeof secret, &t, good, sizeof good),
                     0);
    memset(secret, 9, sizeof secret);
    assert_int_equal(
        token_make(secret, sizeof secret, &t, forged, sizeof forged), 0);
    r = ack(fx, T0 + SEC, 0, forged);
    assert_int_equal(r.code, KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "signature"));
    inc = load(fx, id);
    assert_int_equal(inc->status, KLAXON__STATUS__TRIGGERED);
    klaxon__incident__free_unpacked(inc, NULL);
    r = ack(fx, T0 + 2 * SEC, 0, good);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    inc = load(fx, id);
    assert_int_equal(inc->status, KLAXON__STATUS__ACKNOWLEDGED);
    assert_string_equal(inc->acknowledged_by, "alice");
    klaxon__incident__free_unpacked(inc, NULL);
    /* the same token after its expiry */
    r = ack(fx, T0 + 61 * MIN, 0, good);
    assert_int_equal(r.code, KLAXON__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "expired"));
}

static void test_response_target_and_reminder(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "batch", 1, NULL);
    Klaxon__Incident *inc;

    /* escalation at +1m, +3m, +4m, +6m; response target at +5m */
    tick_all(fx, T0 + MIN);
    tick_all(fx, T0 + 3 * MIN);
    tick_all(fx, T0 + 4 * MIN);
    assert_int_equal(tick_all(fx, T0 + 5 * MIN), 1);
    inc = load(fx, id);
    assert_true(inc->response_missed);
    assert_false(inc->resolution_missed);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(counter(fx, COUNT_RESPONSE_MISSED), 1);
    assert_true(
        has_event(fx, id, KLAXON__EVENT_KIND__EVENT_TARGET_MISSED, "response"));
    /* The commander is reminded at +30m and pages go to the manager. */
    tick_all(fx, T0 + 6 * MIN);
    assert_int_equal(tick_all(fx, T0 + 30 * MIN), 1);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "manager"), 1);
    /* Auto-resolve after 2 hours without an alert. */
    assert_int_equal(tick_all(fx, T0 + 120 * MIN), 2); /* reminder too */
    inc = load(fx, id);
    assert_int_equal(inc->status, KLAXON__STATUS__RESOLVED);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, NULL), 0);
}

static void test_tick_acts_once(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);
    uint8_t key[TIMER_KEY_MAX];
    uint8_t ref[8];
    size_t len;
    Klaxon__Incident *inc;
    struct cmd c;

    store_put_be64(ref, id);
    len = timer_key_encode(key, T0 + MIN, TIMER_ESCALATE, ref, 8);
    for (int i = 0; i < 2; i++) {
        cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_TICK);
        klaxon__cluster__tick__init(&c.u.tick);
        memcpy(c.key, key, len);
        c.u.tick.key.data = c.key;
        c.u.tick.key.len = len;
        c.c.tick = &c.u.tick;
        assert_int_equal(run(fx, T0 + MIN, &c).code, KLAXON__CODE__OK);
    }
    inc = load(fx, id);
    assert_int_equal(inc->escalation_level, 2);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(counter(fx, COUNT_ESCALATIONS), 1);
    /* A malformed key is refused and changes nothing. */
    c.u.tick.key.len = 3;
    assert_int_equal(run(fx, T0 + MIN, &c).code,
                     KLAXON__CODE__INVALID_ARGUMENT);
}

static void test_state_survives_reopen(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);
    Klaxon__Incident *inc;

    fsm_fixture_reopen(fx);
    /* the configuration is read back from the store */
    assert_int_equal(tick_all(fx, T0 + MIN), 1);
    inc = load(fx, id);
    assert_int_equal(inc->escalation_level, 2);
    klaxon__incident__free_unpacked(inc, NULL);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "bob"), 2);
}

/* Hourly turns with hand-off notices; the next-in-rotation target. */
static const char rota_yaml[] =
    "users:\n"
    "  - id: alice\n"
    "    contacts: [{type: webhook, url: \"http://127.0.0.1:9/alice\"}]\n"
    "  - id: carol\n"
    "    contacts: [{type: webhook, url: \"http://127.0.0.1:9/carol\"}]\n"
    "schedules:\n"
    "  - id: rota\n"
    "    layers:\n"
    "      - name: hourly\n"
    "        users: [alice, carol]\n"
    "        start: \"2023-11-14T22:00\"\n"
    "        turn: 1h\n"
    "escalation_policies:\n"
    "  - id: next\n"
    "    levels:\n"
    "      - timeout: 60s\n"
    "        targets: [{type: schedule_next, id: rota}]\n"
    "services:\n"
    "  - name: web\n"
    "    escalation_policy: next\n";

static void test_handoff_notice_and_next_target(void **state)
{
    struct fixture *fx = *state;
    uint64_t hour = 60 * MIN;
    uint64_t t23 = T0 - 13 * MIN - 20 * SEC + hour; /* 23:00Z */
    Klaxon__PagesResult *res;
    uint64_t id;

    assert_int_equal(set_yaml(fx, T0, rota_yaml, NULL), 2);
    /* alice is on call until 23:00; the next in the rotation is carol */
    id = trigger(fx, T0, "web", 1, NULL);
    assert_int_equal(
        count_pages(fx, id, KLAXON__PAGE_STATE__PAGE_PENDING, "carol"), 1);
    /* at 23:00 carol comes on call and gets a notice */
    /* the escalation ends (one level) and the response target passes */
    assert_int_equal(tick_all(fx, t23 - 1), 2);
    assert_int_equal(tick_all(fx, t23), 1);
    res = pages(fx, 0);
    assert_true(res->n_pages >= 1);
    assert_int_equal(res->pages[0]->kind, KLAXON__PAGE_KIND__PAGE_HANDOFF);
    assert_string_equal(res->pages[0]->user, "carol");
    assert_string_equal(res->pages[0]->schedule, "rota");
    assert_int_equal(res->pages[0]->shift_start_ms, t23);
    assert_int_equal(res->pages[0]->shift_end_ms, t23 + hour);
    klaxon__pages_result__free_unpacked(res, NULL);
    /* the next notice is armed for midnight, for alice */
    assert_int_equal(tick_all(fx, t23 + hour - 1), 0);
    assert_int_equal(tick_all(fx, t23 + hour), 1);
    res = pages(fx, 0);
    assert_string_equal(res->pages[0]->user, "alice");
    klaxon__pages_result__free_unpacked(res, NULL);
}

static void test_note_postpones_reminder(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger(fx, T0, "checkout", 1, NULL);
    Klaxon__Incident *inc;
    struct cmd c;

    cmd_init(&c, KLAXON__CLUSTER__COMMAND__OP_NOTE);
    klaxon__note_request__init(&c.u.note);
    c.u.note.incident_id = id;
    c.u.note.by = "manager";
    c.u.note.text = "mitigation deployed, watching";
    c.c.note = &c.u.note;
    assert_int_equal(run(fx, T0 + 20 * MIN, &c).code, KLAXON__CODE__OK);
    inc = load(fx, id);
    assert_int_equal(inc->last_update_ms, T0 + 20 * MIN);
    assert_int_equal(inc->timers->reminder_ms, T0 + 50 * MIN);
    klaxon__incident__free_unpacked(inc, NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fsm_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_versions),
        T(test_sev1_pages_level_one_then_escalates),
        T(test_repeat_then_unanswered),
        T(test_ack_cancels_and_times_out),
        T(test_resolve_stops_everything),
        T(test_severities),
        T(test_maintenance_window),
        T(test_heartbeat_miss_and_recovery),
        T(test_page_outcomes),
        T(test_token_acknowledgement),
        T(test_response_target_and_reminder),
        T(test_tick_acts_once),
        T(test_state_survives_reopen),
        T(test_handoff_notice_and_next_target),
        T(test_note_postpones_reminder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
