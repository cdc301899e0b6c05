/*
 * Unit tests of time zones and civil time (server/tz.c) and of the "who is
 * on call" schedule engine (server/schedule.c).
 *
 * Expected instants are written as calendar dates and converted by
 * ref_days(), a naive year-by-year count independent of civil_days(); UTC
 * offsets and DST dates come from the time zone database's published
 * rules (EU: last Sunday of March/October at 01:00Z; US since 2007: second
 * Sunday of March and first Sunday of November at 02:00 local).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"
#include "tz.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* --- reference calendar --------------------------------------------------- */

static bool ref_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned ref_month_len(int64_t y, unsigned m)
{
    static const unsigned len[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    return m == 2 && ref_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01, counted year by year and month by month. */
static int64_t ref_days(int64_t y, unsigned m, unsigned d)
{
    int64_t days = 0;
    for (int64_t yy = 1970; yy < y; yy++) {
        days += ref_leap(yy) ? 366 : 365;
    }
    for (int64_t yy = y; yy < 1970; yy++) {
        days -= ref_leap(yy) ? 366 : 365;
    }
    for (unsigned mm = 1; mm < m; mm++) {
        days += ref_month_len(y, mm);
    }
    return days + d - 1;
}

/* Local (wall-clock) seconds of a date and time. */
static int64_t lsec(int64_t y,
                    unsigned mo,
                    unsigned d,
                    unsigned h,
                    unsigned mi,
                    unsigned s)
{
    return ref_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* An instant in ms given as its UTC date and time. */
static int64_t utc(int64_t y,
                   unsigned mo,
                   unsigned d,
                   unsigned h,
                   unsigned mi,
                   unsigned s)
{
    return lsec(y, mo, d, h, mi, s) * 1000;
}

static void check_user(const char *expected, const char *actual)
{
    if (expected == NULL) {
        assert_null(actual);
    } else {
        assert_non_null(actual);
        assert_string_equal(actual, expected);
    }
}

static bool same_user(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* --- schedules built in place --------------------------------------------- */

#define MAX_LAYERS 6
#define MAX_RESTRICTIONS 8
#define MAX_OVERRIDES 8

struct sched
{
    Klaxon__Schedule s;
    Klaxon__Layer layer[MAX_LAYERS];
    Klaxon__Layer *layers[MAX_LAYERS];
    Klaxon__Restriction restr[MAX_LAYERS][MAX_RESTRICTIONS];
    Klaxon__Restriction *restrs[MAX_LAYERS][MAX_RESTRICTIONS];
    Klaxon__Override ov[MAX_OVERRIDES];
    Klaxon__Override *ovs[MAX_OVERRIDES];
};

static void sched_init(struct sched *b, const char *zone)
{
    memset(b, 0, sizeof *b);
    klaxon__schedule__init(&b->s);
    b->s.id = "test";
    b->s.time_zone = (char *)zone;
    b->s.layers = b->layers;
    b->s.overrides = b->ovs;
}

/* A rotation of n users from start_local, turns of turn_days calendar
 * days or turn_s seconds. */
static Klaxon__Layer *add_layer(struct sched *b,
                                char **users,
                                size_t n,
                                int64_t start_local,
                                uint32_t turn_days,
                                uint64_t turn_s)
{
    size_t i = b->s.n_layers++;
    Klaxon__Layer *l = &b->layer[i];
    assert_true(i < MAX_LAYERS);
    klaxon__layer__init(l);
    l->name = "layer";
    l->users = users;
    l->n_users = n;
    l->start_local = start_local;
    l->turn_days = turn_days;
    l->turn_s = turn_s;
    l->restrictions = b->restrs[i];
    b->layers[i] = l;
    return l;
}

static void add_restriction(struct sched *b,
                            Klaxon__Layer *l,
                            Klaxon__RestrictionKind kind,
                            unsigned start_day,
                            unsigned start_s,
                            unsigned duration_s)
{
    size_t li = (size_t)(l - b->layer);
    size_t i = l->n_restrictions++;
    Klaxon__Restriction *r = &b->restr[li][i];
    assert_true(i < MAX_RESTRICTIONS);
    klaxon__restriction__init(r);
    r->kind = kind;
    r->start_day = start_day;
    r->start_s = start_s;
    r->duration_s = duration_s;
    b->restrs[li][i] = r;
}

static void daily(struct sched *b,
                  Klaxon__Layer *l,
                  unsigned start_s,
                  unsigned duration_s)
{
    add_restriction(b, l, KLAXON__RESTRICTION_KIND__RESTRICTION_DAILY, 0,
                    start_s, duration_s);
}

static void weekly(struct sched *b,
                   Klaxon__Layer *l,
                   unsigned day,
                   unsigned start_s,
                   unsigned duration_s)
{
    add_restriction(b, l, KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY, day,
                    start_s, duration_s);
}

static void add_override(struct sched *b,
                         const char *user,
                         int64_t start_ms,
                         int64_t end_ms)
{
    size_t i = b->s.n_overrides++;
    Klaxon__Override *o = &b->ov[i];
    assert_true(i < MAX_OVERRIDES);
    klaxon__override__init(o);
    o->user = (char *)user;
    o->start_ms = start_ms;
    o->end_ms = end_ms;
    b->ovs[i] = o;
}

static const char *at(const struct sched *b, int64_t t_ms)
{
    return schedule_oncall(&b->s, t_ms, NULL);
}

static void check_shift(const struct shift *sh,
                        const char *user,
                        int64_t start_ms,
                        int64_t end_ms,
                        int layer)
{
    check_user(user, sh->user);
    assert_int_equal(sh->start_ms, start_ms);
    assert_int_equal(sh->end_ms, end_ms);
    assert_int_equal(sh->layer, layer);
}

static char *abc[] = {"a", "b", "c"};
static char *ab[] = {"a", "b"};
static char *only_a[] = {"a"};
static char *aab[] = {"a", "a", "b"};
static char *primary[] = {"alice", "charlie", "eve", "grace"};
static char *secondary[] = {"bob", "david", "frank", "henry"};
static char *day_crew[] = {"alice", "charlie", "eve", "grace",
                           "ivan",  "kevin",   "mike"};
static char *night_crew[] = {"bob",  "david", "frank", "henry",
                             "judy", "laura", "nancy"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- arithmetic and calendar ---------------------------------------------- */

static void test_floor_div_mod(void **state)
{
    (void)state;
    assert_int_equal(floor_div(7, 2), 3);
    assert_int_equal(floor_mod(7, 2), 1);
    assert_int_equal(floor_div(-7, 2), -4);
    assert_int_equal(floor_mod(-7, 2), 1);
    assert_int_equal(floor_div(-8, 2), -4);
    assert_int_equal(floor_mod(-8, 2), 0);
    assert_int_equal(floor_div(7, -2), -4);
    assert_int_equal(floor_mod(7, -2), -1);
    assert_int_equal(floor_div(-7, -2), 3);
    assert_int_equal(floor_mod(-7, -2), -1);
    assert_int_equal(floor_div(0, 5), 0);
    assert_int_equal(floor_mod(0, 5), 0);
    assert_int_equal(floor_div(-1, 86400), -1);
    assert_int_equal(floor_mod(-1, 86400), 86399);
    assert_int_equal(floor_div(86400, 86400), 1);
    assert_int_equal(floor_mod(86400, 86400), 0);
    assert_int_equal(floor_div(INT64_MIN, 1), INT64_MIN);
    assert_int_equal(floor_div(INT64_MIN, -1), INT64_MAX);
    assert_int_equal(floor_mod(INT64_MIN, -1), 0);
    assert_int_equal(floor_div(5, 0), 0);
    assert_int_equal(floor_mod(5, 0), 5);
}

static void test_civil_known_dates(void **state)
{
    int64_t y;
    unsigned m, d;
    (void)state;

    assert_int_equal(civil_days(1970, 1, 1), 0);
    assert_int_equal(civil_days(1969, 12, 31), -1);
    assert_int_equal(civil_days(2000, 1, 1), 10957);
    assert_int_equal(civil_days(2000, 2, 29), 11016);
    assert_int_equal(civil_days(2000, 3, 1), 11017);
    assert_int_equal(civil_days(1900, 2, 28), -25509);
    assert_int_equal(civil_days(1900, 3, 1), -25508); /* 1900: no Feb 29 */
    assert_int_equal(civil_days(1600, 1, 1), -135140);
    assert_int_equal(civil_days(1, 1, 1), -719162);
    assert_int_equal(civil_days(0, 3, 1), -719468);
    assert_int_equal(civil_days(0, 1, 1), -719528); /* year 0 is leap */
    assert_int_equal(civil_days(-1, 12, 31), -719529);
    assert_int_equal(civil_days(-400, 3, 1), -719468 - 146097);
    assert_int_equal(civil_days(9999, 12, 31), 2932896);
    assert_int_equal(civil_days(2026, 3, 29), 20541);

    civil_from_days(-719468, &y, &m, &d);
    assert_int_equal(y, 0);
    assert_int_equal(m, 3);
    assert_int_equal(d, 1);
    civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y, 1969);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
    civil_from_days(11016, &y, &m, &d);
    assert_int_equal(y, 2000);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    civil_from_days(-719529, &y, &m, &d);
    assert_int_equal(y, -1);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
}

/* Every day within 750000 days (about 2050 years) of the epoch, back to
 * year -84: a valid date, the day after the previous one, and back to the
 * same day count. */
static void test_civil_round_trip(void **state)
{
    int64_t py = 0;
    unsigned pm = 0, pd = 0;
    (void)state;

    civil_from_days(-750001, &py, &pm, &pd);
    for (int64_t days = -750000; days <= 750000; days++) {
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        assert_true(m >= 1 && m <= 12);
        assert_true(d >= 1 && d <= ref_month_len(y, m));
        if (d > 1) {
            assert_true(y == py && m == pm && d == pd + 1);
        } else if (m > 1) {
            assert_true(y == py && m == pm + 1 && pd == ref_month_len(y, pm));
        } else {
            assert_true(y == py + 1 && pm == 12 && pd == 31);
        }
        assert_int_equal(civil_days(y, m, d), days);
        py = y;
        pm = m;
        pd = d;
    }
}

/* January 1 and March 1 of every year from -1000 to 3000 against a running
 * count of year lengths. */
static void test_civil_against_year_lengths(void **state)
{
    int64_t jan1 = ref_days(-1000, 1, 1);
    (void)state;

    for (int64_t y = -1000; y <= 3000; y++) {
        int64_t yy;
        unsigned m, d;
        assert_int_equal(civil_days(y, 1, 1), jan1);
        assert_int_equal(civil_days(y, 3, 1),
                         jan1 + 59 + (ref_leap(y) ? 1 : 0));
        civil_from_days(jan1, &yy, &m, &d);
        assert_int_equal(yy, y);
        assert_int_equal(m, 1);
        assert_int_equal(d, 1);
        jan1 += ref_leap(y) ? 366 : 365;
    }
}

static void test_civil_carry(void **state)
{
    (void)state;
    assert_int_equal(civil_days(2025, 13, 1), 20454); /* 2026-01-01 */
    assert_int_equal(civil_days(2024, 25, 1), 20454);
    assert_int_equal(civil_days(2026, 0, 1), 20423);  /* 2025-12-01 */
    assert_int_equal(civil_days(2026, 3, 0), 20512);  /* 2026-02-28 */
    assert_int_equal(civil_days(2024, 2, 30), 19783); /* 2024-03-01 */
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(civil_weekday(0), 3);       /* 1970-01-01 Thursday */
    assert_int_equal(civil_weekday(-1), 2);      /* Wednesday */
    assert_int_equal(civil_weekday(-3), 0);      /* 1969-12-29 Monday */
    assert_int_equal(civil_weekday(20541), 6);   /* 2026-03-29 Sunday */
    assert_int_equal(civil_weekday(20458), 0);   /* 2026-01-05 Monday */
    assert_int_equal(civil_weekday(10957), 5);   /* 2000-01-01 Saturday */
    assert_int_equal(civil_weekday(-135140), 5); /* 1600-01-01 Saturday */
    for (int64_t d = -10000; d < 10000; d++) {
        assert_int_equal(civil_weekday(d + 1), (civil_weekday(d) + 1) % 7);
    }
}

/* --- parsing and formatting ----------------------------------------------- */

static void test_civil_parse_valid(void **state)
{
    int64_t v = 0;
    const char *why = NULL;
    (void)state;

    assert_int_equal(civil_parse("2026-03-29", &v, &why), 0);
    assert_int_equal(v, 1774742400);
    assert_int_equal(civil_parse("2026-03-29T02:30", &v, &why), 0);
    assert_int_equal(v, 1774751400);
    assert_int_equal(civil_parse("2026-03-29 23:59:59", &v, &why), 0);
    assert_int_equal(v, 1774828799);
    assert_int_equal(civil_parse("2024-02-29T12:00:00", &v, &why), 0);
    assert_int_equal(v, 1709208000);
    assert_int_equal(civil_parse("0000-01-01", &v, &why), 0);
    assert_int_equal(v, -62167219200LL);
    assert_int_equal(civil_parse("1969-12-31T23:59:59", &v, &why), 0);
    assert_int_equal(v, -1);
    assert_int_equal(civil_parse("2000-02-29", &v, NULL), 0);
    assert_int_equal(v, 11016 * 86400LL);
}

static void test_civil_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-3-29",
        "2026-03-9",
        "26-03-29",
        "+2026-03-29",
        " 2026-03-29",
        "2026/03/29",
        "2026-03-29T",
        "2026-03-29T2:30",
        "2026-03-29T02:3",
        "2026-03-29T02",
        "2026-03-29T02:30:",
        "2026-03-29T02:30:5",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-01-32",
        "2026-02-29",
        "1900-02-29",
        "2026-02-30",
        "2026-04-31",
        "2026-03-29T24:00",
        "2026-03-29T23:60",
        "2026-03-29T23:59:60",
        "2026-03-29x",
        "2026-03-29T01:30Z",
        "2026-03-29T01:30:00+02:00",
        "2026-03-29T01:30:00.5",
        "2026-03-29T01:30:00 ",
        "2026-03-29Tab:cd",
        "abcd-ef-gh",
    };
    (void)state;

    for (size_t i = 0; i < N(bad); i++) {
        int64_t v = 12345;
        const char *why = NULL;
        if (civil_parse(bad[i], &v, &why) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_non_null(why);
        assert_int_equal(v, 12345);
    }
    {
        int64_t v;
        const char *why = NULL;
        assert_int_equal(civil_parse(NULL, &v, &why), -1);
        assert_non_null(why);
        assert_int_equal(civil_parse("2026-02-30", &v, &why), -1);
        assert_string_equal(why, "day out of range");
        assert_int_equal(civil_parse("2026-13-01", &v, &why), -1);
        assert_string_equal(why, "month out of range");
        assert_int_equal(civil_parse("2026-01-01T24:00", &v, &why), -1);
        assert_string_equal(why, "hour out of range");
    }
}

static void test_instant_parse(void **state)
{
    const struct tz *berlin = tz_find("Europe/Berlin");
    const int64_t t = 1774747800000LL; /* 2026-03-29T01:30:00Z */
    int64_t v = 0;
    const char *why = NULL;
    (void)state;

    assert_non_null(berlin);
    assert_int_equal(instant_parse("2026-03-29T01:30:00Z", NULL, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-29t01:30:00z", NULL, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(
        instant_parse("2026-03-29T03:30:00+02:00", berlin, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-28T20:30:00-05:00", NULL, &v, &why),
                     0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-29T01:30Z", NULL, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-29T01:30:00.25Z", NULL, &v, &why),
                     0);
    assert_int_equal(v, t + 250);
    assert_int_equal(
        instant_parse("2026-03-29T01:30:00.123456789Z", NULL, &v, &why), 0);
    assert_int_equal(v, t + 123);
    assert_int_equal(instant_parse("1969-12-31T23:59:59.5Z", NULL, &v, &why),
                     0);
    assert_int_equal(v, -500);

    /* Local times: in the zone given, UTC without one. */
    assert_int_equal(instant_parse("2026-03-29T03:30", berlin, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-29T01:30", NULL, &v, &why), 0);
    assert_int_equal(v, t);
    assert_int_equal(instant_parse("2026-03-29", berlin, &v, &why), 0);
    assert_int_equal(v, utc(2026, 3, 28, 23, 0, 0));
    /* 02:30 does not exist in Berlin that night: 03:00 CEST. */
    assert_int_equal(instant_parse("2026-03-29T02:30", berlin, &v, &why), 0);
    assert_int_equal(v, utc(2026, 3, 29, 1, 0, 0));
}

static void test_instant_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-03-29Z",
        "2026-03-29T01:30:00ZZ",
        "2026-03-29T01:30:00 Z",
        "2026-03-29T01:30:00+2:00",
        "2026-03-29T01:30:00+0200",
        "2026-03-29T01:30:00+24:00",
        "2026-03-29T01:30:00+02:60",
        "2026-03-29T01:30:00+02:00x",
        "2026-03-29T01:30:00.Z",
        "2026-03-29T01:30:00.1234567890Z",
        "2026-03-29T01:30.5Z",
        "2026-02-30T00:00:00Z",
        "2026-03-29T01:30:61Z",
        "2026-03-29T01:30:00UTC",
    };
    (void)state;

    for (size_t i = 0; i < N(bad); i++) {
        int64_t v = 12345;
        const char *why = NULL;
        if (instant_parse(bad[i], NULL, &v, &why) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_non_null(why);
        assert_int_equal(v, 12345);
    }
}

static void test_format(void **state)
{
    char buf[32];
    char small[8 + 4];
    (void)state;

    civil_format(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00");
    civil_format(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59");
    civil_format(1774751400, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-29T02:30:00");
    civil_format(-62167219200LL, buf, sizeof buf);
    assert_string_equal(buf, "0000-01-01T00:00:00");
    civil_format(-62167219201LL, buf, sizeof buf);
    assert_string_equal(buf, "-0001-12-31T23:59:59");
    civil_format(253402300799LL, buf, 20);
    assert_string_equal(buf, "9999-12-31T23:59:59");

    instant_format_utc(1774747800250LL, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-29T01:30:00Z");
    instant_format_utc(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    instant_format_utc(0, buf, 21);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");

    /* Truncated, terminated, nothing written past len. */
    memset(small, 'x', sizeof small);
    civil_format(0, small, 8);
    assert_string_equal(small, "1970-01");
    assert_int_equal(small[8], 'x');
    civil_format(0, small, 0);
    assert_int_equal(small[0], '1');
}

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    /* Steps of 86400 * 7 + 3661 s walk through every weekday, hour,
     * minute and second over years 0..9999. */
    for (int64_t s = -62167219200LL; s < 253402300799LL;
         s += 86400 * 7 * 53 + 3661) {
        char buf[24];
        int64_t back = 0;
        const char *why = NULL;
        civil_format(s, buf, sizeof buf);
        assert_int_equal(civil_parse(buf, &back, &why), 0);
        assert_int_equal(back, s);
    }
}

/* --- zones ---------------------------------------------------------------- */

static void test_tz_find(void **state)
{
    const struct tz *berlin = tz_find("Europe/Berlin");
    (void)state;

    assert_non_null(berlin);
    assert_ptr_equal(tz_find("Europe/Berlin"), berlin);
    assert_ptr_equal(tz_find(NULL), tz_utc());
    assert_ptr_equal(tz_find(""), tz_utc());
    assert_non_null(tz_find("UTC"));
    assert_non_null(tz_find("America/New_York"));
    assert_null(tz_find("Nope/Zone"));
    assert_null(tz_find("Europe/Berlin "));
    assert_null(tz_find("../../etc/passwd"));
    assert_null(tz_find("/etc/localtime"));
    assert_null(tz_find("Europe/"));
    assert_null(tz_find("zone.tab"));
    assert_int_equal(tz_offset(tz_find("UTC"), 1774746000), 0);
    assert_int_equal(tz_offset(tz_utc(), 1774746000), 0);
    assert_int_equal(tz_offset(tz_find("Asia/Kolkata"), 1774746000), 19800);
}

static void test_tz_offset_berlin(void **state)
{
    const struct tz *z = tz_find("Europe/Berlin");
    const int64_t spring = 1774746000; /* 2026-03-29T01:00:00Z */
    const int64_t fall = 1792890000;   /* 2026-10-25T01:00:00Z */
    (void)state;

    assert_int_equal(spring, lsec(2026, 3, 29, 1, 0, 0));
    assert_int_equal(fall, lsec(2026, 10, 25, 1, 0, 0));
    assert_int_equal(tz_offset(z, spring - 1), 3600);
    assert_int_equal(tz_offset(z, spring), 7200);
    assert_int_equal(tz_offset(z, fall - 1), 7200);
    assert_int_equal(tz_offset(z, fall), 3600);
    assert_int_equal(tz_offset(z, lsec(2026, 1, 15, 12, 0, 0)), 3600);
    assert_int_equal(tz_offset(z, lsec(2000, 7, 1, 12, 0, 0)), 7200);
    /* The wall clock jumps from 01:59:59 to 03:00:00 and from 02:59:59
     * back to 02:00:00. */
    assert_int_equal(tz_to_local(z, spring - 1), lsec(2026, 3, 29, 1, 59, 59));
    assert_int_equal(tz_to_local(z, spring), lsec(2026, 3, 29, 3, 0, 0));
    assert_int_equal(tz_to_local(z, fall - 1), lsec(2026, 10, 25, 2, 59, 59));
    assert_int_equal(tz_to_local(z, fall), lsec(2026, 10, 25, 2, 0, 0));
}

static void test_tz_offset_new_york(void **state)
{
    const struct tz *z = tz_find("America/New_York");
    const int64_t spring = 1772953200; /* 2026-03-08T07:00:00Z */
    const int64_t fall = 1793512800;   /* 2026-11-01T06:00:00Z */
    (void)state;

    assert_int_equal(spring, lsec(2026, 3, 8, 7, 0, 0));
    assert_int_equal(fall, lsec(2026, 11, 1, 6, 0, 0));
    assert_int_equal(tz_offset(z, spring - 1), -18000);
    assert_int_equal(tz_offset(z, spring), -14400);
    assert_int_equal(tz_offset(z, fall - 1), -14400);
    assert_int_equal(tz_offset(z, fall), -18000);
    /* Before 2007 DST began on the first Sunday of April. */
    assert_int_equal(tz_offset(z, lsec(2006, 4, 1, 12, 0, 0)), -18000);
    assert_int_equal(tz_offset(z, lsec(2006, 4, 2, 12, 0, 0)), -14400);
    assert_int_equal(tz_offset(z, lsec(2007, 3, 20, 12, 0, 0)), -14400);
}

static void test_tz_from_local_normal(void **state)
{
    const struct tz *berlin = tz_find("Europe/Berlin");
    const struct tz *ny = tz_find("America/New_York");
    (void)state;

    assert_int_equal(tz_from_local(berlin, lsec(2026, 6, 1, 12, 0, 0)),
                     lsec(2026, 6, 1, 10, 0, 0));
    assert_int_equal(tz_from_local(berlin, lsec(2026, 1, 15, 12, 0, 0)),
                     lsec(2026, 1, 15, 11, 0, 0));
    assert_int_equal(tz_from_local(ny, lsec(2026, 1, 15, 9, 0, 0)),
                     lsec(2026, 1, 15, 14, 0, 0));
    assert_int_equal(tz_from_local(ny, lsec(2026, 7, 4, 9, 0, 0)),
                     lsec(2026, 7, 4, 13, 0, 0));
    assert_int_equal(tz_from_local(tz_utc(), 1234567), 1234567);
    assert_int_equal(
        tz_from_local(tz_find("Asia/Kolkata"), lsec(2026, 3, 29, 5, 30, 0)),
        lsec(2026, 3, 29, 0, 0, 0));
    /* Right at the edges of the changes. */
    assert_int_equal(tz_from_local(berlin, lsec(2026, 3, 29, 1, 59, 59)),
                     lsec(2026, 3, 29, 0, 59, 59));
    assert_int_equal(tz_from_local(berlin, lsec(2026, 3, 29, 3, 0, 0)),
                     lsec(2026, 3, 29, 1, 0, 0));
    assert_int_equal(tz_from_local(berlin, lsec(2026, 10, 25, 3, 0, 0)),
                     lsec(2026, 10, 25, 2, 0, 0));
}

static void test_tz_from_local_gap(void **state)
{
    const struct tz *berlin = tz_find("Europe/Berlin");
    const struct tz *ny = tz_find("America/New_York");
    const int64_t ny_spring = lsec(2026, 3, 8, 7, 0, 0);
    (void)state;

    /* New York skips 02:00..02:59:59 on 2026-03-08: every time in the gap
     * maps to 03:00 EDT. */
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 1, 59, 59)),
                     ny_spring - 1);
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 2, 0, 0)), ny_spring);
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 2, 30, 0)), ny_spring);
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 2, 59, 59)), ny_spring);
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 3, 0, 0)), ny_spring);
    assert_int_equal(tz_from_local(ny, lsec(2026, 3, 8, 3, 0, 1)),
                     ny_spring + 1);
    assert_int_equal(tz_from_local(berlin, lsec(2026, 3, 29, 2, 30, 0)),
                     lsec(2026, 3, 29, 1, 0, 0));
}

