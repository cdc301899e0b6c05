/*
 * State machine tests on a temporary LMDB: every transition, dedup,
 * idempotent retries, replay, refusals without state change, snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "field_limits.h"
#include "fsm.h"
#include "incident.h"
#include "open_counts.h"
#include "requests.h"
#include "snapfile.h"
#include "snapshot.h"
#include "store.h"
#include "version.h"

#include "fsm_fixture.h"

#define T0 1700000000000ull

#define setup fsm_fixture_setup
#define teardown fsm_fixture_teardown

/* --- building commands -----------------------------------------------------
 */

struct cmd_buf
{
    Klaxon__Cluster__Command cmd;
    Klaxon__TriggerRequest trigger;
    Klaxon__AckRequest ack;
    Klaxon__ResolveRequest resolve;
    Klaxon__NoteRequest note;
    Klaxon__StatusUpdateRequest update;
    Klaxon__StatusUpdate up;
    char rid[32];
};

static void set_rid(struct cmd_buf *b, struct fixture *fx, const char *rid)
{
    if (rid == NULL) {
        snprintf(b->rid, sizeof b->rid, "req-%d", ++fx->request_counter);
    } else {
        snprintf(b->rid, sizeof b->rid, "%s", rid);
    }
    b->cmd.request_id.data = (uint8_t *)b->rid;
    b->cmd.request_id.len = strlen(b->rid);
}

static void make_trigger(struct cmd_buf *b,
                         struct fixture *fx,
                         const char *service,
                         unsigned sev,
                         const char *summary,
                         const char *dedup)
{
    klaxon__cluster__command__init(&b->cmd);
    klaxon__trigger_request__init(&b->trigger);
    b->trigger.service = (char *)service;
    b->trigger.severity = sev;
    b->trigger.summary = (char *)summary;
    b->trigger.source = "test-host";
    b->trigger.dedup_key = (char *)(dedup != NULL ? dedup : "");
    b->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
    b->cmd.trigger = &b->trigger;
    set_rid(b, fx, NULL);
}

static void make_ack(struct cmd_buf *b,
                     struct fixture *fx,
                     uint64_t id,
                     const char *by)
{
    klaxon__cluster__command__init(&b->cmd);
    klaxon__ack_request__init(&b->ack);
    b->ack.incident_id = id;
    b->ack.by = (char *)by;
    b->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_ACK;
    b->cmd.ack = &b->ack;
    set_rid(b, fx, NULL);
}

static void make_resolve(struct cmd_buf *b,
                         struct fixture *fx,
                         uint64_t id,
                         const char *by)
{
    klaxon__cluster__command__init(&b->cmd);
    klaxon__resolve_request__init(&b->resolve);
    b->resolve.incident_id = id;
    b->resolve.by = (char *)by;
    b->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_RESOLVE;
    b->cmd.resolve = &b->resolve;
    set_rid(b, fx, NULL);
}

static void make_note(struct cmd_buf *b,
                      struct fixture *fx,
                      uint64_t id,
                      const char *by,
                      const char *text)
{
    klaxon__cluster__command__init(&b->cmd);
    klaxon__note_request__init(&b->note);
    b->note.incident_id = id;
    b->note.by = (char *)by;
    b->note.text = (char *)text;
    b->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_NOTE;
    b->cmd.note = &b->note;
    set_rid(b, fx, NULL);
}

/* Apply commands as one entry at the next index with the given time. */
static void apply_at(struct fixture *fx,
                     uint64_t time_ms,
                     struct cmd_buf **cmds,
                     size_t n)
{
    Klaxon__Cluster__Command *arr[FIXTURE_MAX_CMDS];

    for (size_t i = 0; i < n; i++) {
        arr[i] = &cmds[i]->cmd;
    }
    fsm_fixture_apply(fx, time_ms, arr, n);
}

/* Apply one command at time T0 + index seconds and return its result. */
static struct apply_result apply1(struct fixture *fx, struct cmd_buf *b)
{
    struct cmd_buf *cmds[1] = {b};
    apply_at(fx, T0 + fx->index * 1000, cmds, 1);
    return fx->results[0];
}

static Klaxon__GetResult *get(struct fixture *fx, uint64_t id)
{
    MDB_txn *txn;
    Klaxon__GetResult *res = NULL;
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(incident_get(txn, &fx->store, id, &res), 0);
    mdb_txn_abort(txn);
    return res;
}

static int exists(struct fixture *fx, uint64_t id)
{
    MDB_txn *txn;
    Klaxon__Incident *inc = NULL;
    int rv;
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    rv = incident_load(txn, &fx->store, id, &inc);
    mdb_txn_abort(txn);
    if (inc != NULL) {
        klaxon__incident__free_unpacked(inc, NULL);
    }
    return rv == 0;
}

/* FNV-1a over the incident tables (not meta or request ids, which change
 * with every applied entry by design). */
static uint64_t digest(struct fixture *fx)
{
    static const int tables[] = {TABLE_INCIDENTS, TABLE_TIMELINE, TABLE_DEDUP,
                                 TABLE_OPEN};
    uint64_t h = 1469598103934665603ull;
    MDB_txn *txn;

    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        MDB_cursor *cur;
        MDB_val k;
        MDB_val v;
        assert_int_equal(mdb_cursor_open(txn, fx->store.dbi[tables[t]], &cur),
                         0);
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
            for (size_t i = 0; i < k.mv_size; i++) {
                h = (h ^ ((uint8_t *)k.mv_data)[i]) * 1099511628211ull;
            }
            for (size_t i = 0; i < v.mv_size; i++) {
                h = (h ^ ((uint8_t *)v.mv_data)[i]) * 1099511628211ull;
            }
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return h;
}

