/*
 * The on-call configuration's YAML (docs/ONCALL.md) to a
 * klaxon.OncallConfig.
 *
 * Parsing reports malformed YAML, unknown or missing keys and values of
 * the wrong form at once, through yamldoc. It builds the protobuf with
 * every default filled in, remembering the YAML node each message came
 * from; then oncall_check() validates it, and the message and key of a
 * failure lead back to the line of the offending value.
 *
 * Memory: every message, array and string is malloc'd, as protobuf-c's
 * default allocator does, so klaxon__oncall_config__free_unpacked(c, NULL)
 * frees a parsed config. Each message is attached to its parent as soon
 * as it exists, so freeing the root also cleans up after a failure.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oncall_check.h"
#include "oncall_config.h"
#include "tz.h"
#include "yamldoc.h"

#define SECOND_MS ((uint64_t)1000)
#define MINUTE_MS (60 * SECOND_MS)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
#define DAY_S 86400u
#define WEEK_S (7 * DAY_S)

/* Room for a value quoted in a message. */
#define QUOTE_MAX 96

/* A zeroed array of n pointers in `arr` (left NULL for n = 0). */
#define ALLOC_LIST(p, node, arr, n)                           \
    ((n) == 0 || ((arr) = calloc((n), sizeof *(arr))) != NULL \
         ? 0                                                  \
         : oom((p), (node)))

static const char span_forms[] =
    "expected a number and a unit: ms, s, m, h or d (24 hours), e.g. 30s, "
    "5m, 12h, 3d";
static const char turn_forms[] =
    "expected daily, weekly, a number of days or weeks such as 2d or 2w, or "
    "a duration such as 12h";
static const char local_forms[] =
    "expected YYYY-MM-DDTHH:MM in the schedule's time zone";
static const char instant_forms[] =
    "expected YYYY-MM-DDTHH:MM in the schedule's time zone, or RFC 3339 "
    "such as 2026-03-29T01:30:00Z";
static const char clock_forms[] = "expected HH:MM or HH:MM:SS";

/* The YAML node a message came from. */
struct origin
{
    const void *msg;
    const yaml_node_t *node;
};

struct parser
{
    struct yamldoc doc;
    Klaxon__OncallConfig *cfg;
    struct origin *origins;
    size_t n_origins;
    size_t cap_origins;
};

/* --- building blocks ----------------------------------------------------- */

static int oom(struct parser *p, const yaml_node_t *node)
{
    return yamldoc_error(&p->doc, node, NULL, "out of memory");
}

static int remember(struct parser *p, const void *msg, const yaml_node_t *node)
{
    struct origin *bigger;
    size_t cap;

    if (p->n_origins == p->cap_origins) {
        cap = p->cap_origins > 0 ? 2 * p->cap_origins : 64;
        bigger = realloc(p->origins, cap * sizeof *bigger);
        if (bigger == NULL) {
            return oom(p, node);
        }
        p->origins = bigger;
        p->cap_origins = cap;
    }
    p->origins[p->n_origins].msg = msg;
    p->origins[p->n_origins].node = node;
    p->n_origins++;
    return 0;
}

/* A new message of type desc from `node` (NULL: from no node). */
static void *new_msg(struct parser *p,
                     const ProtobufCMessageDescriptor *desc,
                     const yaml_node_t *node)
{
    void *m = malloc(desc->sizeof_message);

    if (m == NULL) {
        oom(p, node);
        return NULL;
    }
    protobuf_c_message_init(desc, m);
    if (node != NULL && remember(p, m, node) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

/* The value of `key` in map, NULL if absent or null. */
static yaml_node_t *value(struct parser *p,
                          const yaml_node_t *map,
                          const char *key)
{
    yaml_node_t *v = yamldoc_get(&p->doc, map, key);

    return v != NULL && !yamldoc_is_null(v) ? v : NULL;
}

/* A mapping with keys among `known` and each of `required` given. */
static int open_map(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *const *known,
                    const char *const *required)
{
    char field[YAMLDOC_FIELD_MAX];
    yaml_node_t *node;

    if (yamldoc_check_keys(&p->doc, map, path, known) != 0) {
        return -1;
    }
    for (; required != NULL && *required != NULL; required++) {
        if (value(p, map, *required) != NULL) {
            continue;
        }
        yamldoc_field(field, sizeof field, path, *required);
        node = yamldoc_get(&p->doc, map, *required);
        return yamldoc_error(&p->doc, node != NULL ? node : map, field,
                             node != NULL ? "required field has no value"
                                          : "required field is missing");
    }
    return 0;
}

/* The text of a non-null scalar without NUL bytes, or NULL (reported). */
static const char *scalar_of(struct parser *p,
                             const yaml_node_t *node,
                             const char *field,
                             const char *what)
{
    const char *s = yamldoc_scalar(node);

    if (s == NULL || yamldoc_is_null(node)) {
        yamldoc_error(&p->doc, node, field, "expected %s, got %s", what,
                      yamldoc_kind(node));
        return NULL;
    }
    if (strlen(s) != node->data.scalar.length) {
        yamldoc_error(&p->doc, node, field, "value contains a NUL byte");
        return NULL;
    }
    return s;
}

static const char *quote(const char *s, char *buf, size_t len)
{
    yamldoc_printable(s, strlen(s), buf, len);
    return buf;
}

/* Replace a string field (empty default, malloc'd, or NULL) by a copy. */
static int set_string(struct parser *p,
                      const yaml_node_t *node,
                      char **field,
                      const char *s)
{
    char *copy = strdup(s);

    if (copy == NULL) {
        return oom(p, node);
    }
    if (*field != protobuf_c_empty_string) {
        free(*field);
    }
    *field = copy;
    return 0;
}

static int text_of(struct parser *p,
                   const yaml_node_t *node,
                   const char *field,
                   char **out)
{
    const char *s = scalar_of(p, node, field, "a string");

    return s != NULL ? set_string(p, node, out, s) : -1;
}

/* String `key` of map into *out; absent or null leaves *out alone. */
static int get_text(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *key,
                    char **out)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    return text_of(p, v, field, out);
}

/* *out = s if *out is empty. */
static int default_text(struct parser *p,
                        const yaml_node_t *node,
                        char **out,
                        const char *s)
{
    return (*out)[0] == '\0' ? set_string(p, node, out, s) : 0;
}

static int get_bool(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *key,
                    protobuf_c_boolean *out)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];
    bool b;

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    if (yamldoc_bool(&p->doc, v, field, &b) != 0) {
        return -1;
    }
    *out = b;
    return 0;
}

