/*
 * Time zones and civil (calendar) time, for schedules.
 *
 * Zones come from the IANA time zone database through libical
 * (icaltimezone_get_builtin_timezone, which reads the system's zoneinfo),
 * so every node with the same tzdata computes the same wall-clock times.
 * All functions are pure functions of their arguments and that database;
 * they never read the clock or the TZ environment variable.
 *
 * "Local seconds" are the wall-clock date and time of a zone written as if
 * they were UTC: seconds since 1970-01-01T00:00:00 of the local calendar.
 * Instants are seconds (or ms where the name says so) since the Unix epoch.
 */
#ifndef KLAXON_TZ_H
#define KLAXON_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz; /* opaque; zones live as long as the process */

/* The zone of an IANA name ("Europe/Berlin", "UTC"), or NULL if unknown.
 * NULL or "" gives UTC. */
const struct tz *tz_find(const char *name);

/* The UTC zone. */
const struct tz *tz_utc(void);

/* UTC offset in seconds (local - UTC) at an instant. */
int32_t tz_offset(const struct tz *z, int64_t utc_s);

/* Wall clock of an instant: utc_s + tz_offset(z, utc_s). */
int64_t tz_to_local(const struct tz *z, int64_t utc_s);

/*
 * The earliest instant whose wall clock is >= local_s. For a wall-clock
 * time that exists once this is its instant; for one skipped by a
 * spring-forward gap it is the end of the gap (the first instant after
 * it); for one repeated by a fall-back it is the first occurrence.
 * (Assumes a zone's offset changes are more than 3 days apart, as they
 * are in the time zone database.)
 */
int64_t tz_from_local(const struct tz *z, int64_t local_s);

/* Civil calendar (proleptic Gregorian). Days since 1970-01-01. Month and
 * day carry: month 13 is January of the next year, day 0 the last day of
 * the previous month. */
int64_t civil_days(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days,
                     int64_t *year,
                     unsigned *month,
                     unsigned *day);
/* 0 = Monday .. 6 = Sunday, of days since 1970-01-01. */
unsigned civil_weekday(int64_t days);

/* Floor division and modulo for negative numbers too (the modulo takes
 * the sign of b). b = 0 gives a quotient of 0 and a remainder of a. */
int64_t floor_div(int64_t a, int64_t b);
int64_t floor_mod(int64_t a, int64_t b);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a space
 * may replace the T) as local seconds. 0 or -1 with *reason set (static).
 * Strict: no other characters, no leap seconds, real dates only.
 */
int civil_parse(const char *s, int64_t *local_s, const char **reason);

/*
 * Parse an instant: an RFC 3339 time with a zone ("2026-03-29T01:30:00Z",
 * "...+02:00"), or a local time as civil_parse() in zone z (NULL: UTC;
 * converted with tz_from_local()). Seconds may have a fraction of 1 to 9
 * digits (".250"), kept to the millisecond. Result in ms since the epoch.
 * 0 or -1 with *reason set (static).
 */
int instant_parse(const char *s,
                  const struct tz *z,
                  int64_t *ms,
                  const char **reason);

/* Format local seconds as "YYYY-MM-DDTHH:MM:SS" (buf of 20+ bytes). */
void civil_format(int64_t local_s, char *buf, size_t len);

/* Format an instant (ms) as RFC 3339 in UTC: "2026-03-29T01:30:00Z"
 * (buf of 21+ bytes); the milliseconds are left out. */
void instant_format_utc(int64_t ms, char *buf, size_t len);

#endif /* KLAXON_TZ_H */