static uint64_t trigger_ok(struct fixture *fx,
                           const char *service,
                           const char *dedup)
{
    struct cmd_buf b;
    struct apply_result r;
    make_trigger(&b, fx, service, 1, "database down", dedup);
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    return r.incident_id;
}

/* --- tests -----------------------------------------------------------------
 */

static void test_trigger_opens_incident(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r;
    Klaxon__GetResult *g;

    make_trigger(&b, fx, "payments", 2, "error rate > 50%", "db-pool");
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.incident_id, 1);
    assert_false(r.deduplicated);
    assert_int_equal(r.alert_count, 1);
    assert_int_equal(r.status, KLAXON__STATUS__TRIGGERED);

    g = get(fx, 1);
    assert_string_equal(g->incident->service, "payments");
    assert_int_equal(g->incident->severity, 2);
    assert_string_equal(g->incident->summary, "error rate > 50%");
    assert_string_equal(g->incident->source, "test-host");
    assert_string_equal(g->incident->dedup_key, "db-pool");
    assert_int_equal(g->incident->created_ms, T0);
    /* opened, and nobody paged: no on-call configuration */
    assert_int_equal(g->n_timeline, 2);
    assert_int_equal(g->timeline[0]->kind, KLAXON__EVENT_KIND__EVENT_TRIGGERED);
    assert_int_equal(g->timeline[0]->at_ms, T0);
    assert_int_equal(g->timeline[1]->kind, KLAXON__EVENT_KIND__EVENT_NOT_PAGED);
    klaxon__get_result__free_unpacked(g, NULL);
    assert_int_equal(fx->fsm.applied, 1);
    assert_int_equal(store_applied_index(&fx->store), 1);
}

/* Open incidents of service at severity per the counts kept beside the
 * state (0 when the service has none). */
static uint64_t open_count(struct fixture *fx, const char *service, int sev)
{
    struct open_counts *oc = &fx->fsm.env.open;
    MDB_txn *txn = fsm_fixture_read(fx);

    assert_int_equal(open_counts_get(oc, txn, &fx->store), 0);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < oc->n; i++) {
        if (strcmp(oc->v[i].service, service) == 0) {
            return oc->v[i].by_sev[sev - 1];
        }
    }
    return 0;
}

static void test_open_counts_follow_apply(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    uint64_t db, web;

    assert_int_equal(open_count(fx, "db", 1), 0); /* built: empty */
    db = trigger_ok(fx, "db", "a");
    trigger_ok(fx, "db", "a"); /* attaches: still one */
    trigger_ok(fx, "db", "b");
    web = trigger_ok(fx, "web", "a");
    make_trigger(&b, fx, "web", 3, "slow", "c");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    assert_int_equal(open_count(fx, "db", 1), 2);
    assert_int_equal(open_count(fx, "web", 1), 1);
    assert_int_equal(open_count(fx, "web", 3), 1);
    make_ack(&b, fx, db, "alice"); /* acknowledged is still open */
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    assert_int_equal(open_count(fx, "db", 1), 2);
    make_resolve(&b, fx, db, "alice");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    make_resolve(&b, fx, web, "alice");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    assert_int_equal(open_count(fx, "db", 1), 1);
    assert_int_equal(open_count(fx, "web", 1), 0);
    assert_int_equal(open_count(fx, "web", 3), 1);
    /* A restart rebuilds the same counts from the open index. */
    fsm_fixture_reopen(fx);
    assert_false(fx->fsm.env.open.valid);
    assert_int_equal(open_count(fx, "db", 1), 1);
    assert_int_equal(open_count(fx, "web", 1), 0);
    assert_int_equal(open_count(fx, "web", 3), 1);
}

static void test_dedup_attaches_to_open_incident(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r;
    Klaxon__GetResult *g;
    uint64_t id = trigger_ok(fx, "payments", "db-pool");

    make_trigger(&b, fx, "payments", 1, "still failing", "db-pool");
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.incident_id, id);
    assert_true(r.deduplicated);
    assert_int_equal(r.alert_count, 2);

    /* Same key on another service is another incident. */
    assert_int_not_equal(trigger_ok(fx, "search", "db-pool"), id);
    /* No dedup key: always a new incident. */
    assert_int_not_equal(trigger_ok(fx, "payments", NULL), id);
    assert_int_not_equal(trigger_ok(fx, "payments", NULL), id);

    g = get(fx, id);
    assert_int_equal(g->incident->alert_count, 2);
    assert_int_equal(g->n_timeline, 3);
    assert_int_equal(g->timeline[2]->kind, KLAXON__EVENT_KIND__EVENT_ALERT);
    assert_string_equal(g->timeline[2]->message, "still failing");
    klaxon__get_result__free_unpacked(g, NULL);
}

static void test_dedup_while_acknowledged(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r;
    uint64_t id = trigger_ok(fx, "payments", "k");

    make_ack(&b, fx, id, "alice");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    make_trigger(&b, fx, "payments", 1, "again", "k");
    r = apply1(fx, &b);
    assert_int_equal(r.incident_id, id);
    assert_true(r.deduplicated);
    assert_int_equal(r.status, KLAXON__STATUS__ACKNOWLEDGED);
}

