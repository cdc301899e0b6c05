/* Command-line parsing: global flags anywhere, then the command, its
 * flags and its arguments; "--" ends the flags. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

#define DAY_MS 86400000ULL
#define SPAN_MAX_MS (36600 * DAY_MS) /* about a century */

enum global_id {
    G_ENDPOINTS,
    G_CA,
    G_CERT,
    G_KEY,
    G_TIMEOUT,
    G_JSON,
    G_HELP,
    G_VERSION,
};

static const struct kctl_flag global_flags[] = {
    [G_ENDPOINTS] = {"endpoints", KCTL_VALUE},
    [G_CA] = {"ca", KCTL_VALUE},
    [G_CERT] = {"cert", KCTL_VALUE},
    [G_KEY] = {"key", KCTL_VALUE},
    [G_TIMEOUT] = {"timeout", KCTL_VALUE},
    [G_JSON] = {"json", KCTL_BOOL},
    [G_HELP] = {"help", KCTL_BOOL},
    [G_VERSION] = {"version", KCTL_BOOL},
};

#define N_GLOBAL (sizeof global_flags / sizeof global_flags[0])

static int find_flag(const struct kctl_flag *flags,
                     size_t n,
                     const char *name,
                     size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(flags[i].name) == len &&
            strncmp(flags[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Edit distance of two short strings, capped at 9. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t row[32];

    if (la >= 31 || lb >= 31) {
        return 9;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            if (up + 1 < best) {
                best = up + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 9 ? 9 : row[lb];
}

/* The closest of `names` to `s` if close enough to be a typo, else NULL. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < n; i++) {
        size_t d = distance(s, names[i]);
        if (d < best_d || (strncmp(s, names[i], strlen(s)) == 0 && d < 9)) {
            best = names[i];
            best_d = d < best_d ? d : best_d;
        }
    }
    return best;
}

static int unknown_flag(const struct kctl_ctx *ctx, const char *arg)
{
    const char *names[N_GLOBAL + KCTL_MAX_FLAGS];
    char name[64];
    size_t n = 0;
    const char *eq = strchr(arg, '=');
    const char *hint;

    for (size_t i = 0; i < N_GLOBAL; i++) {
        names[n++] = global_flags[i].name;
    }
    for (size_t i = 0; ctx->cmd != NULL && i < ctx->cmd->n_flags; i++) {
        names[n++] = ctx->cmd->flags[i].name;
    }
    snprintf(name, sizeof name, "%.*s",
             (int)(eq != NULL ? (size_t)(eq - arg) : strlen(arg)), arg);
    hint = strncmp(name, "--", 2) == 0 ? closest(name + 2, names, n) : NULL;
    if (ctx->cmd != NULL && ctx->cmd->n_subs > 0) {
        return kctl_usage(ctx,
                          "unknown flag '%s' (flags go after the "
                          "subcommand)",
                          name);
    }
    if (hint != NULL) {
        return kctl_usage(ctx, "unknown flag '%s' (did you mean --%s?)", name,
                          hint);
    }
    return kctl_usage(ctx, "unknown flag '%s'", name);
}

/* `name` is none of `cmds`: name the closest one if it looks like a typo. */
static int unknown_command(const struct kctl_ctx *ctx,
                           const char *what,
                           const char *name,
                           const struct kctl_cmd *cmds,
                           size_t n_cmds)
{
    const char *names[32];
    const char *hint;
    size_t n = 0;

    for (size_t i = 0; i < n_cmds && n < 32; i++) {
        names[n++] = kctl_sub_word(&cmds[i]);
    }
    hint = closest(name, names, n);
    if (hint != NULL) {
        return kctl_usage(ctx, "unknown %s '%s' (did you mean '%s'?)", what,
                          name, hint);
    }
    return kctl_usage(ctx, "unknown %s '%s'", what, name);
}

static void set_global(struct kctl_ctx *ctx, int id, const char *v)
{
    switch (id) {
        case G_ENDPOINTS:
            ctx->g.endpoints = v;
            break;
        case G_CA:
            ctx->g.ca = v;
            break;
        case G_CERT:
            ctx->g.cert = v;
            break;
        case G_KEY:
            ctx->g.key = v;
            break;
        case G_TIMEOUT:
            ctx->g.timeout = v;
            break;
        case G_JSON:
            ctx->g.json = true;
            break;
        case G_HELP:
            ctx->g.help = true;
            break;
        default:
            ctx->g.version = true;
            break;
    }
}

/* One-letter forms of command flags: "-f" is "--file". */
static const struct
{
    char letter;
    const char *name;
} short_flags[] = {{'f', "file"}};

/* Command flag `arg` ("--name", "--name=value" or "-x"): its index, or
 * -1. */
static int command_flag(const struct kctl_ctx *ctx, const char *arg, size_t len)
{
    if (ctx->cmd == NULL) {
        return -1;
    }
    if (strncmp(arg, "--", 2) == 0) {
        return find_flag(ctx->cmd->flags, ctx->cmd->n_flags, arg + 2, len);
    }
    for (size_t i = 0; i < sizeof short_flags / sizeof short_flags[0]; i++) {
        if (arg[1] == short_flags[i].letter && arg[2] == '\0') {
            return find_flag(ctx->cmd->flags, ctx->cmd->n_flags,
                             short_flags[i].name, strlen(short_flags[i].name));
        }
    }
    return -1;
}

/*
 * Handle the flag argv[*i] ("--name", "--name=value" or "-x"); a value
 * may take the next argument.
 */
static int parse_flag(struct kctl_ctx *ctx, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *name = arg + 2;
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(name, '=') : NULL;
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    int g = strcmp(arg, "-h") == 0
                ? G_HELP
                : (strncmp(arg, "--", 2) == 0
                       ? find_flag(global_flags, N_GLOBAL, name, len)
                       : -1);
    int c = g < 0 ? command_flag(ctx, arg, len) : -1;
    const struct kctl_flag *f = g >= 0   ? &global_flags[g]
                                : c >= 0 ? &ctx->cmd->flags[c]
                                         : NULL;
    const char *value = "";

    if (f == NULL) {
        return unknown_flag(ctx, arg);
    }
    if (f->kind == KCTL_BOOL && eq != NULL) {
        return kctl_usage(ctx, "--%s takes no value", f->name);
    }
    if (f->kind != KCTL_BOOL) {
        if (eq != NULL) {
            value = eq + 1;
        } else if (*i + 1 < argc) {
            value = argv[++*i];
        } else {
            return kctl_usage(ctx, "--%s needs a value", f->name);
        }
    }
    if (g >= 0) {
        set_global(ctx, g, value);
    } else if (f->kind == KCTL_LIST) {
        ctx->list[ctx->n_list++] = value;
    } else {
        ctx->value[c] = value;
    }
    return 0;
}

static int parse_word(struct kctl_ctx *ctx, const char *arg)
{
    const struct kctl_cmd *group = ctx->cmd;

    if (group == NULL) {
        ctx->cmd = kctl_find_command(arg);
        return ctx->cmd != NULL
                   ? 0
                   : unknown_command(ctx, "command", arg, kctl_commands,
                                     kctl_n_commands);
    }
    if (group->n_subs > 0) {
        ctx->cmd = kctl_find_sub(group, arg);
        if (ctx->cmd == NULL) {
            ctx->cmd = group;
            return unknown_command(ctx, "subcommand", arg, group->subs,
                                   group->n_subs);
        }
        return 0;
    }
    if (ctx->n_pos >= ctx->cmd->max_pos) {
        return kctl_usage(ctx, "unexpected argument '%s'", arg);
    }
    ctx->pos[ctx->n_pos++] = arg;
    return 0;
}

int kctl_parse(int argc, char **argv, struct kctl_ctx *ctx)
{
    bool flags_done = false;
    int rv = 0;

    memset(ctx, 0, sizeof *ctx);
    ctx->list = calloc((size_t)argc + 1, sizeof *ctx->list);
    ctx->pos = calloc((size_t)argc + 1, sizeof *ctx->pos);
    if (ctx->list == NULL || ctx->pos == NULL) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
    }
    for (int i = 1; i < argc && rv == 0; i++) {
        const char *arg = argv[i];
        if (!flags_done && strcmp(arg, "--") == 0) {
            flags_done = true;
        } else if (!flags_done && arg[0] == '-' && arg[1] != '\0') {
            rv = parse_flag(ctx, argc, argv, &i);
        } else {
            rv = parse_word(ctx, arg);
        }
    }
    return rv;
}

void kctl_ctx_free(struct kctl_ctx *ctx)
{
    klaxon_client_free(ctx->client);
    free(ctx->pos);
    free(ctx->list);
    memset(ctx, 0, sizeof *ctx);
}

const char *kctl_flag(const struct kctl_ctx *ctx, const char *name)
{
    int i = find_flag(ctx->cmd->flags, ctx->cmd->n_flags, name, strlen(name));

    return i >= 0 ? ctx->value[i] : NULL;
}

int kctl_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int kctl_parse_id(const char *s, uint64_t *id)
{
    unsigned long long v;
    char *end;

    if (s[0] == '#') {
        s++;
    }
    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0) {
        return -1;
    }
    *id = v;
    return 0;
}

int kctl_parse_span(const char *s, uint64_t max, uint64_t *ms)
{
    static const struct
    {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"", 1000}};
    char *end;
    double v;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    v = strtod(s, &end);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double total = v * units[i].ms;
            if (!isfinite(total) || total < 1 || total > (double)max) {
                return -1;
            }
            *ms = (uint64_t)total;
            return 0;
        }
    }
    return -1;
}

