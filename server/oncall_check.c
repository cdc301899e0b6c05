/*
 * Validation of an on-call configuration (docs/ONCALL.md): the one set of
 * checks behind oncall_config_validate() and oncall_config_parse().
 *
 * Each failure names the message and YAML key it is about (struct
 * oncall_fault) and reads "FIELD: REASON", FIELD being the path of the key
 * in the YAML form, e.g. "schedules[0].layers[1].users[2]". Ids are found
 * through sorted indexes, so references cost O(log n) each.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oncall_check.h"
#include "tz.h"
#include "validate.h"
#include "yamldoc.h"

#define SECOND_MS ((uint64_t)1000)
#define MINUTE_MS (60 * SECOND_MS)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
#define DAY_S 86400u
#define WEEK_S (7 * DAY_S)

/* Local times and instants end before 10000-01-01T00:00. */
#define LOCAL_MAX INT64_C(253402300800)
#define TURN_DAYS_MAX 365u
#define TURN_S_MAX ((uint64_t)365 * DAY_S)
#define LONGEST_MS (365 * DAY_MS)
#define KEY_MIN 16 /* bytes of an integration key */

/* Room for a value quoted in a message. */
#define QUOTE_MAX 96

/* A field: the message holding it, its path, its key, a list item. */
struct at
{
    const void *msg;
    const char *path;
    const char *key;
    long index;
};

#define AT(m, p, k) \
    ((struct at){.msg = (m), .path = (p), .key = (k), .index = -1})
#define AT_ITEM(m, p, k, i) \
    ((struct at){.msg = (m), .path = (p), .key = (k), .index = (long)(i)})

/* Ids sorted by (id, position), for lookups and duplicates. */
struct id_entry
{
    const char *id;
    size_t pos;
};

struct id_index
{
    struct id_entry *e;
    size_t n;
};

struct checker
{
    const Klaxon__OncallConfig *c;
    struct oncall_fault *f;
    struct id_index users;
    struct id_index schedules;
    struct id_index policies;
    struct id_index services;
    struct id_index heartbeats;
    struct id_index keys; /* integration keys */
    const void *email;    /* the first email contact, if any */
    char email_path[YAMLDOC_FIELD_MAX];
};

enum text_flags {
    TEXT_REQUIRED = 1,
    TEXT_MULTILINE = 2,
};

/* --- messages ------------------------------------------------------------ */

static const char *str(const char *s)
{
    return s != NULL ? s : "";
}

/* s quoted for a message (escaped, shortened). */
static const char *quote(const char *s, char *buf, size_t len)
{
    yamldoc_printable(str(s), strlen(str(s)), buf, len);
    return buf;
}

/* "parent.key[i]" into buf of YAMLDOC_FIELD_MAX bytes. */
static void path_item(char *buf, const char *parent, const char *key, size_t i)
{
    char list[YAMLDOC_FIELD_MAX];

    yamldoc_field(list, sizeof list, parent, key);
    yamldoc_field_index(buf, YAMLDOC_FIELD_MAX, list, i);
}

static void field_of(struct at at, char *buf, size_t len)
{
    char key[YAMLDOC_FIELD_MAX];

    if (at.key == NULL) {
        snprintf(buf, len, "%s", at.path);
        return;
    }
    if (at.index < 0) {
        yamldoc_field(buf, len, at.path, at.key);
        return;
    }
    yamldoc_field(key, sizeof key, at.path, at.key);
    yamldoc_field_index(buf, len, key, (size_t)at.index);
}

__attribute__((format(printf, 3, 4))) static int fail(struct checker *k,
                                                      struct at at,
                                                      const char *fmt,
                                                      ...)
{
    struct oncall_fault *f = k->f;
    char field[YAMLDOC_FIELD_MAX];
    char reason[ONCALL_FAULT_MAX / 2];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    field_of(at, field, sizeof field);
    f->msg = at.msg;
    f->alt = NULL;
    f->key = at.key;
    f->index = at.index;
    if (field[0] == '\0') {
        snprintf(f->text, sizeof f->text, "%s", reason);
    } else {
        snprintf(f->text, sizeof f->text, "%s: %s", field, reason);
    }
    return -1;
}

/* A duration for messages: the largest unit dividing it exactly. */
static void span_format(uint64_t ms, char *buf, size_t len)
{
    static const struct
    {
        const char *name;
        uint64_t ms;
    } units[] = {{"d", DAY_MS}, {"h", HOUR_MS}, {"m", MINUTE_MS}, {"s", 1000}};

    if (ms == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms,
                     units[i].name);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64 "ms", ms);
}