static void test_resolve_frees_dedup_key(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r;
    uint64_t id = trigger_ok(fx, "payments", "db-pool");
    uint64_t id2;

    make_resolve(&b, fx, id, "bob");
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.status, KLAXON__STATUS__RESOLVED);
    id2 = trigger_ok(fx, "payments", "db-pool");
    assert_int_not_equal(id2, id);
    /* The new incident owns the key now. */
    make_trigger(&b, fx, "payments", 1, "x", "db-pool");
    r = apply1(fx, &b);
    assert_int_equal(r.incident_id, id2);
    assert_true(r.deduplicated);
}

static void test_lifecycle_and_timeline(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r;
    Klaxon__GetResult *g;
    uint64_t id = trigger_ok(fx, "payments", NULL);

    make_ack(&b, fx, id, "alice");
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.status, KLAXON__STATUS__ACKNOWLEDGED);
    make_ack(&b, fx, id, "carol");
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK); /* re-acknowledge */
    make_note(&b, fx, id, "alice", "rolled back v2.1");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    make_resolve(&b, fx, id, "bob");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    make_note(&b, fx, id, "bob", "postmortem scheduled");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);

    g = get(fx, id);
    assert_int_equal(g->incident->status, KLAXON__STATUS__RESOLVED);
    assert_string_equal(g->incident->acknowledged_by, "carol");
    assert_string_equal(g->incident->resolved_by, "bob");
    assert_true(g->incident->resolved_ms > g->incident->acknowledged_ms);
    assert_int_equal(g->n_timeline, 7); /* [1]: nobody paged */
    assert_int_equal(g->timeline[2]->kind,
                     KLAXON__EVENT_KIND__EVENT_ACKNOWLEDGED);
    assert_string_equal(g->timeline[2]->actor, "alice");
    assert_string_equal(g->timeline[3]->message, "acknowledged again");
    assert_int_equal(g->timeline[4]->kind, KLAXON__EVENT_KIND__EVENT_NOTE);
    assert_string_equal(g->timeline[4]->message, "rolled back v2.1");
    assert_int_equal(g->timeline[5]->kind, KLAXON__EVENT_KIND__EVENT_RESOLVED);
    assert_string_equal(g->timeline[5]->actor, "bob");
    for (size_t i = 1; i < g->n_timeline; i++) {
        assert_true(g->timeline[i]->at_ms >= g->timeline[i - 1]->at_ms);
    }
    klaxon__get_result__free_unpacked(g, NULL);
}

static void test_retry_returns_original_result(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct apply_result r1;
    struct apply_result r2;
    uint64_t before;
    Klaxon__GetResult *g;

    make_trigger(&b, fx, "payments", 1, "down", "k1");
    set_rid(&b, fx, "same-request");
    r1 = apply1(fx, &b);
    before = digest(fx);
    r2 = apply1(fx, &b); /* same request id, a later entry */
    assert_int_equal(digest(fx), before);
    assert_int_equal(r2.code, r1.code);
    assert_int_equal(r2.incident_id, r1.incident_id);
    assert_int_equal(r2.alert_count, 1);
    assert_false(r2.deduplicated);
    g = get(fx, r1.incident_id);
    assert_int_equal(g->incident->alert_count, 1);
    klaxon__get_result__free_unpacked(g, NULL);

    /* A refused write is remembered too. */
    make_ack(&b, fx, 999, "alice");
    set_rid(&b, fx, "ack-999");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__NOT_FOUND);
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__NOT_FOUND);
}

static void test_duplicates_inside_one_entry(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf a;
    struct cmd_buf b;
    struct cmd_buf *cmds[2] = {&a, &b};

    make_trigger(&a, fx, "payments", 1, "down", NULL);
    make_trigger(&b, fx, "payments", 1, "down", NULL);
    set_rid(&a, fx, "dup");
    set_rid(&b, fx, "dup");
    apply_at(fx, T0, cmds, 2);
    assert_int_equal(fx->results[0].incident_id, fx->results[1].incident_id);
    assert_false(exists(fx, 2));
}

static void test_replay_is_skipped(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    Klaxon__Cluster__Command *arr[1];
    struct raft_buffer buf;
    uint64_t before;

    trigger_ok(fx, "payments", NULL);
    make_trigger(&b, fx, "payments", 1, "replayed", NULL);
    arr[0] = &b.cmd;
    e.version = 1;
    e.time_ms = T0;
    e.n_commands = 1;
    e.commands = arr;
    assert_int_equal(fsm_encode_entry(&e, &buf), 0);
    before = digest(fx);
    /* Index 1 is already in the state: replaying it changes nothing. */
    assert_int_equal(fsm_apply_entry(&fx->fsm, 1, buf.base, buf.len), 0);
    assert_int_equal(digest(fx), before);
    assert_int_equal(fx->fsm.n_skipped, 1);
    assert_false(exists(fx, 2));
    /* The same entry at a new index applies. */
    assert_int_equal(fsm_apply_entry(&fx->fsm, 2, buf.base, buf.len), 0);
    assert_true(exists(fx, 2));
    raft_free(buf.base);
}

static void test_state_survives_reopen(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger_ok(fx, "payments", "k");
    uint64_t before = digest(fx);

    fsm_fixture_reopen(fx);
    assert_false(fx->store.rebuilt);
    assert_int_equal(fx->fsm.applied, fx->index);
    assert_int_equal(digest(fx), before);
    assert_true(exists(fx, id));
}

static void expect_refused(struct fixture *fx,
                           struct cmd_buf *b,
                           int code,
                           const char *msg_part)
{
    uint64_t before = digest(fx);
    struct apply_result r = apply1(fx, b);
    assert_int_equal(r.code, code);
    if (strstr(r.message, msg_part) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", r.message, msg_part);
    }
    assert_int_equal(digest(fx), before);
}