static void test_tz_from_local_overlap(void **state)
{
    const struct tz *berlin = tz_find("Europe/Berlin");
    const struct tz *ny = tz_find("America/New_York");
    (void)state;

    /* New York shows 01:00..01:59:59 twice on 2026-11-01 (EDT, then EST):
     * the first occurrence. */
    assert_int_equal(tz_from_local(ny, lsec(2026, 11, 1, 0, 59, 59)),
                     lsec(2026, 11, 1, 4, 59, 59));
    assert_int_equal(tz_from_local(ny, lsec(2026, 11, 1, 1, 0, 0)),
                     lsec(2026, 11, 1, 5, 0, 0));
    assert_int_equal(tz_from_local(ny, lsec(2026, 11, 1, 1, 30, 0)),
                     lsec(2026, 11, 1, 5, 30, 0));
    assert_int_equal(tz_from_local(ny, lsec(2026, 11, 1, 1, 59, 59)),
                     lsec(2026, 11, 1, 5, 59, 59));
    assert_int_equal(tz_from_local(ny, lsec(2026, 11, 1, 2, 0, 0)),
                     lsec(2026, 11, 1, 7, 0, 0));
    assert_int_equal(tz_from_local(berlin, lsec(2026, 10, 25, 2, 30, 0)),
                     lsec(2026, 10, 25, 0, 30, 0));
}

