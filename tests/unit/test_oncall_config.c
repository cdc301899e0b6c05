/*
 * Unit tests of the on-call configuration: YAML parsing with defaults
 * (server/oncall_yaml.c), validation (server/oncall_check.c) and lookups
 * (server/oncall_config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oncall_config.h"

#define SPAN_FORMS                                                          \
    "expected a number and a unit: ms, s, m, h or d (24 hours), e.g. 30s, " \
    "5m, 12h, 3d"
#define TURN_FORMS                                                            \
    "expected daily, weekly, a number of days or weeks such as 2d or 2w, or " \
    "a duration such as 12h"
#define MIN_MS (60 * UINT64_C(1000))
#define HOUR_MS (60 * MIN_MS)

/* 2026-01-05T09:00 as local seconds; 2026-01-05 is a Monday. */
#define JAN5_0900 INT64_C(1767603600)

/* The reference file; error tests edit one piece of it. Line numbers in
 * the expected messages refer to it. */
static const char base_yaml[] =
    "users:\n"                                           /* 1 */
    "  - id: alice\n"                                    /* 2 */
    "    time_zone: Europe/Berlin\n"                     /* 3 */
    "    contacts:\n"                                    /* 4 */
    "      - type: webhook\n"                            /* 5 */
    "        url: http://127.0.0.1:9099/alice\n"         /* 6 */
    "      - type: email\n"                              /* 7 */
    "        address: alice@example.com\n"               /* 8 */
    "  - id: bob\n"                                      /* 9 */
    "    contacts:\n"                                    /* 10 */
    "      - type: exec\n"                               /* 11 */
    "        command: [/usr/local/bin/page, --urgent]\n" /* 12 */
    "schedules:\n"                                       /* 13 */
    "  - id: primary\n"                                  /* 14 */
    "    time_zone: UTC\n"                               /* 15 */
    "    layers:\n"                                      /* 16 */
    "      - name: weekly\n"                             /* 17 */
    "        users: [alice, bob]\n"                      /* 18 */
    "        start: \"2026-01-05T09:00\"\n"              /* 19 */
    "        turn: weekly\n"                             /* 20 */
    "        restrictions:\n"                            /* 21 */
    "          - type: daily\n"                          /* 22 */
    "            start: \"08:00\"\n"                     /* 23 */
    "            end: \"20:00\"\n"                       /* 24 */
    "    overrides:\n"                                   /* 25 */
    "      - user: bob\n"                                /* 26 */
    "        start: \"2026-01-07T09:00\"\n"              /* 27 */
    "        end: \"2026-01-08T09:00\"\n"                /* 28 */
    "escalation_policies:\n"                             /* 29 */
    "  - id: critical\n"                                 /* 30 */
    "    repeat: 3\n"                                    /* 31 */
    "    levels:\n"                                      /* 32 */
    "      - timeout: 5m\n"                              /* 33 */
    "        targets:\n"                                 /* 34 */
    "          - type: schedule\n"                       /* 35 */
    "            id: primary\n"                          /* 36 */
    "      - timeout_minutes: 10\n"                      /* 37 */
    "        targets:\n"                                 /* 38 */
    "          - type: user\n"                           /* 39 */
    "            id: bob\n"                              /* 40 */
    "services:\n"                                        /* 41 */
    "  - name: checkout\n"                               /* 42 */
    "    integration_key: 0123456789abcdef0123\n"        /* 43 */
    "    escalation_policy: critical\n"                  /* 44 */
    "    severities:\n"                                  /* 45 */
    "      1: { response: 2m }\n"                        /* 46 */
    "heartbeats:\n"                                      /* 47 */
    "  - name: backup\n"                                 /* 48 */
    "    service: checkout\n"                            /* 49 */
    "    interval: 1h\n"                                 /* 50 */
    "notifications:\n"                                   /* 51 */
    "  smtp_url: smtp://127.0.0.1:2525\n"                /* 52 */
    "  smtp_from: klaxon@example.com\n";                 /* 53 */

/* A PagerDuty escalation policy, written as PagerDuty does, with the
 * users and schedule it names. */
static const char pagerduty_yaml[] =
    "users:\n"
    "  - id: primary_oncall\n"
    "  - id: secondary_oncall\n"
    "  - id: engineering_manager\n"
    "  - id: vp_engineering\n"
    "schedules:\n"
    "  - id: engineering_team\n"
    "    layers:\n"
    "      - users: [primary_oncall, secondary_oncall]\n"
    "        start: \"2026-01-05T09:00\"\n"
    "        turn: weekly\n"
    "escalation_policies:\n"
    "  # escalation_policy.yaml\n"
    "  - id: critical\n"
    "    name: \"Critical Service On-Call\"\n"
    "    repeat: 3\n"
    "    escalation_rules:\n"
    "      - level: 1\n"
    "        timeout_minutes: 5\n"
    "        targets:\n"
    "          - type: user\n"
    "            id: primary_oncall\n"
    "      - level: 2\n"
    "        timeout_minutes: 10\n"
    "        targets:\n"
    "          - type: user\n"
    "            id: secondary_oncall\n"
    "          - type: schedule\n"
    "            id: engineering_team\n"
    "      - level: 3\n"
    "        timeout_minutes: 15\n"
    "        targets:\n"
    "          - type: user\n"
    "            id: engineering_manager\n"
    "          - type: user\n"
    "            id: vp_engineering\n";

struct fixture
{
    Klaxon__OncallConfig *cfg;
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

    oncall_config_free(f->cfg);
    free(f);
    return 0;
}

static int parse(struct fixture *f, const char *text)
{
    oncall_config_free(f->cfg);
    f->cfg = NULL;
    return oncall_config_parse("t.yaml", text, strlen(text), &f->cfg, f->err,
                               sizeof f->err);
}

static void parse_ok(struct fixture *f, const char *text)
{
    int rc = parse(f, text);

    if (rc != 0) {
        print_error("unexpected error: %s\n", f->err);
    }
    assert_int_equal(rc, 0);
    assert_string_equal(f->err, "");
    assert_non_null(f->cfg);
}