int kctl_parse_duration(const char *s, unsigned *ms)
{
    uint64_t v;

    if (kctl_parse_span(s, DAY_MS, &v) != 0) {
        return -1;
    }
    *ms = (unsigned)v;
    return 0;
}

/* Exactly n decimal digits at *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') {
            return false;
        }
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/* One of the characters of `set` at *p. */
static bool expect(const char **p, const char *set)
{
    if (**p == '\0' || strchr(set, **p) == NULL) {
        return false;
    }
    (*p)++;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;

    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "YYYY-MM-DD" and the separator: days since the epoch. */
static bool parse_date(const char **p, int64_t *days)
{
    int y, m, d;

    if (!digits(p, 4, &y) || !expect(p, "-") || !digits(p, 2, &m) ||
        !expect(p, "-") || !digits(p, 2, &d) || !expect(p, "Tt ") || m < 1 ||
        m > 12 || d < 1 || d > days_in_month(y, m)) {
        return false;
    }
    *days = days_from_civil(y, m, d);
    return true;
}

/* "hh:mm:ss[.fff...]": ms since midnight. */
static bool parse_clock(const char **p, int64_t *ms)
{
    int h, mi, sec;
    int64_t frac = 0;
    int64_t scale = 100;

    if (!digits(p, 2, &h) || !expect(p, ":") || !digits(p, 2, &mi) ||
        !expect(p, ":") || !digits(p, 2, &sec) || h > 23 || mi > 59 ||
        sec > 60) {
        return false;
    }
    if (expect(p, ".")) {
        if (**p < '0' || **p > '9') {
            return false;
        }
        for (; **p >= '0' && **p <= '9'; (*p)++, scale /= 10) {
            frac += (**p - '0') * scale;
        }
    }
    *ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac;
    return true;
}

/* "Z" or "+hh:mm"/"-hh:mm" ending the text: the offset from UTC in ms. */
static bool parse_zone(const char **p, int64_t *offset)
{
    char sign = **p;
    int h, m;

    if (expect(p, "Zz")) {
        *offset = 0;
        return **p == '\0';
    }
    if (!expect(p, "+-") || !digits(p, 2, &h) || !expect(p, ":") ||
        !digits(p, 2, &m) || h > 23 || m > 59 || **p != '\0') {
        return false;
    }
    *offset = ((int64_t)h * 60 + m) * 60000 * (sign == '-' ? -1 : 1);
    return true;
}

static int parse_rfc3339(const char *s, uint64_t *ms)
{
    int64_t days, clock, offset, t;

    if (!parse_date(&s, &days) || !parse_clock(&s, &clock) ||
        !parse_zone(&s, &offset)) {
        return -1;
    }
    t = days * DAY_MS + clock - offset;
    if (t < 0) {
        return -1;
    }
    *ms = (uint64_t)t;
    return 0;
}

int kctl_parse_time(const char *s, uint64_t now, uint64_t *ms)
{
    uint64_t d;

    if (strcmp(s, "now") == 0) {
        *ms = now;
        return 0;
    }
    if (s[0] != '+' && s[0] != '-') {
        return parse_rfc3339(s, ms);
    }
    if (kctl_parse_span(s + 1, SPAN_MAX_MS, &d) != 0 ||
        (s[0] == '-' && d > now)) {
        return -1;
    }
    *ms = s[0] == '+' ? now + d : now - d;
    return 0;
}

int kctl_time_flag(const struct kctl_ctx *ctx, const char *name, uint64_t *ms)
{
    const char *v = kctl_flag(ctx, name);

    if (v != NULL && kctl_parse_time(v, kctl_now_ms(), ms) != 0) {
        return kctl_usage(ctx,
                          "--%s: invalid time '%s' (e.g. "
                          "2026-03-29T01:30:00Z, 2026-03-29T03:30:00+02:00, "
                          "now, +10m, -2h)",
                          name, v);
    }
    return 0;
}

enum klaxon_read kctl_read_mode(const struct kctl_ctx *ctx)
{
    return kctl_flag(ctx, "stale") != NULL ? KLAXON_READ_STALE
                                           : KLAXON_READ_LINEARIZABLE;
}