/* Every 7 minutes and 13 seconds over the days around both changes: the
 * wall clock of an instant maps back to it, except in the repeated hour,
 * where it maps to the first occurrence an hour earlier. */
static void test_tz_round_trip_around_changes(void **state)
{
    const struct tz *ny = tz_find("America/New_York");
    const int64_t spring = lsec(2026, 3, 8, 7, 0, 0);
    const int64_t fall = lsec(2026, 11, 1, 6, 0, 0);
    (void)state;

    for (int64_t t = spring - 2 * 86400; t < spring + 2 * 86400; t += 433) {
        assert_int_equal(tz_from_local(ny, tz_to_local(ny, t)), t);
    }
    for (int64_t t = fall - 2 * 86400; t < fall + 2 * 86400; t += 433) {
        bool second = t >= fall && t < fall + 3600;
        assert_int_equal(tz_from_local(ny, tz_to_local(ny, t)),
                         second ? t - 3600 : t);
    }
}

/* Recife kept DST for one week in October 2000 (from 2000-10-08T03:00Z
 * to 2000-10-15T02:00Z): changes a few days apart are seen. */
static void test_short_lived_dst(void **state)
{
    const struct tz *z = tz_find("America/Recife");
    const int64_t on = lsec(2000, 10, 8, 3, 0, 0);
    const int64_t off = lsec(2000, 10, 15, 2, 0, 0);
    struct sched b;
    (void)state;

    assert_non_null(z);
    assert_int_equal(tz_offset(z, on - 1), -10800);
    assert_int_equal(tz_offset(z, on), -7200);
    assert_int_equal(tz_offset(z, off - 1), -7200);
    assert_int_equal(tz_offset(z, off), -10800);
    assert_int_equal(tz_from_local(z, lsec(2000, 10, 11, 9, 0, 0)),
                     lsec(2000, 10, 11, 11, 0, 0));
    assert_int_equal(tz_from_local(z, lsec(2000, 10, 16, 9, 0, 0)),
                     lsec(2000, 10, 16, 12, 0, 0));

    /* Daily hand-off at 09:00 local from 2000-10-01 (turn 0: a). */
    sched_init(&b, "America/Recife");
    add_layer(&b, ab, 2, lsec(2000, 10, 1, 9, 0, 0), 1, 0);
    check_user("b", at(&b, utc(2000, 10, 7, 12, 0, 0) - 1));
    check_user("a", at(&b, utc(2000, 10, 7, 12, 0, 0)));
    check_user("a", at(&b, utc(2000, 10, 10, 11, 0, 0) - 1));
    check_user("b", at(&b, utc(2000, 10, 10, 11, 0, 0)));
    check_user("b", at(&b, utc(2000, 10, 15, 12, 0, 0) - 1));
    check_user("a", at(&b, utc(2000, 10, 15, 12, 0, 0)));
    /* Each day's hand-off: 09:00 local at that day's noon UTC offset. */
    for (int64_t t = utc(2000, 10, 2, 0, 0, 0); t < utc(2000, 10, 25, 0, 0, 0);
         t += DAY) {
        int64_t local_9 = (floor_div(t, DAY) * 86400 + 9 * 3600) * 1000;
        int64_t noon_s = floor_div(t, 1000) + 43200;
        assert_int_equal(schedule_next_change(&b.s, t, DAY),
                         local_9 - tz_offset(z, noon_s) * 1000);
    }
}