/* ack and resolve naming the open incident by service and dedup key. */
static void test_ack_resolve_by_dedup_key(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger_ok(fx, "web", "k1");
    uint64_t other = trigger_ok(fx, "api", "k1"); /* same key, other service */
    struct cmd_buf b;
    struct apply_result r;
    Klaxon__GetResult *g;

    make_ack(&b, fx, 0, "events");
    b.ack.service = "web";
    b.ack.dedup_key = "k1";
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.incident_id, id);
    assert_int_equal(r.status, KLAXON__STATUS__ACKNOWLEDGED);
    make_resolve(&b, fx, 0, "events");
    b.resolve.service = "web";
    b.resolve.dedup_key = "k1";
    b.resolve.false_positive = 1;
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    assert_int_equal(r.incident_id, id);
    g = get(fx, id);
    assert_int_equal(g->incident->status, KLAXON__STATUS__RESOLVED);
    assert_true(g->incident->false_positive);
    klaxon__get_result__free_unpacked(g, NULL);
    g = get(fx, other);
    assert_int_equal(g->incident->status, KLAXON__STATUS__TRIGGERED);
    klaxon__get_result__free_unpacked(g, NULL);
    /* the key is free now: nothing open to resolve, nothing changes */
    make_resolve(&b, fx, 0, "events");
    b.resolve.service = "web";
    b.resolve.dedup_key = "k1";
    expect_refused(fx, &b, KLAXON__CODE__NOT_FOUND,
                   "no open incident of service web has dedup key k1");
    /* incident_id and a key together: refused by validation */
    make_ack(&b, fx, other, "events");
    b.ack.service = "api";
    b.ack.dedup_key = "k1";
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "not both");
}

static void make_update(struct cmd_buf *b,
                        struct fixture *fx,
                        uint64_t id,
                        Klaxon__PublicStatus status,
                        const char *message)
{
    klaxon__cluster__command__init(&b->cmd);
    klaxon__status_update_request__init(&b->update);
    klaxon__status_update__init(&b->up);
    b->up.status = status;
    b->up.message = (char *)message;
    b->update.incident_id = id;
    b->update.by = "alice";
    b->update.update = &b->up;
    b->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE;
    b->cmd.status_update = &b->update;
    set_rid(b, fx, NULL);
}

static void test_status_updates(void **state)
{
    struct fixture *fx = *state;
    uint64_t id = trigger_ok(fx, "payments", NULL);
    char *comps[2] = {"payments", "checkout"};
    struct cmd_buf b;
    struct apply_result r;
    Klaxon__GetResult *g;
    const Klaxon__TimelineEvent *e;

    make_update(&b, fx, id, KLAXON__PUBLIC_STATUS__INVESTIGATING, "looking");
    b.up.n_components = 2;
    b.up.components = comps;
    b.up.impact = "slow payments";
    r = apply1(fx, &b);
    assert_int_equal(r.code, KLAXON__CODE__OK);
    make_update(&b, fx, id, KLAXON__PUBLIC_STATUS__IDENTIFIED, "db pool");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    g = get(fx, id);
    assert_int_equal(g->incident->public_status,
                     KLAXON__PUBLIC_STATUS__IDENTIFIED);
    assert_int_equal(g->incident->n_components, 2); /* kept: none given */
    assert_string_equal(g->incident->components[1], "checkout");
    assert_string_equal(g->incident->impact, "slow payments");
    assert_true(g->incident->public_since_ms > 0);
    assert_int_equal(g->incident->status, KLAXON__STATUS__TRIGGERED);
    e = g->timeline[g->n_timeline - 1];
    assert_int_equal(e->kind, KLAXON__EVENT_KIND__EVENT_STATUS_UPDATE);
    assert_string_equal(e->message, "db pool");
    assert_non_null(e->update);
    assert_int_equal(e->update->status, KLAXON__PUBLIC_STATUS__IDENTIFIED);
    klaxon__get_result__free_unpacked(g, NULL);
    make_update(&b, fx, id, KLAXON__PUBLIC_STATUS__PUBLIC_RESOLVED, "fixed");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    g = get(fx, id);
    assert_int_equal(g->incident->status, KLAXON__STATUS__RESOLVED);
    assert_string_equal(g->incident->resolved_by, "alice");
    klaxon__get_result__free_unpacked(g, NULL);
    /* refusals change nothing */
    make_update(&b, fx, id, KLAXON__PUBLIC_STATUS__PUBLIC_NONE, "x");
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "status");
    make_update(&b, fx, id, KLAXON__PUBLIC_STATUS__MONITORING, "");
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "message");
    make_update(&b, fx, 999, KLAXON__PUBLIC_STATUS__MONITORING, "x");
    expect_refused(fx, &b, KLAXON__CODE__NOT_FOUND, "not found");
}

static void test_invalid_transitions(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    uint64_t id = trigger_ok(fx, "payments", NULL);

    make_ack(&b, fx, 12345, "alice");
    expect_refused(fx, &b, KLAXON__CODE__NOT_FOUND, "incident 12345 not found");
    make_resolve(&b, fx, 12345, "alice");
    expect_refused(fx, &b, KLAXON__CODE__NOT_FOUND, "not found");
    make_note(&b, fx, 12345, "alice", "x");
    expect_refused(fx, &b, KLAXON__CODE__NOT_FOUND, "not found");

    make_resolve(&b, fx, id, "bob");
    assert_int_equal(apply1(fx, &b).code, KLAXON__CODE__OK);
    make_ack(&b, fx, id, "alice");
    expect_refused(fx, &b, KLAXON__CODE__FAILED_PRECONDITION,
                   "is resolved (by bob); it cannot be acknowledged");
    make_resolve(&b, fx, id, "alice");
    expect_refused(fx, &b, KLAXON__CODE__FAILED_PRECONDITION,
                   "already resolved");
}

