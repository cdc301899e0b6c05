/* status: every node's own view of the cluster. */
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

/* One node of the report: its status, or why it could not be asked. */
struct row
{
    char *endpoint;
    uint64_t id; /* 0 while unknown */
    struct klaxon_node_status *st;
    char *error;
    int code; /* KLAXON_* of the failure */
};

struct report
{
    struct row *rows;
    size_t n;
    size_t cap;
};

static void report_free(struct report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        klaxon_node_status_free(r->rows[i].st);
        free(r->rows[i].error);
        free(r->rows[i].endpoint);
    }
    free(r->rows);
}

static struct row *find_row(struct report *r, const char *endpoint)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rows[i].endpoint, endpoint) == 0) {
            return &r->rows[i];
        }
    }
    return NULL;
}

/* The message without a leading "<endpoint>: ", already in its row. */
static const char *strip_endpoint(const char *msg, const char *endpoint)
{
    size_t n = strlen(endpoint);

    if (strncmp(msg, endpoint, n) == 0 && strncmp(msg + n, ": ", 2) == 0) {
        return msg + n + 2;
    }
    return msg;
}

/* Ask `endpoint` and append its row; NULL when out of memory. */
static struct row *ask(struct kctl_ctx *ctx,
                       struct report *r,
                       const char *endpoint,
                       uint64_t id)
{
    struct row *row;

    if (r->n == r->cap) {
        size_t cap = r->cap * 2 + 4;
        struct row *rows = realloc(r->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return NULL;
        }
        r->rows = rows;
        r->cap = cap;
    }
    row = &r->rows[r->n];
    memset(row, 0, sizeof *row);
    row->endpoint = strdup(endpoint);
    if (row->endpoint == NULL) {
        return NULL;
    }
    r->n++;
    row->id = id;
    row->code = klaxon_node_status(ctx->client, endpoint, &row->st);
    if (row->code == KLAXON_OK) {
        row->id = row->st->id;
        return row;
    }
    row->error = strdup(strip_endpoint(klaxon_errmsg(ctx->client), endpoint));
    return row->error != NULL ? row : NULL;
}

/* The next endpoint of a comma-separated list into buf; NULL at the end. */
static const char *next_endpoint(const char *p, char *buf, size_t len)
{
    size_t n;

    while (*p == ' ' || *p == ',') {
        p++;
    }
    if (*p == '\0') {
        return NULL;
    }
    n = strcspn(p, ", ");
    snprintf(buf, len, "%.*s", (int)n, p);
    return p + n;
}

/* Ask the endpoints in order until one answers: *first is its row, NULL
 * when none did. -1 when out of memory. */
static int ask_endpoints(struct kctl_ctx *ctx,
                         struct report *r,
                         const char *list,
                         struct row **first)
{
    char ep[300];

    *first = NULL;
    for (const char *p = next_endpoint(list, ep, sizeof ep); p != NULL;
         p = next_endpoint(p, ep, sizeof ep)) {
        struct row *row = ask(ctx, r, ep, 0);
        if (row == NULL) {
            return -1;
        }
        if (row->st != NULL) {
            *first = row;
            return 0;
        }
    }
    return 0;
}

/* Ask every member that the node of row `first` lists and that was not
 * asked yet. Rows move as the report grows: only indexes are kept. */
static int ask_members(struct kctl_ctx *ctx, struct report *r, size_t first)
{
    const struct klaxon_node_status *s = r->rows[first].st;

    for (size_t i = 0; i < s->n_members; i++) {
        const struct klaxon_member *m = &s->members[i];
        struct row *row = find_row(r, m->api_address);
        if (m->id == s->id || m->api_address[0] == '\0') {
            continue; /* itself, or added without an API address */
        }
        if (row != NULL) {
            row->id = m->id;
        } else if (ask(ctx, r, m->api_address, m->id) == NULL) {
            return -1;
        }
    }
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const struct row *x = a;
    const struct row *y = b;
    uint64_t ix = x->id != 0 ? x->id : UINT64_MAX;
    uint64_t iy = y->id != 0 ? y->id : UINT64_MAX;

    return ix < iy ? -1 : ix > iy;
}