/* --- values -------------------------------------------------------------- */

static int check_text(struct checker *k,
                      struct at at,
                      const char *s,
                      size_t max,
                      unsigned flags)
{
    size_t n = strlen(str(s));

    if (n == 0) {
        return (flags & TEXT_REQUIRED) ? fail(k, at, "must not be empty") : 0;
    }
    if (n > max) {
        return fail(k, at, "too long (%zu bytes, at most %zu)", n, max);
    }
    if (!validate_utf8(s, n)) {
        return fail(k, at, "not valid UTF-8");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool space = c == '\n' || c == '\t';
        if ((c < 0x20 && !(space && (flags & TEXT_MULTILINE))) || c == 0x7f) {
            return fail(k, at, "control character 0x%02x at byte %zu", c, i);
        }
    }
    return 0;
}

static int check_id(struct checker *k, struct at at, const char *s)
{
    return check_text(k, at, s, ONCALL_MAX_ID, TEXT_REQUIRED);
}

static int check_count(struct checker *k,
                       struct at at,
                       size_t n,
                       size_t max,
                       const char *if_empty)
{
    if (n == 0 && if_empty != NULL) {
        return fail(k, at, "%s", if_empty);
    }
    if (n > max) {
        return fail(k, at, "too many (%zu, at most %zu)", n, max);
    }
    return 0;
}

/* A duration in min..max, or 0 when zero_ok. */
static int check_span(struct checker *k,
                      struct at at,
                      uint64_t v,
                      uint64_t min,
                      uint64_t max,
                      bool zero_ok)
{
    char got[32];
    char lo[32];
    char hi[32];

    if ((v == 0 && zero_ok) || (v >= min && v <= max)) {
        return 0;
    }
    span_format(v, got, sizeof got);
    span_format(min, lo, sizeof lo);
    span_format(max, hi, sizeof hi);
    return fail(k, at, "%s is out of range (must be %s%s..%s)", got,
                zero_ok ? "none or " : "", lo, hi);
}

static int check_range(struct checker *k,
                       struct at at,
                       uint64_t v,
                       uint64_t min,
                       uint64_t max)
{
    if (v < min || v > max) {
        return fail(k, at,
                    "%" PRIu64 " is out of range (must be %" PRIu64 "..%" PRIu64
                    ")",
                    v, min, max);
    }
    return 0;
}

static int check_zone(struct checker *k, struct at at, const char *name)
{
    char q[QUOTE_MAX];

    if (check_id(k, at, name) != 0) {
        return -1;
    }
    if (tz_find(name) == NULL) {
        return fail(k, at,
                    "unknown time zone \"%s\" (expected an IANA name such "
                    "as UTC or Europe/Berlin)",
                    quote(name, q, sizeof q));
    }
    return 0;
}

/* Why s (checked text) is not a URL of one of two schemes, or NULL. */
static const char *url_problem(const char *s, const char *a, const char *b)
{
    const char *sep = strstr(s, "://");
    size_t slen = sep != NULL ? (size_t)(sep - s) : 0;
    const char *host = sep != NULL ? sep + 3 : NULL;

    if (sep == NULL || !((slen == strlen(a) && strncasecmp(s, a, slen) == 0) ||
                         (slen == strlen(b) && strncasecmp(s, b, slen) == 0))) {
        return "unsupported scheme";
    }
    if (strcspn(host, "/?#") == 0) {
        return "no host";
    }
    if (strchr(s, ' ') != NULL) {
        return "contains a space";
    }
    return NULL;
}

static int check_url(struct checker *k,
                     struct at at,
                     const char *s,
                     const char *a,
                     const char *b)
{
    char q[QUOTE_MAX];
    const char *why;

    if (check_text(k, at, s, ONCALL_MAX_TEXT, TEXT_REQUIRED) != 0) {
        return -1;
    }
    why = url_problem(s, a, b);
    if (why != NULL) {
        return fail(k, at,
                    "invalid URL \"%s\": %s (expected %s://... or %s://...)",
                    quote(s, q, sizeof q), why, a, b);
    }
    return 0;
}