/* src with the first `from` replaced by `to` (malloc'd). */
static char *replace(const char *src, const char *from, const char *to)
{
    const char *at = strstr(src, from);
    size_t head;
    char *out;

    if (at == NULL) {
        print_error("not in the text: %s\n", from);
    }
    assert_non_null(at);
    head = (size_t)(at - src);
    out = malloc(strlen(src) + strlen(to) + 1);
    assert_non_null(out);
    memcpy(out, src, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void expect_error(struct fixture *f,
                         const char *text,
                         const char *expected)
{
    assert_int_equal(parse(f, text), -1);
    assert_string_equal(f->err, expected);
    assert_null(f->cfg);
}

/* base_yaml with `from` replaced by `to` must fail with `expected`. */
static void expect_edit(struct fixture *f,
                        const char *from,
                        const char *to,
                        const char *expected)
{
    char *text = replace(base_yaml, from, to);

    expect_error(f, text, expected);
    free(text);
}

/* The same, for messages with a reason from the time parsers: the
 * message must start with `head` and end with `tail`. */
static void expect_edit_parts(struct fixture *f,
                              const char *from,
                              const char *to,
                              const char *head,
                              const char *tail)
{
    char *text = replace(base_yaml, from, to);
    size_t n;

    assert_int_equal(parse(f, text), -1);
    free(text);
    n = strlen(f->err);
    if (strncmp(f->err, head, strlen(head)) != 0 || n < strlen(tail) ||
        strcmp(f->err + n - strlen(tail), tail) != 0) {
        print_error("got: %s\n", f->err);
        fail();
    }
    assert_null(f->cfg);
}

static char *read_example(void)
{
    const char *src = getenv("KLAXON_SRC");
    char path[4096];
    char *text;
    long len;
    FILE *fp;

    snprintf(path, sizeof path, "%s/deploy/examples/oncall.yaml",
             src != NULL ? src : ".");
    fp = fopen(path, "rb");
    if (fp == NULL) {
        print_error(
            "cannot open %s (run from the repository root or set "
            "KLAXON_SRC)\n",
            path);
    }
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    assert_true(len > 0);
    rewind(fp);
    text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    text[len] = '\0';
    fclose(fp);
    return text;
}

/* --- the example file ---------------------------------------------------- */

static void assert_example_users(const Klaxon__OncallConfig *c)
{
    static const char *const ids[] = {
        "alice",         "bob",   "charlie", "david", "eve",
        "frank",         "grace", "henry",   "ivan",  "judy",
        "kevin",         "laura", "mike",    "nancy", "engineering_manager",
        "vp_engineering"};
    const Klaxon__User *u;

    assert_int_equal(c->n_users, 16);
    for (size_t i = 0; i < 16; i++) {
        assert_string_equal(c->users[i]->id, ids[i]);
        assert_ptr_equal(oncall_user(c, ids[i]), c->users[i]);
    }
    u = oncall_user(c, "alice");
    assert_string_equal(u->name, "Alice");
    assert_string_equal(u->time_zone, "Europe/Berlin");
    assert_int_equal(u->n_contacts, 2);
    assert_int_equal(u->contacts[0]->kind,
                     KLAXON__CONTACT_KIND__CONTACT_WEBHOOK);
    assert_string_equal(u->contacts[0]->address, "http://127.0.0.1:9099/alice");
    assert_int_equal(u->contacts[1]->kind, KLAXON__CONTACT_KIND__CONTACT_EMAIL);
    assert_string_equal(u->contacts[1]->address, "alice@example.com");
    u = oncall_user(c, "bob");
    assert_int_equal(u->contacts[1]->kind, KLAXON__CONTACT_KIND__CONTACT_EXEC);
    assert_string_equal(u->contacts[1]->address, "/usr/bin/logger");
    assert_int_equal(u->contacts[1]->n_args, 2);
    assert_string_equal(u->contacts[1]->args[0], "-t");
    assert_string_equal(u->contacts[1]->args[1], "klaxon-page");
    u = oncall_user(c, "ivan");
    assert_string_equal(u->time_zone, "America/New_York");
    u = oncall_user(c, "laura");
    assert_string_equal(u->name, "Laura");
    assert_string_equal(u->time_zone, "UTC");
    assert_string_equal(oncall_user(c, "vp_engineering")->name,
                        "VP Engineering");
    assert_null(oncall_user(c, "zoe"));
}

static void assert_weekly(const Klaxon__Schedule *s, const char *const users[4])
{
    const Klaxon__Layer *l;

    assert_string_equal(s->time_zone, "Europe/Berlin");
    assert_true(s->handoff_notices);
    assert_int_equal(s->n_layers, 1);
    l = s->layers[0];
    assert_string_equal(l->name, "weekly");
    assert_int_equal(l->n_users, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(l->users[i], users[i]);
    }
    assert_true(l->start_local == JAN5_0900);
    assert_true(l->end_local == 0);
    assert_int_equal(l->turn_days, 7);
    assert_true(l->turn_s == 0);
    assert_int_equal(l->n_restrictions, 0);
}

static void assert_day_night(const Klaxon__Schedule *s)
{
    const Klaxon__Layer *day = s->layers[0];
    const Klaxon__Layer *night = s->layers[1];

    assert_string_equal(s->name, "Follow the sun");
    assert_int_equal(s->n_layers, 2);
    assert_int_equal(day->n_users, 7);
    assert_string_equal(day->users[6], "mike");
    assert_true(day->start_local == JAN5_0900 - 3600);
    assert_int_equal(day->turn_days, 1);
    assert_int_equal(day->n_restrictions, 1);
    assert_int_equal(day->restrictions[0]->kind,
                     KLAXON__RESTRICTION_KIND__RESTRICTION_DAILY);
    assert_int_equal(day->restrictions[0]->start_s, 8 * 3600);
    assert_int_equal(day->restrictions[0]->duration_s, 12 * 3600);
    assert_string_equal(night->users[0], "bob");
    assert_string_equal(night->users[6], "nancy");
    assert_true(night->start_local == JAN5_0900 + 11 * 3600);
    assert_int_equal(night->restrictions[0]->start_s, 20 * 3600);
    assert_int_equal(night->restrictions[0]->duration_s, 12 * 3600);
}

static void assert_example_schedules(const Klaxon__OncallConfig *c)
{
    static const char *const primary[] = {"alice", "charlie", "eve", "grace"};
    static const char *const secondary[] = {"bob", "david", "frank", "henry"};
    const Klaxon__Schedule *s;
    const Klaxon__Layer *l;

    assert_int_equal(c->n_schedules, 4);
    s = oncall_schedule(c, "primary");
    assert_string_equal(s->name, "Primary On-Call Engineer");
    assert_weekly(s, primary);
    assert_int_equal(s->n_overrides, 1);
    assert_string_equal(s->overrides[0]->user, "charlie");
    /* 09:00 in Berlin in January is 08:00 UTC. */
    assert_true(s->overrides[0]->start_ms == INT64_C(1767772800000));
    assert_true(s->overrides[0]->end_ms == INT64_C(1767945600000));
    s = oncall_schedule(c, "secondary");
    assert_weekly(s, secondary);
    assert_string_equal(s->overrides[0]->user, "judy");
    assert_true(s->overrides[0]->start_ms == INT64_C(1770019200000));
    assert_true(s->overrides[0]->end_ms == INT64_C(1770019200000) + 86400000);
    assert_day_night(oncall_schedule(c, "day-night"));
    s = oncall_schedule(c, "business-hours");
    assert_string_equal(s->name, "business-hours");
    assert_string_equal(s->time_zone, "America/New_York");
    assert_false(s->handoff_notices);
    l = s->layers[0];
    assert_int_equal(l->turn_days, 7);
    assert_int_equal(l->n_restrictions, 5);
    for (uint32_t d = 0; d < 5; d++) {
        assert_int_equal(l->restrictions[d]->kind,
                         KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY);
        assert_int_equal(l->restrictions[d]->start_day, d);
        assert_int_equal(l->restrictions[d]->start_s, 9 * 3600);
        assert_int_equal(l->restrictions[d]->duration_s, 8 * 3600);
    }
}

static void assert_target(const Klaxon__Target *t,
                          Klaxon__TargetKind kind,
                          const char *id)
{
    assert_int_equal(t->kind, kind);
    assert_string_equal(t->id, id);
}

static void assert_example_policies(const Klaxon__OncallConfig *c)
{
    const Klaxon__EscalationPolicy *p = oncall_policy(c, "critical");
    Klaxon__EscalationLevel *const *l = p->levels;

    assert_int_equal(c->n_escalation_policies, 3);
    assert_string_equal(p->name, "Critical Service On-Call");
    assert_int_equal(p->repeat, 3);
    assert_target(p->commander, KLAXON__TARGET_KIND__TARGET_USER,
                  "engineering_manager");
    assert_int_equal(p->n_levels, 3);
    assert_true(l[0]->timeout_ms == 5 * MIN_MS);
    assert_true(l[1]->timeout_ms == 10 * MIN_MS);
    assert_true(l[2]->timeout_ms == 15 * MIN_MS);
    assert_int_equal(l[0]->condition, KLAXON__CONDITION__IF_NOT_ACKNOWLEDGED);
    assert_int_equal(l[0]->n_targets, 1);
    assert_target(l[0]->targets[0], KLAXON__TARGET_KIND__TARGET_SCHEDULE,
                  "primary");
    assert_int_equal(l[1]->n_targets, 2);
    assert_target(l[1]->targets[1], KLAXON__TARGET_KIND__TARGET_SCHEDULE,
                  "day-night");
    assert_target(l[2]->targets[1], KLAXON__TARGET_KIND__TARGET_USER,
                  "vp_engineering");
    p = oncall_policy(c, "standard");
    assert_string_equal(p->name, "standard");
    assert_int_equal(p->repeat, 0);
    assert_null(p->commander);
    assert_true(p->levels[1]->timeout_ms == HOUR_MS);
    assert_target(p->levels[1]->targets[0],
                  KLAXON__TARGET_KIND__TARGET_SCHEDULE_NEXT, "business-hours");
    assert_int_equal(p->levels[2]->condition,
                     KLAXON__CONDITION__IF_NOT_RESOLVED);
    p = oncall_policy(c, "demo");
    assert_int_equal(p->n_levels, 2);
    assert_true(p->levels[0]->timeout_ms == 30000);
    assert_null(oncall_policy(c, "none"));
}

static void assert_rule(const Klaxon__SeverityRule *r,
                        unsigned severity,
                        Klaxon__Paging paging,
                        uint64_t response,
                        uint64_t resolution,
                        uint64_t update)
{
    assert_int_equal(r->severity, severity);
    assert_int_equal(r->paging, paging);
    assert_int_equal(oncall_paging(r), paging);
    assert_true(r->response_ms == response);
    assert_true(r->resolution_ms == resolution);
    assert_true(r->update_interval_ms == update);
}

/* The defaults of severity 1..4. */
static void assert_default_rules(const Klaxon__Service *s)
{
    assert_int_equal(s->n_severities, 4);
    assert_rule(oncall_severity(s, 1), 1, KLAXON__PAGING__PAGING_ESCALATE,
                5 * MIN_MS, 4 * HOUR_MS, 30 * MIN_MS);
    assert_rule(oncall_severity(s, 2), 2, KLAXON__PAGING__PAGING_ESCALATE,
                15 * MIN_MS, 8 * HOUR_MS, HOUR_MS);
    assert_rule(oncall_severity(s, 3), 3, KLAXON__PAGING__PAGING_FIRST_LEVEL,
                30 * MIN_MS, 24 * HOUR_MS, 0);
    assert_rule(oncall_severity(s, 4), 4, KLAXON__PAGING__PAGING_NONE, 0,
                72 * HOUR_MS, 0);
    assert_null(oncall_severity(s, 0));
    assert_null(oncall_severity(s, 5));
}

static void assert_example_services(const Klaxon__OncallConfig *c)
{
    const Klaxon__Service *s = oncall_service(c, "checkout");

    assert_int_equal(c->n_services, 4);
    assert_string_equal(s->description, "Web shop checkout");
    assert_string_equal(s->integration_key, "0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60");
    assert_string_equal(s->escalation_policy, "critical");
    assert_true(s->ack_timeout_ms == 4 * HOUR_MS);
    assert_true(s->auto_resolve_ms == 0);
    assert_default_rules(s);
    s = oncall_service(c, "payments");
    assert_true(s->auto_resolve_ms == 24 * HOUR_MS);
    assert_rule(oncall_severity(s, 3), 3, KLAXON__PAGING__PAGING_ESCALATE,
                30 * MIN_MS, 24 * HOUR_MS, 0);
    s = oncall_service(c, "internal-tools");
    assert_string_equal(s->integration_key, "");
    assert_rule(oncall_severity(s, 2), 2, KLAXON__PAGING__PAGING_FIRST_LEVEL,
                HOUR_MS, 8 * HOUR_MS, HOUR_MS);
    assert_rule(oncall_severity(s, 4), 4, KLAXON__PAGING__PAGING_NONE, 0,
                7 * 24 * HOUR_MS, 0);
    assert_null(oncall_service(c, "billing"));
}

static void assert_example_rest(const Klaxon__OncallConfig *c)
{
    const Klaxon__HeartbeatMonitor *h = oncall_heartbeat(c, "nightly-backup");
    const Klaxon__Notifications *n = c->notifications;

    assert_int_equal(c->n_heartbeats, 2);
    assert_string_equal(h->service, "payments");
    assert_true(h->interval_ms == 25 * HOUR_MS);
    assert_int_equal(h->severity, 2);
    assert_string_equal(h->summary,
                        "The nightly payments backup did not finish");
    h = oncall_heartbeat(c, "checkout-canary");
    assert_true(h->interval_ms == 5 * MIN_MS);
    assert_int_equal(h->severity, 1);
    assert_string_equal(h->summary,
                        "heartbeat checkout-canary missed its check-in");
    assert_null(oncall_heartbeat(c, "nope"));
    assert_string_equal(n->smtp_url, "smtp://127.0.0.1:2525");
    assert_string_equal(n->smtp_from, "klaxon@example.com");
    assert_string_equal(n->smtp_username, "");
    assert_true(n->timeout_ms == 10000);
    assert_int_equal(n->max_attempts, 5);
    assert_true(n->retry_base_ms == 1000);
    assert_string_equal(n->ack_url, "");
    assert_true(n->token_ttl_ms == 24 * HOUR_MS);
}

static void assert_example(const Klaxon__OncallConfig *c)
{
    char err[256];

    assert_example_users(c);
    assert_example_schedules(c);
    assert_example_policies(c);
    assert_example_services(c);
    assert_example_rest(c);
    assert_int_equal(oncall_config_validate(c, err, sizeof err), 0);
    assert_string_equal(err, "");
}

static void test_example_file(void **state)
{
    struct fixture *f = *state;
    char *text = read_example();

    parse_ok(f, text);
    free(text);
    assert_example(f->cfg);
}

/* Packed, unpacked and validated again, the example is the same config. */
static void test_example_round_trip(void **state)
{
    struct fixture *f = *state;
    char *text = read_example();
    size_t len;
    uint8_t *buf;
    uint8_t *again;
    Klaxon__OncallConfig *copy;

    parse_ok(f, text);
    free(text);
    len = klaxon__oncall_config__get_packed_size(f->cfg);
    buf = malloc(len);
    again = malloc(len);
    assert_non_null(buf);
    assert_non_null(again);
    assert_int_equal(klaxon__oncall_config__pack(f->cfg, buf), len);
    copy = klaxon__oncall_config__unpack(NULL, len, buf);
    assert_non_null(copy);
    assert_example(copy);
    assert_int_equal(klaxon__oncall_config__get_packed_size(copy), len);
    assert_int_equal(klaxon__oncall_config__pack(copy, again), len);
    assert_memory_equal(buf, again, len);
    oncall_config_free(copy);
    free(again);
    free(buf);
}

/* --- valid files --------------------------------------------------------- */

static void test_reference_file(void **state)
{
    struct fixture *f = *state;
    const Klaxon__OncallConfig *c;
    const Klaxon__Layer *l;

    parse_ok(f, base_yaml);
    c = f->cfg;
    assert_string_equal(c->users[1]->contacts[0]->address,
                        "/usr/local/bin/page");
    assert_string_equal(c->users[1]->contacts[0]->args[0], "--urgent");
    l = c->schedules[0]->layers[0];
    assert_int_equal(l->restrictions[0]->start_s, 8 * 3600);
    assert_int_equal(l->restrictions[0]->duration_s, 12 * 3600);
    assert_true(c->schedules[0]->overrides[0]->start_ms ==
                (JAN5_0900 + 2 * 86400) * 1000);
    assert_true(c->escalation_policies[0]->levels[0]->timeout_ms == 5 * MIN_MS);
    assert_true(c->escalation_policies[0]->levels[1]->timeout_ms ==
                10 * MIN_MS);
    assert_rule(c->services[0]->severities[0], 1,
                KLAXON__PAGING__PAGING_ESCALATE, 2 * MIN_MS, 4 * HOUR_MS,
                30 * MIN_MS);
}

static void test_defaults(void **state)
{
    static const char text[] =
        "users:\n"
        "  - id: alice\n"
        "schedules:\n"
        "  - id: s\n"
        "    layers:\n"
        "      - { users: [alice], start: 2026-01-05, turn: daily }\n"
        "escalation_policies:\n"
        "  - id: p\n"
        "    levels: [{ timeout: 30s, targets: [{ type: user, id: alice }] }]\n"
        "services:\n"
        "  - name: web\n"
        "heartbeats:\n"
        "  - { name: cron, service: web, interval: 10m }\n";
    struct fixture *f = *state;
    const Klaxon__OncallConfig *c;
    const Klaxon__Notifications *n;

    parse_ok(f, text);
    c = f->cfg;
    assert_string_equal(c->users[0]->name, "alice");
    assert_string_equal(c->users[0]->time_zone, "UTC");
    assert_int_equal(c->users[0]->n_contacts, 0);
    assert_string_equal(c->schedules[0]->name, "s");
    assert_string_equal(c->schedules[0]->time_zone, "UTC");
    assert_true(c->schedules[0]->handoff_notices);
    assert_string_equal(c->schedules[0]->layers[0]->name, "layer 1");
    assert_true(c->schedules[0]->layers[0]->start_local ==
                JAN5_0900 - 9 * 3600);
    assert_int_equal(c->schedules[0]->n_overrides, 0);
    assert_string_equal(c->escalation_policies[0]->name, "p");
    assert_int_equal(c->escalation_policies[0]->repeat, 0);
    assert_true(c->escalation_policies[0]->levels[0]->timeout_ms == 30000);
    assert_string_equal(c->services[0]->escalation_policy, "");
    assert_true(c->services[0]->ack_timeout_ms == 0);
    assert_default_rules(c->services[0]);
    assert_int_equal(c->heartbeats[0]->severity, 2);
    assert_string_equal(c->heartbeats[0]->summary,
                        "heartbeat cron missed its check-in");
    n = c->notifications;
    assert_non_null(n);
    assert_string_equal(n->smtp_url, "");
    assert_true(n->timeout_ms == 10000);
    assert_int_equal(n->max_attempts, 5);
    assert_true(n->retry_base_ms == 1000);
    assert_true(n->token_ttl_ms == 24 * HOUR_MS);
}

static void test_empty_documents(void **state)
{
    static const char *const texts[] = {
        "", "# nothing yet\n", "users:\nschedules: []\nnotifications: ~\n"};
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        parse_ok(f, texts[i]);
        assert_int_equal(f->cfg->n_users, 0);
        assert_int_equal(f->cfg->n_schedules, 0);
        assert_non_null(f->cfg->notifications);
        assert_int_equal(f->cfg->notifications->max_attempts, 5);
    }
}

static void test_pagerduty_policy(void **state)
{
    struct fixture *f = *state;
    const Klaxon__EscalationPolicy *p;

    parse_ok(f, pagerduty_yaml);
    p = oncall_policy(f->cfg, "critical");
    assert_non_null(p);
    assert_string_equal(p->name, "Critical Service On-Call");
    assert_int_equal(p->repeat, 3);
    assert_int_equal(p->n_levels, 3);
    assert_true(p->levels[0]->timeout_ms == 5 * MIN_MS);
    assert_true(p->levels[1]->timeout_ms == 10 * MIN_MS);
    assert_true(p->levels[2]->timeout_ms == 15 * MIN_MS);
    assert_target(p->levels[0]->targets[0], KLAXON__TARGET_KIND__TARGET_USER,
                  "primary_oncall");
    assert_target(p->levels[1]->targets[1],
                  KLAXON__TARGET_KIND__TARGET_SCHEDULE, "engineering_team");
    assert_target(p->levels[2]->targets[1], KLAXON__TARGET_KIND__TARGET_USER,
                  "vp_engineering");
}

/* Each `turn` form of a layer. */
static void test_turns(void **state)
{
    static const struct
    {
        const char *turn;
        uint32_t days;
        uint64_t seconds;
    } cases[] = {{"daily", 1, 0}, {"weekly", 7, 0},  {"2d", 2, 0},
                 {"2w", 14, 0},   {"12h", 0, 43200}, {"30s", 0, 30},
                 {"90m", 0, 5400}};
    struct fixture *f = *state;
    char to[64];
    char *text;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(to, sizeof to, "turn: %s\n", cases[i].turn);
        text = replace(base_yaml, "turn: weekly\n", to);
        parse_ok(f, text);
        free(text);
        assert_int_equal(f->cfg->schedules[0]->layers[0]->turn_days,
                         cases[i].days);
        assert_true(f->cfg->schedules[0]->layers[0]->turn_s ==
                    cases[i].seconds);
    }
}

