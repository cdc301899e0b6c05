/*
 * klaxonctl's reports without a cluster: the figures of a hand-computed
 * week of incidents and pages (counts, MTTA and MTTR, missed targets,
 * false positives, pages per person and per shift in people's own time
 * zones, recurring incidents), the on-call YAML they read, the postmortem
 * of a known incident and the handover of a known shift.
 *
 * The week: Monday 2026-11-23 00:00Z to Monday 2026-11-30 00:00Z. alice
 * lives in Europe/Berlin (UTC+1 then), ivan in America/New_York (UTC-5),
 * bob has no time zone (UTC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klaxonctl/reports.h"

#define MIN 60000ULL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define MON 1795392000000ULL /* 2026-11-23T00:00:00Z, a Monday */
/* Day d (0: Monday 23rd) of the week at h:m UTC. */
#define AT(d, h, m) (MON + (uint64_t)(d)*DAY + (h)*HOUR + (m)*MIN)

/* --- the week ------------------------------------------------------------- */

static struct klaxon_incident incident(uint64_t id,
                                       const char *service,
                                       unsigned severity,
                                       const char *summary,
                                       const char *dedup_key,
                                       uint64_t created,
                                       uint64_t acked_after,
                                       uint64_t resolved_after)
{
    struct klaxon_incident i = {0};

    i.id = id;
    i.service = (char *)service;
    i.severity = severity;
    i.summary = (char *)summary;
    i.source = (char *)"prometheus";
    i.dedup_key = (char *)dedup_key;
    i.created_ms = created;
    i.acknowledged_ms = acked_after != 0 ? created + acked_after : 0;
    i.acknowledged_by = (char *)(acked_after != 0 ? "alice" : "");
    i.resolved_ms = resolved_after != 0 ? created + resolved_after : 0;
    i.resolved_by = (char *)(resolved_after != 0 ? "alice" : "");
    i.status = resolved_after != 0 ? KLAXON_RESOLVED
               : acked_after != 0  ? KLAXON_ACKNOWLEDGED
                                   : KLAXON_TRIGGERED;
    i.alert_count = 1;
    i.escalation_policy =
        (char *)(strcmp(service, "db") == 0 ? "standard" : "critical");
    i.paging = "escalate";
    i.commander = (char *)"";
    i.impact = (char *)"";
    return i;
}

enum { N_INCIDENTS = 9 };

static void make_incidents(struct klaxon_incident *v)
{
    /* 1..8 in the week, 9 the Sunday before it. */
    v[0] = incident(1, "checkout", 1, "checkout errors", "co-5xx", AT(0, 10, 0),
                    2 * MIN, 30 * MIN);
    v[1] = incident(2, "checkout", 1, "checkout errors", "co-5xx", AT(1, 3, 0),
                    10 * MIN, 5 * HOUR);
    v[1].response_missed = true;
    v[1].resolution_missed = true;
    v[2] = incident(3, "checkout", 2, "checkout slow", "co-latency",
                    AT(2, 12, 0), 0, 20 * MIN);
    v[2].response_missed = true;
    v[3] = incident(4, "payments", 2, "payment latency", "", AT(3, 14, 0),
                    4 * MIN, HOUR);
    v[3].false_positive = true;
    v[4] = incident(5, "payments", 2, "payment latency", "", AT(4, 22, 0),
                    6 * MIN, 0);
    v[5] = incident(6, "checkout", 1, "checkout errors", "co-5xx",
                    AT(5, 23, 30), MIN, 40 * MIN);
    v[6] = incident(7, "db", 3, "replica lag", "db-lag", AT(6, 9, 0), 0, 0);
    v[6].response_missed = true;
    v[7] = incident(8, "db", 4, "payment latency", "", AT(6, 20, 0), 30 * MIN,
                    2 * HOUR);
    v[8] = incident(9, "checkout", 1, "checkout errors", "co-5xx", MON - HOUR,
                    MIN, MIN);
}