/* Why s (checked text) is not a plain e-mail address, or NULL. */
static const char *email_problem(const char *s)
{
    const char *at = strchr(s, '@');
    const char *domain = at != NULL ? at + 1 : NULL;

    if (at == NULL || strchr(domain, '@') != NULL) {
        return "must contain exactly one @";
    }
    if (at == s || domain[0] == '\0') {
        return "needs a name before and a domain after the @";
    }
    if (strpbrk(s, " <>()[],;:\\\"") != NULL) {
        return "contains a space or one of <>()[],;:\\\"";
    }
    if (domain[0] == '.' || domain[strlen(domain) - 1] == '.' ||
        strstr(domain, "..") != NULL) {
        return "invalid domain";
    }
    return NULL;
}

static int check_email(struct checker *k, struct at at, const char *s)
{
    char q[QUOTE_MAX];
    const char *why;

    if (check_text(k, at, s, ONCALL_MAX_TEXT, TEXT_REQUIRED) != 0) {
        return -1;
    }
    why = email_problem(s);
    if (why != NULL) {
        return fail(k, at, "invalid e-mail address \"%s\": %s",
                    quote(s, q, sizeof q), why);
    }
    return 0;
}

/* --- id indexes ---------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    const struct id_entry *x = a;
    const struct id_entry *y = b;
    int c = strcmp(x->id, y->id);

    if (c != 0) {
        return c;
    }
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The entry of `id` with the smallest position, or NULL. */
static const struct id_entry *index_find(const struct id_index *ix,
                                         const char *id)
{
    size_t lo = 0;
    size_t hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->e[mid].id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ix->n && strcmp(ix->e[lo].id, id) == 0 ? &ix->e[lo] : NULL;
}

/* Room for n entries; entries are then added with index_add. */
static int index_alloc(struct checker *k, struct id_index *ix, size_t n)
{
    ix->n = 0;
    ix->e = n > 0 ? malloc(n * sizeof *ix->e) : NULL;
    if (n > 0 && ix->e == NULL) {
        return fail(k, AT(k->c, "", NULL), "out of memory");
    }
    return 0;
}

static void index_add(struct id_index *ix, const char *id, size_t pos)
{
    ix->e[ix->n].id = str(id);
    ix->e[ix->n].pos = pos;
    ix->n++;
}

static void index_sort(struct id_index *ix)
{
    if (ix->n > 1) {
        qsort(ix->e, ix->n, sizeof *ix->e, entry_cmp);
    }
}

static void index_free(struct id_index *ix)
{
    free(ix->e);
    ix->e = NULL;
    ix->n = 0;
}

static int build_indexes(struct checker *k)
{
    const Klaxon__OncallConfig *c = k->c;

    if (index_alloc(k, &k->users, c->n_users) != 0 ||
        index_alloc(k, &k->schedules, c->n_schedules) != 0 ||
        index_alloc(k, &k->policies, c->n_escalation_policies) != 0 ||
        index_alloc(k, &k->services, c->n_services) != 0 ||
        index_alloc(k, &k->heartbeats, c->n_heartbeats) != 0 ||
        index_alloc(k, &k->keys, c->n_services) != 0) {
        return -1;
    }
    for (size_t i = 0; i < c->n_users; i++) {
        index_add(&k->users, c->users[i]->id, i);
    }
    for (size_t i = 0; i < c->n_schedules; i++) {
        index_add(&k->schedules, c->schedules[i]->id, i);
    }
    for (size_t i = 0; i < c->n_escalation_policies; i++) {
        index_add(&k->policies, c->escalation_policies[i]->id, i);
    }
    for (size_t i = 0; i < c->n_services; i++) {
        index_add(&k->services, c->services[i]->name, i);
        if (str(c->services[i]->integration_key)[0] != '\0') {
            index_add(&k->keys, c->services[i]->integration_key, i);
        }
    }
    for (size_t i = 0; i < c->n_heartbeats; i++) {
        index_add(&k->heartbeats, c->heartbeats[i]->name, i);
    }
    index_sort(&k->users);
    index_sort(&k->schedules);
    index_sort(&k->policies);
    index_sort(&k->services);
    index_sort(&k->keys);
    index_sort(&k->heartbeats);
    return 0;
}

/* Item `pos` of list `list` must be the first with its id. */
static int check_unique(struct checker *k,
                        struct at at,
                        const struct id_index *ix,
                        const char *id,
                        size_t pos,
                        const char *list)
{
    const struct id_entry *first = index_find(ix, str(id));
    char q[QUOTE_MAX];

    if (first != NULL && first->pos != pos) {
        return fail(k, at, "duplicate \"%s\" (also %s[%zu])",
                    quote(id, q, sizeof q), list, first->pos);
    }
    return 0;
}