/* Restriction windows: end before start wraps, 24:00, weekly spans. */
static void test_restrictions(void **state)
{
    static const struct
    {
        const char *restriction;
        uint32_t start_day;
        uint32_t start_s;
        uint32_t duration_s;
    } cases[] = {
        {"{ type: daily, start: \"20:00\", end: \"08:00\" }", 0, 72000, 43200},
        {"{ type: daily, start: \"00:00\", end: \"24:00\" }", 0, 0, 86400},
        {"{ type: daily, start: \"9:30\", duration: 30m }", 0, 34200, 1800},
        {"{ type: daily, start: \"08:00:30\", end: \"08:01\" }", 0, 28830, 30},
        {"{ type: weekly, start_day: monday, start: \"09:00\", "
         "end_day: friday, end: \"17:00\" }",
         0, 32400, 4 * 86400 + 8 * 3600},
        {"{ type: weekly, start_day: friday, start: \"17:00\", "
         "end_day: monday, end: \"09:00\" }",
         4, 61200, 64 * 3600},
        {"{ type: weekly, start_day: sunday, start: \"00:00\", duration: 7d }",
         6, 0, 604800},
    };
    struct fixture *f = *state;
    const Klaxon__Restriction *r;
    char to[256];
    char *text;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(to, sizeof to, "        restrictions: [%s]\n",
                 cases[i].restriction);
        text = replace(base_yaml,
                       "        restrictions:\n"
                       "          - type: daily\n"
                       "            start: \"08:00\"\n"
                       "            end: \"20:00\"\n",
                       to);
        parse_ok(f, text);
        free(text);
        r = f->cfg->schedules[0]->layers[0]->restrictions[0];
        assert_int_equal(r->start_day, cases[i].start_day);
        assert_int_equal(r->start_s, cases[i].start_s);
        assert_int_equal(r->duration_s, cases[i].duration_s);
    }
}