static struct klaxon_page page(uint64_t id,
                               uint64_t incident_id,
                               const char *user,
                               const char *schedule,
                               const char *state,
                               uint64_t created)
{
    struct klaxon_page p = {0};

    p.id = id;
    p.incident_id = incident_id;
    p.kind = incident_id != 0 ? "incident" : "handoff";
    p.level = 1;
    p.user = (char *)user;
    p.schedule = (char *)schedule;
    p.contact_kind = "webhook";
    p.contact_address = (char *)"http://127.0.0.1:9099/hook";
    p.state = state;
    p.attempts = strcmp(state, "cancelled") == 0 ? 0 : 1;
    p.created_ms = created;
    p.finished_ms = created + 2000;
    p.error = (char *)(strcmp(state, "failed") == 0 ? "connect: refused" : "");
    return p;
}

enum { N_PAGES = 12 };

static void make_pages(struct klaxon_page *v)
{
    /* Berlin 11:00 Monday, by webhook and e-mail: one interruption. */
    v[0] = page(1, 1, "alice", "primary", "delivered", AT(0, 10, 0));
    v[1] = page(2, 1, "alice", "primary", "delivered", AT(0, 10, 0));
    v[1].contact_kind = "email";
    v[1].contact_address = (char *)"alice@example.com";
    /* Berlin 04:00 Tuesday: at night. */
    v[2] = page(3, 2, "alice", "primary", "delivered", AT(1, 3, 0));
    /* UTC 03:05 Tuesday: at night, level 2. */
    v[3] = page(4, 2, "bob", "secondary", "delivered", AT(1, 3, 5));
    v[3].level = 2;
    /* Cancelled before it went out: not a page. */
    v[4] = page(5, 3, "alice", "primary", "cancelled", AT(2, 12, 0));
    /* New York 09:00 Thursday: business hours begin. */
    v[5] = page(6, 4, "ivan", "primary", "delivered", AT(3, 14, 0));
    /* New York 17:00 Friday: business hours are over. */
    v[6] = page(7, 5, "ivan", "primary", "failed", AT(4, 22, 0));
    /* New York 18:30 Saturday. */
    v[7] = page(8, 6, "ivan", "primary", "delivered", AT(5, 23, 30));
    /* UTC 00:00 Sunday, a reminder through no schedule. */
    v[8] = page(9, 6, "bob", "", "delivered", AT(6, 0, 0));
    v[8].kind = "reminder";
    /* New York 04:00 Sunday. */
    v[9] = page(10, 7, "ivan", "primary", "delivered", AT(6, 9, 0));
    /* Of the incident before the week, and a handoff notice. */
    v[10] = page(11, 9, "alice", "primary", "delivered", MON - HOUR);
    v[11] = page(12, 0, "alice", "primary", "delivered", AT(0, 8, 0));
}

static struct klaxon_shift shift(const char *schedule,
                                 const char *user,
                                 uint64_t start,
                                 uint64_t end)
{
    return (struct klaxon_shift){(char *)schedule, (char *)user, start, end,
                                 (char *)"weekly"};
}

enum { N_SHIFTS = 4 };

static void make_shifts(struct klaxon_shift *v)
{
    v[0] = shift("primary", "alice", MON, AT(3, 0, 0));
    v[1] = shift("primary", "ivan", AT(3, 0, 0), AT(7, 0, 0));
    v[2] = shift("secondary", "bob", MON, AT(7, 0, 0));
    v[3] = shift("secondary", "", AT(7, 0, 0), AT(8, 0, 0)); /* nobody */
}

static const struct rpt_zone zones[] = {
    {(char *)"alice", (char *)"Europe/Berlin"},
    {(char *)"ivan", (char *)"America/New_York"},
};

struct week
{
    struct klaxon_incident incidents[N_INCIDENTS];
    struct klaxon_page pages[N_PAGES];
    struct klaxon_shift shifts[N_SHIFTS];
    struct rpt_input in;
};

static int setup_week(void **state)
{
    struct week *w = calloc(1, sizeof *w);

    if (w == NULL) {
        return -1;
    }
    make_incidents(w->incidents);
    make_pages(w->pages);
    make_shifts(w->shifts);
    w->in = (struct rpt_input){MON,         AT(7, 0, 0), NULL,    w->incidents,
                               N_INCIDENTS, w->pages,    N_PAGES, w->shifts,
                               N_SHIFTS,    zones,       2};
    *state = w;
    return 0;
}

static int teardown_week(void **state)
{
    free(*state);
    return 0;
}

/* --- report --------------------------------------------------------------- */