/* A reference: a checked id present in ix. */
static int check_ref(struct checker *k,
                     struct at at,
                     const struct id_index *ix,
                     const char *id,
                     const char *what)
{
    char q[QUOTE_MAX];

    if (check_id(k, at, id) != 0) {
        return -1;
    }
    if (index_find(ix, id) == NULL) {
        return fail(k, at, "unknown %s \"%s\"", what, quote(id, q, sizeof q));
    }
    return 0;
}

/* --- users --------------------------------------------------------------- */

static int check_args(struct checker *k,
                      const Klaxon__ContactMethod *m,
                      const char *path)
{
    if (m->n_args > 0 && m->kind != KLAXON__CONTACT_KIND__CONTACT_EXEC) {
        return fail(k, AT(m, path, "command"),
                    "only exec contacts take arguments");
    }
    if (check_count(k, AT(m, path, "command"), m->n_args, ONCALL_MAX_ARGS,
                    NULL) != 0) {
        return -1;
    }
    for (size_t i = 0; i < m->n_args; i++) {
        if (check_text(k, AT_ITEM(m, path, "command", i + 1), m->args[i],
                       ONCALL_MAX_TEXT, 0) != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_program(struct checker *k, struct at at, const char *s)
{
    if (check_text(k, at, s, ONCALL_MAX_TEXT, TEXT_REQUIRED) != 0) {
        return -1;
    }
    if (s[0] != '/') {
        return fail(k, at, "the program must be an absolute path");
    }
    return 0;
}

static int check_contact(struct checker *k,
                         const Klaxon__ContactMethod *m,
                         const char *path)
{
    int rc;

    switch (m->kind) {
        case KLAXON__CONTACT_KIND__CONTACT_WEBHOOK:
            rc = check_url(k, AT(m, path, "url"), m->address, "http", "https");
            break;
        case KLAXON__CONTACT_KIND__CONTACT_EMAIL:
            rc = check_email(k, AT(m, path, "address"), m->address);
            if (rc == 0 && k->email == NULL) {
                k->email = m;
                snprintf(k->email_path, sizeof k->email_path, "%s", path);
            }
            break;
        case KLAXON__CONTACT_KIND__CONTACT_EXEC:
            rc = check_program(k, AT_ITEM(m, path, "command", 0), m->address);
            break;
        default:
            return fail(k, AT(m, path, "type"), "unknown contact type %d",
                        (int)m->kind);
    }
    return rc != 0 ? -1 : check_args(k, m, path);
}

static int check_user(struct checker *k, const Klaxon__User *u, size_t i)
{
    char path[YAMLDOC_FIELD_MAX];
    char item[YAMLDOC_FIELD_MAX];

    snprintf(path, sizeof path, "users[%zu]", i);
    if (check_id(k, AT(u, path, "id"), u->id) != 0 ||
        check_unique(k, AT(u, path, "id"), &k->users, u->id, i, "users") != 0 ||
        check_id(k, AT(u, path, "name"), u->name) != 0 ||
        check_zone(k, AT(u, path, "time_zone"), u->time_zone) != 0 ||
        check_count(k, AT(u, path, "contacts"), u->n_contacts,
                    ONCALL_MAX_CONTACTS, NULL) != 0) {
        return -1;
    }
    for (size_t j = 0; j < u->n_contacts; j++) {
        path_item(item, path, "contacts", j);
        if (check_contact(k, u->contacts[j], item) != 0) {
            return -1;
        }
    }
    return 0;
}

/* --- schedules ----------------------------------------------------------- */

static int check_restriction(struct checker *k,
                             const Klaxon__Restriction *r,
                             const char *path)
{
    uint32_t period;

    switch (r->kind) {
        case KLAXON__RESTRICTION_KIND__RESTRICTION_DAILY:
            period = DAY_S;
            if (r->start_day != 0) {
                return fail(k, AT(r, path, "start_day"),
                            "only weekly restrictions have a start day");
            }
            break;
        case KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY:
            period = WEEK_S;
            if (r->start_day > 6) {
                return fail(k, AT(r, path, "start_day"),
                            "%" PRIu32
                            " is not a day (0 = monday .. 6 = "
                            "sunday)",
                            r->start_day);
            }
            break;
        default:
            return fail(k, AT(r, path, "type"), "unknown restriction type %d",
                        (int)r->kind);
    }
    if (r->start_s >= DAY_S) {
        return fail(k, AT(r, path, "start"),
                    "%" PRIu32 " s is not a time of day (before 24:00)",
                    r->start_s);
    }
    return check_span(k, AT(r, path, "duration"), r->duration_s * SECOND_MS,
                      SECOND_MS, period * SECOND_MS, false);
}

static int check_turn(struct checker *k,
                      const Klaxon__Layer *l,
                      const char *path)
{
    struct at at = AT(l, path, "turn");

    if (l->turn_days != 0 && l->turn_s != 0) {
        return fail(k, at, "has both a day count and a duration");
    }
    if (l->turn_days == 0 && l->turn_s == 0) {
        return fail(k, at, "must be positive (e.g. daily, weekly, 2d, 12h)");
    }
    if (l->turn_days > TURN_DAYS_MAX || l->turn_s > TURN_S_MAX) {
        return fail(k, at, "too long (at most %u days)", TURN_DAYS_MAX);
    }
    return 0;
}

static int check_local(struct checker *k, struct at at, int64_t t)
{
    if (t < 0 || t >= LOCAL_MAX) {
        return fail(k, at, "out of range (years 1970 to 9999)");
    }
    return 0;
}

static int check_rotation(struct checker *k,
                          const Klaxon__Layer *l,
                          const char *path)
{
    if (check_count(k, AT(l, path, "users"), l->n_users, ONCALL_MAX_LAYER_USERS,
                    "empty rotation (list at least one user)") != 0) {
        return -1;
    }
    for (size_t j = 0; j < l->n_users; j++) {
        if (check_ref(k, AT_ITEM(l, path, "users", j), &k->users, l->users[j],
                      "user") != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_layer(struct checker *k,
                       const Klaxon__Layer *l,
                       const char *path)
{
    char item[YAMLDOC_FIELD_MAX];

    if (check_text(k, AT(l, path, "name"), l->name, ONCALL_MAX_ID, 0) != 0 ||
        check_rotation(k, l, path) != 0 ||
        check_local(k, AT(l, path, "start"), l->start_local) != 0 ||
        (l->end_local != 0 &&
         check_local(k, AT(l, path, "end"), l->end_local) != 0)) {
        return -1;
    }
    if (l->end_local != 0 && l->end_local <= l->start_local) {
        return fail(k, AT(l, path, "end"), "must be after start");
    }
    if (check_turn(k, l, path) != 0 ||
        check_count(k, AT(l, path, "restrictions"), l->n_restrictions,
                    ONCALL_MAX_RESTRICTIONS, NULL) != 0) {
        return -1;
    }
    for (size_t j = 0; j < l->n_restrictions; j++) {
        path_item(item, path, "restrictions", j);
        if (check_restriction(k, l->restrictions[j], item) != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_instant(struct checker *k, struct at at, int64_t ms)
{
    if (ms < 0 || ms / 1000 >= LOCAL_MAX) {
        return fail(k, at, "out of range (years 1970 to 9999)");
    }
    return 0;
}

static int check_override(struct checker *k,
                          const Klaxon__Override *o,
                          const char *path)
{
    if (check_ref(k, AT(o, path, "user"), &k->users, o->user, "user") != 0 ||
        check_instant(k, AT(o, path, "start"), o->start_ms) != 0 ||
        check_instant(k, AT(o, path, "end"), o->end_ms) != 0) {
        return -1;
    }
    if (o->end_ms <= o->start_ms) {
        return fail(k, AT(o, path, "end"), "must be after start");
    }
    return 0;
}

static int check_schedule_lists(struct checker *k,
                                const Klaxon__Schedule *s,
                                const char *path)
{
    char item[YAMLDOC_FIELD_MAX];

    if (check_count(k, AT(s, path, "layers"), s->n_layers, ONCALL_MAX_LAYERS,
                    "a schedule needs at least one layer") != 0) {
        return -1;
    }
    for (size_t j = 0; j < s->n_layers; j++) {
        path_item(item, path, "layers", j);
        if (check_layer(k, s->layers[j], item) != 0) {
            return -1;
        }
    }
    if (check_count(k, AT(s, path, "overrides"), s->n_overrides,
                    ONCALL_MAX_OVERRIDES, NULL) != 0) {
        return -1;
    }
    for (size_t j = 0; j < s->n_overrides; j++) {
        path_item(item, path, "overrides", j);
        if (check_override(k, s->overrides[j], item) != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_schedule(struct checker *k,
                          const Klaxon__Schedule *s,
                          size_t i)
{
    char path[YAMLDOC_FIELD_MAX];

    snprintf(path, sizeof path, "schedules[%zu]", i);
    if (check_id(k, AT(s, path, "id"), s->id) != 0 ||
        check_unique(k, AT(s, path, "id"), &k->schedules, s->id, i,
                     "schedules") != 0 ||
        check_id(k, AT(s, path, "name"), s->name) != 0 ||
        check_zone(k, AT(s, path, "time_zone"), s->time_zone) != 0) {
        return -1;
    }
    return check_schedule_lists(k, s, path);
}

/* --- escalation policies ------------------------------------------------- */

static int check_target(struct checker *k,
                        const Klaxon__Target *t,
                        const char *path)
{
    switch (t->kind) {
        case KLAXON__TARGET_KIND__TARGET_USER:
            return check_ref(k, AT(t, path, "id"), &k->users, t->id, "user");
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE:
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE_NEXT:
        case KLAXON__TARGET_KIND__TARGET_SCHEDULE_PREVIOUS:
            return check_ref(k, AT(t, path, "id"), &k->schedules, t->id,
                             "schedule");
        case KLAXON__TARGET_KIND__TARGET_UNSPECIFIED:
            return fail(k, AT(t, path, "type"), "must be given");
        default:
            return fail(k, AT(t, path, "type"), "unknown target type %d",
                        (int)t->kind);
    }
}

static int check_level(struct checker *k,
                       const Klaxon__EscalationLevel *l,
                       const char *path)
{
    char item[YAMLDOC_FIELD_MAX];

    if (check_span(k, AT(l, path, "timeout"), l->timeout_ms, SECOND_MS, DAY_MS,
                   false) != 0) {
        return -1;
    }
    if (l->condition != KLAXON__CONDITION__IF_NOT_ACKNOWLEDGED &&
        l->condition != KLAXON__CONDITION__IF_NOT_RESOLVED) {
        return fail(k, AT(l, path, "condition"), "unknown condition %d",
                    (int)l->condition);
    }
    if (check_count(k, AT(l, path, "targets"), l->n_targets, ONCALL_MAX_TARGETS,
                    "a level needs at least one target") != 0) {
        return -1;
    }
    for (size_t j = 0; j < l->n_targets; j++) {
        path_item(item, path, "targets", j);
        if (check_target(k, l->targets[j], item) != 0) {
            return -1;
        }
    }
    return 0;
}

/* An absent commander decodes as NULL or as an empty Target. */
static bool commander_given(const Klaxon__Target *t)
{
    return t != NULL && (t->kind != KLAXON__TARGET_KIND__TARGET_UNSPECIFIED ||
                         str(t->id)[0] != '\0');
}

static int check_policy(struct checker *k,
                        const Klaxon__EscalationPolicy *p,
                        size_t i)
{
    char path[YAMLDOC_FIELD_MAX];
    char item[YAMLDOC_FIELD_MAX];

    snprintf(path, sizeof path, "escalation_policies[%zu]", i);
    yamldoc_field(item, sizeof item, path, "commander");
    if (check_id(k, AT(p, path, "id"), p->id) != 0 ||
        check_unique(k, AT(p, path, "id"), &k->policies, p->id, i,
                     "escalation_policies") != 0 ||
        check_id(k, AT(p, path, "name"), p->name) != 0 ||
        check_range(k, AT(p, path, "repeat"), p->repeat, 0,
                    ONCALL_MAX_REPEAT) != 0 ||
        (commander_given(p->commander) &&
         check_target(k, p->commander, item) != 0) ||
        check_count(k, AT(p, path, "levels"), p->n_levels, ONCALL_MAX_LEVELS,
                    "a policy needs at least one level") != 0) {
        return -1;
    }
    for (size_t j = 0; j < p->n_levels; j++) {
        path_item(item, path, "levels", j);
        if (check_level(k, p->levels[j], item) != 0) {
            return -1;
        }
    }
    return 0;
}

/* --- services ------------------------------------------------------------ */

static int check_rule(struct checker *k,
                      const Klaxon__SeverityRule *r,
                      const char *service,
                      size_t j)
{
    char path[YAMLDOC_FIELD_MAX];
    char list[YAMLDOC_FIELD_MAX];
    char name[16];

    yamldoc_field(list, sizeof list, service, "severities");
    snprintf(name, sizeof name, "sev%zu", j + 1);
    yamldoc_field(path, sizeof path, list, name);
    if (r->severity != j + 1) {
        return fail(k, AT(r, path, NULL),
                    "severity %" PRIu32
                    " is out of place (rules are "
                    "severities 1..4 in order)",
                    r->severity);
    }
    if ((unsigned)r->paging > KLAXON__PAGING__PAGING_NONE) {
        return fail(k, AT(r, path, "paging"), "unknown paging mode %d",
                    (int)r->paging);
    }
    if (check_span(k, AT(r, path, "response"), r->response_ms, SECOND_MS,
                   LONGEST_MS, true) != 0 ||
        check_span(k, AT(r, path, "resolution"), r->resolution_ms, SECOND_MS,
                   LONGEST_MS, true) != 0 ||
        check_span(k, AT(r, path, "update_interval"), r->update_interval_ms,
                   MINUTE_MS, LONGEST_MS, true) != 0) {
        return -1;
    }
    return 0;
}

static int check_key(struct checker *k,
                     const Klaxon__Service *s,
                     const char *path,
                     size_t i)
{
    struct at at = AT(s, path, "integration_key");
    const char *key = str(s->integration_key);
    const struct id_entry *first;

    if (key[0] == '\0') {
        return 0;
    }
    if (check_text(k, at, key, ONCALL_MAX_ID, TEXT_REQUIRED) != 0) {
        return -1;
    }
    if (strlen(key) < KEY_MIN || strchr(key, ' ') != NULL) {
        return fail(k, at,
                    "must be %d to %d characters without spaces (e.g. from "
                    "openssl rand -hex 16)",
                    KEY_MIN, ONCALL_MAX_ID);
    }
    first = index_find(&k->keys, key);
    if (first != NULL && first->pos != i) {
        return fail(k, at, "already the key of services[%zu]", first->pos);
    }
    return 0;
}

static int check_service_refs(struct checker *k,
                              const Klaxon__Service *s,
                              const char *path)
{
    if (str(s->escalation_policy)[0] != '\0' &&
        check_ref(k, AT(s, path, "escalation_policy"), &k->policies,
                  s->escalation_policy, "escalation policy") != 0) {
        return -1;
    }
    if (check_span(k, AT(s, path, "ack_timeout"), s->ack_timeout_ms, SECOND_MS,
                   LONGEST_MS, true) != 0 ||
        check_span(k, AT(s, path, "auto_resolve"), s->auto_resolve_ms,
                   SECOND_MS, LONGEST_MS, true) != 0) {
        return -1;
    }
    if (s->n_severities != 4) {
        return fail(k, AT(s, path, "severities"),
                    "must hold the rules of severities 1..4, got %zu rules",
                    s->n_severities);
    }
    for (size_t j = 0; j < 4; j++) {
        if (check_rule(k, s->severities[j], path, j) != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_service(struct checker *k, const Klaxon__Service *s, size_t i)
{
    char path[YAMLDOC_FIELD_MAX];

    snprintf(path, sizeof path, "services[%zu]", i);
    if (check_id(k, AT(s, path, "name"), s->name) != 0 ||
        check_unique(k, AT(s, path, "name"), &k->services, s->name, i,
                     "services") != 0 ||
        check_text(k, AT(s, path, "description"), s->description,
                   ONCALL_MAX_TEXT, TEXT_MULTILINE) != 0 ||
        check_key(k, s, path, i) != 0) {
        return -1;
    }
    return check_service_refs(k, s, path);
}

/* --- heartbeats and notifications ---------------------------------------- */

static int check_heartbeat(struct checker *k,
                           const Klaxon__HeartbeatMonitor *h,
                           size_t i)
{
    char path[YAMLDOC_FIELD_MAX];

    snprintf(path, sizeof path, "heartbeats[%zu]", i);
    if (check_id(k, AT(h, path, "name"), h->name) != 0 ||
        check_unique(k, AT(h, path, "name"), &k->heartbeats, h->name, i,
                     "heartbeats") != 0 ||
        check_ref(k, AT(h, path, "service"), &k->services, h->service,
                  "service") != 0 ||
        check_span(k, AT(h, path, "interval"), h->interval_ms, SECOND_MS,
                   LONGEST_MS, false) != 0 ||
        check_range(k, AT(h, path, "severity"), h->severity, 1, 4) != 0 ||
        check_text(k, AT(h, path, "summary"), h->summary, ONCALL_MAX_TEXT,
                   TEXT_REQUIRED) != 0) {
        return -1;
    }
    return 0;
}

/* E-mail contacts need a relay and a sender. */
static int check_smtp_needed(struct checker *k, const Klaxon__Notifications *n)
{
    const char *missing = str(n->smtp_url)[0] == '\0'    ? "smtp_url"
                          : str(n->smtp_from)[0] == '\0' ? "smtp_from"
                                                         : NULL;

    if (k->email == NULL || missing == NULL) {
        return 0;
    }
    fail(k, AT(n, "notifications", missing),
         "required: %s is an e-mail contact", k->email_path);
    k->f->alt = k->email;
    return -1;
}

static int check_smtp(struct checker *k, const Klaxon__Notifications *n)
{
    const char *p = "notifications";

    if ((str(n->smtp_url)[0] != '\0' &&
         check_url(k, AT(n, p, "smtp_url"), n->smtp_url, "smtp", "smtps") !=
             0) ||
        (str(n->smtp_from)[0] != '\0' &&
         check_email(k, AT(n, p, "smtp_from"), n->smtp_from) != 0) ||
        check_text(k, AT(n, p, "smtp_username"), n->smtp_username,
                   ONCALL_MAX_TEXT, 0) != 0 ||
        check_text(k, AT(n, p, "smtp_password"), n->smtp_password,
                   ONCALL_MAX_TEXT, 0) != 0) {
        return -1;
    }
    return check_smtp_needed(k, n);
}

static int check_notifications(struct checker *k)
{
    const Klaxon__Notifications *n = k->c->notifications;
    const char *p = "notifications";

    if (n == NULL) {
        return fail(k, AT(k->c, "", "notifications"), "must be given");
    }
    if (check_smtp(k, n) != 0 ||
        check_span(k, AT(n, p, "timeout"), n->timeout_ms, SECOND_MS,
                   10 * MINUTE_MS, false) != 0 ||
        check_range(k, AT(n, p, "max_attempts"), n->max_attempts, 1, 20) != 0 ||
        check_span(k, AT(n, p, "retry_base"), n->retry_base_ms, 100, HOUR_MS,
                   false) != 0 ||
        (str(n->ack_url)[0] != '\0' &&
         check_url(k, AT(n, p, "ack_url"), n->ack_url, "http", "https") != 0) ||
        check_span(k, AT(n, p, "token_ttl"), n->token_ttl_ms, MINUTE_MS,
                   30 * DAY_MS, false) != 0) {
        return -1;
    }
    return 0;
}

/* --- the whole configuration --------------------------------------------- */

static int check_counts(struct checker *k)
{
    const Klaxon__OncallConfig *c = k->c;

    if (check_count(k, AT(c, "", "users"), c->n_users, ONCALL_MAX_USERS,
                    NULL) != 0 ||
        check_count(k, AT(c, "", "schedules"), c->n_schedules,
                    ONCALL_MAX_SCHEDULES, NULL) != 0 ||
        check_count(k, AT(c, "", "escalation_policies"),
                    c->n_escalation_policies, ONCALL_MAX_POLICIES, NULL) != 0 ||
        check_count(k, AT(c, "", "services"), c->n_services,
                    ONCALL_MAX_SERVICES, NULL) != 0 ||
        check_count(k, AT(c, "", "heartbeats"), c->n_heartbeats,
                    ONCALL_MAX_HEARTBEATS, NULL) != 0) {
        return -1;
    }
    return 0;
}

static int check_all(struct checker *k)
{
    const Klaxon__OncallConfig *c = k->c;

    for (size_t i = 0; i < c->n_users; i++) {
        if (check_user(k, c->users[i], i) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_schedules; i++) {
        if (check_schedule(k, c->schedules[i], i) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_escalation_policies; i++) {
        if (check_policy(k, c->escalation_policies[i], i) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_services; i++) {
        if (check_service(k, c->services[i], i) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < c->n_heartbeats; i++) {
        if (check_heartbeat(k, c->heartbeats[i], i) != 0) {
            return -1;
        }
    }
    return check_notifications(k);
}

int oncall_check(const Klaxon__OncallConfig *c, struct oncall_fault *f)
{
    struct checker k = {.c = c, .f = f};
    int rc;

    memset(f, 0, sizeof *f);
    f->index = -1;
    rc = check_counts(&k);
    if (rc == 0) {
        rc = build_indexes(&k);
    }
    if (rc == 0) {
        rc = check_all(&k);
    }
    index_free(&k.keys);
    index_free(&k.heartbeats);
    index_free(&k.services);
    index_free(&k.policies);
    index_free(&k.schedules);
    index_free(&k.users);
    return rc;
}

int oncall_config_validate(const Klaxon__OncallConfig *c,
                           char *err,
                           size_t errlen)
{
    struct oncall_fault f;

    if (oncall_check(c, &f) == 0) {
        if (err != NULL && errlen > 0) {
            err[0] = '\0';
        }
        return 0;
    }
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", f.text);
    }
    return -1;
}