static int get_uint(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *key,
                    uint32_t *out)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];
    uint64_t n;

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    if (yamldoc_uint(&p->doc, v, field, 0, UINT32_MAX, &n) != 0) {
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* One of `names` at `key` of map; *index unchanged if absent. */
static int get_enum(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *key,
                    const char *const *names,
                    unsigned *index)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    return yamldoc_enum(&p->doc, v, field, names, index);
}

/* --- durations and times ------------------------------------------------- */

/* A duration with a unit: yamldoc's ms, s, m, h, and d for 24 hours. */
static int span_parse(const char *s, uint64_t *ms, const char **reason)
{
    size_t n = strlen(s);
    char digits[32];
    uint64_t v;

    if (n > 0 && strspn(s, "0123456789") == n) {
        *reason = "missing unit";
        return -1;
    }
    if (n < 2 || s[n - 1] != 'd') {
        return yamldoc_parse_duration_ms(s, ms, reason);
    }
    if (n >= sizeof digits) {
        *reason = "too large";
        return -1;
    }
    memcpy(digits, s, n - 1);
    digits[n - 1] = '\0';
    if (yamldoc_parse_uint(digits, &v, reason) != 0) {
        return -1;
    }
    if (v > UINT64_MAX / DAY_MS) {
        *reason = "too large";
        return -1;
    }
    *ms = v * DAY_MS;
    return 0;
}

/* A duration node; "none" is 0 where allow_none. */
static int span_of(struct parser *p,
                   const yaml_node_t *node,
                   const char *field,
                   bool allow_none,
                   uint64_t *ms)
{
    const char *s = scalar_of(p, node, field, "a duration");
    const char *reason;
    char q[QUOTE_MAX];

    if (s == NULL) {
        return -1;
    }
    if (allow_none && strcmp(s, "none") == 0) {
        *ms = 0;
        return 0;
    }
    if (span_parse(s, ms, &reason) != 0) {
        return yamldoc_error(&p->doc, node, field,
                             "invalid duration \"%s\": %s (%s%s)",
                             quote(s, q, sizeof q), reason, span_forms,
                             allow_none ? ", or none" : "");
    }
    return 0;
}

static int get_span(struct parser *p,
                    const yaml_node_t *map,
                    const char *path,
                    const char *key,
                    bool allow_none,
                    uint64_t *ms)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    return span_of(p, v, field, allow_none, ms);
}

/* A duration of whole seconds; more than UINT32_MAX s is left to the
 * checks as UINT32_MAX (beyond every limit). */
static int seconds_of(struct parser *p,
                      const yaml_node_t *node,
                      const char *field,
                      uint32_t *out)
{
    uint64_t ms;

    if (span_of(p, node, field, false, &ms) != 0) {
        return -1;
    }
    if (ms % SECOND_MS != 0) {
        return yamldoc_error(&p->doc, node, field,
                             "must be a whole number of seconds");
    }
    *out =
        ms / SECOND_MS > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms / SECOND_MS);
    return 0;
}

/* "H:MM", "HH:MM" or "HH:MM:SS" as seconds after midnight; "24:00" only
 * where allow_24. */
static int clock_parse(const char *s, bool allow_24, uint32_t *out)
{
    unsigned h;
    unsigned m;
    unsigned sec = 0;
    int used = 0;

    if (sscanf(s, "%2u:%2u%n", &h, &m, &used) != 2 || used < 4 ||
        strspn(s, "0123456789:") != strlen(s) || s[used - 3] != ':') {
        return -1;
    }
    if (s[used] == ':') {
        if (strlen(s + used) != 3 || sscanf(s + used, ":%2u", &sec) != 1) {
            return -1;
        }
    } else if (s[used] != '\0') {
        return -1;
    }
    if (allow_24 && h == 24 && m == 0 && sec == 0) {
        *out = DAY_S;
        return 0;
    }
    if (h > 23 || m > 59 || sec > 59) {
        return -1;
    }
    *out = h * 3600 + m * 60 + sec;
    return 0;
}

static int clock_of(struct parser *p,
                    const yaml_node_t *node,
                    const char *field,
                    bool allow_24,
                    uint32_t *out)
{
    const char *s = scalar_of(p, node, field, "a time of day");
    char q[QUOTE_MAX];

    if (s == NULL) {
        return -1;
    }
    if (clock_parse(s, allow_24, out) != 0) {
        return yamldoc_error(&p->doc, node, field,
                             "invalid time of day \"%s\" (%s, 00:00 to "
                             "23:59:59%s)",
                             quote(s, q, sizeof q), clock_forms,
                             allow_24 ? ", or 24:00" : "");
    }
    return 0;
}

static int get_local(struct parser *p,
                     const yaml_node_t *map,
                     const char *path,
                     const char *key,
                     int64_t *out)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];
    char q[QUOTE_MAX];
    const char *reason;
    const char *s;

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    s = scalar_of(p, v, field, "a local time");
    if (s == NULL) {
        return -1;
    }
    if (civil_parse(s, out, &reason) != 0) {
        return yamldoc_error(&p->doc, v, field,
                             "invalid local time \"%s\": %s (%s)",
                             quote(s, q, sizeof q), reason, local_forms);
    }
    return 0;
}

static int get_instant(struct parser *p,
                       const yaml_node_t *map,
                       const char *path,
                       const char *key,
                       const struct tz *zone,
                       int64_t *ms)
{
    yaml_node_t *v = value(p, map, key);
    char field[YAMLDOC_FIELD_MAX];
    char q[QUOTE_MAX];
    const char *reason;
    const char *s;

    if (v == NULL) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, key);
    s = scalar_of(p, v, field, "a time");
    if (s == NULL) {
        return -1;
    }
    if (instant_parse(s, zone, ms, &reason) != 0) {
        return yamldoc_error(&p->doc, v, field, "invalid time \"%s\": %s (%s)",
                             quote(s, q, sizeof q), reason, instant_forms);
    }
    return 0;
}

/* --- lists --------------------------------------------------------------- */

/* The sequence at `key` of map (absent or null: none), its path in
 * field and its length in *n. */
static int open_list(struct parser *p,
                     const yaml_node_t *map,
                     const char *path,
                     const char *key,
                     char *field,
                     yaml_node_t **seq,
                     size_t *n)
{
    yamldoc_field(field, YAMLDOC_FIELD_MAX, path, key);
    *seq = value(p, map, key);
    *n = 0;
    if (*seq == NULL) {
        return 0;
    }
    if (yamldoc_expect_sequence(&p->doc, *seq, field) != 0) {
        return -1;
    }
    *n = yamldoc_size(*seq);
    return 0;
}

