#include "schedule.h"

#include <stdbool.h>
#include <string.h>

#include "tz.h"

#define DAY_S 86400LL
#define WEEK_S (7 * DAY_S)
/* Local seconds of Monday 1969-12-29T00:00, the origin of weekly windows. */
#define MONDAY_ORIGIN_S (-3 * DAY_S)

/* Instants and wall-clock times are clamped to +-1e14 s (3 million years)
 * and fixed turns to 1e15 s, so that sums stay far from overflow and ms
 * conversions (x 1000) fit. */
#define LIMIT_S 100000000000000LL
#define MAX_TURN_S 1000000000000000LL
/* "No such edge": beyond every real one, still safe to compare. */
#define NEVER_S (INT64_MAX / 2000)

/* Turns looked at, ahead or back, for the next user who differs. */
#define SCAN_TURNS 1024

/*
 * Offsets of the schedule's zone, memoized. A window is a span of instants
 * [lo, hi] over which the offset is known to be constant: equal at both
 * ends and the middle, and a zone's offset changes are further apart than
 * WIN_HALF_S (see tz_from_local()), so it cannot change and change back in
 * between. Evaluating a schedule asks for the wall clock of nearby instants
 * many times; windows answer those without libical.
 */
#define WIN_HALF_S (3 * DAY_S)
/* Larger than any change of UTC offset: an instant this far inside a
 * window has no earlier instant elsewhere showing a later wall clock. */
#define WIN_MARGIN_S (30 * 3600LL)
#define CLOCK_WINDOWS 16

struct window
{
    int64_t lo, hi;
    int32_t off;
};

struct clock
{
    const struct tz *zone;
    struct window win[CLOCK_WINDOWS];
    unsigned n, next, last;
};

static void clock_init(struct clock *c, const Klaxon__Schedule *s)
{
    c->zone = tz_find(s->time_zone);
    if (c->zone == NULL) {
        c->zone = tz_utc();
    }
    c->n = 0;
    c->next = 0;
    c->last = 0;
}

static void clock_add(struct clock *c, int64_t lo, int64_t hi, int32_t off)
{
    struct window *w = &c->win[c->next];
    w->lo = lo;
    w->hi = hi;
    w->off = off;
    c->last = c->next;
    c->next = (c->next + 1) % CLOCK_WINDOWS;
    if (c->n < CLOCK_WINDOWS) {
        c->n++;
    }
}

/* The window containing instant t (the last one used is tried first). */
static const struct window *clock_window(struct clock *c, int64_t t)
{
    for (unsigned i = 0; i < c->n; i++) {
        unsigned j = (c->last + i) % c->n;
        if (c->win[j].lo <= t && t <= c->win[j].hi) {
            c->last = j;
            return &c->win[j];
        }
    }
    return NULL;
}

static int32_t clock_offset(struct clock *c, int64_t t)
{
    const struct window *w = clock_window(c, t);
    int32_t off, before, after;

    if (w != NULL) {
        return w->off;
    }
    off = tz_offset(c->zone, t);
    before = tz_offset(c->zone, t - WIN_HALF_S);
    after = tz_offset(c->zone, t + WIN_HALF_S);
    if (before == off && after == off) {
        clock_add(c, t - WIN_HALF_S, t + WIN_HALF_S, off);
    } else if (before == off) {
        clock_add(c, t - WIN_HALF_S, t, off);
    } else if (after == off) {
        clock_add(c, t, t + WIN_HALF_S, off);
    }
    return off;
}

static int64_t clock_to_local(struct clock *c, int64_t t)
{
    return t + clock_offset(c, t);
}

/* A window that holds the instant of wall-clock time local_s with room
 * before it (see WIN_MARGIN_S), or NULL. */
static const struct window *clock_local_window(struct clock *c, int64_t local_s)
{
    for (unsigned i = 0; i < c->n; i++) {
        unsigned j = (c->last + i) % c->n;
        int64_t t = local_s - c->win[j].off;
        if (c->win[j].lo + WIN_MARGIN_S <= t && t <= c->win[j].hi) {
            c->last = j;
            return &c->win[j];
        }
    }
    return NULL;
}