static void check_times(const struct rpt_times *t,
                        size_t n,
                        uint64_t mean,
                        uint64_t p90)
{
    assert_int_equal(t->n, n);
    assert_int_equal(t->mean_ms, mean);
    assert_int_equal(t->p90_ms, p90);
}

static void check_counts(const struct rpt_sev *s,
                         size_t incidents,
                         size_t open,
                         size_t acked,
                         size_t resolved)
{
    assert_int_equal(s->incidents, incidents);
    assert_int_equal(s->open, open);
    assert_int_equal(s->acknowledged, acked);
    assert_int_equal(s->resolved, resolved);
}

static void check_misses(const struct rpt_sev *s,
                         size_t response,
                         size_t resolution,
                         size_t false_positives)
{
    assert_int_equal(s->response_missed, response);
    assert_int_equal(s->resolution_missed, resolution);
    assert_int_equal(s->false_positives, false_positives);
}

static void test_counts_and_times(void **state)
{
    struct week *w = *state;
    struct rpt_figures f;

    assert_int_equal(rpt_compute(&w->in, &f), 0);
    /* Overall: 1..8; acknowledged 1 2 4 5 6 8; resolved 1 2 3 4 6 8. */
    check_counts(&f.all, 8, 2, 6, 6);
    /* MTTA 1, 2, 4, 6, 10, 30 min; MTTR 20, 30, 40, 60, 120, 300 min. */
    check_times(&f.all.mtta, 6, 530 * 1000, 30 * MIN);
    check_times(&f.all.mttr, 6, 95 * MIN, 300 * MIN);
    check_misses(&f.all, 3, 1, 2);
    /* Sev1: 1, 2, 6. MTTA 1, 2, 10 min; MTTR 30, 40, 300 min. */
    check_counts(&f.sev[0], 3, 0, 3, 3);
    check_times(&f.sev[0].mtta, 3, 260 * 1000, 10 * MIN);
    check_times(&f.sev[0].mttr, 3, 7400 * 1000, 5 * HOUR);
    check_misses(&f.sev[0], 1, 1, 0);
    /* Sev2: 3 (never acknowledged), 4 (false positive), 5 (open). */
    check_counts(&f.sev[1], 3, 1, 2, 2);
    check_times(&f.sev[1].mtta, 2, 5 * MIN, 6 * MIN);
    check_times(&f.sev[1].mttr, 2, 40 * MIN, HOUR);
    check_misses(&f.sev[1], 1, 0, 2);
    /* Sev3: 7, open, never acknowledged. */
    check_counts(&f.sev[2], 1, 1, 0, 0);
    check_times(&f.sev[2].mtta, 0, 0, 0);
    check_times(&f.sev[2].mttr, 0, 0, 0);
    check_misses(&f.sev[2], 1, 0, 0);
    /* Sev4: 8. */
    check_counts(&f.sev[3], 1, 0, 1, 1);
    check_times(&f.sev[3].mtta, 1, 30 * MIN, 30 * MIN);
    check_times(&f.sev[3].mttr, 1, 2 * HOUR, 2 * HOUR);
    check_misses(&f.sev[3], 0, 0, 0);
    /* False-positive shares: 2 of 6, 0 of 3, 2 of 2, none resolved. */
    assert_float_equal(rpt_share(&f.all), 1.0 / 3, 1e-9);
    assert_float_equal(rpt_share(&f.sev[0]), 0, 1e-9);
    assert_float_equal(rpt_share(&f.sev[1]), 1, 1e-9);
    assert_true(rpt_share(&f.sev[2]) < 0);
    rpt_figures_free(&f);
}

static void check_person(const struct rpt_person *p,
                         const char *user,
                         const char *zone,
                         const size_t counts[5])
{
    assert_string_equal(p->user, user);
    assert_string_equal(p->zone, zone);
    assert_int_equal(p->pages, counts[0]);
    assert_int_equal(p->interruptions, counts[1]);
    assert_int_equal(p->outside_hours, counts[2]);
    assert_int_equal(p->weekend, counts[3]);
    assert_int_equal(p->off_hours, counts[4]);
}

static void check_shift(const struct rpt_shift_pages *s,
                        const char *schedule,
                        const char *user,
                        size_t pages,
                        size_t interruptions)
{
    assert_string_equal(s->shift->schedule, schedule);
    assert_string_equal(s->shift->user, user);
    assert_int_equal(s->pages, pages);
    assert_int_equal(s->interruptions, interruptions);
}

