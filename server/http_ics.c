#include "http_ics.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "oncall_config.h"
#include "schedule.h"

#define DAY_MS (24ll * 3600 * 1000)
#define ICS_BACK_MS (30 * DAY_MS)
#define ICS_AHEAD_MS (90 * DAY_MS)
#define ICS_SHIFTS_MAX 1000

static struct icaltimetype utc_time(int64_t ms)
{
    return icaltime_from_timet_with_zone((time_t)(ms / 1000), 0,
                                         icaltimezone_get_utc_timezone());
}

static icalcomponent *shift_event(const Klaxon__Schedule *s,
                                  const struct shift *sh,
                                  int64_t now_ms)
{
    icalcomponent *ev = icalcomponent_new_vevent();
    char uid[300], summary[300], desc[300];
    const char *layer = sh->layer >= 0 && (size_t)sh->layer < s->n_layers
                            ? s->layers[sh->layer]->name
                            : "override";

    if (ev == NULL) {
        return NULL;
    }
    snprintf(uid, sizeof uid, "%s-%lld@klaxon", s->id, (long long)sh->start_ms);
    snprintf(summary, sizeof summary, "On call: %s (%s)", sh->user, s->id);
    snprintf(desc, sizeof desc, "%s is on call for schedule %s (%s).", sh->user,
             s->id, layer);
    icalcomponent_add_property(ev, icalproperty_new_uid(uid));
    icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc_time(now_ms)));
    icalcomponent_add_property(
        ev, icalproperty_new_dtstart(utc_time(sh->start_ms)));
    icalcomponent_add_property(ev,
                               icalproperty_new_dtend(utc_time(sh->end_ms)));
    icalcomponent_add_property(ev, icalproperty_new_summary(summary));
    icalcomponent_add_property(ev, icalproperty_new_description(desc));
    icalcomponent_add_property(
        ev, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
    return ev;
}

/* The calendar of schedule s; a malloc'ed string, or NULL. */
static char *calendar(const Klaxon__Schedule *s, int64_t now_ms)
{
    struct shift *sh = calloc(ICS_SHIFTS_MAX, sizeof *sh);
    icalcomponent *cal = icalcomponent_new_vcalendar();
    char name[200];
    char *text = NULL;
    size_t n;

    if (sh == NULL || cal == NULL) {
        goto done;
    }
    snprintf(name, sizeof name, "On call: %s", s->id);
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(
        cal, icalproperty_new_prodid("-//klaxon//on-call//EN"));
    icalcomponent_add_property(cal,
                               icalproperty_new_method(ICAL_METHOD_PUBLISH));
    icalcomponent_add_property(cal, icalproperty_new_x(name));
    icalproperty_set_x_name(
        icalcomponent_get_first_property(cal, ICAL_X_PROPERTY), "X-WR-CALNAME");
    /* The window moves by whole days so that events (and their UIDs) stay
     * the same from one fetch to the next. */
    n = schedule_shifts(s, now_ms / DAY_MS * DAY_MS - ICS_BACK_MS,
                        now_ms / DAY_MS * DAY_MS + ICS_AHEAD_MS, sh,
                        ICS_SHIFTS_MAX);
    n = n < ICS_SHIFTS_MAX ? n : ICS_SHIFTS_MAX;
    for (size_t i = 0; i < n; i++) {
        icalcomponent *ev;
        if (sh[i].user == NULL || sh[i].end_ms <= sh[i].start_ms) {
            continue; /* nobody on call: no event */
        }
        ev = shift_event(s, &sh[i], now_ms);
        if (ev == NULL) {
            goto done;
        }
        icalcomponent_add_component(cal, ev);
    }
    text = icalcomponent_as_ical_string_r(cal);
done:
    if (cal != NULL) {
        icalcomponent_free(cal);
    }
    free(sh);
    return text;
}

void http_schedule_ics(struct http_request *rq)
{
    static const char prefix[] = "/v1/schedules/";
    const char *id = rq->path + sizeof prefix - 1;
    size_t n = strlen(id);
    const Klaxon__OncallConfig *cfg = NULL;
    const Klaxon__Schedule *s;
    struct node *node = rq->srv->node;
    char name[200];
    char *text;
    MDB_txn *txn;

    if (n <= 4 || n - 4 >= sizeof name || strcmp(id + n - 4, ".ics") != 0) {
        http_error(rq, 404, NULL,
                   "no such endpoint: %s (a schedule's calendar is "
                   "/v1/schedules/ID.ics)",
                   rq->path);
        return;
    }
    memcpy(name, id, n - 4);
    name[n - 4] = '\0';
    if (mdb_txn_begin(node->store.env, NULL, MDB_RDONLY, &txn) != 0) {
        http_error(rq, 500, NULL, "cannot read the state");
        return;
    }
    (void)apply_env_config(&node->fsm.env, txn, &node->store, &cfg);
    s = cfg != NULL ? oncall_schedule(cfg, name) : NULL;
    text = s != NULL ? calendar(s, (int64_t)node_time_ms(node)) : NULL;
    mdb_txn_abort(txn);
    if (s == NULL) {
        http_error(rq, 404, "schedule", "no schedule \"%s\" is configured",
                   name);
        return;
    }
    if (text == NULL) {
        http_error(rq, 500, NULL, "cannot build the calendar");
        return;
    }
    http_respond(rq, 200, "text/calendar; charset=utf-8", text, strlen(text),
                 NULL);
    free(text);
}