/* Item i of a list: its node and path, the new message made for it and
 * the argument the list was parsed with. */
struct list_item
{
    const yaml_node_t *node;
    const char *path;
    size_t i;
    void *msg;
    const void *arg;
};

/* Parses an item into its message. */
typedef int (*item_fn)(struct parser *p, const struct list_item *it);

/* The n items of seq, at paths field[i]: each a new message of type desc
 * put in (*arr)[(*count)++] (*arr allocated here), then parsed by fn. */
static int parse_items(struct parser *p,
                       const yaml_node_t *seq,
                       const char *field,
                       size_t n,
                       const ProtobufCMessageDescriptor *desc,
                       void ***arr,
                       size_t *count,
                       item_fn fn,
                       const void *arg)
{
    char path[YAMLDOC_FIELD_MAX];
    struct list_item it = {.path = path, .arg = arg};

    if (ALLOC_LIST(p, seq, *arr, n) != 0) {
        return -1;
    }
    for (it.i = 0; it.i < n; it.i++) {
        yamldoc_field_index(path, sizeof path, field, it.i);
        it.node = yamldoc_item(&p->doc, seq, it.i);
        it.msg = new_msg(p, desc, it.node);
        if (it.msg == NULL) {
            return -1;
        }
        (*arr)[(*count)++] = it.msg;
        if (fn(p, &it) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The list at `key` of map (absent or null: none), as parse_items. */
static int parse_list(struct parser *p,
                      const yaml_node_t *map,
                      const char *path,
                      const char *key,
                      const ProtobufCMessageDescriptor *desc,
                      void ***arr,
                      size_t *count,
                      item_fn fn,
                      const void *arg)
{
    char field[YAMLDOC_FIELD_MAX];
    yaml_node_t *seq;
    size_t n;

    if (open_list(p, map, path, key, field, &seq, &n) != 0) {
        return -1;
    }
    return parse_items(p, seq, field, n, desc, arr, count, fn, arg);
}

/* A list of strings (ids), each copied into arr[(*n)++]. */
static int get_strings(struct parser *p,
                       const yaml_node_t *map,
                       const char *path,
                       const char *key,
                       char ***arr,
                       size_t *n)
{
    char field[YAMLDOC_FIELD_MAX];
    char item[YAMLDOC_FIELD_MAX];
    yaml_node_t *seq;
    size_t count;

    if (open_list(p, map, path, key, field, &seq, &count) != 0 ||
        ALLOC_LIST(p, seq, *arr, count) != 0) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        yamldoc_field_index(item, sizeof item, field, i);
        if (text_of(p, yamldoc_item(&p->doc, seq, i), item, &(*arr)[i]) != 0) {
            return -1;
        }
        (*n)++;
    }
    return 0;
}

/* --- users --------------------------------------------------------------- */

static const char *const contact_types[] = {"webhook", "email", "exec", NULL};
static const Klaxon__ContactKind contact_kinds[] = {
    KLAXON__CONTACT_KIND__CONTACT_WEBHOOK, KLAXON__CONTACT_KIND__CONTACT_EMAIL,
    KLAXON__CONTACT_KIND__CONTACT_EXEC};
static const char *const contact_keys[][3] = {{"type", "url", NULL},
                                              {"type", "address", NULL},
                                              {"type", "command", NULL}};

/* command: a program path, or a list of the program and its arguments. */
static int parse_command(struct parser *p,
                         const yaml_node_t *node,
                         const char *field,
                         Klaxon__ContactMethod *m)
{
    char item[YAMLDOC_FIELD_MAX];
    size_t n = yamldoc_size(node);

    if (node->type == YAML_SCALAR_NODE) {
        return text_of(p, node, field, &m->address);
    }
    if (yamldoc_expect_sequence(&p->doc, node, field) != 0) {
        return -1;
    }
    if (n == 0) {
        return yamldoc_error(&p->doc, node, field, "must name the program");
    }
    yamldoc_field_index(item, sizeof item, field, 0);
    if (text_of(p, yamldoc_item(&p->doc, node, 0), item, &m->address) != 0 ||
        ALLOC_LIST(p, node, m->args, n - 1) != 0) {
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        yamldoc_field_index(item, sizeof item, field, i);
        if (text_of(p, yamldoc_item(&p->doc, node, i), item, &m->args[i - 1]) !=
            0) {
            return -1;
        }
        m->n_args++;
    }
    return 0;
}

static int parse_contact(struct parser *p,
                         const yaml_node_t *map,
                         const char *path,
                         Klaxon__ContactMethod *m)
{
    static const char *const any_keys[] = {"type", "url", "address", "command",
                                           NULL};
    static const char *const type_only[] = {"type", NULL};
    char field[YAMLDOC_FIELD_MAX];
    unsigned t = 0;

    if (open_map(p, map, path, any_keys, type_only) != 0 ||
        get_enum(p, map, path, "type", contact_types, &t) != 0 ||
        open_map(p, map, path, contact_keys[t], contact_keys[t]) != 0) {
        return -1;
    }
    m->kind = contact_kinds[t];
    yamldoc_field(field, sizeof field, path, contact_keys[t][1]);
    if (m->kind == KLAXON__CONTACT_KIND__CONTACT_EXEC) {
        return parse_command(p, value(p, map, "command"), field, m);
    }
    return text_of(p, value(p, map, contact_keys[t][1]), field, &m->address);
}

static int contact_item(struct parser *p, const struct list_item *it)
{
    return parse_contact(p, it->node, it->path, it->msg);
}

/* api_token_sha256: empty, or 64 lower-case hex digits. */
static int check_token_hash(struct parser *p,
                            const yaml_node_t *map,
                            const char *path,
                            const char *hash)
{
    char field[YAMLDOC_FIELD_MAX];
    size_t n = strspn(hash, "0123456789abcdef");

    if (hash[0] == '\0' || (n == 64 && hash[64] == '\0')) {
        return 0;
    }
    yamldoc_field(field, sizeof field, path, "api_token_sha256");
    return yamldoc_error(&p->doc, value(p, map, "api_token_sha256"), field,
                         "expected 64 lower-case hex digits (the SHA-256 of "
                         "the token, e.g. printf %%s TOKEN | sha256sum)");
}

static int parse_user(struct parser *p,
                      const yaml_node_t *map,
                      const char *path,
                      Klaxon__User *u)
{
    static const char *const keys[] = {
        "id", "name", "time_zone", "contacts", "api_token_sha256", NULL};
    static const char *const required[] = {"id", NULL};

    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "id", &u->id) != 0 ||
        get_text(p, map, path, "name", &u->name) != 0 ||
        get_text(p, map, path, "time_zone", &u->time_zone) != 0 ||
        get_text(p, map, path, "api_token_sha256", &u->api_token_sha256) != 0 ||
        check_token_hash(p, map, path, u->api_token_sha256) != 0 ||
        default_text(p, map, &u->name, u->id) != 0 ||
        default_text(p, map, &u->time_zone, "UTC") != 0) {
        return -1;
    }
    return parse_list(
        p, map, path, "contacts", &klaxon__contact_method__descriptor,
        (void ***)&u->contacts, &u->n_contacts, contact_item, NULL);
}