static void test_invalid_fields(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    char big[LIMIT_NOTE + 2];
    Klaxon__Detail d[LIMIT_DETAILS + 1];
    Klaxon__Detail *dp[LIMIT_DETAILS + 1];

    make_trigger(&b, fx, "payments", 1, "", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "summary: required");
    make_trigger(&b, fx, "payments", 1, "   ", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "summary: must not");
    make_trigger(&b, fx, "", 1, "x", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "service: required");
    make_trigger(&b, fx, "payments", 0, "x", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "severity: must be 1..4, got 0");
    make_trigger(&b, fx, "payments", 5, "x", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "severity: must be 1..4, got 5");

    memset(big, 'a', sizeof big);
    big[LIMIT_SERVICE + 1] = '\0';
    make_trigger(&b, fx, big, 1, "x", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "service: too long (129 bytes, at most 128)");
    memset(big, 'a', sizeof big);
    big[LIMIT_SUMMARY + 1] = '\0';
    make_trigger(&b, fx, "payments", 1, big, NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "summary: too long");
    memset(big, 'a', sizeof big);
    big[LIMIT_DEDUP_KEY + 1] = '\0';
    make_trigger(&b, fx, "payments", 1, "x", big);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "dedup_key: too long");
    make_trigger(&b, fx, "pay\x01ments", 1, "x", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "service: control character 0x01");
    make_trigger(&b, fx, "payments", 1, "bad \xC3\x28 utf8", NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "summary: not valid UTF-8");

    for (size_t i = 0; i <= LIMIT_DETAILS; i++) {
        klaxon__detail__init(&d[i]);
        d[i].key = "k";
        d[i].value = "v";
        dp[i] = &d[i];
    }
    make_trigger(&b, fx, "payments", 1, "x", NULL);
    b.trigger.details = dp;
    b.trigger.n_details = LIMIT_DETAILS + 1;
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "details: too many");
    b.trigger.n_details = 2;
    set_rid(&b, fx, NULL);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "details: duplicate key \"k\"");

    memset(big, 'a', sizeof big);
    big[LIMIT_NOTE + 1] = '\0';
    make_note(&b, fx, 1, "alice", big);
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "text: too long");
    make_ack(&b, fx, 0, "alice");
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "incident_id: required");
    make_ack(&b, fx, 1, "");
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT, "by: required");

    make_trigger(&b, fx, "payments", 1, "x", NULL);
    b.cmd.request_id.len = 0;
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "request_id: required");
    make_trigger(&b, fx, "payments", 1, "x", NULL);
    b.cmd.request_id.data = (uint8_t *)big;
    b.cmd.request_id.len = LIMIT_REQUEST_ID + 1;
    expect_refused(fx, &b, KLAXON__CODE__INVALID_ARGUMENT,
                   "request_id: too long");
    assert_false(exists(fx, 1));
}

static void test_undecodable_entry_is_skipped(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    uint64_t before;

    trigger_ok(fx, "payments", NULL);
    before = digest(fx);
    assert_int_equal(fsm_apply_entry(&fx->fsm, ++fx->index, junk, sizeof junk),
                     0);
    assert_int_equal(digest(fx), before);
    assert_int_equal(fx->fsm.applied, fx->index);
}

/* Encode cmds as one entry of format `version` and apply it at the next
 * index; fsm_apply_entry's return value. */
static int apply_raw(struct fixture *fx,
                     uint32_t version,
                     struct cmd_buf **cmds,
                     size_t n)
{
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    Klaxon__Cluster__Command *arr[FIXTURE_MAX_CMDS];
    struct raft_buffer buf;
    int rv;

    for (size_t i = 0; i < n; i++) {
        arr[i] = &cmds[i]->cmd;
    }
    e.version = version;
    e.time_ms = T0 + 1000 * (fx->index + 1);
    e.n_commands = n;
    e.commands = arr;
    assert_int_equal(fsm_encode_entry(&e, &buf), 0);
    rv = fsm_apply_entry(&fx->fsm, fx->index + 1, buf.base, buf.len);
    raft_free(buf.base);
    return rv;
}

/* An entry holding a command of a later apply version is not applied at
 * all (not even its known commands), and not skipped: apply fails, so the
 * node stops and applies it after an upgrade. */
static void test_too_new_command_stops_apply(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf known;
    struct cmd_buf newer;
    struct cmd_buf *cmds[2] = {&known, &newer};
    uint64_t before;
    uint64_t applied;

    trigger_ok(fx, "payments", NULL);
    before = digest(fx);
    applied = fx->fsm.applied;
    make_trigger(&known, fx, "web", 2, "fine", NULL);
    make_trigger(&newer, fx, "web", 2, "from the future", NULL);
    newer.cmd.min_version = APPLY_VERSION + 1;
    assert_int_not_equal(apply_raw(fx, 1, cmds, 2), 0);
    assert_int_equal(digest(fx), before);
    assert_int_equal(fx->fsm.applied, applied);
    assert_non_null(strstr(fx->fsm.too_new, "needs apply version"));

    /* An operation this build does not know at all. */
    make_trigger(&newer, fx, "web", 2, "unknown op", NULL);
    newer.cmd.op_case = KLAXON__CLUSTER__COMMAND__OP__NOT_SET;
    assert_int_not_equal(apply_raw(fx, 1, cmds + 1, 1), 0);
    assert_int_equal(digest(fx), before);
    assert_non_null(strstr(fx->fsm.too_new, "does not know"));

    /* The same commands at this build's version apply. */
    newer.cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_TRIGGER;
    newer.cmd.min_version = APPLY_VERSION;
    assert_int_equal(apply_raw(fx, 1, cmds, 2), 0);
    fx->index++;
    assert_int_equal(fx->fsm.applied, fx->index);
    assert_int_not_equal(digest(fx), before);
}