/* The node that says it leads, with the highest term; NULL if none. */
static const struct row *leader(const struct report *r)
{
    const struct row *best = NULL;

    for (size_t i = 0; i < r->n; i++) {
        const struct row *row = &r->rows[i];
        if (row->st != NULL && strcmp(row->st->role, "leader") == 0 &&
            (best == NULL || row->st->term > best->st->term)) {
            best = row;
        }
    }
    return best;
}

static void num(char *buf, size_t len, uint64_t v)
{
    snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* The first node that answered; the report has one. */
static const struct row *first_answer(const struct report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->rows[i].st != NULL) {
            return &r->rows[i];
        }
    }
    return NULL;
}

/* The counters of the replicated state as `row`'s node has them. */
static void print_counters(const struct row *row)
{
    const struct klaxon_counters *c;

    if (row == NULL) {
        return;
    }
    c = &row->st->counters;
    printf(
        "state (node %llu): configuration version %llu, %llu open "
        "incidents, pages %llu created/%llu delivered/%llu failed/%llu "
        "cancelled, %llu escalations, %llu unanswered, targets missed "
        "%llu response/%llu resolution, %llu heartbeats missed\n",
        (unsigned long long)row->id, (unsigned long long)c->config_version,
        (unsigned long long)c->open_incidents,
        (unsigned long long)c->pages_created,
        (unsigned long long)c->pages_delivered,
        (unsigned long long)c->pages_failed,
        (unsigned long long)c->pages_cancelled,
        (unsigned long long)c->escalations, (unsigned long long)c->unanswered,
        (unsigned long long)c->response_missed,
        (unsigned long long)c->resolution_missed,
        (unsigned long long)c->heartbeats_missed);
}

/* The Raft role (voter, standby, spare) of node `id` in the configuration
 * that the leader (or the first node that answered) reports; NULL if not
 * known. */
static const char *member_role(const struct report *r, uint64_t id)
{
    const struct row *l = leader(r);
    const struct klaxon_node_status *s;

    l = l != NULL ? l : first_answer(r);
    s = l != NULL ? l->st : NULL;
    for (size_t i = 0; s != NULL && i < s->n_members; i++) {
        if (s->members[i].id == id) {
            return s->members[i].role;
        }
    }
    return NULL;
}

/* The ROLE cell: "follower", or "follower/standby" for a non-voter. */
static void role_cell(const struct report *r,
                      const struct row *row,
                      char *buf,
                      size_t len)
{
    const char *m = member_role(r, row->st->id);

    if (m != NULL && m[0] != '\0' && strcmp(m, "voter") != 0) {
        snprintf(buf, len, "%s/%s", row->st->role, m);
    } else {
        snprintf(buf, len, "%s", row->st->role);
    }
}

static void print_table(const struct report *r)
{
    size_t addr_w = 7;
    size_t role_w = 4;
    const struct row *l = leader(r);
    char role[64];

    for (size_t i = 0; i < r->n; i++) {
        size_t w = kctl_width(r->rows[i].endpoint);
        addr_w = w > addr_w ? w : addr_w;
        if (r->rows[i].st != NULL) {
            role_cell(r, &r->rows[i], role, sizeof role);
        }
        w = r->rows[i].st != NULL ? strlen(role) : 0;
        role_w = w > role_w ? w : role_w;
    }
    printf("%-4s  %-*s  %-*s  %-6s  %-8s  %-8s  %s\n", "ID", (int)addr_w,
           "ADDRESS", (int)role_w, "ROLE", "TERM", "COMMIT", "APPLIED",
           "LEADER");
    for (size_t i = 0; i < r->n; i++) {
        const struct row *row = &r->rows[i];
        char id[24], term[24], commit[24], applied[24], lead[24];
        num(id, sizeof id, row->id);
        printf("%-4s  %-*s  ", row->id != 0 ? id : "-", (int)addr_w,
               row->endpoint);
        if (row->st == NULL) {
            printf("unreachable: %s\n", row->error);
            continue;
        }
        num(term, sizeof term, row->st->term);
        num(commit, sizeof commit, row->st->commit_index);
        num(applied, sizeof applied, row->st->applied_index);
        num(lead, sizeof lead, row->st->leader_id);
        role_cell(r, row, role, sizeof role);
        printf("%-*s  %-6s  %-8s  %-8s  %s\n", (int)role_w, role, term, commit,
               applied, row->st->leader_id != 0 ? lead : "-");
    }
    if (l == NULL) {
        printf("no leader\n");
    } else {
        printf("leader: node %llu (%s)%s\n", (unsigned long long)l->id,
               l->endpoint, l->st->ready ? "" : ", not ready yet");
    }
    print_counters(l != NULL ? l : first_answer(r));
}