/* --- rotations ------------------------------------------------------------ */

static void test_rotation_daily(void **state)
{
    struct sched b;
    struct shift sh[4];
    struct oncall_pos pos;
    const int64_t start = utc(2026, 1, 5, 9, 0, 0);
    (void)state;

    sched_init(&b, "UTC");
    add_layer(&b, abc, 3, lsec(2026, 1, 5, 9, 0, 0), 1, 0)->end_local =
        lsec(2026, 1, 15, 9, 0, 0);

    check_user("a", schedule_oncall(&b.s, start, &pos));
    assert_int_equal(pos.layer, 0);
    assert_int_equal(pos.override, -1);
    assert_int_equal(pos.turn_user, 0);
    check_user(NULL, schedule_oncall(&b.s, start - 1, &pos));
    assert_int_equal(pos.layer, -1);
    assert_int_equal(pos.override, -1);
    check_user("a", at(&b, start + DAY - 1));
    check_user("b", schedule_oncall(&b.s, start + DAY, &pos));
    assert_int_equal(pos.turn_user, 1);
    check_user("c", at(&b, start + 2 * DAY));
    check_user("a", at(&b, start + 3 * DAY));
    check_user("a", at(&b, start + 10 * DAY - 1)); /* turn 9 */
    check_user(NULL, at(&b, start + 10 * DAY));    /* end_local */
    check_user(NULL, at(&b, start + 1000 * DAY));

    /* Ending in the middle of a turn. */
    sched_init(&b, "UTC");
    add_layer(&b, abc, 3, lsec(2026, 1, 5, 9, 0, 0), 1, 0)->end_local =
        lsec(2026, 1, 15, 21, 0, 0);
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 1, 15, 12, 0, 0), 7 * DAY),
        utc(2026, 1, 15, 21, 0, 0));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 1, 15, 21, 0, 0), 7 * DAY),
        utc(2026, 1, 22, 21, 0, 0));
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 1, 15, 0, 0, 0),
                                     utc(2026, 1, 16, 0, 0, 0), sh, 4),
                     3);
    check_shift(&sh[0], "a", utc(2026, 1, 15, 0, 0, 0),
                utc(2026, 1, 15, 9, 0, 0), 0);
    check_shift(&sh[1], "b", utc(2026, 1, 15, 9, 0, 0),
                utc(2026, 1, 15, 21, 0, 0), 0);
    check_shift(&sh[2], NULL, utc(2026, 1, 15, 21, 0, 0),
                utc(2026, 1, 16, 0, 0, 0), -1);
}

static void test_rotation_many_turns_later(void **state)
{
    struct sched b;
    struct oncall_pos pos;
    (void)state;

    sched_init(&b, "UTC");
    add_layer(&b, abc, 3, lsec(2026, 1, 5, 9, 0, 0), 1, 0);
    /* 1000 days later: turn 1000, 1000 mod 3 = 1. */
    check_user("b", schedule_oncall(&b.s, utc(2026, 1, 5, 9, 0, 0) + 1000 * DAY,
                                    &pos));
    assert_int_equal(pos.turn_user, 1);

    /* Weekly since Monday 2000-01-03: 2026-03-30 is 9583 days = 1369 weeks
     * later, 1369 mod 4 = 1. */
    sched_init(&b, "UTC");
    add_layer(&b, primary, 4, lsec(2000, 1, 3, 0, 0, 0), 7, 0);
    check_user("charlie", at(&b, utc(2026, 3, 30, 0, 0, 0)));
    check_user("alice", at(&b, utc(2026, 3, 30, 0, 0, 0) - 1));

    /* One-second turns since 1990: 1143594000 s to 2026-03-29T01:00Z. */
    sched_init(&b, "UTC");
    add_layer(&b, ab, 2, lsec(1990, 1, 1, 0, 0, 0), 0, 1);
    check_user("a", at(&b, 1774746000000LL));
    check_user("a", at(&b, 1774746000999LL));
    check_user("b", at(&b, 1774746001000LL));
    check_user("a", at(&b, 1774746002000LL));
}

/* Daily hand-off at 09:00 Berlin: 08:00Z in winter, 07:00Z in summer;
 * the turn that contains the change lasts 23 or 25 hours. */
static void test_daily_handoff_across_dst(void **state)
{
    struct sched b;
    (void)state;

    sched_init(&b, "Europe/Berlin");
    add_layer(&b, ab, 2, lsec(2026, 3, 27, 9, 0, 0), 1, 0);
    check_user(NULL, at(&b, utc(2026, 3, 27, 8, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 27, 8, 0, 0)));
    check_user("b", at(&b, utc(2026, 3, 28, 8, 0, 0)));
    check_user("b", at(&b, utc(2026, 3, 29, 7, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 29, 7, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 29, 8, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 30, 7, 0, 0) - 1));
    check_user("b", at(&b, utc(2026, 3, 30, 7, 0, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 28, 8, 0, 0), 7 * DAY),
        utc(2026, 3, 29, 7, 0, 0));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 29, 7, 0, 0), 7 * DAY),
        utc(2026, 3, 30, 7, 0, 0));

    sched_init(&b, "Europe/Berlin");
    add_layer(&b, ab, 2, lsec(2026, 10, 23, 9, 0, 0), 1, 0);
    check_user("a", at(&b, utc(2026, 10, 23, 7, 0, 0)));
    check_user("b", at(&b, utc(2026, 10, 24, 7, 0, 0)));
    check_user("b", at(&b, utc(2026, 10, 25, 8, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 10, 25, 8, 0, 0)));
    check_user("b", at(&b, utc(2026, 10, 26, 8, 0, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 10, 24, 7, 0, 0), 7 * DAY),
        utc(2026, 10, 25, 8, 0, 0));
}

/* Hand-off at 02:30 New York: on 2026-03-08 that time is skipped and the
 * hand-off happens at 03:00 EDT; on 2026-11-01 it happens at the first
 * 01:30. */
static void test_handoff_in_gap_and_overlap(void **state)
{
    struct sched b;
    (void)state;

    sched_init(&b, "America/New_York");
    add_layer(&b, abc, 3, lsec(2026, 3, 6, 2, 30, 0), 1, 0);
    check_user("a", at(&b, utc(2026, 3, 6, 7, 30, 0)));
    check_user("b", at(&b, utc(2026, 3, 7, 7, 30, 0)));
    check_user("b", at(&b, utc(2026, 3, 8, 7, 0, 0) - 1));
    check_user("c", at(&b, utc(2026, 3, 8, 7, 0, 0)));
    check_user("c", at(&b, utc(2026, 3, 9, 6, 30, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 9, 6, 30, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 7, 12, 0, 0), 7 * DAY),
        utc(2026, 3, 8, 7, 0, 0));

    sched_init(&b, "America/New_York");
    add_layer(&b, abc, 3, lsec(2026, 10, 30, 1, 30, 0), 1, 0);
    check_user("a", at(&b, utc(2026, 10, 30, 5, 30, 0)));
    check_user("b", at(&b, utc(2026, 11, 1, 5, 30, 0) - 1));
    check_user("c", at(&b, utc(2026, 11, 1, 5, 30, 0)));
    check_user("c", at(&b, utc(2026, 11, 1, 6, 15, 0))); /* second 01:15 */
    check_user("c", at(&b, utc(2026, 11, 1, 6, 30, 0))); /* second 01:30 */
    check_user("a", schedule_neighbour(&b.s, utc(2026, 11, 1, 6, 15, 0), 1));
    check_user("c", at(&b, utc(2026, 11, 2, 6, 30, 0) - 1));
    check_user("a", at(&b, utc(2026, 11, 2, 6, 30, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 11, 1, 5, 30, 0), 7 * DAY),
        utc(2026, 11, 2, 6, 30, 0));
}

/* turn_s counts elapsed time: 12-hour turns from 20:00 CET stay 12 hours
 * apart, so the wall clock of the hand-off moves to 09:00 and 21:00. */
static void test_fixed_turns_across_dst(void **state)
{
    struct sched b;
    (void)state;

    sched_init(&b, "Europe/Berlin");
    add_layer(&b, ab, 2, lsec(2026, 3, 28, 20, 0, 0), 0, 12 * 3600);
    check_user(NULL, at(&b, utc(2026, 3, 28, 19, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 28, 19, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 29, 7, 0, 0) - 1));
    check_user("b", at(&b, utc(2026, 3, 29, 7, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 29, 19, 0, 0)));
    assert_int_equal(schedule_next_change(&b.s, utc(2026, 3, 29, 0, 0, 0), DAY),
                     utc(2026, 3, 29, 7, 0, 0));

    sched_init(&b, "Europe/Berlin");
    add_layer(&b, ab, 2, lsec(2026, 10, 24, 20, 0, 0), 0, 12 * 3600);
    check_user("a", at(&b, utc(2026, 10, 24, 18, 0, 0)));
    check_user("a", at(&b, utc(2026, 10, 25, 6, 0, 0) - 1));
    check_user("b", at(&b, utc(2026, 10, 25, 6, 0, 0)));
    check_user("a", at(&b, utc(2026, 10, 25, 18, 0, 0)));
}

