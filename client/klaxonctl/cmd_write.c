/* trigger, ack, resolve and note. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kctl.h"

#define GENERATED_ID_BYTES 16

/* "2" or "Sev2"; a number out of 1..4 is left to the library to refuse
 * (exit 1), text that is no number at all is a usage error. */
static int parse_severity(const char *s, unsigned *sev)
{
    unsigned long v;

    if (strncasecmp(s, "sev", 3) == 0) {
        s += 3;
    }
    if (kctl_parse_uint(s, UINT_MAX, &v) != 0) {
        return -1;
    }
    *sev = (unsigned)v;
    return 0;
}

/* Split the --detail values into t->details; the strings are copies
 * (freed with free_details). */
static int parse_details(struct kctl_ctx *ctx, struct klaxon_trigger *t)
{
    struct klaxon_detail *d;

    if (ctx->n_list == 0) {
        return 0;
    }
    d = calloc(ctx->n_list, sizeof *d);
    if (d == NULL) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
    }
    t->details = d;
    for (; t->n_details < ctx->n_list; t->n_details++) {
        const char *kv = ctx->list[t->n_details];
        const char *eq = strchr(kv, '=');
        char *key;
        if (eq == NULL || eq == kv) {
            return kctl_usage(ctx, "--detail needs KEY=VALUE, got '%s'", kv);
        }
        key = strndup(kv, (size_t)(eq - kv));
        if (key == NULL) {
            return kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
        }
        d[t->n_details].key = key;
        d[t->n_details].value = eq + 1;
    }
    return 0;
}

static void free_details(struct klaxon_trigger *t)
{
    for (size_t i = 0; i < t->n_details; i++) {
        free((char *)t->details[i].key);
    }
    free((void *)t->details);
}

static int trigger_args(struct kctl_ctx *ctx, struct klaxon_trigger *t)
{
    const char *sev = kctl_flag(ctx, "severity");

    t->service = kctl_flag(ctx, "service");
    t->summary = kctl_flag(ctx, "summary");
    t->dedup_key = kctl_flag(ctx, "dedup-key");
    t->source = kctl_flag(ctx, "source");
    t->request_id = kctl_flag(ctx, "request-id");
    if (t->service == NULL) {
        return kctl_usage(ctx, "--service is required");
    }
    if (sev == NULL) {
        return kctl_usage(ctx, "--severity is required");
    }
    if (parse_severity(sev, &t->severity) != 0) {
        return kctl_usage(ctx,
                          "--severity must be 1..4 (or Sev1..Sev4), "
                          "got '%s'",
                          sev);
    }
    if (t->summary == NULL) {
        return kctl_usage(ctx, "--summary is required");
    }
    return parse_details(ctx, t);
}

/* A random request id as 32 hex digits, so that a retry can reuse it. */
static const char *make_request_id(char *buf, size_t len)
{
    unsigned char raw[GENERATED_ID_BYTES];

    if (len < 2 * sizeof raw + 1 ||
        getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        return NULL; /* the library then makes its own */
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    }
    return buf;
}

static int trigger_failed(struct kctl_ctx *ctx, int rv, const char *rid)
{
    if (rid == NULL || (rv != KLAXON_ETIMEOUT && rv != KLAXON_EUNAVAILABLE &&
                        rv != KLAXON_EINTERNAL)) {
        return kctl_fail(ctx, rv);
    }
    return kctl_error(ctx, kctl_exit_code(rv),
                      "%s; to retry without risk of a duplicate, add "
                      "--request-id %s",
                      klaxon_errmsg(ctx->client), rid);
}

int kctl_cmd_trigger(struct kctl_ctx *ctx)
{
    struct klaxon_trigger t = {0};
    struct klaxon_result r;
    char buf[2 * GENERATED_ID_BYTES + 1];
    const char *generated = NULL;
    int rv = trigger_args(ctx, &t);

    if (rv == 0 && t.request_id == NULL) {
        t.request_id = generated = make_request_id(buf, sizeof buf);
    }
    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv == 0) {
        rv = klaxon_trigger(ctx->client, &t, &r);
        rv = rv == KLAXON_OK ? 0 : trigger_failed(ctx, rv, generated);
    }
    free_details(&t);
    if (rv != 0) {
        return rv;
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, kctl_json_result(&r));
    }
    printf("%llu\n", (unsigned long long)r.incident_id);
    if (r.deduplicated) {
        fprintf(stderr, "attached to open incident %llu (%u alerts)\n",
                (unsigned long long)r.incident_id, r.alert_count);
    }
    return 0;
}

/* The ID argument and the actor of ack, resolve and note. */
static int target_args(struct kctl_ctx *ctx, uint64_t *id, const char **by)
{
    if (ctx->n_pos == 0) {
        return kctl_usage(ctx, "missing incident ID");
    }
    if (kctl_parse_id(ctx->pos[0], id) != 0) {
        return kctl_usage(ctx, "'%s' is not an incident ID", ctx->pos[0]);
    }
    *by = kctl_actor(ctx);
    if (*by == NULL) {
        return kctl_usage(ctx, "who are you? use --by or set KLAXON_USER");
    }
    return 0;
}