static void test_values(void **state)
{
    static const char text[] =
        "users:\n"
        "  - { id: u, contacts: [{ type: exec, command: /bin/true }] }\n"
        "services:\n"
        "  - name: s\n"
        "    description: \"two\\nlines\"\n"
        "    ack_timeout: 2d\n"
        "    auto_resolve: none\n"
        "    severities:\n"
        "      Sev2: { response: none, update_interval: ~ }\n"
        "      SEV4: { paging: first_level, resolution: 1500ms }\n"
        "      3: ~\n"
        "notifications:\n"
        "  smtp_username: klaxon\n"
        "  smtp_password: \"s3cret word\"\n"
        "  timeout: 30s\n"
        "  max_attempts: 20\n"
        "  retry_base: 250ms\n"
        "  ack_url: https://klaxon.example.com/ack\n"
        "  token_ttl: 2h\n";
    struct fixture *f = *state;
    const Klaxon__Service *s;
    const Klaxon__Notifications *n;

    parse_ok(f, text);
    assert_string_equal(f->cfg->users[0]->contacts[0]->address, "/bin/true");
    assert_int_equal(f->cfg->users[0]->contacts[0]->n_args, 0);
    s = f->cfg->services[0];
    assert_string_equal(s->description, "two\nlines");
    assert_true(s->ack_timeout_ms == 48 * HOUR_MS);
    assert_true(s->auto_resolve_ms == 0);
    assert_rule(s->severities[1], 2, KLAXON__PAGING__PAGING_ESCALATE, 0,
                8 * HOUR_MS, HOUR_MS);
    assert_rule(s->severities[2], 3, KLAXON__PAGING__PAGING_FIRST_LEVEL,
                30 * MIN_MS, 24 * HOUR_MS, 0);
    assert_rule(s->severities[3], 4, KLAXON__PAGING__PAGING_FIRST_LEVEL, 0,
                1500, 0);
    n = f->cfg->notifications;
    assert_string_equal(n->smtp_username, "klaxon");
    assert_string_equal(n->smtp_password, "s3cret word");
    assert_true(n->timeout_ms == 30000);
    assert_int_equal(n->max_attempts, 20);
    assert_true(n->retry_base_ms == 250);
    assert_string_equal(n->ack_url, "https://klaxon.example.com/ack");
    assert_true(n->token_ttl_ms == 2 * HOUR_MS);
}

/* --- refusals: structure ------------------------------------------------- */

static void test_syntax_and_keys(void **state)
{
    struct fixture *f = *state;

    expect_error(f, "users: [\n",
                 "t.yaml:2: YAML syntax error: did not find expected node "
                 "content (while parsing a flow node at line 2)");
    expect_error(f, "- users\n",
                 "t.yaml:1: expected a mapping, got a sequence");
    expect_edit(f, "notifications:\n", "pagers: []\nnotifications:\n",
                "t.yaml:51: pagers: unknown field (known: users, schedules, "
                "escalation_policies, services, heartbeats, notifications)");
    expect_edit(f, "    time_zone: UTC\n", "    timezone: UTC\n",
                "t.yaml:15: schedules[0].timezone: unknown field (known: id, "
                "name, time_zone, handoff_notices, layers, overrides)");
    expect_error(f, "users: alice\n",
                 "t.yaml:1: users: expected a sequence, got a scalar");
    expect_edit(f, "    interval: 1h\n", "",
                "t.yaml:48: heartbeats[0].interval: required field is "
                "missing");
    expect_edit(f, "  - id: bob\n", "  - id:\n",
                "t.yaml:9: users[1].id: required field has no value");
    expect_edit(f, "    repeat: 3\n", "    repeat: three\n",
                "t.yaml:31: escalation_policies[0].repeat: invalid integer "
                "\"three\": not an unsigned integer");
    expect_edit(f, "  - name: checkout\n", "  - name: [checkout]\n",
                "t.yaml:42: services[0].name: expected a string, got a "
                "sequence");
}

static void test_contacts_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "      - type: exec\n", "      - type: sms\n",
                "t.yaml:11: users[1].contacts[0].type: invalid value \"sms\" "
                "(expected one of: webhook, email, exec)");
    expect_edit(f, "        address: alice@example.com\n",
                "        url: http://example.com\n",
                "t.yaml:8: users[0].contacts[1].url: unknown field (known: "
                "type, address)");
    expect_edit(f, "        address: alice@example.com\n", "",
                "t.yaml:7: users[0].contacts[1].address: required field is "
                "missing");
    expect_edit(f, "url: http://127.0.0.1:9099/alice",
                "url: ftp://127.0.0.1/alice",
                "t.yaml:6: users[0].contacts[0].url: invalid URL "
                "\"ftp://127.0.0.1/alice\": unsupported scheme (expected "
                "http://... or https://...)");
    expect_edit(f, "url: http://127.0.0.1:9099/alice", "url: https:///alice",
                "t.yaml:6: users[0].contacts[0].url: invalid URL "
                "\"https:///alice\": no host (expected http://... or "
                "https://...)");
    expect_edit(f, "address: alice@example.com", "address: alice@@example.com",
                "t.yaml:8: users[0].contacts[1].address: invalid e-mail "
                "address \"alice@@example.com\": must contain exactly one @");
    expect_edit(f, "address: alice@example.com", "address: alice.example.com",
                "t.yaml:8: users[0].contacts[1].address: invalid e-mail "
                "address \"alice.example.com\": must contain exactly one @");
    expect_edit(f, "address: alice@example.com",
                "address: \"alice smith@example.com\"",
                "t.yaml:8: users[0].contacts[1].address: invalid e-mail "
                "address \"alice smith@example.com\": contains a space or "
                "one of <>()[],;:\\\"");
    expect_edit(f, "address: alice@example.com",
                "address: \"alice@example.com\\r\\nBcc: eve@example.com\"",
                "t.yaml:8: users[0].contacts[1].address: control character "
                "0x0d at byte 17");
    expect_edit(f, "command: [/usr/local/bin/page, --urgent]",
                "command: [page, --urgent]",
                "t.yaml:12: users[1].contacts[0].command[0]: the program "
                "must be an absolute path");
    expect_edit(f, "command: [/usr/local/bin/page, --urgent]",
                "command: [/usr/local/bin/page, \"a\\tb\"]",
                "t.yaml:12: users[1].contacts[0].command[1]: control "
                "character 0x09 at byte 1");
    expect_edit(f, "command: [/usr/local/bin/page, --urgent]", "command: []",
                "t.yaml:12: users[1].contacts[0].command: must name the "
                "program");
}