static int user_item(struct parser *p, const struct list_item *it)
{
    return parse_user(p, it->node, it->path, it->msg);
}

/* --- schedules ----------------------------------------------------------- */

static const char *const weekdays[] = {"monday",   "tuesday", "wednesday",
                                       "thursday", "friday",  "saturday",
                                       "sunday",   NULL};

/* "daily", "weekly", "Nd", "Nw" (calendar days), or a duration. */
static int turn_parse(const char *s, Klaxon__Layer *l, const char **reason)
{
    size_t n = strlen(s);
    char digits[32];
    uint64_t v;
    uint64_t ms;

    if (strcmp(s, "daily") == 0 || strcmp(s, "weekly") == 0) {
        l->turn_days = s[0] == 'd' ? 1 : 7;
        return 0;
    }
    if (n >= 2 && n < sizeof digits && (s[n - 1] == 'd' || s[n - 1] == 'w')) {
        memcpy(digits, s, n - 1);
        digits[n - 1] = '\0';
        if (yamldoc_parse_uint(digits, &v, reason) != 0) {
            return -1;
        }
        /* Beyond every limit: left to the checks as UINT32_MAX. */
        v = v > UINT32_MAX / 7 ? UINT32_MAX : v * (s[n - 1] == 'w' ? 7 : 1);
        l->turn_days = (uint32_t)v;
        return 0;
    }
    if (span_parse(s, &ms, reason) != 0) {
        return -1;
    }
    if (ms % SECOND_MS != 0) {
        *reason = "must be a whole number of seconds";
        return -1;
    }
    l->turn_s = ms / SECOND_MS;
    return 0;
}

static int parse_turn(struct parser *p,
                      const yaml_node_t *map,
                      const char *path,
                      Klaxon__Layer *l)
{
    yaml_node_t *v = value(p, map, "turn");
    char field[YAMLDOC_FIELD_MAX];
    char q[QUOTE_MAX];
    const char *reason;
    const char *s;

    yamldoc_field(field, sizeof field, path, "turn");
    s = scalar_of(p, v, field, "a turn length");
    if (s == NULL) {
        return -1;
    }
    if (turn_parse(s, l, &reason) != 0) {
        return yamldoc_error(&p->doc, v, field, "invalid turn \"%s\": %s (%s)",
                             quote(s, q, sizeof q), reason, turn_forms);
    }
    return 0;
}

/* Length of the window from start to end (wrapping); 0 if they are equal. */
static uint32_t window_length(uint32_t start, uint32_t end, uint32_t period)
{
    if (end == start) {
        return 0;
    }
    return end > start ? end - start : end + period - start;
}

/* end (and end_day) of a restriction, as its duration. */
static int restriction_end(struct parser *p,
                           const yaml_node_t *map,
                           const char *path,
                           Klaxon__Restriction *r)
{
    bool weekly = r->kind == KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY;
    yaml_node_t *end = value(p, map, "end");
    char field[YAMLDOC_FIELD_MAX];
    uint32_t start = r->start_day * DAY_S + r->start_s;
    unsigned day = 0;
    uint32_t t;

    yamldoc_field(field, sizeof field, path, weekly ? "end_day" : "end");
    if (weekly && value(p, map, "end_day") == NULL) {
        return yamldoc_error(&p->doc, map, field,
                             "required field is missing (with end)");
    }
    if (get_enum(p, map, path, "end_day", weekdays, &day) != 0) {
        return -1;
    }
    yamldoc_field(field, sizeof field, path, "end");
    if (end == NULL) {
        return yamldoc_error(&p->doc, map, field,
                             "required field is missing (with end_day)");
    }
    if (clock_of(p, end, field, true, &t) != 0) {
        return -1;
    }
    r->duration_s =
        window_length(start, day * DAY_S + t, weekly ? WEEK_S : DAY_S);
    if (r->duration_s == 0) {
        return yamldoc_error(&p->doc, end, field,
                             "the window is empty (end equals start)");
    }
    return 0;
}

/* The window's length: `duration`, or `end` (and `end_day`). */
static int restriction_window(struct parser *p,
                              const yaml_node_t *map,
                              const char *path,
                              Klaxon__Restriction *r)
{
    yaml_node_t *duration = value(p, map, "duration");
    char field[YAMLDOC_FIELD_MAX];

    yamldoc_field(field, sizeof field, path, "duration");
    if (duration == NULL && value(p, map, "end") == NULL &&
        value(p, map, "end_day") == NULL) {
        return yamldoc_error(&p->doc, map, field,
                             "required field is missing (or give end)");
    }
    if (duration == NULL) {
        return restriction_end(p, map, path, r);
    }
    if (value(p, map, "end") != NULL || value(p, map, "end_day") != NULL) {
        return yamldoc_error(&p->doc, duration, field,
                             "give either end or duration, not both");
    }
    return seconds_of(p, duration, field, &r->duration_s);
}

static int parse_restriction(struct parser *p,
                             const yaml_node_t *map,
                             const char *path,
                             Klaxon__Restriction *r)
{
    static const char *const types[] = {"daily", "weekly", NULL};
    static const char *const keys[][7] = {
        {"type", "start", "end", "duration", NULL},
        {"type", "start_day", "start", "end_day", "end", "duration", NULL}};
    static const char *const required[][4] = {
        {"type", "start", NULL}, {"type", "start_day", "start", NULL}};
    char field[YAMLDOC_FIELD_MAX];
    unsigned t = 0;
    unsigned day = 0;

    if (yamldoc_expect_mapping(&p->doc, map, path) != 0 ||
        open_map(p, map, path, keys[1], required[0]) != 0 ||
        get_enum(p, map, path, "type", types, &t) != 0 ||
        open_map(p, map, path, keys[t], required[t]) != 0 ||
        get_enum(p, map, path, "start_day", weekdays, &day) != 0) {
        return -1;
    }
    r->kind = t == 0 ? KLAXON__RESTRICTION_KIND__RESTRICTION_DAILY
                     : KLAXON__RESTRICTION_KIND__RESTRICTION_WEEKLY;
    r->start_day = day;
    yamldoc_field(field, sizeof field, path, "start");
    if (clock_of(p, value(p, map, "start"), field, false, &r->start_s) != 0) {
        return -1;
    }
    return restriction_window(p, map, path, r);
}