static void test_layer_edge_cases(void **state)
{
    struct sched b;
    Klaxon__Layer *l;
    (void)state;

    /* Neither turn length: one endless turn. */
    sched_init(&b, "UTC");
    add_layer(&b, ab, 2, lsec(2026, 1, 1, 0, 0, 0), 0, 0);
    check_user("a", at(&b, utc(2026, 1, 1, 0, 0, 0)));
    check_user("a", at(&b, utc(2027, 6, 1, 0, 0, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 1, 2, 0, 0, 0), 30 * DAY),
        utc(2026, 1, 2, 0, 0, 0) + 30 * DAY);

    /* No users; unknown restriction kind; zero-length window. */
    sched_init(&b, "UTC");
    add_layer(&b, ab, 0, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    check_user(NULL, at(&b, utc(2026, 1, 2, 0, 0, 0)));
    l = add_layer(&b, ab, 2, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    add_restriction(&b, l, KLAXON__RESTRICTION_KIND__RESTRICTION_UNSPECIFIED, 0,
                    0, 86400);
    check_user(NULL, at(&b, utc(2026, 1, 2, 12, 0, 0)));
    daily(&b, l, 0, 0);
    check_user(NULL, at(&b, utc(2026, 1, 2, 12, 0, 0)));
    daily(&b, l, 12 * 3600, 3600);
    check_user("b", at(&b, utc(2026, 1, 2, 12, 0, 0)));

    /* An unknown zone evaluates in UTC. */
    sched_init(&b, "Mars/Olympus_Mons");
    add_layer(&b, ab, 2, lsec(2026, 1, 1, 9, 0, 0), 1, 0);
    check_user(NULL, at(&b, utc(2026, 1, 1, 9, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 1, 1, 9, 0, 0)));

    /* No schedule, no layers. */
    check_user(NULL, schedule_oncall(NULL, 0, NULL));
    sched_init(&b, "");
    check_user(NULL, at(&b, 0));
    assert_int_equal(schedule_next_change(&b.s, 5000, 1000), 6000);
    assert_int_equal(schedule_next_change(&b.s, 5000, 0), 5000);
    assert_int_equal(schedule_next_change(&b.s, INT64_MAX - 5, 1000),
                     INT64_MAX);
}

/* --- restrictions --------------------------------------------------------- */

/* Weekdays 09:00-17:00 Berlin (CET in early March: 08:00Z-16:00Z), as five
 * weekly windows. */
static void test_weekly_business_hours(void **state)
{
    struct sched b;
    struct shift sh[16];
    Klaxon__Layer *l;
    (void)state;

    sched_init(&b, "Europe/Berlin");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 5, 0, 0, 0), 7, 0);
    for (unsigned d = 0; d < 5; d++) {
        weekly(&b, l, d, 9 * 3600, 8 * 3600);
    }
    check_user(NULL, at(&b, utc(2026, 3, 2, 8, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 2, 8, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 2, 16, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 3, 2, 16, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 6, 11, 0, 0)));  /* Friday */
    check_user(NULL, at(&b, utc(2026, 3, 7, 11, 0, 0))); /* Saturday */
    check_user(NULL, at(&b, utc(2026, 3, 8, 11, 0, 0))); /* Sunday */
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 6, 16, 0, 0), 7 * DAY),
        utc(2026, 3, 9, 8, 0, 0));

    /* The week of Monday 2026-03-02: five days on, six stretches off. */
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 2, 0, 0, 0),
                                     utc(2026, 3, 9, 0, 0, 0), sh, 16),
                     11);
    check_shift(&sh[0], NULL, utc(2026, 3, 2, 0, 0, 0),
                utc(2026, 3, 2, 8, 0, 0), -1);
    for (unsigned d = 0; d < 5; d++) {
        check_shift(&sh[1 + 2 * d], "a", utc(2026, 3, 2 + d, 8, 0, 0),
                    utc(2026, 3, 2 + d, 16, 0, 0), 0);
    }
    check_shift(&sh[10], NULL, utc(2026, 3, 6, 16, 0, 0),
                utc(2026, 3, 9, 0, 0, 0), -1);

    /* The same hours as one daily window cover the weekend too. */
    sched_init(&b, "Europe/Berlin");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 5, 0, 0, 0), 7, 0);
    daily(&b, l, 9 * 3600, 8 * 3600);
    check_user("a", at(&b, utc(2026, 3, 7, 11, 0, 0)));
    check_user(NULL, at(&b, utc(2026, 3, 7, 16, 0, 0)));
}

/* Friday 18:00 for 64 hours: wraps past the end of the week to Monday
 * 10:00. */
static void test_weekly_window_wraps_week(void **state)
{
    struct sched b;
    Klaxon__Layer *l;
    (void)state;

    sched_init(&b, "Europe/Berlin");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 5, 0, 0, 0), 7, 0);
    weekly(&b, l, 4, 18 * 3600, 64 * 3600);
    check_user(NULL, at(&b, utc(2026, 3, 6, 17, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 6, 17, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 8, 22, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 8, 23, 30, 0))); /* Mon 00:30 */
    check_user("a", at(&b, utc(2026, 3, 9, 9, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 3, 9, 9, 0, 0)));
    check_user(NULL, at(&b, utc(2026, 3, 12, 12, 0, 0)));
}

/* Nights 20:00 for 12 hours wrap midnight; across DST the window still
 * ends at 08:00 local, after 11 or 13 hours. */
static void test_night_window(void **state)
{
    struct sched b;
    struct shift sh[4];
    Klaxon__Layer *l;
    (void)state;

    sched_init(&b, "Europe/Berlin");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 5, 20, 0, 0), 1, 0);
    daily(&b, l, 20 * 3600, 12 * 3600);
    check_user(NULL, at(&b, utc(2026, 1, 14, 19, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 1, 14, 19, 0, 0)));
    check_user("a", at(&b, utc(2026, 1, 14, 23, 0, 0))); /* midnight */
    check_user("a", at(&b, utc(2026, 1, 15, 7, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 1, 15, 7, 0, 0)));

    check_user("a", at(&b, utc(2026, 3, 28, 19, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 29, 6, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 3, 29, 6, 0, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 28, 19, 0, 0), DAY),
        utc(2026, 3, 29, 6, 0, 0));
    assert_int_equal(schedule_next_change(&b.s, utc(2026, 3, 29, 6, 0, 0), DAY),
                     utc(2026, 3, 29, 18, 0, 0));

    check_user(NULL, at(&b, utc(2026, 10, 24, 18, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 10, 24, 18, 0, 0)));
    check_user("a", at(&b, utc(2026, 10, 25, 7, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 10, 25, 7, 0, 0)));
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 10, 24, 12, 0, 0),
                                     utc(2026, 10, 25, 12, 0, 0), sh, 4),
                     3);
    check_shift(&sh[0], NULL, utc(2026, 10, 24, 12, 0, 0),
                utc(2026, 10, 24, 18, 0, 0), -1);
    check_shift(&sh[1], "a", utc(2026, 10, 24, 18, 0, 0),
                utc(2026, 10, 25, 7, 0, 0), 0);
    check_shift(&sh[2], NULL, utc(2026, 10, 25, 7, 0, 0),
                utc(2026, 10, 25, 12, 0, 0), -1);
}

/* Windows whose edges fall into the New York gap or overlap. */
static void test_windows_in_gap_and_overlap(void **state)
{
    struct sched b;
    struct shift one;
    Klaxon__Layer *l;
    (void)state;

    /* 02:30 for 1 h: on 2026-03-08 from 03:00 EDT to 03:30 EDT. */
    sched_init(&b, "America/New_York");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    daily(&b, l, 2 * 3600 + 1800, 3600);
    check_user("a", at(&b, utc(2026, 3, 7, 7, 30, 0)));
    check_user(NULL, at(&b, utc(2026, 3, 7, 8, 30, 0)));
    check_user(NULL, at(&b, utc(2026, 3, 8, 7, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 3, 8, 7, 0, 0)));
    check_user("a", at(&b, utc(2026, 3, 8, 7, 30, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 3, 8, 7, 30, 0)));

    /* 00:30 for 1 h on 2026-11-01: ends at the first 01:30, so the second
     * 01:00..01:30 (EST) is outside. */
    sched_init(&b, "America/New_York");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    daily(&b, l, 1800, 3600);
    check_user("a", at(&b, utc(2026, 11, 1, 4, 30, 0)));
    check_user("a", at(&b, utc(2026, 11, 1, 5, 30, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 11, 1, 5, 30, 0)));
    check_user(NULL, at(&b, utc(2026, 11, 1, 6, 15, 0)));

    /* 01:00 for 1 h on 2026-11-01: from the first 01:00 to 02:00 EST, two
     * real hours. */
    sched_init(&b, "America/New_York");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    daily(&b, l, 3600, 3600);
    check_user(NULL, at(&b, utc(2026, 11, 1, 5, 0, 0) - 1));
    check_user("a", at(&b, utc(2026, 11, 1, 5, 0, 0)));
    check_user("a", at(&b, utc(2026, 11, 1, 6, 30, 0)));
    check_user("a", at(&b, utc(2026, 11, 1, 7, 0, 0) - 1));
    check_user(NULL, at(&b, utc(2026, 11, 1, 7, 0, 0)));
    assert_int_equal(schedule_next_change(&b.s, utc(2026, 11, 1, 5, 0, 0), DAY),
                     utc(2026, 11, 1, 7, 0, 0));

    /* 01:20 for 5 min on 2026-11-01: by the second 01:15 (EST) that
     * window has come and gone; the next one is 01:20 EST the day after. */
    sched_init(&b, "America/New_York");
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    daily(&b, l, 3600 + 1200, 300);
    check_user("a", at(&b, utc(2026, 11, 1, 5, 20, 0)));
    check_user(NULL, at(&b, utc(2026, 11, 1, 5, 25, 0)));
    check_user(NULL, at(&b, utc(2026, 11, 1, 6, 22, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 11, 1, 6, 15, 0), 2 * DAY),
        utc(2026, 11, 2, 6, 20, 0));
    one = schedule_shift_at(&b.s, utc(2026, 11, 1, 6, 15, 0), 2 * DAY);
    check_shift(&one, NULL, utc(2026, 11, 1, 5, 25, 0),
                utc(2026, 11, 2, 6, 20, 0), -1);
}