static void test_users_refused(void **state)
{
    struct fixture *f = *state;
    char long_id[200];
    char to[256];
    char expected[512];

    expect_edit(f, "  - id: bob\n", "  - id: alice\n",
                "t.yaml:9: users[1].id: duplicate \"alice\" (also users[0])");
    expect_edit(f, "time_zone: Europe/Berlin", "time_zone: Mars/Olympus",
                "t.yaml:3: users[0].time_zone: unknown time zone "
                "\"Mars/Olympus\" (expected an IANA name such as UTC or "
                "Europe/Berlin)");
    expect_edit(f, "  - id: alice\n",
                "  - id: alice\n    name: \"Al\\x01ice\"\n",
                "t.yaml:3: users[0].name: control character 0x01 at byte 2");
    expect_edit(f, "  - id: bob\n", "  - id: \"\"\n",
                "t.yaml:9: users[1].id: must not be empty");
    memset(long_id, 'x', 129);
    long_id[129] = '\0';
    snprintf(to, sizeof to, "  - id: %s\n", long_id);
    snprintf(expected, sizeof expected,
             "t.yaml:9: users[1].id: too long (129 bytes, at most 128)");
    expect_edit(f, "  - id: bob\n", to, expected);
    expect_edit(f, "  - id: bob\n", "  - id: bob\n    api_token_sha256: ABC\n",
                "t.yaml:10: users[1].api_token_sha256: expected 64 lower-case "
                "hex digits (the SHA-256 of the token, e.g. printf %s TOKEN | "
                "sha256sum)");
}

/* event_severities and api_token_sha256 as given, and their refusals. */
static void test_http_fields(void **state)
{
    struct fixture *f = *state;
    char *tmp = replace(
        base_yaml, "  - id: bob\n",
        "  - id: bob\n    api_token_sha256: "
        "ef4f16b07d2d03dde2f853977edf7a02e6d3c4e2956ec2e7242ffaf3f326b80d\n");
    char *text =
        replace(tmp, "    escalation_policy: critical\n",
                "    escalation_policy: critical\n"
                "    event_severities: { Critical: 1, page: 1, warning: 2 }\n"
                "    event_severity_default: 3\n");
    const Klaxon__Service *svc;

    assert_int_equal(parse(f, text), 0);
    assert_string_equal(
        f->cfg->users[1]->api_token_sha256,
        "ef4f16b07d2d03dde2f853977edf7a02e6d3c4e2956ec2e7242ffaf3f326b80d");
    svc = f->cfg->services[0];
    assert_int_equal(svc->n_event_severities, 3);
    assert_string_equal(svc->event_severities[0]->name, "critical");
    assert_int_equal(svc->event_severities[0]->severity, 1);
    assert_string_equal(svc->event_severities[2]->name, "warning");
    assert_int_equal(svc->event_severities[2]->severity, 2);
    assert_int_equal(svc->event_severity_default, 3);
    free(text);
    free(tmp);
    expect_edit(
        f, "    escalation_policy: critical\n",
        "    escalation_policy: critical\n"
        "    event_severities: { page: 5 }\n",
        "t.yaml:45: services[0].event_severities.page: 5 is out of range "
        "(must be 1..4)");
    expect_edit(f, "    escalation_policy: critical\n",
                "    escalation_policy: critical\n"
                "    event_severities: { Page: 1, page: 2 }\n",
                "t.yaml:45: services[0].event_severities: severity word "
                "\"page\" given twice");
    expect_edit(f, "    escalation_policy: critical\n",
                "    escalation_policy: critical\n"
                "    event_severities: [critical]\n",
                "t.yaml:45: services[0].event_severities: expected a "
                "mapping, got a sequence");
}

/* --- refusals: schedules ------------------------------------------------- */

static void test_layers_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "users: [alice, bob]", "users: [alice, bobby]",
                "t.yaml:18: schedules[0].layers[0].users[1]: unknown user "
                "\"bobby\"");
    expect_edit(f, "users: [alice, bob]", "users: []",
                "t.yaml:18: schedules[0].layers[0].users: empty rotation "
                "(list at least one user)");
    expect_edit(f,
                "    layers:\n      - name: weekly\n        users: [alice, "
                "bob]\n        start: \"2026-01-05T09:00\"\n        turn: "
                "weekly\n        restrictions:\n          - type: daily\n"
                "            start: \"08:00\"\n            end: \"20:00\"\n",
                "    layers: []\n",
                "t.yaml:16: schedules[0].layers: a schedule needs at least "
                "one layer");
}

static void test_schedules_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "    time_zone: UTC\n",
                "    time_zone: UTC\n    layers: []\n",
                "t.yaml:17: schedules[0].layers: duplicate field (first at "
                "line 16)");
    expect_edit(f, "escalation_policies:\n",
                "  - id: primary\n    layers: [{ users: [bob], start: "
                "2026-01-01, turn: daily }]\nescalation_policies:\n",
                "t.yaml:29: schedules[1].id: duplicate \"primary\" (also "
                "schedules[0])");
    expect_edit(f, "        turn: weekly\n",
                "        end: \"2026-01-05T09:00\"\n        turn: weekly\n",
                "t.yaml:20: schedules[0].layers[0].end: must be after start");
    expect_edit(f, "turn: weekly", "turn: 0d",
                "t.yaml:20: schedules[0].layers[0].turn: must be positive "
                "(e.g. daily, weekly, 2d, 12h)");
    expect_edit(f, "turn: weekly", "turn: 0s",
                "t.yaml:20: schedules[0].layers[0].turn: must be positive "
                "(e.g. daily, weekly, 2d, 12h)");
    expect_edit(f, "turn: weekly", "turn: 366d",
                "t.yaml:20: schedules[0].layers[0].turn: too long (at most "
                "365 days)");
    expect_edit(f, "turn: weekly", "turn: 2635249153387078803w",
                "t.yaml:20: schedules[0].layers[0].turn: too long (at most "
                "365 days)");
    expect_edit(f, "turn: weekly", "turn: -1d",
                "t.yaml:20: schedules[0].layers[0].turn: invalid turn "
                "\"-1d\": must not be negative (" TURN_FORMS ")");
    expect_edit(f, "turn: weekly", "turn: 1500ms",
                "t.yaml:20: schedules[0].layers[0].turn: invalid turn "
                "\"1500ms\": must be a whole number of seconds (" TURN_FORMS
                ")");
    expect_edit(f, "turn: weekly", "turn: fortnightly",
                "t.yaml:20: schedules[0].layers[0].turn: invalid turn "
                "\"fortnightly\": does not start with a number (" TURN_FORMS
                ")");
    expect_edit(f, "        start: \"2026-01-05T09:00\"\n", "",
                "t.yaml:17: schedules[0].layers[0].start: required field is "
                "missing");
}