static int print_write(struct kctl_ctx *ctx,
                       const struct klaxon_result *r,
                       const char *what,
                       const char *by)
{
    if (ctx->g.json) {
        return kctl_json_print(ctx, kctl_json_result(r));
    }
    if (strcmp(what, "note") == 0) {
        printf("note added to incident %llu by %s\n",
               (unsigned long long)r->incident_id, by);
    } else {
        printf("incident %llu %s by %s\n", (unsigned long long)r->incident_id,
               what, by);
    }
    return 0;
}

static int transition(struct kctl_ctx *ctx, bool ack)
{
    struct klaxon_result r;
    const char *by;
    uint64_t id;
    int rv = target_args(ctx, &id, &by);

    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = ack ? klaxon_ack(ctx->client, id, by, &r)
             : klaxon_resolve(ctx->client, id, by, &r);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    return print_write(ctx, &r, ack ? "acknowledged" : "resolved", by);
}

/* ack --token TOKEN: the token names the incident and the responder. */
static int ack_token(struct kctl_ctx *ctx, const char *token)
{
    struct klaxon_result r;
    int rv;

    if (ctx->n_pos > 0) {
        return kctl_usage(ctx, "give either an incident ID or --token");
    }
    if (kctl_flag(ctx, "by") != NULL) {
        return kctl_usage(ctx,
                          "--by cannot be used with --token (the token "
                          "names who acknowledges)");
    }
    if (token[0] == '\0') {
        return kctl_usage(ctx, "--token needs a value");
    }
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_ack_token(ctx->client, token, &r);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, kctl_json_result(&r));
    }
    printf("incident %llu acknowledged\n", (unsigned long long)r.incident_id);
    return 0;
}

int kctl_cmd_ack(struct kctl_ctx *ctx)
{
    const char *token = kctl_flag(ctx, "token");

    return token != NULL ? ack_token(ctx, token) : transition(ctx, true);
}

int kctl_cmd_resolve(struct kctl_ctx *ctx)
{
    struct klaxon_result r;
    const char *by;
    uint64_t id;
    int rv;

    if (kctl_flag(ctx, "false-positive") == NULL) {
        return transition(ctx, false);
    }
    rv = target_args(ctx, &id, &by);
    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_resolve_false_positive(ctx->client, id, by, &r);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    return print_write(ctx, &r, "resolved (false positive)", by);
}

static int parse_public_status(const char *s, enum klaxon_public_status *out)
{
    for (int i = KLAXON_PUBLIC_INVESTIGATING; i <= KLAXON_PUBLIC_RESOLVED;
         i++) {
        if (strcmp(s, klaxon_public_status_name(
                          (enum klaxon_public_status)i)) == 0) {
            *out = (enum klaxon_public_status)i;
            return 0;
        }
    }
    return -1;
}

/* update ID --status S --message TEXT [--component C]... [--impact TEXT] */
int kctl_cmd_update(struct kctl_ctx *ctx)
{
    struct klaxon_status_update u = {0};
    const char *status = kctl_flag(ctx, "status");
    struct klaxon_result r;
    const char *by;
    uint64_t id;
    int rv = target_args(ctx, &id, &by);

    if (rv != 0) {
        return rv;
    }
    if (status == NULL || parse_public_status(status, &u.status) != 0) {
        return kctl_usage(ctx,
                          "--status must be investigating, identified, "
                          "monitoring or resolved");
    }
    u.message = kctl_flag(ctx, "message");
    if (u.message == NULL || u.message[0] == '\0') {
        return kctl_usage(ctx, "--message TEXT is required");
    }
    u.components = ctx->list;
    u.n_components = ctx->n_list;
    u.impact = kctl_flag(ctx, "impact");
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_status_update(ctx->client, id, by, &u, &r);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(ctx, kctl_json_result(&r));
    }
    printf("incident %llu: status update posted (%s) by %s\n",
           (unsigned long long)r.incident_id, status, by);
    return 0;
}

/* The words after the ID joined with spaces; NULL when out of memory. */
static char *join_text(const struct kctl_ctx *ctx)
{
    size_t len = 1;
    char *text;

    for (size_t i = 1; i < ctx->n_pos; i++) {
        len += strlen(ctx->pos[i]) + 1;
    }
    text = malloc(len);
    if (text == NULL) {
        return NULL;
    }
    text[0] = '\0';
    for (size_t i = 1; i < ctx->n_pos; i++) {
        if (i > 1) {
            strcat(text, " ");
        }
        strcat(text, ctx->pos[i]);
    }
    return text;
}

int kctl_cmd_note(struct kctl_ctx *ctx)
{
    struct klaxon_result r;
    const char *by;
    uint64_t id;
    char *text;
    int rv = target_args(ctx, &id, &by);

    if (rv == 0 && ctx->n_pos < 2) {
        rv = kctl_usage(ctx, "missing the note's TEXT");
    }
    if (rv == 0) {
        rv = kctl_connect(ctx);
    }
    if (rv != 0) {
        return rv;
    }
    text = join_text(ctx);
    if (text == NULL) {
        return kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
    }
    rv = klaxon_note(ctx->client, id, by, text, &r);
    free(text);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    return print_write(ctx, &r, "note", by);
}