static void test_pages(void **state)
{
    struct week *w = *state;
    struct rpt_figures f;

    assert_int_equal(rpt_compute(&w->in, &f), 0);
    /* Pages 1-4 and 6-10: not 5 (cancelled), 11 (before the week), 12
     * (a handoff notice). Pages 1 and 2 are one interruption. */
    assert_int_equal(f.pages, 9);
    assert_int_equal(f.interruptions, 8);
    assert_int_equal(f.outside_hours, 6);
    assert_int_equal(f.weekend, 3);
    assert_int_equal(f.off_hours, 6);
    assert_int_equal(f.outside_shifts, 1); /* the reminder */
    /* Most pages first. pages, interruptions, outside hours, weekend,
     * off hours. */
    assert_int_equal(f.n_people, 3);
    check_person(&f.people[0], "ivan", "America/New_York",
                 (const size_t[]){4, 4, 3, 2, 3});
    check_person(&f.people[1], "alice", "Europe/Berlin",
                 (const size_t[]){3, 2, 1, 0, 1});
    check_person(&f.people[2], "bob", "UTC", (const size_t[]){2, 2, 2, 1, 2});
    /* Shifts with somebody on call, in their order. */
    assert_int_equal(f.n_shifts, 3);
    check_shift(&f.shifts[0], "primary", "alice", 3, 2);
    check_shift(&f.shifts[1], "primary", "ivan", 4, 4);
    check_shift(&f.shifts[2], "secondary", "bob", 1, 1);
    rpt_figures_free(&f);
}

static void test_recurring(void **state)
{
    struct week *w = *state;
    struct rpt_figures f;
    const struct rpt_recurring *g;

    assert_int_equal(rpt_compute(&w->in, &f), 0);
    /* co-5xx: 1, 2, 6 (9 is before the week); by summary "checkout
     * errors" the same three, so not twice; "payment latency" of
     * payments: 4, 5 (8 is of db). */
    assert_int_equal(f.n_recurring, 2);
    assert_int_equal(f.recurring_incidents, 5);
    g = &f.recurring[0];
    assert_string_equal(g->service, "checkout");
    assert_string_equal(g->key, "co-5xx");
    assert_false(g->by_summary);
    assert_int_equal(g->count, 3);
    assert_int_equal(g->ids[0], 1);
    assert_int_equal(g->ids[1], 2);
    assert_int_equal(g->ids[2], 6);
    g = &f.recurring[1];
    assert_string_equal(g->service, "payments");
    assert_string_equal(g->key, "payment latency");
    assert_true(g->by_summary);
    assert_int_equal(g->count, 2);
    assert_int_equal(g->ids[0], 4);
    assert_int_equal(g->ids[1], 5);
    rpt_figures_free(&f);
}

static void test_service_filter(void **state)
{
    struct week *w = *state;
    struct rpt_input in = w->in;
    struct rpt_figures f;

    in.service = "payments";
    assert_int_equal(rpt_compute(&in, &f), 0);
    check_counts(&f.all, 2, 1, 2, 1);
    assert_int_equal(f.pages, 2);
    assert_int_equal(f.n_people, 1);
    assert_string_equal(f.people[0].user, "ivan");
    assert_int_equal(f.outside_hours, 1);
    assert_int_equal(f.n_recurring, 1);
    rpt_figures_free(&f);
}

static void test_empty_window(void **state)
{
    struct week *w = *state;
    struct rpt_input in = w->in;
    struct rpt_figures f;

    in.from_ms = AT(7, 0, 0);
    in.to_ms = AT(8, 0, 0);
    assert_int_equal(rpt_compute(&in, &f), 0);
    check_counts(&f.all, 0, 0, 0, 0);
    check_times(&f.all.mtta, 0, 0, 0);
    assert_true(rpt_share(&f.all) < 0);
    assert_int_equal(f.pages, 0);
    assert_int_equal(f.n_people, 0);
    assert_int_equal(f.n_recurring, 0);
    rpt_figures_free(&f);
}

/* The text of what print(f) writes; freed by the caller. */
static char *printed(int (*print)(const void *, FILE *), const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    assert_non_null(mem);
    assert_int_equal(print(arg, mem), 0);
    assert_int_equal(fclose(mem), 0);
    return text;
}

