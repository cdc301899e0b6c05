#include "tz.h"

#include <libical/ical.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * A zone is libical's icaltimezone: struct tz is never defined, pointers
 * are converted back and forth. libical keeps builtin zones for the life
 * of the process.
 */
static icaltimezone *ical_zone(const struct tz *z)
{
    return (icaltimezone *)z;
}

/* Instants reach libical clamped to years 1..9999. (It expands a zone's
 * rules up to year 2582; later instants get the offset in force then.) */
#define TZ_MIN_S (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TZ_MAX_S 253402300799LL   /* 9999-12-31T23:59:59Z */

/* Offsets before and after a wall-clock time are read this far away from
 * it: further than any UTC offset (at most 16 h either way), so they
 * bracket every instant showing that wall-clock time, and close enough
 * that at most one change of offset lies between them (in the time zone
 * database changes are at least 3.9 days apart; the closest pair is
 * Africa/Freetown's in 1939). */
#define TZ_BRACKET_S (36 * 3600LL)

#define TZ_NAME_MAX 64

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        return b > 0 ? INT64_MAX : INT64_MIN;
    }
    return r;
}

/* IANA names are ASCII letters, digits and "/_+-"; anything else (dots in
 * particular) never reaches the file system through libical. */
static bool tz_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len > TZ_NAME_MAX || name[0] == '/' || name[len - 1] == '/') {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (!alnum && strchr("/_+-", c) == NULL) {
            return false;
        }
    }
    return true;
}

const struct tz *tz_find(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return tz_utc();
    }
    if (!tz_name_ok(name)) {
        return NULL;
    }
    return (const struct tz *)icaltimezone_get_builtin_timezone(name);
}

const struct tz *tz_utc(void)
{
    return (const struct tz *)icaltimezone_get_utc_timezone();
}

int32_t tz_offset(const struct tz *z, int64_t utc_s)
{
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    icaltimezone *zone = ical_zone(z);
    struct icaltimetype tt;
    int is_dst = 0;

    if (zone == NULL || zone == utc) {
        return 0;
    }
    if (utc_s < TZ_MIN_S) {
        utc_s = TZ_MIN_S;
    } else if (utc_s > TZ_MAX_S) {
        utc_s = TZ_MAX_S;
    }
    tt = icaltime_from_timet_with_zone((time_t)utc_s, 0, utc);
    return (int32_t)icaltimezone_get_utc_offset_of_utc_time(zone, &tt, &is_dst);
}

int64_t tz_to_local(const struct tz *z, int64_t utc_s)
{
    return add_sat(utc_s, tz_offset(z, utc_s));
}

/* The first instant in (lo, hi] whose wall clock is >= local_s, given that
 * lo's is below it and hi's is not: the end of a spring-forward gap. */
static int64_t gap_end(const struct tz *z,
                       int64_t local_s,
                       int64_t lo,
                       int64_t hi)
{
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tz_to_local(z, mid) >= local_s) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

/*
 * The instants that can show local_s are local_s minus the offset in force
 * before it or after it (TZ_BRACKET_S away). Both fit in an overlap (the
 * earlier is the first occurrence); neither does in a gap.
 */
int64_t tz_from_local(const struct tz *z, int64_t local_s)
{
    int32_t before = tz_offset(z, add_sat(local_s, -TZ_BRACKET_S));
    int32_t after = tz_offset(z, add_sat(local_s, TZ_BRACKET_S));
    int64_t a = add_sat(local_s, -(int64_t)before);
    int64_t b = add_sat(local_s, -(int64_t)after);
    int64_t first = a < b ? a : b;
    int64_t second = a < b ? b : a;

    if (tz_to_local(z, first) == local_s) {
        return first;
    }
    if (second != first && tz_to_local(z, second) == local_s) {
        return second;
    }
    return gap_end(z, local_s, first, second);
}

/* --- civil calendar ------------------------------------------------------ */

int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q;
    if (b == 0) {
        return 0;
    }
    if (b == -1) {
        return a == INT64_MIN ? INT64_MAX : -a;
    }
    q = a / b;
    if (a % b != 0 && (a < 0) != (b < 0)) {
        q--;
    }
    return q;
}