/* --- layers and overrides ------------------------------------------------- */

static void test_layer_precedence(void **state)
{
    struct sched b;
    struct shift sh[4];
    struct oncall_pos pos;
    Klaxon__Layer *top;
    (void)state;

    sched_init(&b, "UTC");
    add_layer(&b, ab, 2, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    top = add_layer(&b, abc + 2, 1, lsec(2026, 2, 1, 0, 0, 0), 7, 0);
    top->end_local = lsec(2026, 2, 3, 0, 0, 0);
    daily(&b, top, 9 * 3600, 8 * 3600);

    /* Before the upper layer starts: day 14 of the lower one. */
    check_user("a", schedule_oncall(&b.s, utc(2026, 1, 15, 12, 0, 0), &pos));
    assert_int_equal(pos.layer, 0);
    check_user("c", schedule_oncall(&b.s, utc(2026, 2, 2, 12, 0, 0), &pos));
    assert_int_equal(pos.layer, 1);
    assert_int_equal(pos.turn_user, 0);
    check_user("a", at(&b, utc(2026, 2, 2, 18, 0, 0))); /* day 32 */
    check_user("b", at(&b, utc(2026, 2, 3, 12, 0, 0))); /* upper ended */
    check_user("a", at(&b, utc(2026, 2, 2, 9, 0, 0) - 1));

    assert_int_equal(schedule_shifts(&b.s, utc(2026, 2, 2, 0, 0, 0),
                                     utc(2026, 2, 3, 0, 0, 0), sh, 4),
                     3);
    check_shift(&sh[0], "a", utc(2026, 2, 2, 0, 0, 0), utc(2026, 2, 2, 9, 0, 0),
                0);
    check_shift(&sh[1], "c", utc(2026, 2, 2, 9, 0, 0),
                utc(2026, 2, 2, 17, 0, 0), 1);
    check_shift(&sh[2], "a", utc(2026, 2, 2, 17, 0, 0),
                utc(2026, 2, 3, 0, 0, 0), 0);
}

static void test_overrides(void **state)
{
    struct sched b;
    struct shift sh[8];
    struct oncall_pos pos;
    const int64_t d = utc(2026, 3, 2, 0, 0, 0);
    (void)state;

    sched_init(&b, "Europe/Berlin");
    add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    add_override(&b, "o1", d + 10 * HOUR, d + 12 * HOUR);
    add_override(&b, "o2", d + 11 * HOUR, d + 13 * HOUR);
    add_override(&b, "never", d + 14 * HOUR, d + 14 * HOUR);

    check_user("a", schedule_oncall(&b.s, d + 10 * HOUR - 1, &pos));
    assert_int_equal(pos.override, -1);
    check_user("o1", schedule_oncall(&b.s, d + 10 * HOUR, &pos));
    assert_int_equal(pos.override, 0);
    assert_int_equal(pos.layer, -1);
    check_user("o1", at(&b, d + 11 * HOUR - 1));
    check_user("o2", schedule_oncall(&b.s, d + 11 * HOUR, &pos));
    assert_int_equal(pos.override, 1);
    check_user("o2", at(&b, d + 12 * HOUR + 30 * MIN));
    check_user("o2", at(&b, d + 13 * HOUR - 1));
    check_user("a", at(&b, d + 13 * HOUR));
    check_user("a", at(&b, d + 14 * HOUR));

    assert_int_equal(schedule_next_change(&b.s, d + 9 * HOUR, DAY),
                     d + 10 * HOUR);
    assert_int_equal(schedule_next_change(&b.s, d + 10 * HOUR, DAY),
                     d + 11 * HOUR);
    assert_int_equal(schedule_next_change(&b.s, d + 10 * HOUR - 1, DAY),
                     d + 10 * HOUR);

    assert_int_equal(schedule_shifts(&b.s, d + 9 * HOUR, d + 15 * HOUR, sh, 8),
                     4);
    check_shift(&sh[0], "a", d + 9 * HOUR, d + 10 * HOUR, 0);
    check_shift(&sh[1], "o1", d + 10 * HOUR, d + 11 * HOUR, -1);
    check_shift(&sh[2], "o2", d + 11 * HOUR, d + 13 * HOUR, -1);
    check_shift(&sh[3], "a", d + 13 * HOUR, d + 15 * HOUR, 0);

    /* Over an empty schedule. */
    sched_init(&b, "UTC");
    add_override(&b, "o", d + 10 * HOUR, d + 12 * HOUR);
    check_user(NULL, at(&b, d + 10 * HOUR - 1));
    check_user("o", at(&b, d + 10 * HOUR));
    check_user(NULL, at(&b, d + 12 * HOUR));
    assert_int_equal(schedule_next_change(&b.s, d + 9 * HOUR, 30 * MIN),
                     d + 9 * HOUR + 30 * MIN);
    assert_int_equal(schedule_shifts(&b.s, d + 9 * HOUR, d + 13 * HOUR, sh, 8),
                     3);
    check_shift(&sh[0], NULL, d + 9 * HOUR, d + 10 * HOUR, -1);
    check_shift(&sh[1], "o", d + 10 * HOUR, d + 12 * HOUR, -1);
    check_shift(&sh[2], NULL, d + 12 * HOUR, d + 13 * HOUR, -1);
}

static void test_neighbour(void **state)
{
    struct sched b;
    const int64_t day1 = utc(2026, 1, 2, 12, 0, 0); /* turn 1: b */
    (void)state;

    sched_init(&b, "UTC");
    add_layer(&b, abc, 3, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    check_user("c", schedule_neighbour(&b.s, day1, 1));
    check_user("a", schedule_neighbour(&b.s, day1, -1));
    check_user("a", schedule_neighbour(&b.s, day1, 2));
    check_user("c", schedule_neighbour(&b.s, day1, -2));
    check_user("b", schedule_neighbour(&b.s, day1, 3));
    check_user("b", schedule_neighbour(&b.s, day1, 0));
    check_user("c", schedule_neighbour(&b.s, day1, 301));
    check_user("c", schedule_neighbour(&b.s, day1 - DAY, -1)); /* a - 1 */
    check_user("c", schedule_neighbour(&b.s, day1 - DAY, -4));
    check_user(NULL, schedule_neighbour(&b.s, utc(2025, 12, 31, 0, 0, 0), 1));
    check_user(NULL, schedule_neighbour(NULL, day1, 1));

    /* Under an override: the rotation beneath it. */
    add_override(&b, "o", day1 - HOUR, day1 + HOUR);
    check_user("o", at(&b, day1));
    check_user("c", schedule_neighbour(&b.s, day1, 1));
    check_user("a", schedule_neighbour(&b.s, day1, -1));
}

/* --- the seed's rotations ------------------------------------------------- */

/* Weekly primary and secondary, hand-off Monday 09:00 Europe/Berlin. */
static void seed_weekly(struct sched *b, char **users)
{
    sched_init(b, "Europe/Berlin");
    add_layer(b, users, 4, lsec(2026, 1, 5, 9, 0, 0), 7, 0);
}

static void test_seed_weekly_rotation(void **state)
{
    struct sched b;
    struct shift sh[8];
    struct shift one;
    const int64_t mid = utc(2026, 3, 25, 12, 0, 0);
    (void)state;

    seed_weekly(&b, primary);
    /* 2026-03-02 is 8 weeks after 2026-01-05. */
    check_user("grace", at(&b, utc(2026, 3, 2, 8, 0, 0) - 1));
    check_user("alice", at(&b, utc(2026, 3, 2, 8, 0, 0)));
    check_user("grace", at(&b, mid));
    assert_int_equal(schedule_next_change(&b.s, mid, 14 * DAY),
                     utc(2026, 3, 30, 7, 0, 0));
    assert_int_equal(schedule_next_change(&b.s, mid, DAY), mid + DAY);

    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 1, 0, 0, 0),
                                     utc(2026, 4, 1, 0, 0, 0), sh, 8),
                     6);
    check_shift(&sh[0], "grace", utc(2026, 3, 1, 0, 0, 0),
                utc(2026, 3, 2, 8, 0, 0), 0);
    check_shift(&sh[1], "alice", utc(2026, 3, 2, 8, 0, 0),
                utc(2026, 3, 9, 8, 0, 0), 0);
    check_shift(&sh[2], "charlie", utc(2026, 3, 9, 8, 0, 0),
                utc(2026, 3, 16, 8, 0, 0), 0);
    check_shift(&sh[3], "eve", utc(2026, 3, 16, 8, 0, 0),
                utc(2026, 3, 23, 8, 0, 0), 0);
    check_shift(&sh[4], "grace", utc(2026, 3, 23, 8, 0, 0),
                utc(2026, 3, 30, 7, 0, 0), 0);
    check_shift(&sh[5], "alice", utc(2026, 3, 30, 7, 0, 0),
                utc(2026, 4, 1, 0, 0, 0), 0);

    /* Truncated: the count is still the total. */
    memset(sh, 0xa5, sizeof sh);
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 1, 0, 0, 0),
                                     utc(2026, 4, 1, 0, 0, 0), sh, 2),
                     6);
    check_shift(&sh[1], "alice", utc(2026, 3, 2, 8, 0, 0),
                utc(2026, 3, 9, 8, 0, 0), 0);
    assert_int_equal(sh[2].start_ms, (int64_t)0xa5a5a5a5a5a5a5a5ULL);
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 1, 0, 0, 0),
                                     utc(2026, 4, 1, 0, 0, 0), NULL, 0),
                     6);
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 1, 0, 0, 0),
                                     utc(2026, 3, 1, 0, 0, 0), sh, 8),
                     0);

    one = schedule_shift_at(&b.s, mid, 14 * DAY);
    check_shift(&one, "grace", utc(2026, 3, 23, 8, 0, 0),
                utc(2026, 3, 30, 7, 0, 0), 0);
    one = schedule_shift_at(&b.s, mid, DAY);
    check_shift(&one, "grace", mid - DAY, mid + DAY, 0);
    one = schedule_shift_at(&b.s, utc(2026, 3, 23, 8, 0, 0), 14 * DAY);
    check_shift(&one, "grace", utc(2026, 3, 23, 8, 0, 0),
                utc(2026, 3, 30, 7, 0, 0), 0);
    one = schedule_shift_at(&b.s, utc(2026, 1, 1, 0, 0, 0), 14 * DAY);
    check_shift(&one, NULL, utc(2025, 12, 18, 0, 0, 0),
                utc(2026, 1, 5, 8, 0, 0), -1);

    check_user("alice", schedule_neighbour(&b.s, mid, 1));
    check_user("eve", schedule_neighbour(&b.s, mid, -1));

    seed_weekly(&b, secondary);
    check_user("henry", at(&b, mid));
    check_user("bob", at(&b, utc(2026, 3, 31, 12, 0, 0)));
}