static int restriction_item(struct parser *p, const struct list_item *it)
{
    return parse_restriction(p, it->node, it->path, it->msg);
}

/* Layer i of a schedule; its name defaults to "layer I" (1-based). */
static int parse_layer(struct parser *p,
                       const yaml_node_t *map,
                       const char *path,
                       size_t i,
                       Klaxon__Layer *l)
{
    static const char *const keys[] = {"name", "users",        "start", "end",
                                       "turn", "restrictions", NULL};
    static const char *const required[] = {"users", "start", "turn", NULL};
    char name[32];

    snprintf(name, sizeof name, "layer %zu", i + 1);
    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "name", &l->name) != 0 ||
        default_text(p, map, &l->name, name) != 0 ||
        get_strings(p, map, path, "users", &l->users, &l->n_users) != 0 ||
        get_local(p, map, path, "start", &l->start_local) != 0 ||
        get_local(p, map, path, "end", &l->end_local) != 0 ||
        parse_turn(p, map, path, l) != 0) {
        return -1;
    }
    return parse_list(
        p, map, path, "restrictions", &klaxon__restriction__descriptor,
        (void ***)&l->restrictions, &l->n_restrictions, restriction_item, NULL);
}

static int layer_item(struct parser *p, const struct list_item *it)
{
    return parse_layer(p, it->node, it->path, it->i, it->msg);
}

static int parse_override(struct parser *p,
                          const yaml_node_t *map,
                          const char *path,
                          const struct tz *zone,
                          Klaxon__Override *o)
{
    static const char *const keys[] = {"user", "start", "end", NULL};

    if (open_map(p, map, path, keys, keys) != 0 ||
        get_text(p, map, path, "user", &o->user) != 0 ||
        get_instant(p, map, path, "start", zone, &o->start_ms) != 0 ||
        get_instant(p, map, path, "end", zone, &o->end_ms) != 0) {
        return -1;
    }
    return 0;
}

/* An override, in the schedule's zone (arg). */
static int override_item(struct parser *p, const struct list_item *it)
{
    return parse_override(p, it->node, it->path, it->arg, it->msg);
}

static int parse_overrides(struct parser *p,
                           const yaml_node_t *map,
                           const char *path,
                           Klaxon__Schedule *s)
{
    /* An unknown zone is refused by the checks; UTC stands in until then. */
    const struct tz *zone = tz_find(s->time_zone);

    return parse_list(p, map, path, "overrides", &klaxon__override__descriptor,
                      (void ***)&s->overrides, &s->n_overrides, override_item,
                      zone != NULL ? zone : tz_utc());
}

static int parse_schedule(struct parser *p,
                          const yaml_node_t *map,
                          const char *path,
                          Klaxon__Schedule *s)
{
    static const char *const keys[] = {
        "id",     "name",      "time_zone", "handoff_notices",
        "layers", "overrides", NULL};
    static const char *const required[] = {"id", NULL};

    s->handoff_notices = true;
    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "id", &s->id) != 0 ||
        get_text(p, map, path, "name", &s->name) != 0 ||
        get_text(p, map, path, "time_zone", &s->time_zone) != 0 ||
        default_text(p, map, &s->name, s->id) != 0 ||
        default_text(p, map, &s->time_zone, "UTC") != 0 ||
        get_bool(p, map, path, "handoff_notices", &s->handoff_notices) != 0 ||
        parse_list(p, map, path, "layers", &klaxon__layer__descriptor,
                   (void ***)&s->layers, &s->n_layers, layer_item, NULL) != 0) {
        return -1;
    }
    return parse_overrides(p, map, path, s);
}

static int schedule_item(struct parser *p, const struct list_item *it)
{
    return parse_schedule(p, it->node, it->path, it->msg);
}

/* --- escalation policies ------------------------------------------------- */

static int parse_target(struct parser *p,
                        const yaml_node_t *map,
                        const char *path,
                        Klaxon__Target *t)
{
    static const char *const keys[] = {"type", "id", NULL};
    static const char *const types[] = {"user", "schedule", "schedule_next",
                                        "schedule_previous", NULL};
    static const Klaxon__TargetKind kinds[] = {
        KLAXON__TARGET_KIND__TARGET_USER, KLAXON__TARGET_KIND__TARGET_SCHEDULE,
        KLAXON__TARGET_KIND__TARGET_SCHEDULE_NEXT,
        KLAXON__TARGET_KIND__TARGET_SCHEDULE_PREVIOUS};
    unsigned i = 0;

    if (open_map(p, map, path, keys, keys) != 0 ||
        get_enum(p, map, path, "type", types, &i) != 0 ||
        get_text(p, map, path, "id", &t->id) != 0) {
        return -1;
    }
    t->kind = kinds[i];
    return 0;
}

static int target_item(struct parser *p, const struct list_item *it)
{
    return parse_target(p, it->node, it->path, it->msg);
}

/* timeout_minutes: N or timeout: DURATION, exactly one. */
static int parse_timeout(struct parser *p,
                         const yaml_node_t *map,
                         const char *path,
                         Klaxon__EscalationLevel *l)
{
    yaml_node_t *minutes = value(p, map, "timeout_minutes");
    yaml_node_t *span = value(p, map, "timeout");
    char field[YAMLDOC_FIELD_MAX];
    uint32_t n = 0;

    yamldoc_field(field, sizeof field, path, "timeout");
    if (minutes == NULL && span == NULL) {
        return yamldoc_error(&p->doc, map, field,
                             "required field is missing (or give "
                             "timeout_minutes)");
    }
    if (minutes != NULL && span != NULL) {
        return yamldoc_error(&p->doc, span, field,
                             "give either timeout or timeout_minutes, not "
                             "both");
    }
    if (span != NULL) {
        return span_of(p, span, field, false, &l->timeout_ms);
    }
    if (get_uint(p, map, path, "timeout_minutes", &n) != 0) {
        return -1;
    }
    l->timeout_ms = n * MINUTE_MS;
    return 0;
}