int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r;
    if (b == 0) {
        return a;
    }
    if (b == -1) {
        return 0;
    }
    r = a % b;
    if (r != 0 && (r < 0) != (b < 0)) {
        r += b;
    }
    return r;
}

/*
 * Days from civil: count in 400-year eras of 146097 days, with years
 * starting on March 1 so that the leap day is the last day of a year.
 * Month and day carry: month 13 is January of the next year, day 0 the
 * last day of the previous month.
 */
int64_t civil_days(int64_t year, unsigned month, unsigned day)
{
    int64_t m = (int64_t)month - 1;
    int64_t y = year + floor_div(m, 12);
    int64_t mar; /* months since March: 0 = March .. 11 = February */
    int64_t era, yoe, doy, doe;

    m = floor_mod(m, 12) + 1;
    if (m <= 2) {
        y--;
    }
    mar = m > 2 ? m - 3 : m + 9;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * mar + 2) / 5 + (int64_t)day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t days,
                     int64_t *year,
                     unsigned *month,
                     unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097; /* 0 .. 146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mar = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mar + 2) / 5 + 1;
    int64_t m = mar < 10 ? mar + 3 : mar - 9;

    *year = yoe + era * 400 + (m <= 2 ? 1 : 0);
    *month = (unsigned)m;
    *day = (unsigned)d;
}

unsigned civil_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday. */
    return (unsigned)floor_mod(days + 3, 7);
}

static bool is_leap(int64_t y)
{
    return floor_mod(y, 4) == 0 &&
           (floor_mod(y, 100) != 0 || floor_mod(y, 400) == 0);
}

static unsigned month_days(int64_t year, unsigned month)
{
    static const unsigned len[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : len[month - 1];
}

/* --- parsing ------------------------------------------------------------- */

struct civil
{
    int64_t year;
    unsigned month, day, hour, minute, second;
    unsigned ms;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Exactly n digits at *p. */
static bool take_digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i])) {
            return false;
        }
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    (*p)++;
    return true;
}

static int fail(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
    return -1;
}

static int parse_date(const char **p, struct civil *c, const char **reason)
{
    unsigned y;
    if (!take_digits(p, 4, &y) || !take_char(p, '-') ||
        !take_digits(p, 2, &c->month) || !take_char(p, '-') ||
        !take_digits(p, 2, &c->day)) {
        return fail(reason, "expected a date YYYY-MM-DD");
    }
    c->year = y;
    if (c->month < 1 || c->month > 12) {
        return fail(reason, "month out of range");
    }
    if (c->day < 1 || c->day > month_days(c->year, c->month)) {
        return fail(reason, "day out of range");
    }
    return 0;
}

/* ".f" .. ".fffffffff": milliseconds, further digits dropped. */
static int parse_fraction(const char **p, struct civil *c, const char **reason)
{
    unsigned ms = 0;
    int n = 0;
    while (is_digit(**p)) {
        if (n < 3) {
            ms = ms * 10 + (unsigned)(**p - '0');
        }
        n++;
        (*p)++;
    }
    if (n == 0 || n > 9) {
        return fail(reason, "expected 1 to 9 digits of a second's fraction");
    }
    for (; n < 3; n++) {
        ms *= 10;
    }
    c->ms = ms;
    return 0;
}

/* "HH:MM" or "HH:MM:SS", and ".fff" after seconds if with_fraction. */
static int parse_time(const char **p,
                      struct civil *c,
                      bool with_fraction,
                      const char **reason)
{
    bool has_seconds;

    if (!take_digits(p, 2, &c->hour) || !take_char(p, ':') ||
        !take_digits(p, 2, &c->minute)) {
        return fail(reason, "expected a time HH:MM or HH:MM:SS");
    }
    has_seconds = take_char(p, ':');
    if (has_seconds && !take_digits(p, 2, &c->second)) {
        return fail(reason, "expected a time HH:MM or HH:MM:SS");
    }
    if (c->hour > 23) {
        return fail(reason, "hour out of range");
    }
    if (c->minute > 59) {
        return fail(reason, "minute out of range");
    }
    if (c->second > 59) {
        return fail(reason, "second out of range");
    }
    if (with_fraction && has_seconds && take_char(p, '.')) {
        return parse_fraction(p, c, reason);
    }
    return 0;
}