/* Day shift 08:00-20:00 and night shift 20:00-08:00, a different person
 * for each weekday, from Monday 2025-12-29. */
static void seed_day_night(struct sched *b, bool nights)
{
    Klaxon__Layer *l;
    sched_init(b, "Europe/Berlin");
    l = add_layer(b, day_crew, 7, lsec(2025, 12, 29, 8, 0, 0), 1, 0);
    daily(b, l, 8 * 3600, 12 * 3600);
    if (nights) {
        l = add_layer(b, night_crew, 7, lsec(2025, 12, 29, 20, 0, 0), 1, 0);
        daily(b, l, 20 * 3600, 12 * 3600);
    }
}

static void test_seed_day_night_rotation(void **state)
{
    struct sched b;
    struct shift sh[8];
    (void)state;

    seed_day_night(&b, true);
    /* Wednesday 2026-03-04 and the night after it. */
    check_user("eve", at(&b, utc(2026, 3, 4, 11, 0, 0)));
    check_user("eve", at(&b, utc(2026, 3, 4, 19, 0, 0) - 1));
    check_user("frank", at(&b, utc(2026, 3, 4, 19, 0, 0)));
    check_user("frank", at(&b, utc(2026, 3, 5, 2, 0, 0)));
    check_user("frank", at(&b, utc(2026, 3, 5, 7, 0, 0) - 1));
    check_user("grace", at(&b, utc(2026, 3, 5, 7, 0, 0)));
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 28, 12, 0, 0), DAY),
        utc(2026, 3, 28, 19, 0, 0));

    /* The weekend of the spring change. */
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 28, 12, 0, 0),
                                     utc(2026, 3, 30, 12, 0, 0), sh, 8),
                     5);
    check_shift(&sh[0], "kevin", utc(2026, 3, 28, 12, 0, 0),
                utc(2026, 3, 28, 19, 0, 0), 0);
    check_shift(&sh[1], "laura", utc(2026, 3, 28, 19, 0, 0),
                utc(2026, 3, 29, 6, 0, 0), 1);
    check_shift(&sh[2], "mike", utc(2026, 3, 29, 6, 0, 0),
                utc(2026, 3, 29, 18, 0, 0), 0);
    check_shift(&sh[3], "nancy", utc(2026, 3, 29, 18, 0, 0),
                utc(2026, 3, 30, 6, 0, 0), 1);
    check_shift(&sh[4], "alice", utc(2026, 3, 30, 6, 0, 0),
                utc(2026, 3, 30, 12, 0, 0), 0);

    /* Days only: nobody at night. */
    seed_day_night(&b, false);
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 3, 28, 12, 0, 0),
                                     utc(2026, 3, 29, 12, 0, 0), sh, 8),
                     3);
    check_shift(&sh[0], "kevin", utc(2026, 3, 28, 12, 0, 0),
                utc(2026, 3, 28, 19, 0, 0), 0);
    check_shift(&sh[1], NULL, utc(2026, 3, 28, 19, 0, 0),
                utc(2026, 3, 29, 6, 0, 0), -1);
    check_shift(&sh[2], "mike", utc(2026, 3, 29, 6, 0, 0),
                utc(2026, 3, 29, 12, 0, 0), 0);
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 3, 28, 19, 0, 0), DAY),
        utc(2026, 3, 29, 6, 0, 0));
}

/* --- shift listing -------------------------------------------------------- */

static void test_shifts_merge(void **state)
{
    struct sched b;
    struct shift sh[8];
    struct shift one;
    Klaxon__Layer *l;
    (void)state;

    /* a, a, b: two turns of a make one shift; the hand-off between them
     * is no change. */
    sched_init(&b, "UTC");
    add_layer(&b, aab, 3, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    assert_int_equal(
        schedule_next_change(&b.s, utc(2026, 1, 1, 12, 0, 0), 7 * DAY),
        utc(2026, 1, 3, 0, 0, 0));
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 1, 1, 0, 0, 0),
                                     utc(2026, 1, 7, 0, 0, 0), sh, 8),
                     4);
    check_shift(&sh[0], "a", utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 3, 0, 0, 0),
                0);
    check_shift(&sh[1], "b", utc(2026, 1, 3, 0, 0, 0), utc(2026, 1, 4, 0, 0, 0),
                0);
    check_shift(&sh[2], "a", utc(2026, 1, 4, 0, 0, 0), utc(2026, 1, 6, 0, 0, 0),
                0);
    check_shift(&sh[3], "b", utc(2026, 1, 6, 0, 0, 0), utc(2026, 1, 7, 0, 0, 0),
                0);
    one = schedule_shift_at(&b.s, utc(2026, 1, 5, 12, 0, 0), 30 * DAY);
    check_shift(&one, "a", utc(2026, 1, 4, 0, 0, 0), utc(2026, 1, 6, 0, 0, 0),
                0);
    one = schedule_shift_at(&b.s, utc(2026, 1, 2, 12, 0, 0), 30 * DAY);
    check_shift(&one, "a", utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 3, 0, 0, 0),
                0);

    /* The same user in two layers: one shift, of the layer it began in. */
    sched_init(&b, "UTC");
    add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    l = add_layer(&b, only_a, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    daily(&b, l, 9 * 3600, 8 * 3600);
    assert_int_equal(schedule_shifts(&b.s, utc(2026, 1, 2, 0, 0, 0),
                                     utc(2026, 1, 3, 0, 0, 0), sh, 8),
                     1);
    check_shift(&sh[0], "a", utc(2026, 1, 2, 0, 0, 0), utc(2026, 1, 3, 0, 0, 0),
                0);
}

/* One-second turns over a year: the walk gives up after max + slack change
 * points instead of visiting 31 million. */
static void test_shifts_pathological(void **state)
{
    struct sched b;
    struct shift sh[10];
    struct shift one;
    const int64_t from = utc(2026, 1, 1, 0, 0, 0);
    const int64_t mid = utc(2026, 6, 1, 0, 0, 0);
    size_t n;
    (void)state;

    sched_init(&b, "UTC");
    add_layer(&b, ab, 2, lsec(2026, 1, 1, 0, 0, 0), 0, 1);
    n = schedule_shifts(&b.s, from, utc(2027, 1, 1, 0, 0, 0), sh, 10);
    assert_true(n > 10);
    assert_true(n <= 10 + SCHEDULE_WALK_SLACK + 1);
    for (size_t i = 0; i < 10; i++) {
        check_shift(&sh[i], i % 2 == 0 ? "a" : "b", from + (int64_t)i * SEC,
                    from + (int64_t)(i + 1) * SEC, 0);
    }

    /* Covered by one user above: a single shift as far as the walk goes. */
    add_layer(&b, abc + 2, 1, lsec(2026, 1, 1, 0, 0, 0), 1, 0);
    one = schedule_shift_at(&b.s, mid, 365 * DAY);
    check_user("c", one.user);
    assert_true(one.start_ms < mid && one.start_ms >= mid - 20000 * SEC);
    assert_true(one.end_ms > mid && one.end_ms <= mid + 20000 * SEC);
}