static int parse_level(struct parser *p,
                       const yaml_node_t *map,
                       const char *path,
                       size_t i,
                       Klaxon__EscalationLevel *l)
{
    static const char *const keys[] = {
        "level", "timeout_minutes", "timeout", "condition", "targets", NULL};
    static const char *const required[] = {"targets", NULL};
    static const char *const conditions[] = {"not_acknowledged", "not_resolved",
                                             NULL};
    char field[YAMLDOC_FIELD_MAX];
    uint32_t number = (uint32_t)(i + 1);
    unsigned condition = 0;

    if (open_map(p, map, path, keys, required) != 0 ||
        get_uint(p, map, path, "level", &number) != 0) {
        return -1;
    }
    if (number != i + 1) {
        yamldoc_field(field, sizeof field, path, "level");
        return yamldoc_error(&p->doc, value(p, map, "level"), field,
                             "is %" PRIu32
                             " but this is level %zu (levels "
                             "are numbered 1, 2, ... in order)",
                             number, i + 1);
    }
    if (parse_timeout(p, map, path, l) != 0 ||
        get_enum(p, map, path, "condition", conditions, &condition) != 0) {
        return -1;
    }
    l->condition = condition == 0 ? KLAXON__CONDITION__IF_NOT_ACKNOWLEDGED
                                  : KLAXON__CONDITION__IF_NOT_RESOLVED;
    return parse_list(p, map, path, "targets", &klaxon__target__descriptor,
                      (void ***)&l->targets, &l->n_targets, target_item, NULL);
}

static int level_item(struct parser *p, const struct list_item *it)
{
    return parse_level(p, it->node, it->path, it->i, it->msg);
}

/* The levels: under `levels`, or `escalation_rules` as PagerDuty has it. */
static int parse_levels(struct parser *p,
                        const yaml_node_t *map,
                        const char *path,
                        Klaxon__EscalationPolicy *e)
{
    const char *key =
        value(p, map, "levels") != NULL ? "levels" : "escalation_rules";
    char field[YAMLDOC_FIELD_MAX];
    yaml_node_t *seq;
    size_t n;

    if (value(p, map, "levels") != NULL &&
        value(p, map, "escalation_rules") != NULL) {
        yamldoc_field(field, sizeof field, path, "levels");
        return yamldoc_error(&p->doc, value(p, map, "levels"), field,
                             "give either levels or escalation_rules, not "
                             "both");
    }
    if (open_list(p, map, path, key, field, &seq, &n) != 0) {
        return -1;
    }
    /* Its items are levels[i] under either name. */
    yamldoc_field(field, sizeof field, path, "levels");
    return parse_items(p, seq, field, n, &klaxon__escalation_level__descriptor,
                       (void ***)&e->levels, &e->n_levels, level_item, NULL);
}

static int parse_commander(struct parser *p,
                           const yaml_node_t *map,
                           const char *path,
                           Klaxon__EscalationPolicy *e)
{
    yaml_node_t *node = value(p, map, "commander");
    char field[YAMLDOC_FIELD_MAX];

    if (node == NULL) {
        return 0;
    }
    e->commander = new_msg(p, &klaxon__target__descriptor, node);
    if (e->commander == NULL) {
        return -1;
    }
    yamldoc_field(field, sizeof field, path, "commander");
    return parse_target(p, node, field, e->commander);
}

static int parse_policy(struct parser *p,
                        const yaml_node_t *map,
                        const char *path,
                        Klaxon__EscalationPolicy *e)
{
    static const char *const keys[] = {
        "id",     "name", "repeat", "commander", "escalation_rules",
        "levels", NULL};
    static const char *const required[] = {"id", NULL};

    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "id", &e->id) != 0 ||
        get_text(p, map, path, "name", &e->name) != 0 ||
        default_text(p, map, &e->name, e->id) != 0 ||
        get_uint(p, map, path, "repeat", &e->repeat) != 0 ||
        parse_commander(p, map, path, e) != 0) {
        return -1;
    }
    return parse_levels(p, map, path, e);
}

static int policy_item(struct parser *p, const struct list_item *it)
{
    return parse_policy(p, it->node, it->path, it->msg);
}

/* --- services ------------------------------------------------------------ */

/* Severity of a key of `severities`: 1..4 or sev1..sev4 (any case). */
static unsigned severity_of(const yaml_node_t *key)
{
    const char *s = yamldoc_scalar(key);

    if (s == NULL) {
        return 0;
    }
    if (strncasecmp(s, "sev", 3) == 0) {
        s += 3;
    }
    return s[0] >= '1' && s[0] <= '4' && s[1] == '\0' ? (unsigned)(s[0] - '0')
                                                      : 0;
}

/* The value node of each severity given (NULL: not given). */
static int severity_nodes(struct parser *p,
                          const yaml_node_t *map,
                          const char *field,
                          yaml_node_t *nodes[4])
{
    yaml_node_t *keys[4] = {NULL, NULL, NULL, NULL};
    char name[YAMLDOC_FIELD_MAX];
    char q[QUOTE_MAX];
    yaml_node_t *k;
    yaml_node_t *v;
    unsigned sev;

    if (yamldoc_expect_mapping(&p->doc, map, field) != 0) {
        return -1;
    }
    for (size_t i = 0; yamldoc_pair(&p->doc, map, i, &k, &v) == 0; i++) {
        sev = severity_of(k);
        if (sev == 0) {
            yamldoc_field(name, sizeof name, field,
                          k->type == YAML_SCALAR_NODE
                              ? quote(yamldoc_scalar(k), q, sizeof q)
                              : "?");
            return yamldoc_error(&p->doc, k, name,
                                 "unknown severity (expected 1..4 or "
                                 "sev1..sev4)");
        }
        if (keys[sev - 1] != NULL) {
            return yamldoc_error(&p->doc, k, field,
                                 "severity %u given twice (first at line %zu)",
                                 sev, yamldoc_line(keys[sev - 1]));
        }
        keys[sev - 1] = k;
        nodes[sev - 1] = yamldoc_is_null(v) ? NULL : v;
    }
    return 0;
}

static int parse_rule(struct parser *p,
                      const yaml_node_t *map,
                      const char *path,
                      Klaxon__SeverityRule *r)
{
    static const char *const keys[] = {"paging", "response", "resolution",
                                       "update_interval", NULL};
    static const char *const modes[] = {"escalate", "first_level", "none",
                                        NULL};
    unsigned mode = (unsigned)r->paging - 1;

    if (open_map(p, map, path, keys, NULL) != 0 ||
        get_enum(p, map, path, "paging", modes, &mode) != 0 ||
        get_span(p, map, path, "response", true, &r->response_ms) != 0 ||
        get_span(p, map, path, "resolution", true, &r->resolution_ms) != 0 ||
        get_span(p, map, path, "update_interval", true,
                 &r->update_interval_ms) != 0) {
        return -1;
    }
    r->paging = (Klaxon__Paging)(mode + 1);
    return 0;
}