/* An entry of an unknown format is not skipped either. */
static void test_unknown_entry_format_stops_apply(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct cmd_buf *cmds[1] = {&b};
    uint64_t before;

    trigger_ok(fx, "payments", NULL);
    before = digest(fx);
    make_trigger(&b, fx, "web", 2, "format 2", NULL);
    assert_int_not_equal(apply_raw(fx, 2, cmds, 1), 0);
    assert_int_equal(digest(fx), before);
    assert_non_null(strstr(fx->fsm.too_new, "entry format 2"));
}

/* Which commands need which apply version. */
static void test_command_versions(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;

    make_trigger(&b, fx, "web", 2, "x", NULL);
    assert_int_equal(command_version(&b.cmd), 1);
    make_ack(&b, fx, 1, "alice");
    assert_int_equal(command_version(&b.cmd), 1);
    b.ack.incident_id = 0;
    b.ack.service = "web";
    b.ack.dedup_key = "k";
    assert_int_equal(command_version(&b.cmd), 2);
    make_resolve(&b, fx, 1, "alice");
    assert_int_equal(command_version(&b.cmd), 1);
    b.resolve.false_positive = true;
    assert_int_equal(command_version(&b.cmd), 2);
    make_note(&b, fx, 1, "alice", "text");
    assert_int_equal(command_version(&b.cmd), 1);
    b.cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE;
    assert_int_equal(command_version(&b.cmd), 2);
    b.cmd.op_case = KLAXON__CLUSTER__COMMAND__OP__NOT_SET;
    assert_int_equal(command_version(&b.cmd), UINT32_MAX);
}

static void test_time_is_monotonic(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct cmd_buf *cmds[1] = {&b};
    Klaxon__GetResult *g;

    make_trigger(&b, fx, "payments", 1, "x", NULL);
    apply_at(fx, T0 + 10000, cmds, 1);
    make_ack(&b, fx, 1, "alice");
    apply_at(fx, T0, cmds, 1); /* a leader whose clock is behind */
    g = get(fx, 1);
    assert_int_equal(g->incident->acknowledged_ms, T0 + 10000);
    klaxon__get_result__free_unpacked(g, NULL);
}

static void test_request_ids_expire(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf b;
    struct cmd_buf *cmds[1] = {&b};

    make_trigger(&b, fx, "payments", 1, "x", NULL);
    set_rid(&b, fx, "old");
    apply_at(fx, T0, cmds, 1);
    apply_at(fx, T0 + 1000, cmds, 1);
    assert_int_equal(fx->results[0].incident_id, 1);
    /* A day later the id is forgotten: the same id opens a new incident. */
    apply_at(fx, T0 + REQUEST_RETENTION_MS + 2000, cmds, 1);
    apply_at(fx, T0 + REQUEST_RETENTION_MS + 3000, cmds, 1);
    assert_int_equal(fx->results[0].incident_id, 2);
}

static size_t table_size(struct fixture *fx, int table)
{
    MDB_txn *txn;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_stat(txn, fx->store.dbi[table], &st), 0);
    mdb_txn_abort(txn);
    return st.ms_entries;
}

/* Expiry must outpace arrivals: one entry of 16 commands a day later
 * removes all 80 ids of the day before. */
static void test_request_expiry_keeps_up(void **state)
{
    struct fixture *fx = *state;
    struct cmd_buf bufs[16];
    struct cmd_buf *cmds[16];

    for (int round = 0; round < 6; round++) {
        uint64_t t = round < 5 ? T0 : T0 + REQUEST_RETENTION_MS + 1000;
        for (int i = 0; i < 16; i++) {
            make_trigger(&bufs[i], fx, "payments", 4, "x", NULL);
            cmds[i] = &bufs[i];
        }
        apply_at(fx, t, cmds, 16);
    }
    assert_int_equal(table_size(fx, TABLE_REQUESTS), 16);
    assert_int_equal(table_size(fx, TABLE_REQUEST_AGE), 16);
}

static void test_list_filters(void **state)
{
    struct fixture *fx = *state;
    Klaxon__ListRequest q = KLAXON__LIST_REQUEST__INIT;
    Klaxon__ListResult *res;
    struct cmd_buf b;
    MDB_txn *txn;

    for (int i = 0; i < 5; i++) {
        trigger_ok(fx, i % 2 ? "search" : "payments", NULL);
    }
    make_ack(&b, fx, 2, "alice");
    apply1(fx, &b);
    make_resolve(&b, fx, 3, "alice");
    apply1(fx, &b);

    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    q.filter = KLAXON__STATUS_FILTER__OPEN;
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 4);
    assert_int_equal(res->incidents[0]->id, 5); /* newest first */
    klaxon__list_result__free_unpacked(res, NULL);

    q.filter = KLAXON__STATUS_FILTER__ONLY_ACKNOWLEDGED;
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 1);
    assert_int_equal(res->incidents[0]->id, 2);
    klaxon__list_result__free_unpacked(res, NULL);

    q.filter = KLAXON__STATUS_FILTER__ONLY_RESOLVED;
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 1);
    assert_int_equal(res->incidents[0]->id, 3);
    klaxon__list_result__free_unpacked(res, NULL);

    q.filter = KLAXON__STATUS_FILTER__ANY;
    q.service = "payments";
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 3);
    klaxon__list_result__free_unpacked(res, NULL);

    q.service = "";
    q.limit = 2;
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 2);
    assert_true(res->more);
    q.before_id = res->incidents[1]->id;
    klaxon__list_result__free_unpacked(res, NULL);
    assert_int_equal(incident_list(txn, &fx->store, &q, &res), 0);
    assert_int_equal(res->n_incidents, 2);
    assert_int_equal(res->incidents[0]->id, 3);
    assert_int_equal(res->incidents[1]->id, 2);
    assert_true(res->more);
    klaxon__list_result__free_unpacked(res, NULL);
    mdb_txn_abort(txn);
}