static bool slow_runtime(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#else
    const char *preload = getenv("LD_PRELOAD"); /* set by valgrind */
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
#endif
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 +
           (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* A year of the day/night rotation: 731 shifts (the night running at the
 * start, then a day and a night per day), listed fast. */
static void test_shifts_year_fast(void **state)
{
    static struct shift sh[800];
    struct sched b;
    struct timespec t0, t1;
    double best = 1e9;
    const int64_t from = utc(2026, 1, 1, 0, 0, 0);
    const int64_t to = utc(2027, 1, 1, 0, 0, 0);
    (void)state;

    seed_day_night(&b, true);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
        assert_int_equal(schedule_shifts(&b.s, from, to, sh, 800), 731);
        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
        best = elapsed_ms(&t0, &t1) < best ? elapsed_ms(&t0, &t1) : best;
    }
    print_message("a year of day/night shifts: %.2f ms\n", best);
    if (!slow_runtime()) {
        assert_true(best < 10.0);
    }
    /* 2025-12-31 was a Wednesday (Frank's night), 2026-12-31 a Thursday. */
    check_shift(&sh[0], "frank", from, utc(2026, 1, 1, 7, 0, 0), 1);
    check_shift(&sh[1], "grace", utc(2026, 1, 1, 7, 0, 0),
                utc(2026, 1, 1, 19, 0, 0), 0);
    check_shift(&sh[730], "henry", utc(2026, 12, 31, 19, 0, 0), to, 1);
    for (size_t i = 1; i < 731; i++) {
        assert_int_equal(sh[i].start_ms, sh[i - 1].end_ms);
        assert_false(same_user(sh[i].user, sh[i - 1].user));
    }
}

/* --- properties ----------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t rng_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo));
}

/* A mix of every feature, with edges near the DST changes. */
static void property_schedule(struct sched *b, const char *zone)
{
    Klaxon__Layer *l;

    sched_init(b, zone);
    add_layer(b, primary, 4, lsec(2025, 12, 29, 9, 0, 0), 7, 0);
    l = add_layer(b, day_crew, 7, lsec(2026, 1, 2, 8, 0, 0), 2, 0);
    daily(b, l, 8 * 3600, 12 * 3600);
    weekly(b, l, 5, 10 * 3600, 30 * 3600);
    l = add_layer(b, abc, 3, lsec(2026, 2, 10, 3, 17, 0), 0, 5 * 3600);
    l->end_local = lsec(2026, 11, 20, 0, 0, 0);
    weekly(b, l, 6, 22 * 3600, 10 * 3600);
    l = add_layer(b, aab, 3, lsec(2026, 3, 1, 2, 30, 0), 1, 0);
    daily(b, l, 2 * 3600 + 1800, 3600);
    daily(b, l, 3600, 1800);
    add_override(b, "o1", utc(2026, 3, 28, 22, 0, 0),
                 utc(2026, 3, 29, 3, 0, 0));
    add_override(b, "o2", utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 1, 0, 1));
    add_override(b, "o3", utc(2026, 11, 1, 5, 45, 0),
                 utc(2026, 11, 1, 6, 15, 0));
    add_override(b, "o1", utc(2026, 10, 20, 0, 0, 0),
                 utc(2026, 10, 20, 0, 0, 0));
}

static const struct shift *containing(const struct shift *sh,
                                      size_t n,
                                      int64_t t)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sh[mid].start_ms <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return &sh[lo];
}

static void check_window(const struct sched *b, int64_t from, int64_t to)
{
    static struct shift sh[4096];
    size_t n = schedule_shifts(&b->s, from, to, sh, 4096);

    assert_true(n > 0 && n <= 4096);
    assert_int_equal(sh[0].start_ms, from);
    assert_int_equal(sh[n - 1].end_ms, to);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(sh[i].start_ms, sh[i - 1].end_ms);
        assert_false(same_user(sh[i].user, sh[i - 1].user));
    }
    for (int i = 0; i < 1000; i++) {
        int64_t t = rng_range(from, to);
        const struct shift *s = containing(sh, n, t);
        struct shift at_t = schedule_shift_at(&b->s, t, 400 * DAY);
        assert_true(s->start_ms <= t && t < s->end_ms);
        check_user(s->user, at(b, t));
        check_user(s->user, at_t.user);
        if (s->start_ms > from) {
            assert_int_equal(at_t.start_ms, s->start_ms);
            assert_int_equal(at_t.layer, s->layer);
        }
        if (s->end_ms < to) {
            assert_int_equal(at_t.end_ms, s->end_ms);
        }
    }
}

static void check_next_changes(const struct sched *b, int64_t from, int64_t to)
{
    int64_t p = from;
    while (p < to) {
        int64_t q = schedule_next_change(&b->s, p, to - p);
        const char *user = at(b, p);
        assert_true(q > p && q <= to);
        check_user(user, at(b, q - 1));
        for (int i = 0; i < 3 && q - p > 1; i++) {
            check_user(user, at(b, rng_range(p + 1, q)));
        }
        p = q;
    }
}

/*
 * A slow, plain evaluation straight from the rules for comparison: turns
 * counted one by one from the start, the window occurrences from nine
 * before the instant's to two after it tried, tz_from_local() for every
 * wall-clock time.
 */
static bool ref_in_window(const struct tz *z,
                          const Klaxon__Restriction *r,
                          int64_t t)
{
    int64_t period = r->kind == KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY
                         ? 7 * 86400
                         : 86400;
    /* Monday 1969-12-29 for weekly windows, 1970-01-01 for daily ones. */
    int64_t origin = r->start_s;
    int64_t local = tz_to_local(z, t);

    if (period == 7 * 86400) {
        origin += ((int64_t)r->start_day - 3) * 86400;
    }
    for (int64_t d = floor_div(local - origin, period) - 9;
         d <= floor_div(local - origin, period) + 2; d++) {
        int64_t start = origin + d * period;
        if (tz_from_local(z, start) <= t &&
            t < tz_from_local(z, start + r->duration_s)) {
            return true;
        }
    }
    return false;
}

static const char *ref_layer(const struct tz *z,
                             const Klaxon__Layer *l,
                             int64_t t)
{
    int64_t n = 0;
    bool in = l->n_restrictions == 0;

    if (t < tz_from_local(z, l->start_local) ||
        (l->end_local != 0 && t >= tz_from_local(z, l->end_local))) {
        return NULL;
    }
    for (size_t i = 0; i < l->n_restrictions; i++) {
        in = in || ref_in_window(z, l->restrictions[i], t);
    }
    if (!in) {
        return NULL;
    }
    if (l->turn_s != 0) {
        n = (t - tz_from_local(z, l->start_local)) / (int64_t)l->turn_s;
    } else {
        while (tz_from_local(z, l->start_local +
                                    (n + 1) * (int64_t)l->turn_days * 86400) <=
               t) {
            n++;
        }
    }
    return l->users[n % (int64_t)l->n_users];
}

static const char *ref_oncall(const Klaxon__Schedule *s, int64_t t_ms)
{
    const struct tz *z = tz_find(s->time_zone);
    for (size_t i = s->n_overrides; i > 0; i--) {
        const Klaxon__Override *o = s->overrides[i - 1];
        if (o->start_ms <= t_ms && t_ms < o->end_ms) {
            return o->user;
        }
    }
    for (size_t i = s->n_layers; i > 0; i--) {
        const char *u = ref_layer(z, s->layers[i - 1], floor_div(t_ms, 1000));
        if (u != NULL) {
            return u;
        }
    }
    return NULL;
}

static void check_reference(const struct sched *b, int64_t from, int64_t to)
{
    for (int i = 0; i < 150; i++) {
        int64_t t = rng_range(from, to);
        check_user(ref_oncall(&b->s, t), at(b, t));
    }
    /* And every 10 minutes of the days around the changes. */
    for (int64_t t = from; t < to; t += 10 * MIN) {
        const struct tz *z = tz_find(b->s.time_zone);
        int64_t s = floor_div(t, 1000);
        if (tz_offset(z, s - 86400) != tz_offset(z, s + 86400)) {
            check_user(ref_oncall(&b->s, t), at(b, t));
        }
    }
}

static void test_property_random_instants(void **state)
{
    static const char *const zones[] = {"Europe/Berlin", "America/New_York",
                                        "Australia/Lord_Howe", "UTC"};
    struct sched b;
    (void)state;

    rng_state = 0x9e3779b97f4a7c15ULL;
    for (size_t z = 0; z < N(zones); z++) {
        property_schedule(&b, zones[z]);
        check_window(&b, utc(2026, 2, 20, 0, 0, 0), utc(2026, 4, 10, 0, 0, 0));
        check_window(&b, utc(2026, 10, 15, 0, 0, 0),
                     utc(2026, 11, 10, 0, 0, 0));
        check_next_changes(&b, utc(2026, 3, 1, 0, 0, 0),
                           utc(2026, 4, 10, 0, 0, 0));
        check_next_changes(&b, utc(2026, 10, 20, 0, 0, 0),
                           utc(2026, 11, 5, 0, 0, 0));
        check_reference(&b, utc(2026, 2, 20, 0, 0, 0),
                        utc(2026, 4, 10, 0, 0, 0));
        check_reference(&b, utc(2026, 10, 15, 0, 0, 0),
                        utc(2026, 11, 10, 0, 0, 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor_div_mod),
        cmocka_unit_test(test_civil_known_dates),
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_civil_against_year_lengths),
        cmocka_unit_test(test_civil_carry),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_civil_parse_valid),
        cmocka_unit_test(test_civil_parse_invalid),
        cmocka_unit_test(test_instant_parse),
        cmocka_unit_test(test_instant_parse_invalid),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_tz_find),
        cmocka_unit_test(test_tz_offset_berlin),
        cmocka_unit_test(test_tz_offset_new_york),
        cmocka_unit_test(test_tz_from_local_normal),
        cmocka_unit_test(test_tz_from_local_gap),
        cmocka_unit_test(test_tz_from_local_overlap),
        cmocka_unit_test(test_tz_round_trip_around_changes),
        cmocka_unit_test(test_short_lived_dst),
        cmocka_unit_test(test_rotation_daily),
        cmocka_unit_test(test_rotation_many_turns_later),
        cmocka_unit_test(test_daily_handoff_across_dst),
        cmocka_unit_test(test_handoff_in_gap_and_overlap),
        cmocka_unit_test(test_fixed_turns_across_dst),
        cmocka_unit_test(test_layer_edge_cases),
        cmocka_unit_test(test_weekly_business_hours),
        cmocka_unit_test(test_weekly_window_wraps_week),
        cmocka_unit_test(test_night_window),
        cmocka_unit_test(test_windows_in_gap_and_overlap),
        cmocka_unit_test(test_layer_precedence),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_neighbour),
        cmocka_unit_test(test_seed_weekly_rotation),
        cmocka_unit_test(test_seed_day_night_rotation),
        cmocka_unit_test(test_shifts_merge),
        cmocka_unit_test(test_shifts_pathological),
        cmocka_unit_test(test_shifts_year_fast),
        cmocka_unit_test(test_property_random_instants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