/* The four rules: defaults, with what `severities` gives on top. */
static int parse_severities(struct parser *p,
                            const yaml_node_t *map,
                            const char *path,
                            Klaxon__Service *s)
{
    yaml_node_t *nodes[4] = {NULL, NULL, NULL, NULL};
    yaml_node_t *given = value(p, map, "severities");
    char field[YAMLDOC_FIELD_MAX];
    char item[YAMLDOC_FIELD_MAX];
    char name[16];
    Klaxon__SeverityRule *r;

    yamldoc_field(field, sizeof field, path, "severities");
    if ((given != NULL && severity_nodes(p, given, field, nodes) != 0) ||
        ALLOC_LIST(p, map, s->severities, 4) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < 4; i++) {
        r = new_msg(p, &klaxon__severity_rule__descriptor,
                    nodes[i] != NULL ? nodes[i] : map);
        if (r == NULL) {
            return -1;
        }
        s->severities[s->n_severities++] = r;
        oncall_rule_defaults(i + 1, r);
        snprintf(name, sizeof name, "sev%u", i + 1);
        yamldoc_field(item, sizeof item, field, name);
        if (nodes[i] != NULL && parse_rule(p, nodes[i], item, r) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One word of event_severities: name (lower-cased) -> 1..4. */
static int parse_alias(struct parser *p,
                       const yaml_node_t *k,
                       const yaml_node_t *v,
                       const char *field,
                       Klaxon__SeverityAlias **out)
{
    const char *word = scalar_of(p, k, field, "a severity word");
    char item[YAMLDOC_FIELD_MAX];
    Klaxon__SeverityAlias *a;
    uint64_t sev;

    if (word == NULL) {
        return -1;
    }
    yamldoc_field(item, sizeof item, field, word);
    if (word[0] == '\0' || strlen(word) > 64) {
        return yamldoc_error(&p->doc, k, item,
                             "a severity word is 1 to 64 characters");
    }
    if (yamldoc_uint(&p->doc, v, item, 1, 4, &sev) != 0) {
        return -1;
    }
    a = new_msg(p, &klaxon__severity_alias__descriptor, k);
    if (a == NULL || set_string(p, k, &a->name, word) != 0) {
        free(a);
        return -1;
    }
    for (char *c = a->name; *c != '\0'; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    a->severity = (uint32_t)sev;
    *out = a;
    return 0;
}

/* event_severities: {word: 1..4, ...} and event_severity_default. */
static int parse_event_severities(struct parser *p,
                                  const yaml_node_t *map,
                                  const char *path,
                                  Klaxon__Service *s)
{
    yaml_node_t *given = value(p, map, "event_severities");
    char field[YAMLDOC_FIELD_MAX];
    yaml_node_t *k, *v;
    size_t n;

    yamldoc_field(field, sizeof field, path, "event_severities");
    if (given != NULL) {
        if (yamldoc_expect_mapping(&p->doc, given, field) != 0) {
            return -1;
        }
        n = yamldoc_size(given);
        if (n > 32) {
            return yamldoc_error(&p->doc, given, field,
                                 "at most 32 severity words");
        }
        if (ALLOC_LIST(p, given, s->event_severities, n) != 0) {
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (yamldoc_pair(&p->doc, given, i, &k, &v) != 0 ||
                parse_alias(p, k, v, field, &s->event_severities[i]) != 0) {
                return -1;
            }
            s->n_event_severities++;
            for (size_t j = 0; j < i; j++) {
                if (strcmp(s->event_severities[j]->name,
                           s->event_severities[i]->name) == 0) {
                    return yamldoc_error(&p->doc, k, field,
                                         "severity word \"%s\" given twice",
                                         s->event_severities[i]->name);
                }
            }
        }
    }
    yamldoc_field(field, sizeof field, path, "event_severity_default");
    given = value(p, map, "event_severity_default");
    if (given != NULL) {
        uint64_t sev;
        if (yamldoc_uint(&p->doc, given, field, 1, 4, &sev) != 0) {
            return -1;
        }
        s->event_severity_default = (uint32_t)sev;
    }
    return 0;
}

static int parse_service(struct parser *p,
                         const yaml_node_t *map,
                         const char *path,
                         Klaxon__Service *s)
{
    static const char *const keys[] = {"name",
                                       "description",
                                       "integration_key",
                                       "escalation_policy",
                                       "ack_timeout",
                                       "auto_resolve",
                                       "severities",
                                       "event_severities",
                                       "event_severity_default",
                                       NULL};
    static const char *const required[] = {"name", NULL};

    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "name", &s->name) != 0 ||
        get_text(p, map, path, "description", &s->description) != 0 ||
        get_text(p, map, path, "integration_key", &s->integration_key) != 0 ||
        get_text(p, map, path, "escalation_policy", &s->escalation_policy) !=
            0 ||
        get_span(p, map, path, "ack_timeout", true, &s->ack_timeout_ms) != 0 ||
        get_span(p, map, path, "auto_resolve", true, &s->auto_resolve_ms) !=
            0 ||
        parse_event_severities(p, map, path, s) != 0) {
        return -1;
    }
    return parse_severities(p, map, path, s);
}

static int service_item(struct parser *p, const struct list_item *it)
{
    return parse_service(p, it->node, it->path, it->msg);
}

/* --- heartbeats and notifications ---------------------------------------- */

static int parse_heartbeat(struct parser *p,
                           const yaml_node_t *map,
                           const char *path,
                           Klaxon__HeartbeatMonitor *h)
{
    static const char *const keys[] = {"name",     "service", "interval",
                                       "severity", "summary", NULL};
    static const char *const required[] = {"name", "service", "interval", NULL};
    char summary[ONCALL_MAX_TEXT + 64];

    h->severity = 2;
    if (open_map(p, map, path, keys, required) != 0 ||
        get_text(p, map, path, "name", &h->name) != 0 ||
        get_text(p, map, path, "service", &h->service) != 0 ||
        get_span(p, map, path, "interval", false, &h->interval_ms) != 0 ||
        get_uint(p, map, path, "severity", &h->severity) != 0 ||
        get_text(p, map, path, "summary", &h->summary) != 0) {
        return -1;
    }
    snprintf(summary, sizeof summary, "heartbeat %s missed its check-in",
             h->name);
    return default_text(p, map, &h->summary, summary);
}

static int heartbeat_item(struct parser *p, const struct list_item *it)
{
    return parse_heartbeat(p, it->node, it->path, it->msg);
}

static int parse_notifications(struct parser *p, const yaml_node_t *map)
{
    static const char *const keys[] = {"smtp_url",      "smtp_from",
                                       "smtp_username", "smtp_password",
                                       "timeout",       "max_attempts",
                                       "retry_base",    "ack_url",
                                       "token_ttl",     NULL};
    const char *path = "notifications";
    Klaxon__Notifications *n =
        new_msg(p, &klaxon__notifications__descriptor, map);

    if (n == NULL) {
        return -1;
    }
    p->cfg->notifications = n;
    n->timeout_ms = 10 * SECOND_MS;
    n->max_attempts = 5;
    n->retry_base_ms = SECOND_MS;
    n->token_ttl_ms = DAY_MS;
    if (map == NULL) {
        return 0;
    }
    if (open_map(p, map, path, keys, NULL) != 0 ||
        get_text(p, map, path, "smtp_url", &n->smtp_url) != 0 ||
        get_text(p, map, path, "smtp_from", &n->smtp_from) != 0 ||
        get_text(p, map, path, "smtp_username", &n->smtp_username) != 0 ||
        get_text(p, map, path, "smtp_password", &n->smtp_password) != 0 ||
        get_span(p, map, path, "timeout", false, &n->timeout_ms) != 0 ||
        get_uint(p, map, path, "max_attempts", &n->max_attempts) != 0 ||
        get_span(p, map, path, "retry_base", false, &n->retry_base_ms) != 0 ||
        get_text(p, map, path, "ack_url", &n->ack_url) != 0 ||
        get_span(p, map, path, "token_ttl", false, &n->token_ttl_ms) != 0) {
        return -1;
    }
    return 0;
}

/* --- sections ------------------------------------------------------------ */

/* The lists at the top: users, schedules, policies, services, heartbeats. */
static int parse_sections(struct parser *p, const yaml_node_t *root)
{
    Klaxon__OncallConfig *c = p->cfg;

    if (parse_list(p, root, "", "users", &klaxon__user__descriptor,
                   (void ***)&c->users, &c->n_users, user_item, NULL) != 0 ||
        parse_list(p, root, "", "schedules", &klaxon__schedule__descriptor,
                   (void ***)&c->schedules, &c->n_schedules, schedule_item,
                   NULL) != 0 ||
        parse_list(p, root, "", "escalation_policies",
                   &klaxon__escalation_policy__descriptor,
                   (void ***)&c->escalation_policies, &c->n_escalation_policies,
                   policy_item, NULL) != 0 ||
        parse_list(p, root, "", "services", &klaxon__service__descriptor,
                   (void ***)&c->services, &c->n_services, service_item,
                   NULL) != 0) {
        return -1;
    }
    return parse_list(
        p, root, "", "heartbeats", &klaxon__heartbeat_monitor__descriptor,
        (void ***)&c->heartbeats, &c->n_heartbeats, heartbeat_item, NULL);
}

static int parse_root(struct parser *p, const yaml_node_t *root)
{
    static const char *const keys[] = {
        "users",    "schedules",  "escalation_policies",
        "services", "heartbeats", "notifications",
        NULL};

    p->cfg = new_msg(p, &klaxon__oncall_config__descriptor, root);
    if (p->cfg == NULL) {
        return -1;
    }
    if (root == NULL) {
        return parse_notifications(p, NULL);
    }
    if (open_map(p, root, "", keys, NULL) != 0 ||
        parse_sections(p, root) != 0) {
        return -1;
    }
    return parse_notifications(p, value(p, root, "notifications"));
}

/* --- validation with lines ----------------------------------------------- */

static const yaml_node_t *origin_of(const struct parser *p, const void *msg)
{
    for (size_t i = p->n_origins; msg != NULL && i-- > 0;) {
        if (p->origins[i].msg == msg) {
            return p->origins[i].node;
        }
    }
    return NULL;
}

/* The value of a checked key in map, under its other spellings too. */
static yaml_node_t *key_value(struct parser *p,
                              const yaml_node_t *map,
                              const char *key)
{
    static const char *const aliases[][2] = {
        {"levels", "escalation_rules"},
        {"timeout", "timeout_minutes"},
        {"duration", "end"},
    };
    yaml_node_t *v = yamldoc_get(&p->doc, map, key);

    for (size_t i = 0; v == NULL && i < sizeof aliases / sizeof aliases[0];
         i++) {
        if (strcmp(key, aliases[i][0]) == 0) {
            v = yamldoc_get(&p->doc, map, aliases[i][1]);
        }
    }
    return v;
}

/* The node a fault is about: its key's value (or list item) if the YAML
 * has it, else the mapping of its message. */
static const yaml_node_t *fault_node(struct parser *p,
                                     const struct oncall_fault *f)
{
    const yaml_node_t *node = origin_of(p, f->msg);
    yaml_node_t *v;
    yaml_node_t *item;

    if (node == NULL) {
        node = origin_of(p, f->alt);
        return node != NULL ? node : yamldoc_root(&p->doc);
    }
    if (f->key == NULL || node->type != YAML_MAPPING_NODE) {
        return node;
    }
    v = key_value(p, node, f->key);
    if (v == NULL) {
        return node;
    }
    item = f->index >= 0 ? yamldoc_item(&p->doc, v, (size_t)f->index) : NULL;
    return item != NULL ? item : v;
}

static int check(struct parser *p)
{
    struct oncall_fault f;

    if (oncall_check(p->cfg, &f) == 0) {
        return 0;
    }
    return yamldoc_error(&p->doc, fault_node(p, &f), NULL, "%s", f.text);
}

int oncall_config_parse(const char *name,
                        const char *text,
                        size_t len,
                        Klaxon__OncallConfig **out,
                        char *err,
                        size_t errlen)
{
    struct parser p;
    int rc;

    memset(&p, 0, sizeof p);
    *out = NULL;
    if (yamldoc_load_string(&p.doc, name, text, len, err, errlen) != 0) {
        return -1;
    }
    rc = parse_root(&p, yamldoc_root(&p.doc));
    if (rc == 0) {
        rc = check(&p);
    }
    free(p.origins);
    yamldoc_free(&p.doc);
    if (rc != 0) {
        oncall_config_free(p.cfg);
        return -1;
    }
    *out = p.cfg;
    return 0;
}