static void test_snapshot_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct fixture *other;
    void *other_state;
    struct raft_buffer buf;
    struct cmd_buf b;
    MDB_txn *txn;
    char err[256];
    uint64_t applied;

    for (int i = 0; i < 50; i++) {
        trigger_ok(fx, "payments", i % 3 == 0 ? "shared" : NULL);
    }
    make_ack(&b, fx, 7, "alice");
    apply1(fx, &b);

    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(snapshot_dump(txn, &fx->store, &buf, err, sizeof err), 0);
    mdb_txn_abort(txn);
    assert_int_equal(snapshot_peek(buf.base, buf.len, &applied), 0);
    assert_int_equal(applied, fx->index);

    fsm_fixture_setup(&other_state);
    other = other_state;
    assert_int_equal(
        snapshot_load(&other->store, buf.base, buf.len, err, sizeof err), 0);
    assert_int_equal(digest(other), digest(fx));
    assert_int_equal(store_applied_index(&other->store), fx->index);

    /* A truncated snapshot is refused and changes nothing. */
    assert_int_equal(
        snapshot_load(&other->store, buf.base, buf.len - 3, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(digest(other), digest(fx));
    /* Garbage after the records too. */
    raft_free(buf.base);
    fsm_fixture_teardown(&other_state);
}

static void test_restore_keeps_newer_state(void **state)
{
    struct fixture *fx = *state;
    struct raft_buffer buf;
    struct raft_buffer copy;
    MDB_txn *txn;
    char err[256];
    uint64_t after;

    trigger_ok(fx, "payments", NULL);
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(snapshot_dump(txn, &fx->store, &buf, err, sizeof err), 0);
    mdb_txn_abort(txn);
    trigger_ok(fx, "payments", NULL);
    after = digest(fx);
    /* Restoring an older snapshot over a newer state keeps the state. */
    copy = buf;
    assert_int_equal(fx->fsm.iface.restore(&fx->fsm.iface, &copy), 0);
    assert_int_equal(digest(fx), after);
    assert_true(exists(fx, 2));
}

/* Take a snapshot the way libraft does: snapshot, snapshot_async (when
 * set), finalize; the buffer is returned (raft_malloc'd) in *out. */
static void take_snapshot(struct fixture *fx, struct raft_buffer *out)
{
    struct raft_fsm *i = &fx->fsm.iface;
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;

    assert_int_equal(i->snapshot(i, &bufs, &n), 0);
    if (i->snapshot_async != NULL) {
        assert_int_equal(i->snapshot_async(i, &bufs, &n), 0);
    }
    assert_int_equal(n, 1);
    *out = bufs[0];
    bufs[0].base = raft_malloc(1); /* finalize frees what it is given */
    assert_int_equal(i->snapshot_finalize(i, &bufs, &n), 0);
}

static void use_state_files(struct fixture *fx, char *snaps, char *raft)
{
    snprintf(snaps, 128, "%s/snapshots", fx->dir);
    snprintf(raft, 128, "%s/raft", fx->dir);
    assert_int_equal(mkdir(snaps, 0700), 0);
    assert_int_equal(mkdir(raft, 0700), 0);
    fx->fsm.snap_dir = snaps;
    fx->fsm.raft_dir = raft;
}

static void flip_byte(const char *dir, const char *file, long at)
{
    char path[512];
    FILE *fp;
    int c;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    fp = fopen(path, "r+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, at, SEEK_SET), 0);
    c = fgetc(fp);
    assert_int_equal(fseek(fp, at, SEEK_SET), 0);
    fputc(c ^ 0x40, fp);
    assert_int_equal(fclose(fp), 0);
}

/* The snapshot libraft keeps is a reference to a state file whose stream
 * is the full dump; another node restores from it; a damaged or missing
 * file is refused and changes nothing. */
static void test_snapshot_state_file(void **state)
{
    struct fixture *fx = *state;
    void *other_state;
    struct fixture *other;
    char snaps[128];
    char raft[128];
    struct raft_buffer ref_buf;
    struct raft_buffer full;
    struct raft_buffer dump;
    struct raft_buffer copy;
    struct snapfile_ref ref;
    MDB_txn *txn;
    char err[512];

    use_state_files(fx, snaps, raft);
    for (int i = 0; i < 40; i++) {
        trigger_ok(fx, "payments", i % 4 == 0 ? "shared" : NULL);
    }
    take_snapshot(fx, &ref_buf);
    assert_true(ref_buf.len < 200); /* a reference, not the state */
    assert_int_equal(snapfile_ref_decode(ref_buf.base, ref_buf.len, &ref), 1);
    assert_int_equal(ref.index, fx->index);
    assert_true(ref.size < ref.stream_bytes); /* compressed */

    /* The file holds exactly the format-1 dump of the same state. */
    assert_int_equal(snapfile_read(snaps, &ref, &full, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(snapshot_dump(txn, &fx->store, &dump, err, sizeof err), 0);
    mdb_txn_abort(txn);
    assert_int_equal(full.len, dump.len);
    assert_memory_equal(full.base, dump.base, dump.len);
    assert_int_equal(snapfile_ref_decode(dump.base, dump.len, &ref), 0);
    raft_free(full.base);
    raft_free(dump.base);

    /* A node with no state restores from the reference. */
    fsm_fixture_setup(&other_state);
    other = other_state;
    other->fsm.snap_dir = snaps;
    copy.len = ref_buf.len;
    copy.base = raft_malloc(copy.len);
    memcpy(copy.base, ref_buf.base, copy.len);
    assert_int_equal(other->fsm.iface.restore(&other->fsm.iface, &copy), 0);
    assert_int_equal(digest(other), digest(fx));
    assert_int_equal(store_applied_index(&other->store), fx->index);
    fsm_fixture_teardown(&other_state);

    /* A reference that disagrees with the file about the stream's size. */
    ref.stream_bytes--;
    assert_int_equal(snapfile_read(snaps, &ref, &full, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not decompress"));
    ref.stream_bytes++;

    /* One damaged byte: refused, nothing changes. */
    flip_byte(snaps, ref.file, 100);
    assert_int_equal(snapfile_read(snaps, &ref, &full, err, sizeof err), -1);
    assert_non_null(strstr(err, "damaged"));
    fsm_fixture_setup(&other_state);
    other = other_state;
    other->fsm.snap_dir = snaps;
    copy.base = raft_malloc(ref_buf.len);
    memcpy(copy.base, ref_buf.base, ref_buf.len);
    assert_int_equal(other->fsm.iface.restore(&other->fsm.iface, &copy),
                     RAFT_MALFORMED);
    raft_free(copy.base);
    assert_int_equal(store_applied_index(&other->store), 0);
    fsm_fixture_teardown(&other_state);

    /* A missing file names itself. */
    flip_byte(snaps, ref.file, 100);
    snprintf(ref.file, sizeof ref.file, "state-%020d.snap", 7);
    assert_int_equal(snapfile_read(snaps, &ref, &full, err, sizeof err), -1);
    assert_non_null(strstr(err, "state-00000000000000000007.snap"));
    raft_free(ref_buf.base);
}

/* A state file stays while a Raft snapshot names its index, or it is the
 * newest; others and temporary files go. */
static void test_state_file_prune(void **state)
{
    struct fixture *fx = *state;
    char snaps[128];
    char raft[128];
    char path[512];
    struct raft_buffer b[3];
    struct snapfile_ref ref[3];
    FILE *fp;

    use_state_files(fx, snaps, raft);
    for (int i = 0; i < 3; i++) {
        trigger_ok(fx, "payments", NULL);
        take_snapshot(fx, &b[i]);
        assert_int_equal(snapfile_ref_decode(b[i].base, b[i].len, &ref[i]), 1);
        raft_free(b[i].base);
        if (i == 0) { /* libraft's snapshot names the first file */
            snprintf(path, sizeof path, "%s/snapshot-2-%llu-99.meta", raft,
                     (unsigned long long)ref[0].index);
            fp = fopen(path, "w");
            assert_non_null(fp);
            fclose(fp);
        }
    }
    snprintf(path, sizeof path, "%s/state-00000000000000000001.snap.tmp",
             snaps);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);

    snapfile_prune(snaps, raft, ref[2].index);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", snaps, ref[i].file);
        assert_int_equal(access(path, F_OK) == 0, i != 1);
    }
    snprintf(path, sizeof path, "%s/state-00000000000000000001.snap.tmp",
             snaps);
    assert_int_equal(access(path, F_OK), -1);
    /* A Raft directory that cannot be read removes nothing. */
    snapfile_prune(snaps, "/nonexistent", 0);
    snprintf(path, sizeof path, "%s/%s", snaps, ref[2].file);
    assert_int_equal(access(path, F_OK), 0);
}

/* libraft 0.15 needs entry buffers padded to 8 bytes (its segment files
 * are finalized to 8-byte boundaries); every size must round-trip. */
static void test_entries_are_8_byte_aligned(void **state)
{
    struct fixture *fx = *state;
    char summary[80];

    for (size_t n = 1; n < sizeof summary; n++) {
        struct cmd_buf b;
        struct cmd_buf *cmds[1] = {&b};
        Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
        Klaxon__Cluster__Command *arr[1] = {&b.cmd};
        struct raft_buffer buf;

        memset(summary, 'x', n);
        summary[n] = '\0';
        make_trigger(&b, fx, "payments", 1, summary, NULL);
        e.version = 1;
        e.n_commands = 1;
        e.commands = arr;
        assert_int_equal(fsm_encode_entry(&e, &buf), 0);
        assert_int_equal(buf.len % 8, 0);
        raft_free(buf.base);
        apply_at(fx, T0, cmds, 1);
        assert_int_equal(fx->results[0].code, KLAXON__CODE__OK);
        assert_int_equal(fx->results[0].incident_id, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_counts_follow_apply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trigger_opens_incident, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dedup_attaches_to_open_incident,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_while_acknowledged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resolve_frees_dedup_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_and_timeline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_returns_original_result,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_inside_one_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_is_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_survives_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ack_resolve_by_dedup_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_transitions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_entry_is_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_new_command_stops_apply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_entry_format_stops_apply,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_is_monotonic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_ids_expire, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_expiry_keeps_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_state_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_file_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_keeps_newer_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_are_8_byte_aligned, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("fsm", tests, NULL, NULL);
}