static int print_report(const void *f, FILE *out)
{
    return rpt_report_print(f, out);
}

static void assert_has(const char *text, const char *part)
{
    if (strstr(text, part) == NULL) {
        fail_msg("\"%s\" not in:\n%s", part, text);
    }
}

static void test_report_output(void **state)
{
    struct week *w = *state;
    struct rpt_figures f;
    json_t *doc, *sev2;
    char *text;

    assert_int_equal(rpt_compute(&w->in, &f), 0);
    text = printed(print_report, &f);
    assert_has(text,
               "Incident report 2026-11-23 00:00:00Z to 2026-11-30 "
               "00:00:00Z (7d), every service");
    assert_has(text,
               "Sev2      3          1     2             2         1 "
               "          0               2 of 2 (100.0%)");
    assert_has(text,
               "all       8          2     6             6         3 "
               "          1               2 of 6 (33.3%)");
    assert_has(text, "Sev1      4m20s      10m       2h3m20s    5h");
    assert_has(text, "ivan   America/New_York  4      4              3");
    assert_has(text, "Recurring incidents: 5");
    assert_has(text, "3      checkout  dedup key  co-5xx           1, 2, 6");
    free(text);
    doc = rpt_report_json(&f);
    assert_non_null(doc);
    sev2 = json_object_get(json_object_get(doc, "severities"), "sev2");
    assert_int_equal(json_integer_value(json_object_get(sev2, "incidents")), 3);
    assert_float_equal(
        json_real_value(json_object_get(json_object_get(doc, "overall"),
                                        "false_positive_share")),
        1.0 / 3, 1e-9);
    assert_true(json_is_null(json_object_get(
        json_object_get(
            json_object_get(json_object_get(doc, "severities"), "sev3"),
            "mtta"),
        "mean_ms")));
    assert_int_equal(json_array_size(json_object_get(doc, "recurring")), 2);
    json_decref(doc);
    rpt_figures_free(&f);
}

/* --- local time and the configuration ------------------------------------ */

static void test_local_clock(void **state)
{
    const char *tz = getenv("TZ");
    char *before = tz != NULL ? strdup(tz) : NULL;
    int hour, wday;

    (void)state;
    assert_int_equal(
        rpt_local_clock("Europe/Berlin", AT(1, 3, 0), &hour, &wday), 0);
    assert_int_equal(hour, 4);
    assert_int_equal(wday, 2); /* Tuesday */
    assert_int_equal(
        rpt_local_clock("America/New_York", AT(6, 0, 0), &hour, &wday), 0);
    assert_int_equal(hour, 19);
    assert_int_equal(wday, 6); /* still Saturday there */
    /* Summer time: 2026-07-01T12:00Z is 14:00 in Berlin. */
    assert_int_equal(
        rpt_local_clock("Europe/Berlin", 1782907200000ULL, &hour, &wday), 0);
    assert_int_equal(hour, 14);
    /* TZ is left as it was. */
    if (before == NULL) {
        assert_null(getenv("TZ"));
    } else {
        assert_string_equal(getenv("TZ"), before);
    }
    free(before);
}

static const char yaml[] =
    "users:\n"
    "  - id: alice\n"
    "    time_zone: Europe/Berlin\n"
    "  - { id: bob, contacts: [] }\n"
    "  - { id: ivan, time_zone: America/New_York }\n"
    "schedules:\n"
    "  - id: primary\n"
    "escalation_policies:\n"
    "  - id: critical\n"
    "    escalation_rules:\n"
    "      - level: 1\n"
    "        targets: [{ type: schedule, id: primary }]\n"
    "  - id: standard\n"
    "    levels:\n"
    "      - targets: [{ type: user, id: bob }]\n"
    "      - targets: [{ type: schedule_next, id: primary }]\n"
    "  - id: other\n"
    "    levels:\n"
    "      - targets: [{ type: schedule, id: secondary }]\n";