static void test_restrictions_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "            end: \"20:00\"\n", "            duration: 0s\n",
                "t.yaml:24: schedules[0].layers[0].restrictions[0].duration: "
                "0s is out of range (must be 1s..1d)");
    expect_edit(f, "            end: \"20:00\"\n",
                "            duration: 25h\n",
                "t.yaml:24: schedules[0].layers[0].restrictions[0].duration: "
                "25h is out of range (must be 1s..1d)");
    expect_edit(f, "            end: \"20:00\"\n",
                "            end: \"08:00\"\n",
                "t.yaml:24: schedules[0].layers[0].restrictions[0].end: the "
                "window is empty (end equals start)");
    expect_edit(f, "            end: \"20:00\"\n",
                "            end: \"20:00\"\n            duration: 1h\n",
                "t.yaml:25: schedules[0].layers[0].restrictions[0].duration: "
                "give either end or duration, not both");
    expect_edit(f, "            end: \"20:00\"\n", "",
                "t.yaml:22: schedules[0].layers[0].restrictions[0].duration: "
                "required field is missing (or give end)");
    expect_edit(f, "start: \"08:00\"", "start: \"25:00\"",
                "t.yaml:23: schedules[0].layers[0].restrictions[0].start: "
                "invalid time of day \"25:00\" (expected HH:MM or HH:MM:SS, "
                "00:00 to 23:59:59)");
    expect_edit(f, "end: \"20:00\"", "end: \"24:01\"",
                "t.yaml:24: schedules[0].layers[0].restrictions[0].end: "
                "invalid time of day \"24:01\" (expected HH:MM or HH:MM:SS, "
                "00:00 to 23:59:59, or 24:00)");
    expect_edit(f, "          - type: daily\n",
                "          - type: daily\n            start_day: monday\n",
                "t.yaml:23: schedules[0].layers[0].restrictions[0].start_day: "
                "unknown field (known: type, start, end, duration)");
    expect_edit(f, "          - type: daily\n",
                "          - type: weekly\n            start_day: funday\n",
                "t.yaml:23: schedules[0].layers[0].restrictions[0].start_day: "
                "invalid value \"funday\" (expected one of: monday, tuesday, "
                "wednesday, thursday, friday, saturday, sunday)");
    expect_edit(f, "          - type: daily\n",
                "          - type: weekly\n            start_day: monday\n",
                "t.yaml:22: schedules[0].layers[0].restrictions[0].end_day: "
                "required field is missing (with end)");
    expect_edit(f,
                "          - type: daily\n"
                "            start: \"08:00\"\n"
                "            end: \"20:00\"\n",
                "          - { type: weekly, start_day: monday, start: "
                "\"09:00\", duration: 169h }\n",
                "t.yaml:22: schedules[0].layers[0].restrictions[0].duration: "
                "169h is out of range (must be 1s..7d)");
}

static void test_times_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "end: \"2026-01-08T09:00\"", "end: \"2026-01-06T09:00\"",
                "t.yaml:28: schedules[0].overrides[0].end: must be after "
                "start");
    expect_edit(f, "      - user: bob\n", "      - user: carol\n",
                "t.yaml:26: schedules[0].overrides[0].user: unknown user "
                "\"carol\"");
    expect_edit_parts(f, "start: \"2026-01-05T09:00\"",
                      "start: \"2026-13-05T09:00\"",
                      "t.yaml:19: schedules[0].layers[0].start: invalid local "
                      "time \"2026-13-05T09:00\": ",
                      " (expected YYYY-MM-DDTHH:MM in the schedule's time "
                      "zone)");
    expect_edit_parts(f, "start: \"2026-01-05T09:00\"", "start: next monday",
                      "t.yaml:19: schedules[0].layers[0].start: invalid local "
                      "time \"next monday\": ",
                      "(expected YYYY-MM-DDTHH:MM in the schedule's time "
                      "zone)");
    expect_edit_parts(f, "start: \"2026-01-07T09:00\"",
                      "start: \"2026-01-07 nine\"",
                      "t.yaml:27: schedules[0].overrides[0].start: invalid "
                      "time \"2026-01-07 nine\": ",
                      "(expected YYYY-MM-DDTHH:MM in the schedule's time zone, "
                      "or RFC 3339 such as 2026-03-29T01:30:00Z)");
}

/* --- refusals: policies, services, heartbeats, notifications ------------- */

static void test_policies_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "            id: bob\n", "            id: bobby\n",
                "t.yaml:40: escalation_policies[0].levels[1].targets[0].id: "
                "unknown user \"bobby\"");
    expect_edit(f, "            id: primary\n", "            id: secondary\n",
                "t.yaml:36: escalation_policies[0].levels[0].targets[0].id: "
                "unknown schedule \"secondary\"");
    expect_edit(f, "          - type: user\n", "          - type: team\n",
                "t.yaml:39: escalation_policies[0].levels[1].targets[0].type: "
                "invalid value \"team\" (expected one of: user, schedule, "
                "schedule_next, schedule_previous)");
    expect_edit(f, "repeat: 3", "repeat: 101",
                "t.yaml:31: escalation_policies[0].repeat: 101 is out of "
                "range (must be 0..100)");
    expect_edit(f, "      - timeout: 5m\n",
                "      - level: 2\n        timeout: 5m\n",
                "t.yaml:33: escalation_policies[0].levels[0].level: is 2 but "
                "this is level 1 (levels are numbered 1, 2, ... in order)");
    expect_edit(f, "      - timeout: 5m\n",
                "      - timeout: 5m\n        timeout_minutes: 5\n",
                "t.yaml:33: escalation_policies[0].levels[0].timeout: give "
                "either timeout or timeout_minutes, not both");
    expect_edit(f, "      - timeout: 5m\n        targets:\n",
                "      - targets:\n",
                "t.yaml:33: escalation_policies[0].levels[0].timeout: "
                "required field is missing (or give timeout_minutes)");
    expect_edit(f, "timeout_minutes: 10", "timeout_minutes: 0",
                "t.yaml:37: escalation_policies[0].levels[1].timeout: 0s is "
                "out of range (must be 1s..1d)");
    expect_edit(f, "timeout: 5m", "timeout: 5",
                "t.yaml:33: escalation_policies[0].levels[0].timeout: invalid "
                "duration \"5\": missing unit (" SPAN_FORMS ")");
    expect_edit(f, "    levels:\n", "    escalation_rules: []\n    levels:\n",
                "t.yaml:34: escalation_policies[0].levels: give either levels "
                "or escalation_rules, not both");
    expect_edit(f,
                "    levels:\n      - timeout: 5m\n        targets:\n"
                "          - type: schedule\n            id: primary\n",
                "    levels:\n      - timeout: 5m\n        targets: []\n",
                "t.yaml:34: escalation_policies[0].levels[0].targets: a "
                "level needs at least one target");
    expect_edit(f, "    repeat: 3\n",
                "    repeat: 3\n    commander: { type: user, id: zed }\n",
                "t.yaml:32: escalation_policies[0].commander.id: unknown user "
                "\"zed\"");
    expect_edit(f, "      - timeout: 5m\n",
                "      - timeout: 5m\n        condition: acknowledged\n",
                "t.yaml:34: escalation_policies[0].levels[0].condition: "
                "invalid value \"acknowledged\" (expected one of: "
                "not_acknowledged, not_resolved)");
}

static void test_policy_without_levels(void **state)
{
    static const char text[] =
        "escalation_policies:\n"
        "  - id: empty\n"
        "    name: Empty\n";
    struct fixture *f = *state;

    expect_error(f, text,
                 "t.yaml:2: escalation_policies[0].levels: a policy needs at "
                 "least one level");
}

static void test_services_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "escalation_policy: critical", "escalation_policy: nope",
                "t.yaml:44: services[0].escalation_policy: unknown escalation "
                "policy \"nope\"");
    expect_edit(f, "integration_key: 0123456789abcdef0123",
                "integration_key: short",
                "t.yaml:43: services[0].integration_key: must be 16 to 128 "
                "characters without spaces (e.g. from openssl rand -hex 16)");
    expect_edit(f, "heartbeats:\n",
                "  - { name: other, integration_key: 0123456789abcdef0123 }\n"
                "heartbeats:\n",
                "t.yaml:47: services[1].integration_key: already the key of "
                "services[0]");
    expect_edit(f, "heartbeats:\n", "  - name: checkout\nheartbeats:\n",
                "t.yaml:47: services[1].name: duplicate \"checkout\" (also "
                "services[0])");
    expect_edit(f, "      1: { response: 2m }\n", "      5: { response: 2m }\n",
                "t.yaml:46: services[0].severities.5: unknown severity "
                "(expected 1..4 or sev1..sev4)");
    expect_edit(f, "      1: { response: 2m }\n",
                "      1: { response: 2m }\n      sev1: { paging: none }\n",
                "t.yaml:47: services[0].severities: severity 1 given twice "
                "(first at line 46)");
    expect_edit(f, "1: { response: 2m }", "1: { paging: loud }",
                "t.yaml:46: services[0].severities.sev1.paging: invalid value "
                "\"loud\" (expected one of: escalate, first_level, none)");
    expect_edit(f, "1: { response: 2m }", "1: { response: 400d }",
                "t.yaml:46: services[0].severities.sev1.response: 400d is out "
                "of range (must be none or 1s..365d)");
    expect_edit(f, "1: { response: 2m }", "1: { update_interval: 30s }",
                "t.yaml:46: services[0].severities.sev1.update_interval: 30s "
                "is out of range (must be none or 1m..365d)");
    expect_edit(f, "1: { response: 2m }", "1: { respond: 2m }",
                "t.yaml:46: services[0].severities.sev1.respond: unknown "
                "field (known: paging, response, resolution, "
                "update_interval)");
    expect_edit(f, "    escalation_policy: critical\n",
                "    escalation_policy: critical\n    ack_timeout: 500ms\n",
                "t.yaml:45: services[0].ack_timeout: 500ms is out of range "
                "(must be none or 1s..365d)");
}