/* tz_from_local() through the windows. */
static int64_t clock_from_local(struct clock *c, int64_t local_s)
{
    const struct window *w = clock_local_window(c, local_s);
    if (w == NULL) {
        (void)clock_offset(c, local_s); /* opens a window around it */
        w = clock_local_window(c, local_s);
    }
    if (w != NULL) {
        return local_s - w->off;
    }
    return tz_from_local(c->zone, local_s);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static bool same_user(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* --- layers -------------------------------------------------------------- */

/* A layer's span [start, end) as instants (seconds), and its turn rule. */
struct span
{
    int64_t start, end;
    int64_t period_s; /* turn_days layers: local seconds per turn, else 0 */
    int64_t turn_s;   /* turn_s layers: seconds per turn, else 0 */
};

static struct span layer_span(struct clock *c, const Klaxon__Layer *l)
{
    struct span sp;
    sp.start = clock_from_local(c, clamp(l->start_local, -LIMIT_S, LIMIT_S));
    sp.end = NEVER_S;
    if (l->end_local != 0) {
        sp.end = clock_from_local(c, clamp(l->end_local, -LIMIT_S, LIMIT_S));
    }
    sp.period_s = (int64_t)l->turn_days * DAY_S;
    sp.turn_s = 0;
    if (sp.period_s == 0) {
        sp.turn_s =
            l->turn_s > (uint64_t)MAX_TURN_S ? MAX_TURN_S : (int64_t)l->turn_s;
    }
    return sp;
}

/* The instant turn n begins (turn 0 at the layer's start). */
static int64_t handoff(struct clock *c,
                       const Klaxon__Layer *l,
                       const struct span *sp,
                       int64_t n)
{
    if (sp->period_s != 0) {
        int64_t local = clamp(l->start_local, -LIMIT_S, LIMIT_S);
        return clock_from_local(c, local + n * sp->period_s);
    }
    if (sp->turn_s != 0) {
        return sp->start + n * sp->turn_s;
    }
    return n == 0 ? sp->start : NEVER_S; /* one endless turn */
}

/*
 * The turn at t >= sp->start. Calendar turns: the wall clock at t counts
 * the hand-offs whose wall-clock time it has reached, which is all of them
 * except after a fall-back, where the wall clock repeats an hour and may
 * lag behind a hand-off already made; the hand-off instants settle that.
 */
static int64_t turn_at(struct clock *c,
                       const Klaxon__Layer *l,
                       const struct span *sp,
                       int64_t t)
{
    int64_t local0 = clamp(l->start_local, -LIMIT_S, LIMIT_S);
    int64_t n;

    if (sp->period_s == 0) {
        return sp->turn_s != 0 ? floor_div(t - sp->start, sp->turn_s) : 0;
    }
    n = max64(floor_div(clock_to_local(c, t) - local0, sp->period_s), 0);
    for (int i = 0; i < 2 && handoff(c, l, sp, n + 1) <= t; i++) {
        n++;
    }
    return n;
}

static const char *turn_user(const Klaxon__Layer *l, int64_t n)
{
    return l->users[floor_mod(n, (int64_t)l->n_users)];
}

/* --- restrictions -------------------------------------------------------- */

/* A restriction as a repeating wall-clock window: occurrence d covers the
 * instants from the wall-clock time origin + d * period for duration
 * seconds of wall clock. */
struct rule
{
    int64_t origin, period, duration;
};

static bool rule_of(const Klaxon__Restriction *r, struct rule *out)
{
    int64_t start = r->start_s % DAY_S;
    switch (r->kind) {
        case KLAXON__RESTRICTION_KIND__RESTRICTION_DAILY:
            out->origin = start;
            out->period = DAY_S;
            break;
        case KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY:
            out->origin = MONDAY_ORIGIN_S + (r->start_day % 7) * DAY_S + start;
            out->period = WEEK_S;
            break;
        default:
            return false;
    }
    out->duration = min64(r->duration_s, out->period);
    return out->duration > 0;
}

/* The occurrence whose wall-clock start is the last at or before local. */
static int64_t rule_index(const struct rule *r, int64_t local)
{
    return floor_div(local - r->origin, r->period);
}

static void rule_occurrence(struct clock *c,
                            const struct rule *r,
                            int64_t d,
                            int64_t *start,
                            int64_t *end)
{
    int64_t local = r->origin + d * r->period;
    *start = clock_from_local(c, local);
    *end = clock_from_local(c, local + r->duration);
}

/*
 * Occurrences before d0 (the one that started last by the wall clock at t)
 * end by the time d0 starts, which is at or before t; occurrence d0 + 2
 * starts more than a day after t. Near a fall-back d0 + 1 may hold t.
 */
static bool rule_contains(struct clock *c, const struct rule *r, int64_t t)
{
    int64_t d0 = rule_index(r, clock_to_local(c, t));
    for (int64_t d = d0; d <= d0 + 1; d++) {
        int64_t start, end;
        rule_occurrence(c, r, d, &start, &end);
        if (start <= t && t < end) {
            return true;
        }
    }
    return false;
}

/* The first edge of the windows after t. */
static int64_t rule_next(struct clock *c, const struct rule *r, int64_t t)
{
    int64_t d0 = rule_index(r, clock_to_local(c, t));
    int64_t best = NEVER_S;
    for (int64_t d = d0; d <= d0 + 2; d++) {
        int64_t start, end;
        rule_occurrence(c, r, d, &start, &end);
        if (start > t) {
            best = min64(best, start);
        }
        if (end > t) {
            best = min64(best, end);
        }
    }
    return best;
}

/* The last edge of the windows at or before t. */
static int64_t rule_prev(struct clock *c, const struct rule *r, int64_t t)
{
    int64_t d0 = rule_index(r, clock_to_local(c, t));
    int64_t best = -NEVER_S;
    for (int64_t d = d0; d <= d0 + 1; d++) {
        int64_t start, end;
        rule_occurrence(c, r, d, &start, &end);
        if (start <= t) {
            best = max64(best, start);
        }
        if (end <= t) {
            best = max64(best, end);
        }
    }
    return best;
}

static bool restrictions_contain(struct clock *c,
                                 const Klaxon__Layer *l,
                                 int64_t t)
{
    struct rule r;
    if (l->n_restrictions == 0) {
        return true;
    }
    for (size_t i = 0; i < l->n_restrictions; i++) {
        if (rule_of(l->restrictions[i], &r) && rule_contains(c, &r, t)) {
            return true;
        }
    }
    return false;
}

/* --- evaluating ---------------------------------------------------------- */

static bool layer_usable(const Klaxon__Layer *l)
{
    return l != NULL && l->n_users > 0;
}

/* Whether layer l covers instant t (seconds); its turn in *turn if so. */
static bool layer_covers(struct clock *c,
                         const Klaxon__Layer *l,
                         int64_t t,
                         int64_t *turn)
{
    struct span sp;
    if (!layer_usable(l)) {
        return false;
    }
    sp = layer_span(c, l);
    if (t < sp.start || t >= sp.end || !restrictions_contain(c, l, t)) {
        return false;
    }
    *turn = turn_at(c, l, &sp, t);
    return true;
}

static int64_t ms_to_s(int64_t t_ms)
{
    return clamp(floor_div(t_ms, 1000), -LIMIT_S, LIMIT_S);
}

/* The last layer covering t_ms, or -1. */
static int top_layer(struct clock *c,
                     const Klaxon__Schedule *s,
                     int64_t t_ms,
                     int64_t *turn)
{
    int64_t t = ms_to_s(t_ms);
    for (size_t i = s->n_layers; i > 0; i--) {
        if (layer_covers(c, s->layers[i - 1], t, turn)) {
            return (int)(i - 1);
        }
    }
    return -1;
}

static bool override_valid(const Klaxon__Override *o)
{
    return o != NULL && o->start_ms < o->end_ms;
}

/* The last override covering t_ms, or -1. */
static int top_override(const Klaxon__Schedule *s, int64_t t_ms)
{
    for (size_t i = s->n_overrides; i > 0; i--) {
        const Klaxon__Override *o = s->overrides[i - 1];
        if (override_valid(o) && o->start_ms <= t_ms && t_ms < o->end_ms) {
            return (int)(i - 1);
        }
    }
    return -1;
}

static const char *evaluate(struct clock *c,
                            const Klaxon__Schedule *s,
                            int64_t t_ms,
                            struct oncall_pos *pos)
{
    int64_t turn = 0;
    int i = top_override(s, t_ms);

    pos->user = NULL;
    pos->layer = -1;
    pos->override = i;
    pos->turn_user = 0;
    if (i >= 0) {
        pos->user = s->overrides[i]->user;
        return pos->user;
    }
    i = top_layer(c, s, t_ms, &turn);
    if (i >= 0) {
        const Klaxon__Layer *l = s->layers[i];
        pos->layer = i;
        pos->turn_user = (size_t)floor_mod(turn, (int64_t)l->n_users);
        pos->user = l->users[pos->turn_user];
    }
    return pos->user;
}

const char *schedule_oncall(const Klaxon__Schedule *s,
                            int64_t t_ms,
                            struct oncall_pos *pos)
{
    struct clock c;
    struct oncall_pos local;

    if (pos == NULL) {
        pos = &local;
    }
    if (s == NULL) {
        memset(pos, 0, sizeof *pos);
        pos->layer = -1;
        pos->override = -1;
        return NULL;
    }
    clock_init(&c, s);
    return evaluate(&c, s, t_ms, pos);
}

const char *schedule_neighbour(const Klaxon__Schedule *s,
                               int64_t t_ms,
                               int delta)
{
    struct clock c;
    int64_t turn = 0;
    int i;

    if (s == NULL) {
        return NULL;
    }
    clock_init(&c, s);
    i = top_layer(&c, s, t_ms, &turn);
    if (i < 0) {
        return NULL;
    }
    return turn_user(s->layers[i], turn + delta);
}

/* --- change points ------------------------------------------------------- */

/* The first hand-off after turn n that brings a different user. Past
 * SCAN_TURNS turns of the same user: that hand-off, which may change
 * nothing. */
static int64_t next_handoff(struct clock *c,
                            const Klaxon__Layer *l,
                            const struct span *sp,
                            int64_t n)
{
    const char *user = turn_user(l, n);
    int64_t scan = min64((int64_t)l->n_users, SCAN_TURNS);

    for (int64_t j = 1; j < scan; j++) {
        if (!same_user(turn_user(l, n + j), user)) {
            return handoff(c, l, sp, n + j);
        }
    }
    if ((int64_t)l->n_users <= SCAN_TURNS) {
        return NEVER_S; /* every user of the round is this one */
    }
    return handoff(c, l, sp, n + scan);
}

/* The hand-off that began the run of turns of turn n's user: the layer's
 * start if every turn so far had that user. Past SCAN_TURNS turns of the
 * same user: that hand-off, which may have changed nothing. */
static int64_t run_start(struct clock *c,
                         const Klaxon__Layer *l,
                         const struct span *sp,
                         int64_t n)
{
    const char *user = turn_user(l, n);
    int64_t scan = min64((int64_t)l->n_users, SCAN_TURNS);

    for (int64_t j = 1; j < scan && j <= n; j++) {
        if (!same_user(turn_user(l, n - j), user)) {
            return handoff(c, l, sp, n - j + 1);
        }
    }
    if (n < scan || (int64_t)l->n_users <= SCAN_TURNS) {
        return sp->start;
    }
    return handoff(c, l, sp, n - scan + 1);
}

/* The first instant after t (seconds) at which layer l's answer may
 * change, or NEVER_S. */
static int64_t layer_next(struct clock *c, const Klaxon__Layer *l, int64_t t)
{
    struct span sp;
    struct rule r;
    int64_t best = NEVER_S;

    if (!layer_usable(l)) {
        return NEVER_S;
    }
    sp = layer_span(c, l);
    if (t < sp.start) {
        best = sp.start;
    } else if (t < sp.end) {
        best = min64(sp.end, next_handoff(c, l, &sp, turn_at(c, l, &sp, t)));
    }
    for (size_t i = 0; i < l->n_restrictions; i++) {
        if (rule_of(l->restrictions[i], &r)) {
            int64_t e = rule_next(c, &r, t);
            if (e > sp.start && e < sp.end) {
                best = min64(best, e);
            }
        }
    }
    return best;
}

/* The last instant at or before t (seconds) at which layer l's answer may
 * have changed, or -NEVER_S. */
static int64_t layer_prev(struct clock *c, const Klaxon__Layer *l, int64_t t)
{
    struct span sp;
    struct rule r;
    int64_t best = -NEVER_S;

    if (!layer_usable(l)) {
        return -NEVER_S;
    }
    sp = layer_span(c, l);
    if (sp.end <= t) {
        best = sp.end;
    } else if (sp.start <= t) {
        best = run_start(c, l, &sp, turn_at(c, l, &sp, t));
    }
    for (size_t i = 0; i < l->n_restrictions; i++) {
        if (rule_of(l->restrictions[i], &r)) {
            int64_t e = rule_prev(c, &r, t);
            if (e > sp.start && e < sp.end) {
                best = max64(best, e);
            }
        }
    }
    return best;
}

/* schedule_next_change() up to the instant limit_ms (> t_ms). */
static int64_t next_change(struct clock *c,
                           const Klaxon__Schedule *s,
                           int64_t t_ms,
                           int64_t limit_ms)
{
    int64_t best = limit_ms;
    int64_t t = ms_to_s(t_ms);

    for (size_t i = 0; i < s->n_overrides; i++) {
        const Klaxon__Override *o = s->overrides[i];
        if (override_valid(o) && o->start_ms > t_ms) {
            best = min64(best, o->start_ms);
        }
        if (override_valid(o) && o->end_ms > t_ms) {
            best = min64(best, o->end_ms);
        }
    }
    for (size_t i = 0; i < s->n_layers; i++) {
        int64_t e = layer_next(c, s->layers[i], t);
        if (e > -NEVER_S && e < NEVER_S && e * 1000 > t_ms) {
            best = min64(best, e * 1000);
        }
    }
    return best;
}

/* The last instant at or before t_ms, and not before floor_ms, at which
 * the answer may have changed. */
static int64_t prev_change(struct clock *c,
                           const Klaxon__Schedule *s,
                           int64_t t_ms,
                           int64_t floor_ms)
{
    int64_t best = floor_ms;
    int64_t t = ms_to_s(t_ms);

    for (size_t i = 0; i < s->n_overrides; i++) {
        const Klaxon__Override *o = s->overrides[i];
        if (override_valid(o) && o->start_ms <= t_ms) {
            best = max64(best, o->start_ms);
        }
        if (override_valid(o) && o->end_ms <= t_ms) {
            best = max64(best, o->end_ms);
        }
    }
    for (size_t i = 0; i < s->n_layers; i++) {
        int64_t e = layer_prev(c, s->layers[i], t);
        if (e > -NEVER_S && e < NEVER_S && e * 1000 <= t_ms) {
            best = max64(best, e * 1000);
        }
    }
    return best;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        return b > 0 ? INT64_MAX : INT64_MIN;
    }
    return r;
}

int64_t schedule_next_change(const Klaxon__Schedule *s,
                             int64_t t_ms,
                             int64_t horizon_ms)
{
    struct clock c;
    int64_t limit = add_sat(t_ms, max64(horizon_ms, 0));

    if (s == NULL || limit == t_ms) {
        return limit;
    }
    clock_init(&c, s);
    return next_change(&c, s, t_ms, limit);
}

/* --- shifts -------------------------------------------------------------- */

static void emit(struct shift *out,
                 size_t max,
                 size_t *count,
                 const struct shift *sh)
{
    if (*count < max) {
        out[*count] = *sh;
    }
    (*count)++;
}

static size_t walk_cap(size_t max)
{
    return max > SIZE_MAX - SCHEDULE_WALK_SLACK ? SIZE_MAX
                                                : max + SCHEDULE_WALK_SLACK;
}

size_t schedule_shifts(const Klaxon__Schedule *s,
                       int64_t from_ms,
                       int64_t to_ms,
                       struct shift *out,
                       size_t max)
{
    struct clock c;
    struct oncall_pos pos;
    struct shift cur;
    size_t count = 0, steps = 0, cap = walk_cap(max);
    int64_t t = from_ms;

    if (s == NULL || to_ms <= from_ms) {
        return 0;
    }
    clock_init(&c, s);
    cur.user = evaluate(&c, s, from_ms, &pos);
    cur.start_ms = from_ms;
    cur.layer = pos.layer;
    for (;;) {
        int64_t next = next_change(&c, s, t, to_ms);
        if (next >= to_ms || ++steps >= cap) {
            cur.end_ms = next;
            emit(out, max, &count, &cur);
            return count;
        }
        if (!same_user(evaluate(&c, s, next, &pos), cur.user)) {
            cur.end_ms = next;
            emit(out, max, &count, &cur);
            cur.user = pos.user;
            cur.start_ms = next;
            cur.layer = pos.layer;
        }
        t = next;
    }
}

/* The start of the shift holding t_ms (user `user`), not before floor. */
static int64_t shift_start(struct clock *c,
                           const Klaxon__Schedule *s,
                           int64_t t_ms,
                           const char *user,
                           int64_t floor_ms)
{
    struct oncall_pos pos;
    int64_t p = prev_change(c, s, t_ms, floor_ms);
    for (size_t steps = 1; steps < SCHEDULE_WALK_SLACK; steps++) {
        if (p <= floor_ms || !same_user(evaluate(c, s, p - 1, &pos), user)) {
            break;
        }
        p = prev_change(c, s, p - 1, floor_ms);
    }
    return p;
}

/* The end of the shift holding t_ms (user `user`), not after limit. */
static int64_t shift_end(struct clock *c,
                         const Klaxon__Schedule *s,
                         int64_t t_ms,
                         const char *user,
                         int64_t limit_ms)
{
    struct oncall_pos pos;
    int64_t n = t_ms;
    for (size_t steps = 0; steps < SCHEDULE_WALK_SLACK; steps++) {
        n = next_change(c, s, n, limit_ms);
        if (n >= limit_ms || !same_user(evaluate(c, s, n, &pos), user)) {
            return n;
        }
    }
    return n;
}

struct shift schedule_shift_at(const Klaxon__Schedule *s,
                               int64_t t_ms,
                               int64_t horizon_ms)
{
    struct clock c;
    struct oncall_pos pos;
    struct shift sh = {NULL, t_ms, t_ms, -1};
    int64_t h = max64(horizon_ms, 0);

    if (s == NULL) {
        return sh;
    }
    clock_init(&c, s);
    sh.user = evaluate(&c, s, t_ms, &pos);
    sh.start_ms = shift_start(&c, s, t_ms, sh.user, add_sat(t_ms, -h));
    sh.end_ms = t_ms;
    if (h > 0) {
        sh.end_ms = shift_end(&c, s, t_ms, sh.user, add_sat(t_ms, h));
    }
    (void)evaluate(&c, s, sh.start_ms, &pos);
    sh.layer = pos.layer;
    return sh;
}