static json_t *row_json(const struct report *r, const struct row *row)
{
    const struct klaxon_node_status *s = row->st;
    const char *m;

    if (s == NULL) {
        return json_pack("{s:s, s:s}", "endpoint", row->endpoint, "error",
                         row->error);
    }
    m = member_role(r, s->id);
    return json_pack(
        "{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:I, s:o}",
        "endpoint", row->endpoint, "id", (json_int_t)s->id, "role", s->role,
        "member_role", m != NULL ? m : "", "term", (json_int_t)s->term,
        "commit_index", (json_int_t)s->commit_index, "applied_index",
        (json_int_t)s->applied_index, "last_log_index",
        (json_int_t)s->last_log_index, "leader_id", (json_int_t)s->leader_id,
        "ready", (int)s->ready, "version", s->version, "uptime_ms",
        (json_int_t)s->uptime_ms, "counters", kctl_json_counters(&s->counters));
}

static int print_json(const struct kctl_ctx *ctx, const struct report *r)
{
    const struct row *l = leader(r);
    json_t *nodes = json_array();

    for (size_t i = 0; nodes != NULL && i < r->n; i++) {
        if (json_array_append_new(nodes, row_json(r, &r->rows[i])) != 0) {
            json_decref(nodes);
            nodes = NULL;
        }
    }
    return kctl_json_print(ctx,
                           json_pack("{s:o, s:I}", "nodes", nodes, "leader_id",
                                     (json_int_t)(l != NULL ? l->id : 0)));
}

/* No node answered: one line with every node's error. */
static int nobody(const struct kctl_ctx *ctx, const struct report *r)
{
    char line[1024] = "";
    size_t used = 0;
    bool config = r->n > 0;

    for (size_t i = 0; i < r->n && used < sizeof line; i++) {
        int n =
            snprintf(line + used, sizeof line - used, "%s%s: %s",
                     i > 0 ? "; " : "", r->rows[i].endpoint, r->rows[i].error);
        used += n > 0 ? (size_t)n : 0;
        config = config && kctl_exit_code(r->rows[i].code) == KCTL_EXIT_CONFIG;
    }
    return kctl_error(ctx, config ? KCTL_EXIT_CONFIG : KCTL_EXIT_UNAVAILABLE,
                      "no node answered (%s)", line);
}

int kctl_cmd_status(struct kctl_ctx *ctx)
{
    struct report r = {0};
    struct row *first;
    bool found = false;
    int rv = kctl_connect(ctx);

    if (rv != 0) {
        return rv;
    }
    rv = ask_endpoints(ctx, &r, kctl_endpoints(ctx), &first);
    if (rv == 0 && first != NULL) {
        found = true;
        rv = ask_members(ctx, &r, (size_t)(first - r.rows));
    }
    if (rv != 0) {
        rv = kctl_error(ctx, KCTL_EXIT_REFUSED, "out of memory");
    } else if (!found) {
        rv = nobody(ctx, &r);
    } else {
        qsort(r.rows, r.n, sizeof *r.rows, by_id);
        if (ctx->g.json) {
            rv = print_json(ctx, &r);
        } else {
            print_table(&r);
        }
    }
    report_free(&r);
    return rv;
}