/* A date and an optional time after 'T', 't' or ' '. *has_time tells
 * which. */
static int parse_civil(const char **p,
                       struct civil *c,
                       bool with_fraction,
                       bool *has_time,
                       const char **reason)
{
    memset(c, 0, sizeof *c);
    *has_time = false;
    if (parse_date(p, c, reason) != 0) {
        return -1;
    }
    if (**p != 'T' && **p != 't' && **p != ' ') {
        return 0;
    }
    (*p)++;
    *has_time = true;
    return parse_time(p, c, with_fraction, reason);
}

static int64_t civil_seconds(const struct civil *c)
{
    return civil_days(c->year, c->month, c->day) * 86400 +
           (int64_t)c->hour * 3600 + (int64_t)c->minute * 60 + c->second;
}

int civil_parse(const char *s, int64_t *local_s, const char **reason)
{
    struct civil c;
    bool has_time;

    if (s == NULL) {
        return fail(reason, "expected a date YYYY-MM-DD");
    }
    if (parse_civil(&s, &c, false, &has_time, reason) != 0) {
        return -1;
    }
    if (*s != '\0') {
        return fail(reason, "unexpected characters after the time");
    }
    *local_s = civil_seconds(&c);
    return 0;
}

/* "Z" or "+HH:MM"/"-HH:MM" at *p: *offset_s; 1 if there is one, 0 if the
 * string ends instead, -1 if something else follows. */
static int parse_zone(const char *p, int32_t *offset_s, const char **reason)
{
    unsigned h, m;
    int sign;

    if (*p == '\0') {
        return 0;
    }
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *offset_s = 0;
        return 1;
    }
    if (*p != '+' && *p != '-') {
        return fail(reason, "unexpected characters after the time");
    }
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!take_digits(&p, 2, &h) || !take_char(&p, ':') ||
        !take_digits(&p, 2, &m) || *p != '\0') {
        return fail(reason, "expected a zone offset Z, +HH:MM or -HH:MM");
    }
    if (h > 23 || m > 59) {
        return fail(reason, "zone offset out of range");
    }
    *offset_s = sign * (int32_t)(h * 3600 + m * 60);
    return 1;
}

int instant_parse(const char *s,
                  const struct tz *z,
                  int64_t *ms,
                  const char **reason)
{
    struct civil c;
    bool has_time;
    int32_t offset_s = 0;
    int64_t utc_s;
    int zoned;

    if (s == NULL) {
        return fail(reason, "expected a date YYYY-MM-DD");
    }
    if (parse_civil(&s, &c, true, &has_time, reason) != 0) {
        return -1;
    }
    zoned = parse_zone(s, &offset_s, reason);
    if (zoned < 0) {
        return -1;
    }
    if (zoned && !has_time) {
        return fail(reason, "a zone offset needs a time");
    }
    if (zoned) {
        utc_s = civil_seconds(&c) - offset_s;
    } else {
        utc_s = tz_from_local(z != NULL ? z : tz_utc(), civil_seconds(&c));
    }
    *ms = utc_s * 1000 + c.ms;
    return 0;
}

/* --- formatting ---------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SS", years outside 0..9999 with their sign or extra
 * digits. */
static void format_seconds(int64_t s, const char *suffix, char *buf, size_t len)
{
    int64_t days = floor_div(s, 86400);
    int64_t sod = floor_mod(s, 86400);
    int64_t year;
    unsigned month, day;

    if (len == 0) {
        return;
    }
    civil_from_days(days, &year, &month, &day);
    snprintf(buf, len, "%s%04lld-%02u-%02uT%02u:%02u:%02u%s",
             year < 0 ? "-" : "", (long long)(year < 0 ? -year : year), month,
             day, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60),
             (unsigned)(sod % 60), suffix);
}

void civil_format(int64_t local_s, char *buf, size_t len)
{
    format_seconds(local_s, "", buf, len);
}

void instant_format_utc(int64_t ms, char *buf, size_t len)
{
    format_seconds(floor_div(ms, 1000), "Z", buf, len);
}