static void test_heartbeats_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "service: checkout", "service: nope",
                "t.yaml:49: heartbeats[0].service: unknown service \"nope\"");
    expect_edit(f, "interval: 1h", "interval: 0s",
                "t.yaml:50: heartbeats[0].interval: 0s is out of range (must "
                "be 1s..365d)");
    expect_edit(f, "interval: 1h", "interval: 60",
                "t.yaml:50: heartbeats[0].interval: invalid duration \"60\": "
                "missing unit (" SPAN_FORMS ")");
    expect_edit(f, "interval: 1h", "interval: 1.5h",
                "t.yaml:50: heartbeats[0].interval: invalid duration "
                "\"1.5h\": fractions are not supported, use a smaller unit "
                "(" SPAN_FORMS ")");
    expect_edit(f, "    interval: 1h\n", "    interval: 1h\n    severity: 5\n",
                "t.yaml:51: heartbeats[0].severity: 5 is out of range (must "
                "be 1..4)");
    expect_edit(f, "notifications:\n",
                "  - { name: backup, service: checkout, interval: 1m }\n"
                "notifications:\n",
                "t.yaml:51: heartbeats[1].name: duplicate \"backup\" (also "
                "heartbeats[0])");
}

static void test_notifications_refused(void **state)
{
    struct fixture *f = *state;

    expect_edit(f, "  smtp_from: klaxon@example.com\n", "",
                "t.yaml:52: notifications.smtp_from: required: "
                "users[0].contacts[1] is an e-mail contact");
    expect_edit(f,
                "notifications:\n  smtp_url: smtp://127.0.0.1:2525\n"
                "  smtp_from: klaxon@example.com\n",
                "",
                "t.yaml:7: notifications.smtp_url: required: "
                "users[0].contacts[1] is an e-mail contact");
    expect_edit(f, "smtp://127.0.0.1:2525", "http://127.0.0.1:2525",
                "t.yaml:52: notifications.smtp_url: invalid URL "
                "\"http://127.0.0.1:2525\": unsupported scheme (expected "
                "smtp://... or smtps://...)");
    expect_edit(f, "smtp_from: klaxon@example.com", "smtp_from: klaxon",
                "t.yaml:53: notifications.smtp_from: invalid e-mail address "
                "\"klaxon\": must contain exactly one @");
    expect_edit(f, "  smtp_from: klaxon@example.com\n",
                "  smtp_from: klaxon@example.com\n  max_attempts: 21\n",
                "t.yaml:54: notifications.max_attempts: 21 is out of range "
                "(must be 1..20)");
    expect_edit(f, "  smtp_from: klaxon@example.com\n",
                "  smtp_from: klaxon@example.com\n  ack_url: klaxon/ack\n",
                "t.yaml:54: notifications.ack_url: invalid URL "
                "\"klaxon/ack\": unsupported scheme (expected http://... or "
                "https://...)");
    expect_edit(f, "  smtp_from: klaxon@example.com\n",
                "  smtp_from: klaxon@example.com\n  token_ttl: 31d\n",
                "t.yaml:54: notifications.token_ttl: 31d is out of range "
                "(must be 1m..30d)");
    expect_edit(f, "  smtp_from: klaxon@example.com\n",
                "  smtp_from: klaxon@example.com\n  retries: 3\n",
                "t.yaml:54: notifications.retries: unknown field (known: "
                "smtp_url, smtp_from, smtp_username, smtp_password, timeout, "
                "max_attempts, retry_base, ack_url, token_ttl)");
}

/* --- limits -------------------------------------------------------------- */

/* base_yaml with `from` replaced by `head`, `item` n times and `tail`. */
static char *edit_repeat(const char *from,
                         const char *head,
                         const char *item,
                         size_t n,
                         const char *tail)
{
    size_t len = strlen(head) + n * strlen(item) + strlen(tail) + 1;
    char *to = malloc(len);
    char *text;

    assert_non_null(to);
    strcpy(to, head);
    for (size_t i = 0; i < n; i++) {
        strcat(to, item);
    }
    strcat(to, tail);
    text = replace(base_yaml, from, to);
    free(to);
    return text;
}

static void expect_repeat(struct fixture *f,
                          const char *from,
                          const char *head,
                          const char *item,
                          size_t n,
                          const char *tail,
                          const char *expected)
{
    char *text = edit_repeat(from, head, item, n, tail);

    if (expected == NULL) {
        parse_ok(f, text);
    } else {
        expect_error(f, text, expected);
    }
    free(text);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;

    expect_repeat(f, "users: [alice, bob]", "users: [", "bob, ", 999, "bob]",
                  NULL);
    expect_repeat(f, "users: [alice, bob]", "users: [", "bob, ", 1000, "bob]",
                  "t.yaml:18: schedules[0].layers[0].users: too many (1001, at "
                  "most 1000)");
    expect_repeat(f, "    contacts:\n      - type: exec\n", "    contacts:\n",
                  "      - { type: webhook, url: \"http://127.0.0.1/\" }\n", 10,
                  "      - type: exec\n",
                  "t.yaml:11: users[1].contacts: too many (11, at most 10)");
    expect_repeat(
        f, "    levels:\n", "    levels:\n",
        "      - { timeout: 1m, targets: [{ type: user, id: bob }] }\n", 18, "",
        NULL);
    expect_repeat(
        f, "    levels:\n", "    levels:\n",
        "      - { timeout: 1m, targets: [{ type: user, id: bob }] }\n", 19, "",
        "t.yaml:33: escalation_policies[0].levels: too many (21, at "
        "most 20)");
    expect_repeat(f, "command: [/usr/local/bin/page, --urgent]",
                  "command: [/usr/local/bin/page", ", x", 33, "]",
                  "t.yaml:12: users[1].contacts[0].command: too many (33, at "
                  "most 32)");
}

/* --- validation of a decoded config -------------------------------------- */

/* A small valid config built by hand, in static storage. */
struct hand
{
    Klaxon__OncallConfig c;
    Klaxon__User user;
    Klaxon__User *users[1];
    Klaxon__ContactMethod contact;
    Klaxon__ContactMethod *contacts[1];
    Klaxon__Schedule schedule;
    Klaxon__Schedule *schedules[1];
    Klaxon__Layer layer;
    Klaxon__Layer *layers[1];
    char *layer_users[1];
    Klaxon__Override override;
    Klaxon__Override *overrides[1];
    Klaxon__Target target;
    Klaxon__Target *targets[1];
    Klaxon__EscalationLevel level;
    Klaxon__EscalationLevel *levels[1];
    Klaxon__EscalationPolicy policy;
    Klaxon__EscalationPolicy *policies[1];
    Klaxon__SeverityRule rules[4];
    Klaxon__SeverityRule *rule_ptrs[4];
    Klaxon__Service service;
    Klaxon__Service *services[1];
    Klaxon__HeartbeatMonitor heartbeat;
    Klaxon__HeartbeatMonitor *heartbeats[1];
    Klaxon__Notifications notifications;
};

static void hand_people(struct hand *h)
{
    klaxon__user__init(&h->user);
    h->user.id = "ann";
    h->user.name = "Ann";
    h->user.time_zone = "Europe/Berlin";
    klaxon__contact_method__init(&h->contact);
    h->contact.kind = KLAXON__CONTACT_KIND__CONTACT_WEBHOOK;
    h->contact.address = "https://hooks.example.com/ann";
    h->contacts[0] = &h->contact;
    h->user.contacts = h->contacts;
    h->user.n_contacts = 1;
    h->users[0] = &h->user;
    klaxon__layer__init(&h->layer);
    h->layer_users[0] = "ann";
    h->layer.users = h->layer_users;
    h->layer.n_users = 1;
    h->layer.start_local = JAN5_0900;
    h->layer.turn_days = 7;
    h->layers[0] = &h->layer;
    klaxon__override__init(&h->override);
    h->override.user = "ann";
    h->override.start_ms = JAN5_0900 * 1000;
    h->override.end_ms = (JAN5_0900 + 3600) * 1000;
    h->overrides[0] = &h->override;
    klaxon__schedule__init(&h->schedule);
    h->schedule.id = "sched";
    h->schedule.name = "Schedule";
    h->schedule.time_zone = "UTC";
    h->schedule.layers = h->layers;
    h->schedule.n_layers = 1;
    h->schedule.overrides = h->overrides;
    h->schedule.n_overrides = 1;
    h->schedules[0] = &h->schedule;
}

