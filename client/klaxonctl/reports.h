/*
 * The reports of the on-call practice, computed by klaxonctl from what
 * libklaxon reads (docs/REPORTS.md):
 *
 * - report: incident figures over a window (counts by severity, MTTA,
 *   MTTR, missed targets, false positives, pages per person and per
 *   shift, pages outside business hours and at weekends, recurring
 *   incidents);
 * - handover: the summary of a shift for the next on-call person;
 * - postmortem: the incident report template filled from one incident.
 *
 * Everything here is a pure function of its arguments: no requests, no
 * clock. The only global state touched is the TZ environment variable,
 * set for a moment to read a person's local time and restored before
 * returning (klaxonctl is single-threaded). Output functions print to the
 * FILE * they are given and return -1 when it reports a write error.
 *
 * Ownership: inputs are borrowed. Results (struct rpt_figures, struct
 * rpt_handover) point into their inputs, which must outlive them, and own
 * only the arrays they allocate; release those with the *_free function.
 */
#ifndef KLAXONCTL_REPORTS_H
#define KLAXONCTL_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "klaxon.h"

#define RPT_SEVERITIES 4
#define RPT_DAY_MS 86400000ULL

/* Business hours in a person's own time zone: [09:00, 17:00). */
#define RPT_WORK_START_HOUR 9
#define RPT_WORK_END_HOUR 17

/* --- the on-call configuration ------------------------------------------ */

/* A user and the IANA time zone of the configuration ("UTC" if none). */
struct rpt_zone
{
    char *user;
    char *zone;
};

/* What the reports need from the applied on-call YAML. */
struct rpt_config
{
    struct rpt_zone *zones;
    size_t n_zones;
    /* Ids of the escalation policies with a target (schedule,
     * schedule_next or schedule_previous) of the schedule asked for. */
    char **policies;
    size_t n_policies;
};

/*
 * Read the users' time zones from the YAML of an on-call configuration
 * (`len` bytes; "" is an empty configuration), and with `schedule` (may be
 * NULL) the policies that page it. 0, or -1 with a message in err
 * (malformed YAML or out of memory); *out is then empty.
 */
int rpt_config_parse(const char *yaml,
                     size_t len,
                     const char *schedule,
                     struct rpt_config *out,
                     char *err,
                     size_t errlen);

void rpt_config_free(struct rpt_config *c);

/* The time zone of `user`: its entry in zones, else "UTC". */
const char *rpt_zone_of(const struct rpt_zone *zones,
                        size_t n,
                        const char *user);

/* Local hour (0..23) and weekday (0 Sunday .. 6 Saturday) of instant `ms`
 * in IANA zone `zone` (an unknown zone counts as UTC). 0 or -1. */
int rpt_local_clock(const char *zone, uint64_t ms, int *hour, int *wday);

/* --- report --------------------------------------------------------------- */

struct rpt_input
{
    uint64_t from_ms; /* the window: incidents created in [from, to) */
    uint64_t to_ms;
    const char *service; /* NULL or "": every service */
    const struct klaxon_incident *incidents;
    size_t n_incidents;
    /* Pages of those incidents (others are ignored). */
    const struct klaxon_page *pages;
    size_t n_pages;
    /* Shifts of the schedules named in the pages over the window. */
    const struct klaxon_shift *shifts;
    size_t n_shifts;
    const struct rpt_zone *zones;
    size_t n_zones;
};

/* Mean and 90th percentile (nearest rank) of n durations. */
struct rpt_times
{
    size_t n;
    uint64_t mean_ms; /* rounded down; 0 when n is 0 */
    uint64_t p90_ms;
};

/* Figures of the incidents of one severity, or of all. */
struct rpt_sev
{
    size_t incidents;
    size_t open;
    size_t acknowledged; /* acknowledged_ms set */
    size_t resolved;
    struct rpt_times mtta; /* acknowledged_ms - created_ms */
    struct rpt_times mttr; /* resolved_ms - created_ms */
    size_t response_missed;
    size_t resolution_missed;
    /* Resolved without an acknowledgement, or marked false positive. */
    size_t false_positives;
};

struct rpt_person
{
    const char *user;
    const char *zone;
    size_t pages;
    size_t interruptions; /* distinct incident, kind, level and repeat */
    size_t outside_hours; /* local time before 09:00 or from 17:00 */
    size_t weekend;       /* local Saturday or Sunday */
    size_t off_hours;     /* either */
};

struct rpt_shift_pages
{
    const struct klaxon_shift *shift;
    size_t pages;
    size_t interruptions;
};

