/* apply, config get, oncall, heartbeat and monitors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "kctl.h"

#define READ_CHUNK 65536

/* Read all of `f` into *text (NUL-terminated, *len bytes): 0, 1 when over
 * FRAME_MAX bytes (more can never go in one request), or -1 with errno. */
static int read_all(FILE *f, char **text, size_t *len)
{
    size_t cap = 0;
    char *buf = NULL;

    *len = 0;
    for (;;) {
        size_t got;
        if (cap - *len < READ_CHUNK + 1) {
            char *grown = realloc(buf, cap + READ_CHUNK + 1);
            if (grown == NULL) {
                free(buf);
                return -1;
            }
            buf = grown;
            cap += READ_CHUNK + 1;
        }
        got = fread(buf + *len, 1, READ_CHUNK, f);
        *len += got;
        if (*len > FRAME_MAX || got < READ_CHUNK) {
            break;
        }
    }
    buf[*len] = '\0';
    *text = buf;
    if (ferror(f)) {
        free(buf);
        return -1;
    }
    return *len > FRAME_MAX ? 1 : 0;
}

/* The text of `path` ("-": standard input) and its name for messages. */
static int read_config(struct kctl_ctx *ctx,
                       const char *path,
                       const char **name,
                       char **text,
                       size_t *len)
{
    bool std = strcmp(path, "-") == 0;
    FILE *f = std ? stdin : fopen(path, "rb");
    int rv;

    *name = std ? "<stdin>" : path;
    *text = NULL;
    if (f == NULL) {
        return kctl_error(ctx, KCTL_EXIT_USAGE, "cannot open %s: %s", path,
                          strerror(errno));
    }
    rv = read_all(f, text, len);
    if (rv < 0) {
        rv = kctl_error(ctx, KCTL_EXIT_USAGE, "cannot read %s: %s", *name,
                        strerror(errno));
    } else if (rv > 0) {
        free(*text);
        *text = NULL;
        rv = kctl_error(ctx, KCTL_EXIT_REFUSED,
                        "%s: larger than %u bytes, the most one request can "
                        "carry",
                        *name, FRAME_MAX);
    }
    if (!std) {
        fclose(f);
    }
    return rv;
}

static int print_apply(const struct kctl_ctx *ctx,
                       const char *name,
                       bool dry_run,
                       const struct klaxon_apply_result *r)
{
    if (ctx->g.json) {
        return kctl_json_print(
            ctx, json_pack("{s:s, s:b, s:I, s:b}", "file_name", name, "dry_run",
                           (int)dry_run, "version", (json_int_t)r->version,
                           "unchanged", (int)r->unchanged));
    }
    if (dry_run) {
        printf("%s is valid\n", name);
    } else if (r->unchanged) {
        printf("configuration unchanged (version %llu)\n",
               (unsigned long long)r->version);
    } else {
        printf("applied configuration version %llu\n",
               (unsigned long long)r->version);
    }
    return 0;
}

int kctl_cmd_apply(struct kctl_ctx *ctx)
{
    const char *path = kctl_flag(ctx, "file");
    bool dry_run = kctl_flag(ctx, "dry-run") != NULL;
    struct klaxon_apply_result r;
    const char *name;
    char *text;
    size_t len = 0;
    int rv;

    if (path == NULL || path[0] == '\0') {
        return kctl_usage(ctx, "-f FILE is required (- for standard input)");
    }
    rv = read_config(ctx, path, &name, &text, &len);
    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv == 0) {
        rv = klaxon_apply_config(ctx->client, name, text, len, dry_run,
                                 kctl_actor(ctx), &r);
        rv = rv == KLAXON_OK ? print_apply(ctx, name, dry_run, &r)
                             : kctl_fail(ctx, rv);
    }
    free(text);
    return rv;
}

static void print_config(const struct klaxon_config *c)
{
    char when[32];
    size_t n = strlen(c->yaml);

    if (c->version == 0) {
        printf("# no on-call configuration applied yet\n");
        return;
    }
    kctl_format_time(c->applied_ms, when, sizeof when);
    printf("# version %llu, applied at %s by %s from %s\n",
           (unsigned long long)c->version, when, kctl_or_dash(c->applied_by),
           kctl_or_dash(c->file_name));
    fputs(c->yaml, stdout);
    if (n > 0 && c->yaml[n - 1] != '\n') {
        fputc('\n', stdout);
    }
}

int kctl_cmd_config_get(struct kctl_ctx *ctx)
{
    struct klaxon_config *c;
    int rv = kctl_connect(ctx);

    if (rv != 0) {
        return rv;
    }
    rv = klaxon_get_config(ctx->client, kctl_read_mode(ctx), &c);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        rv = kctl_json_print(ctx, kctl_json_config(c));
    } else {
        print_config(c);
    }
    klaxon_config_free(c);
    return rv;
}