static void hand_policy(struct hand *h)
{
    klaxon__target__init(&h->target);
    h->target.kind = KLAXON__TARGET_KIND__TARGET_SCHEDULE;
    h->target.id = "sched";
    h->targets[0] = &h->target;
    klaxon__escalation_level__init(&h->level);
    h->level.timeout_ms = 5 * MIN_MS;
    h->level.targets = h->targets;
    h->level.n_targets = 1;
    h->levels[0] = &h->level;
    klaxon__escalation_policy__init(&h->policy);
    h->policy.id = "pol";
    h->policy.name = "Policy";
    h->policy.levels = h->levels;
    h->policy.n_levels = 1;
    h->policies[0] = &h->policy;
}

static void hand_service(struct hand *h)
{
    for (unsigned i = 0; i < 4; i++) {
        klaxon__severity_rule__init(&h->rules[i]);
        h->rules[i].severity = i + 1;
        h->rule_ptrs[i] = &h->rules[i];
    }
    klaxon__service__init(&h->service);
    h->service.name = "svc";
    h->service.escalation_policy = "pol";
    h->service.severities = h->rule_ptrs;
    h->service.n_severities = 4;
    h->services[0] = &h->service;
    klaxon__heartbeat_monitor__init(&h->heartbeat);
    h->heartbeat.name = "hb";
    h->heartbeat.service = "svc";
    h->heartbeat.interval_ms = MIN_MS;
    h->heartbeat.severity = 2;
    h->heartbeat.summary = "hb missed";
    h->heartbeats[0] = &h->heartbeat;
    klaxon__notifications__init(&h->notifications);
    h->notifications.timeout_ms = 10000;
    h->notifications.max_attempts = 5;
    h->notifications.retry_base_ms = 1000;
    h->notifications.token_ttl_ms = 24 * HOUR_MS;
}

static struct hand *hand_new(void)
{
    struct hand *h = calloc(1, sizeof *h);

    assert_non_null(h);
    hand_people(h);
    hand_policy(h);
    hand_service(h);
    klaxon__oncall_config__init(&h->c);
    h->c.users = h->users;
    h->c.n_users = 1;
    h->c.schedules = h->schedules;
    h->c.n_schedules = 1;
    h->c.escalation_policies = h->policies;
    h->c.n_escalation_policies = 1;
    h->c.services = h->services;
    h->c.n_services = 1;
    h->c.heartbeats = h->heartbeats;
    h->c.n_heartbeats = 1;
    h->c.notifications = &h->notifications;
    return h;
}

static void expect_invalid(const struct hand *h, const char *expected)
{
    char err[512];

    assert_int_equal(oncall_config_validate(&h->c, err, sizeof err), -1);
    assert_string_equal(err, expected);
}

static void test_validate_hand_built(void **state)
{
    struct hand *h = hand_new();
    char err[512] = "x";

    (void)state;
    assert_int_equal(oncall_config_validate(&h->c, err, sizeof err), 0);
    assert_string_equal(err, "");
    /* PAGING_DEFAULT stands for the severity's default. */
    assert_int_equal(oncall_paging(&h->rules[0]),
                     KLAXON__PAGING__PAGING_ESCALATE);
    assert_int_equal(oncall_paging(&h->rules[2]),
                     KLAXON__PAGING__PAGING_FIRST_LEVEL);
    assert_int_equal(oncall_paging(&h->rules[3]), KLAXON__PAGING__PAGING_NONE);
    assert_ptr_equal(oncall_severity(&h->service, 3), &h->rules[2]);
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), 0);
    h->user.time_zone = "";
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), -1);
    free(h);
}

static void test_validate_dangling(void **state)
{
    struct hand *h = hand_new();

    (void)state;
    h->target.id = "gone";
    expect_invalid(h,
                   "escalation_policies[0].levels[0].targets[0].id: "
                   "unknown schedule \"gone\"");
    h->target.kind = KLAXON__TARGET_KIND__TARGET_USER;
    expect_invalid(h,
                   "escalation_policies[0].levels[0].targets[0].id: "
                   "unknown user \"gone\"");
    h->target.kind = KLAXON__TARGET_KIND__TARGET_UNSPECIFIED;
    expect_invalid(h,
                   "escalation_policies[0].levels[0].targets[0].type: "
                   "must be given");
    h->target.kind = 9;
    expect_invalid(h,
                   "escalation_policies[0].levels[0].targets[0].type: "
                   "unknown target type 9");
    h->target.kind = KLAXON__TARGET_KIND__TARGET_SCHEDULE_PREVIOUS;
    h->target.id = "sched";
    h->layer_users[0] = "bob";
    expect_invalid(h, "schedules[0].layers[0].users[0]: unknown user \"bob\"");
    h->layer_users[0] = "ann";
    h->override.user = "bob";
    expect_invalid(h, "schedules[0].overrides[0].user: unknown user \"bob\"");
    h->override.user = "ann";
    h->service.escalation_policy = "other";
    expect_invalid(h,
                   "services[0].escalation_policy: unknown escalation "
                   "policy \"other\"");
    h->service.escalation_policy = "";
    h->heartbeat.service = "other";
    expect_invalid(h, "heartbeats[0].service: unknown service \"other\"");
    h->heartbeat.service = "svc";
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), 0);
    free(h);
}

static void test_validate_values(void **state)
{
    struct hand *h = hand_new();
    Klaxon__Target commander = KLAXON__TARGET__INIT;

    (void)state;
    h->user.name = "\xff";
    expect_invalid(h, "users[0].name: not valid UTF-8");
    h->user.name = "Ann";
    h->contact.kind = 7;
    expect_invalid(h, "users[0].contacts[0].type: unknown contact type 7");
    h->contact.kind = KLAXON__CONTACT_KIND__CONTACT_EMAIL;
    h->contact.address = "ann@example.com";
    expect_invalid(h,
                   "notifications.smtp_url: required: users[0].contacts[0] "
                   "is an e-mail contact");
    h->contact.kind = KLAXON__CONTACT_KIND__CONTACT_WEBHOOK;
    h->contact.address = "https://hooks.example.com/ann";
    h->policy.commander = &commander; /* empty: no commander */
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), 0);
    commander.id = "ann";
    expect_invalid(h, "escalation_policies[0].commander.type: must be given");
    commander.kind = KLAXON__TARGET_KIND__TARGET_USER;
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), 0);
    h->service.n_severities = 3;
    expect_invalid(h,
                   "services[0].severities: must hold the rules of "
                   "severities 1..4, got 3 rules");
    h->service.n_severities = 4;
    h->rules[1].severity = 3;
    expect_invalid(h,
                   "services[0].severities.sev2: severity 3 is out of "
                   "place (rules are severities 1..4 in order)");
    h->rules[1].severity = 2;
    h->rules[1].paging = 9;
    expect_invalid(h,
                   "services[0].severities.sev2.paging: unknown paging "
                   "mode 9");
    h->rules[1].paging = KLAXON__PAGING__PAGING_NONE;
    h->layer.turn_s = 60;
    expect_invalid(h,
                   "schedules[0].layers[0].turn: has both a day count and "
                   "a duration");
    h->layer.turn_s = 0;
    h->layer.start_local = -1;
    expect_invalid(h,
                   "schedules[0].layers[0].start: out of range (years 1970 "
                   "to 9999)");
    h->layer.start_local = JAN5_0900;
    h->c.notifications = NULL;
    expect_invalid(h, "notifications: must be given");
    free(h);
}

static void test_validate_limits(void **state)
{
    struct hand *h = hand_new();
    Klaxon__User **many = calloc(ONCALL_MAX_USERS + 1, sizeof *many);

    (void)state;
    assert_non_null(many);
    for (size_t i = 0; i <= ONCALL_MAX_USERS; i++) {
        many[i] = &h->user;
    }
    h->c.users = many;
    h->c.n_users = ONCALL_MAX_USERS + 1;
    expect_invalid(h, "users: too many (10001, at most 10000)");
    h->c.n_users = ONCALL_MAX_USERS;
    expect_invalid(h, "users[1].id: duplicate \"ann\" (also users[0])");
    h->c.n_users = 1;
    h->level.n_targets = ONCALL_MAX_TARGETS + 1;
    expect_invalid(h,
                   "escalation_policies[0].levels[0].targets: too many "
                   "(21, at most 20)");
    h->level.n_targets = 1;
    h->policy.repeat = ONCALL_MAX_REPEAT;
    assert_int_equal(oncall_config_validate(&h->c, NULL, 0), 0);
    free(many);
    free(h);
}

static void test_free_null(void **state)
{
    (void)state;
    oncall_config_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reference_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagerduty_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restrictions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contacts_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedules_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restrictions_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_times_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_without_levels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_services_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeats_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_notifications_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test(test_validate_hand_built),
        cmocka_unit_test(test_validate_dangling),
        cmocka_unit_test(test_validate_values),
        cmocka_unit_test(test_validate_limits),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