static void test_config(void **state)
{
    struct rpt_config c;
    char err[128];

    (void)state;
    assert_int_equal(
        rpt_config_parse(yaml, strlen(yaml), "primary", &c, err, sizeof err),
        0);
    assert_int_equal(c.n_zones, 3);
    assert_string_equal(rpt_zone_of(c.zones, c.n_zones, "alice"),
                        "Europe/Berlin");
    assert_string_equal(rpt_zone_of(c.zones, c.n_zones, "bob"), "UTC");
    assert_string_equal(rpt_zone_of(c.zones, c.n_zones, "ivan"),
                        "America/New_York");
    assert_string_equal(rpt_zone_of(c.zones, c.n_zones, "nobody"), "UTC");
    assert_int_equal(c.n_policies, 2);
    assert_string_equal(c.policies[0], "critical");
    assert_string_equal(c.policies[1], "standard");
    rpt_config_free(&c);
    /* No configuration yet, and a broken one. */
    assert_int_equal(rpt_config_parse("", 0, NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.n_zones, 0);
    rpt_config_free(&c);
    assert_int_equal(
        rpt_config_parse("users: [\n", 9, NULL, &c, err, sizeof err), -1);
    assert_has(err, "line");
}

static void test_actions(void **state)
{
    (void)state;
    assert_true(rpt_is_action("action: add pool metrics"));
    assert_true(rpt_is_action("  ACTION: page the DBA"));
    assert_true(rpt_is_action("TODO update the runbook"));
    assert_true(rpt_is_action("todo: alerts"));
    assert_true(rpt_is_action("Todo"));
    assert_false(rpt_is_action("todolist cleaned"));
    assert_false(rpt_is_action("no action: needed"));
    assert_false(rpt_is_action("actions taken"));
    assert_false(rpt_is_action(""));
}

/* --- postmortem ----------------------------------------------------------- */

static struct klaxon_event event(uint64_t at,
                                 const char *kind,
                                 const char *actor,
                                 const char *message)
{
    return (struct klaxon_event){at, (char *)kind, (char *)actor,
                                 (char *)message, KLAXON_PUBLIC_NONE};
}

/* Incident 2 as klaxon_get gives it, with its timeline. */
static void timeline_of_2(struct klaxon_incident *i, struct klaxon_event *t)
{
    static char *components[] = {(char *)"checkout", (char *)"payments"};

    t[0] = event(AT(1, 3, 0), "triggered", "prometheus", "checkout errors");
    t[1] = event(AT(1, 3, 0), "paged", "alice", "level 1 via schedule ...");
    t[2] = event(AT(1, 3, 0), "page_delivered", "alice", "page 3 ...");
    t[3] = event(AT(1, 3, 5), "escalated", "klaxon",
                 "escalated to level 2 (repeat 0 of 3)");
    t[4] = event(AT(1, 3, 10), "acknowledged", "alice", "");
    t[5] = event(AT(1, 3, 20), "note", "alice", "action: add pool metrics");
    t[6] = event(AT(1, 3, 30), "note", "alice", "rolled back v2.1");
    t[7] = event(AT(1, 3, 40), "status_update", "alice", "pool exhausted");
    t[7].update_status = KLAXON_PUBLIC_IDENTIFIED;
    t[8] = event(AT(1, 8, 0), "resolved", "alice", "");
    i->timeline = t;
    i->n_timeline = 9;
    i->public_status = KLAXON_PUBLIC_IDENTIFIED;
    i->public_since_ms = AT(1, 3, 40);
    i->components = components;
    i->n_components = 2;
    i->impact = (char *)"some checkouts fail";
    i->commander = (char *)"engineering_manager";
    i->pages = 2;
}

struct postmortem_args
{
    const struct klaxon_incident *incident;
    const struct klaxon_page *pages;
    size_t n_pages;
};

static int print_postmortem(const void *arg, FILE *out)
{
    const struct postmortem_args *a = arg;

    return rpt_postmortem_markdown(a->incident, a->pages, a->n_pages,
                                   AT(7, 0, 0), out);
}

static void test_postmortem(void **state)
{
    struct week *w = *state;
    struct klaxon_event t[9];
    struct klaxon_incident *i = &w->incidents[1];
    struct postmortem_args a = {i, w->pages, N_PAGES};
    char *md;

    timeline_of_2(i, t);
    md = printed(print_postmortem, &a);
    assert_has(md, "# Incident Report: checkout errors\n\n## Summary\n");
    assert_has(md, "- **Incident ID:** 2\n");
    assert_has(md, "- **Date:** 2026-11-24 03:00:00Z\n");
    assert_has(md, "- **Duration:** 5h (trigger to resolve)\n");
    assert_has(md, "- **Severity:** Sev1\n");
    assert_has(md, "- **Affected:** checkout\n");
    assert_has(md, "- **Components:** checkout, payments\n");
    assert_has(md, "- **Customer impact:** some checkouts fail\n");
    assert_has(md, "- **Targets missed:** response, resolution\n");
    assert_has(md,
               "## Timeline\n\nAll times UTC.\n\n"
               "- `2026-11-24 03:00:00Z` **Triggered** by prometheus: "
               "checkout errors\n"
               "- `2026-11-24 03:00:00Z` **Paged** alice (level 1, via "
               "schedule primary) by webhook "
               "http://127.0.0.1:9099/hook: delivered at "
               "2026-11-24 03:00:02Z after 1 attempt(s)\n"
               "- `2026-11-24 03:05:00Z` **Escalation** by klaxon: "
               "escalated to level 2 (repeat 0 of 3)\n"
               "- `2026-11-24 03:05:00Z` **Paged** bob (level 2, via "
               "schedule secondary) by webhook "
               "http://127.0.0.1:9099/hook: delivered at "
               "2026-11-24 03:05:02Z after 1 attempt(s)\n"
               "- `2026-11-24 03:10:00Z` **Acknowledged** by alice\n"
               "- `2026-11-24 03:20:00Z` **Note** by alice: action: add "
               "pool metrics\n"
               "- `2026-11-24 03:30:00Z` **Note** by alice: rolled back "
               "v2.1\n"
               "- `2026-11-24 03:40:00Z` **Status update** (identified) "
               "by alice: pool exhausted\n"
               "- `2026-11-24 08:00:00Z` **Resolved** by alice\n\n"
               "## Root Cause\n");
    assert_has(md, "\n## Impact\n\n_");
    assert_has(md, "\n## Lessons Learned\n\n1. _");
    assert_has(md,
               "\n## Action Items\n\n- [ ] action: add pool metrics "
               "(noted by alice, 2026-11-24 03:20:00Z)\n- [ ] _Action_");
    assert_null(strstr(md, "page_delivered"));
    free(md);
}

static void test_postmortem_ongoing(void **state)
{
    struct week *w = *state;
    struct klaxon_incident *i = &w->incidents[6]; /* 7: Sunday 09:00 */
    struct klaxon_event t[1];
    struct postmortem_args a = {i, NULL, 0};
    char *md;

    t[0] = event(AT(6, 9, 0), "paged", "ivan", "level 1 via schedule primary");
    i->timeline = t;
    i->n_timeline = 1;
    md = printed(print_postmortem, &a);
    assert_has(md, "- **Duration:** ongoing (open for 15h)\n");
    assert_has(md, "- **Acknowledged:** no\n");
    /* Without its pages, the page events stay. */
    assert_has(md, "**Paged** by ivan: level 1 via schedule primary\n");
    free(md);
}

/* --- handover ------------------------------------------------------------- */

static void notes_of(struct klaxon_incident *v, struct klaxon_event t[6])
{
    t[0] = event(AT(0, 10, 10), "note", "alice", "TODO update the runbook");
    t[1] = event(AT(1, 3, 20), "note", "alice", "action: add pool metrics");
    t[2] = event(AT(1, 3, 30), "note", "alice", "rolled back v2.1");
    t[3] = event(AT(2, 12, 10), "note", "alice", "todolist cleaned");
    t[4] = event(AT(2, 12, 20), "acknowledged", "alice", "");
    t[5] = event(AT(4, 22, 30), "note", "ivan", "after the shift");
    v[0].timeline = &t[0];
    v[0].n_timeline = 1;
    v[1].timeline = &t[1];
    v[1].n_timeline = 2;
    v[2].timeline = &t[3];
    v[2].n_timeline = 2;
    v[4].timeline = &t[5];
    v[4].n_timeline = 1;
}

static int print_handover(const void *h, FILE *out)
{
    return rpt_handover_markdown(h, out);
}

static void test_handover(void **state)
{
    struct week *w = *state;
    struct klaxon_event t[6];
    const char *const policies[] = {"critical"};
    struct rpt_handover_input in = {"primary",
                                    &w->shifts[0],
                                    "ivan",
                                    AT(3, 0, 0),
                                    AT(5, 0, 0),
                                    w->incidents,
                                    N_INCIDENTS,
                                    w->pages,
                                    N_PAGES,
                                    policies,
                                    1};
    struct rpt_handover h;
    char *md;

    notes_of(w->incidents, t);
    assert_int_equal(rpt_handover_build(&in, &h), 0);
    /* During alice's shift (Monday to Thursday): 1, 2, 3. */
    assert_false(h.current);
    assert_int_equal(h.n_during, 3);
    assert_int_equal(h.by_sev[0], 2);
    assert_int_equal(h.by_sev[1], 1);
    /* Open on Saturday 00:00: 5 (7 opens on Sunday). */
    assert_int_equal(h.n_open, 1);
    assert_int_equal(h.open[0]->id, 5);
    assert_int_equal(h.n_actions, 2);
    assert_int_equal(h.n_notes, 2);
    md = printed(print_handover, &h);
    assert_has(md,
               "# Shift Handover Summary\n\n"
               "- **Date:** 2026-11-28 00:00:00Z\n"
               "- **Schedule:** primary\n"
               "- **Handed over by:** alice\n"
               "- **Handed over to:** ivan\n"
               "- **Shift:** 2026-11-23 00:00:00Z to 2026-11-26 "
               "00:00:00Z (3d)\n");
    assert_has(md,
               "## Incidents During Shift\n\n- Total: 3\n"
               "- Sev1: 2 (#1 checkout errors, #2 checkout errors)\n"
               "- Sev2: 1 (#3 checkout slow)\n- Sev3: 0\n- Sev4: 0\n");
    assert_has(md,
               "| 5 | Sev2 | acknowledged | payments | payment latency |\n");
    assert_has(md,
               "## Action Items\n\n"
               "1. TODO update the runbook (#1, alice, 2026-11-23 "
               "10:10:00Z)\n"
               "2. action: add pool metrics (#2, alice, 2026-11-24 "
               "03:20:00Z)\n");
    assert_has(md,
               "## Notes for Next On-Call\n\n"
               "- rolled back v2.1 (#2, alice, 2026-11-24 03:30:00Z)\n"
               "- todolist cleaned (#3, alice, 2026-11-25 12:10:00Z)\n");
    assert_null(strstr(md, "after the shift"));
    free(md);
    rpt_handover_free(&h);
}

/* An incident is the schedule's through its policy or through a page. */
static void test_handover_membership(void **state)
{
    struct week *w = *state;
    struct rpt_handover_input in = {"primary",
                                    &w->shifts[1],
                                    "",
                                    AT(7, 0, 0),
                                    AT(7, 0, 0),
                                    w->incidents,
                                    N_INCIDENTS,
                                    w->pages,
                                    N_PAGES,
                                    NULL,
                                    0};
    struct rpt_handover h;
    char *md;

    /* No policy: 4, 5, 7 paged ivan through primary (6 too); 8 did not. */
    assert_true(rpt_of_schedule(&in, &w->incidents[6]));
    assert_false(rpt_of_schedule(&in, &w->incidents[7]));
    w->shifts[1].end_ms = 0; /* still going */
    assert_int_equal(rpt_handover_build(&in, &h), 0);
    assert_true(h.current);
    assert_int_equal(h.n_during, 4); /* 4, 5, 6, 7 */
    assert_int_equal(h.n_open, 2);   /* 5, 7 */
    md = printed(print_handover, &h);
    assert_has(md, "- **Handed over to:** - (shift not over yet)\n");
    assert_has(md, "(4d, so far)");
    assert_has(md, "| 7 | Sev3 | triggered | db | replica lag |\n");
    assert_has(md, "## Action Items\n\nNone noted.\n");
    free(md);
    rpt_handover_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_and_times, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_pages, setup_week, teardown_week),
        cmocka_unit_test_setup_teardown(test_recurring, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_service_filter, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_empty_window, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_report_output, setup_week,
                                        teardown_week),
        cmocka_unit_test(test_local_clock),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_actions),
        cmocka_unit_test_setup_teardown(test_postmortem, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_postmortem_ongoing, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_handover, setup_week,
                                        teardown_week),
        cmocka_unit_test_setup_teardown(test_handover_membership, setup_week,
                                        teardown_week),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