static int oncall_args(struct kctl_ctx *ctx, struct klaxon_oncall_query *q)
{
    bool from = kctl_flag(ctx, "from") != NULL;
    bool to = kctl_flag(ctx, "to") != NULL;
    int rv;

    q->schedule = kctl_flag(ctx, "schedule");
    if ((rv = kctl_time_flag(ctx, "at", &q->at_ms)) != 0 ||
        (rv = kctl_time_flag(ctx, "from", &q->from_ms)) != 0 ||
        (rv = kctl_time_flag(ctx, "to", &q->to_ms)) != 0) {
        return rv;
    }
    if (from != to) {
        return kctl_usage(ctx, "--from and --to go together");
    }
    if (from && kctl_flag(ctx, "at") != NULL) {
        return kctl_usage(ctx, "--at cannot be used with --from and --to");
    }
    if (from && q->schedule == NULL) {
        return kctl_usage(ctx, "--from and --to need --schedule");
    }
    if (from && q->to_ms <= q->from_ms) {
        return kctl_usage(ctx, "--to must be after --from");
    }
    return 0;
}

static int shift_row(struct kctl_table *t, const void *list, size_t i)
{
    const struct klaxon_shift *s =
        &((const struct klaxon_shift_list *)list)->items[i];
    char from[32], until[32];
    const char *row[] = {s->schedule,
                         s->user[0] != '\0' ? s->user : "- (nobody)", from,
                         until, kctl_or_dash(s->layer)};

    kctl_format_time(s->start_ms, from, sizeof from);
    kctl_format_time(s->end_ms, until, sizeof until);
    return kctl_table_add(t, row);
}

static const struct kctl_listing shifts_listing = {
    (const char *const[]){"SCHEDULE", "USER", "FROM", "UNTIL", "LAYER"}, 5,
    shift_row, "no shifts"};

int kctl_cmd_oncall(struct kctl_ctx *ctx)
{
    struct klaxon_oncall_query q = {0};
    struct klaxon_shift_list *l;
    int rv = oncall_args(ctx, &q);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_oncall(ctx->client, &q, kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    rv = kctl_print_list(ctx, ctx->g.json ? kctl_json_shifts(l) : NULL, l, l->n,
                         &shifts_listing);
    klaxon_shift_list_free(l);
    return rv;
}

int kctl_cmd_heartbeat(struct kctl_ctx *ctx)
{
    int rv;

    if (ctx->n_pos == 0 || ctx->pos[0][0] == '\0') {
        return kctl_usage(ctx, "missing monitor NAME");
    }
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_heartbeat(ctx->client, ctx->pos[0]);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(
            ctx, json_pack("{s:s, s:b}", "name", ctx->pos[0], "checked_in", 1));
    }
    return 0;
}

static void monitor_state(const struct klaxon_monitor *m, char *buf, size_t len)
{
    if (!m->down) {
        snprintf(buf, len, "up");
    } else if (m->incident_id != 0) {
        snprintf(buf, len, "DOWN (incident %llu)",
                 (unsigned long long)m->incident_id);
    } else {
        snprintf(buf, len, "DOWN");
    }
}

static int monitor_row(struct kctl_table *t, const void *list, size_t i)
{
    const struct klaxon_monitor *m =
        &((const struct klaxon_monitor_list *)list)->items[i];
    char interval[32], last[32], due[32], state[48];
    const char *row[] = {m->name,  m->service,
                         interval, m->last_checkin_ms != 0 ? last : "never",
                         due,      state};

    kctl_format_span(m->interval_ms, interval, sizeof interval);
    kctl_format_time(m->last_checkin_ms, last, sizeof last);
    kctl_format_time(m->due_ms, due, sizeof due);
    monitor_state(m, state, sizeof state);
    return kctl_table_add(t, row);
}

static const struct kctl_listing monitors_listing = {
    (const char *const[]){"NAME", "SERVICE", "INTERVAL", "LAST-CHECK-IN", "DUE",
                          "STATE"},
    6, monitor_row, "no heartbeat monitors"};

int kctl_cmd_monitors(struct kctl_ctx *ctx)
{
    struct klaxon_monitor_list *l;
    int rv = kctl_connect(ctx);

    if (rv != 0) {
        return rv;
    }
    rv = klaxon_monitors(ctx->client, kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    rv = kctl_print_list(ctx, ctx->g.json ? kctl_json_monitors(l) : NULL, l,
                         l->n, &monitors_listing);
    klaxon_monitor_list_free(l);
    return rv;
}
