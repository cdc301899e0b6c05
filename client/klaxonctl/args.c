/* Command-line parsing: global flags anywhere, then the command, its
 * flags and its arguments; "--" ends the flags. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

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
    if (hint != NULL) {
        return kctl_usage(ctx, "unknown flag '%s' (did you mean --%s?)", name,
                          hint);
    }
    return kctl_usage(ctx, "unknown flag '%s'", name);
}

static int unknown_command(const struct kctl_ctx *ctx, const char *name)
{
    const char *names[16];
    const char *hint;
    size_t n = 0;

    for (size_t i = 0; i < kctl_n_commands && n < 16; i++) {
        names[n++] = kctl_commands[i].name;
    }
    hint = closest(name, names, n);
    if (hint != NULL) {
        return kctl_usage(ctx, "unknown command '%s' (did you mean '%s'?)",
                          name, hint);
    }
    return kctl_usage(ctx, "unknown command '%s'", name);
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

/*
 * Handle the flag argv[*i] ("--name" or "--name=value"); a value may take
 * the next argument.
 */
static int parse_flag(struct kctl_ctx *ctx, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    int g = strcmp(arg, "-h") == 0
                ? G_HELP
                : (strncmp(arg, "--", 2) == 0
                       ? find_flag(global_flags, N_GLOBAL, name, len)
                       : -1);
    int c = g < 0 && ctx->cmd != NULL && strncmp(arg, "--", 2) == 0
                ? find_flag(ctx->cmd->flags, ctx->cmd->n_flags, name, len)
                : -1;
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
    if (ctx->cmd == NULL) {
        ctx->cmd = kctl_find_command(arg);
        return ctx->cmd != NULL ? 0 : unknown_command(ctx, arg);
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

int kctl_parse_duration(const char *s, unsigned *ms)
{
    static const struct
    {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"", 1000}};
    char *end;
    double v;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    v = strtod(s, &end);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double total = v * units[i].ms;
            if (!isfinite(total) || total < 1 || total > 86400000.0) {
                return -1;
            }
            *ms = (unsigned)total;
            return 0;
        }
    }
    return -1;
}