/* The same service and dedup key (or summary) opened more than once. */
struct rpt_recurring
{
    const char *service;
    const char *key;
    bool by_summary; /* key is the summary, else the dedup key */
    uint64_t *ids;   /* the incidents, oldest first */
    size_t count;
};

struct rpt_figures
{
    uint64_t from_ms;
    uint64_t to_ms;
    const char *service; /* "" for every service */
    struct rpt_sev all;
    struct rpt_sev sev[RPT_SEVERITIES];
    /* Pages: not cancelled, of the window's incidents. */
    size_t pages;
    size_t interruptions;
    size_t outside_hours;
    size_t weekend;
    size_t off_hours;
    size_t outside_shifts;     /* in no shift of the schedule they name */
    struct rpt_person *people; /* most pages first */
    size_t n_people;
    struct rpt_shift_pages *shifts; /* as in the input, nobody's left out */
    size_t n_shifts;
    struct rpt_recurring *recurring; /* most incidents first */
    size_t n_recurring;
    size_t recurring_incidents; /* incidents in at least one of them */
};

/* Fill *f from `in`. 0, or -1 when out of memory (*f is then empty). */
int rpt_compute(const struct rpt_input *in, struct rpt_figures *f);
void rpt_figures_free(struct rpt_figures *f);

/* false_positives / resolved, or -1 when nothing was resolved. */
double rpt_share(const struct rpt_sev *s);

/* Human output: aligned sections. 0 or -1. */
int rpt_report_print(const struct rpt_figures *f, FILE *out);
/* The figures as one JSON object; NULL when out of memory. */
json_t *rpt_report_json(const struct rpt_figures *f);

/* --- handover ------------------------------------------------------------- */

struct rpt_handover_input
{
    const char *schedule;
    const struct klaxon_shift *shift; /* the shift handed over */
    const char *next_user;            /* who takes over; NULL/"": unknown */
    uint64_t end_ms; /* the shift's end, or at_ms for the current shift */
    uint64_t at_ms;  /* the handover: what is open then is still open */
    /* Incidents created during the shift and those open at at_ms, with
     * their timelines; others are ignored. */
    const struct klaxon_incident *incidents;
    size_t n_incidents;
    const struct klaxon_page *pages; /* of those incidents */
    size_t n_pages;
    const char *const *policies; /* policies that page the schedule */
    size_t n_policies;
};

/* A note of an incident's timeline. */
struct rpt_note
{
    const struct klaxon_incident *incident;
    const struct klaxon_event *event;
};

struct rpt_handover
{
    const char *schedule;
    const struct klaxon_shift *shift;
    const char *next_user;
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t at_ms;
    bool current; /* the shift is not over at end_ms */
    /* Incidents of the schedule created in [start, end), oldest first. */
    const struct klaxon_incident **during;
    size_t n_during;
    size_t by_sev[RPT_SEVERITIES];
    /* Incidents of the schedule open at at_ms, oldest first. */
    const struct klaxon_incident **open;
    size_t n_open;
    /* Notes added in [start, end) to those incidents: the ones starting
     * with "action:" or "TODO" (any case), and the others. */
    struct rpt_note *actions;
    size_t n_actions;
    struct rpt_note *notes;
    size_t n_notes;
};

/* Whether the incident belongs to the schedule: its escalation policy
 * is one of `policies`, or one of its pages found someone through it. */
bool rpt_of_schedule(const struct rpt_handover_input *in,
                     const struct klaxon_incident *i);

/* Whether a note's text is an action item. */
bool rpt_is_action(const char *text);

/* 0, or -1 when out of memory (*h is then empty). */
int rpt_handover_build(const struct rpt_handover_input *in,
                       struct rpt_handover *h);
void rpt_handover_free(struct rpt_handover *h);

/* The seed's "Shift Handover Summary" in Markdown, dated at_ms. 0 or -1. */
int rpt_handover_markdown(const struct rpt_handover *h, FILE *out);
json_t *rpt_handover_json(const struct rpt_handover *h);

/* --- postmortem ----------------------------------------------------------- */

/*
 * The seed's incident report template in Markdown, filled from incident
 * `i` (with its timeline) and its pages; `now_ms` measures an ongoing
 * incident. Root cause, impact, lessons and action items are left with
 * placeholders (action notes are listed as items). 0 or -1.
 */
int rpt_postmortem_markdown(const struct klaxon_incident *i,
                            const struct klaxon_page *pages,
                            size_t n_pages,
                            uint64_t now_ms,
                            FILE *out);

#endif /* KLAXONCTL_REPORTS_H */
