/* member add, remove, promote and list; leader transfer. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kctl.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct kctl_flag add_flags[] = {{"api-address", KCTL_VALUE},
                                             {"role", KCTL_VALUE}};
static const struct kctl_flag promote_flags[] = {{"role", KCTL_VALUE}};
static const struct kctl_flag mlist_flags[] = {{"stale", KCTL_BOOL}};

const char kctl_help_member[] =
    "usage: klaxonctl member add|remove|promote|list ...\n"
    "\n"
    "Change the cluster's members while it runs (administrators only).\n"
    "One change at a time; each returns once the change committed.\n"
    "\n"
    "Subcommands:\n"
    "  add       add a new node (started with cluster.join: true)\n"
    "  promote   make a member a voter (or give it another role)\n"
    "  remove    remove a member\n"
    "  list      list the members, their roles and progress\n"
    "\n"
    "Examples:\n"
    "  klaxonctl member add 4 10.0.0.4:7001 --api-address 10.0.0.4:7101\n"
    "  klaxonctl member promote 4\n"
    "  klaxonctl member list\n"
    "  klaxonctl member remove 1\n";

static const char help_add[] =
    "usage: klaxonctl member add ID RAFT_ADDRESS [--api-address A]\n"
    "                            [--role voter|standby|spare]\n"
    "\n"
    "Add node ID, reachable by its peers at RAFT_ADDRESS (host:port), to\n"
    "the cluster. Start it first with an empty data directory and\n"
    "cluster.join: true in its klaxond.yaml, and a node certificate with\n"
    "CN=node-ID from the cluster CA. The leader then sends it a snapshot\n"
    "and the log. Add it as a standby (the default: it receives the log\n"
    "but does not vote), wait until 'member list' shows it caught up, then\n"
    "promote it. Adding the same member again is a no-op.\n"
    "\n"
    "  --api-address A   its client address (host:port): every node sends\n"
    "                    clients there when it leads\n"
    "  --role R          standby (default), spare (no log, no vote) or\n"
    "                    voter (caught up first, then votes)\n"
    "\n"
    "Example:\n"
    "  klaxonctl member add 4 10.0.0.4:7001 --api-address 10.0.0.4:7101\n";

static const char help_promote[] =
    "usage: klaxonctl member promote ID [--role voter|standby|spare]\n"
    "\n"
    "Make member ID a voter. The leader first catches it up with its log;\n"
    "the command returns once the new configuration committed. With\n"
    "--role, give it that role instead (e.g. demote a voter to standby).\n"
    "\n"
    "Example:\n"
    "  klaxonctl member promote 4\n";

static const char help_remove[] =
    "usage: klaxonctl member remove ID\n"
    "\n"
    "Remove member ID from the cluster, then stop its klaxond. Removing the\n"
    "leader first hands leadership to another voter, which then removes\n"
    "it. The last voter cannot be removed.\n"
    "\n"
    "Example:\n"
    "  klaxonctl member remove 5\n";

static const char help_list[] =
    "usage: klaxonctl member list [--stale] [--json]\n"
    "\n"
    "List the members of the current Raft configuration: id, raft and\n"
    "client addresses, role, and (from the leader) the last log index each\n"
    "confirmed and whether it holds every committed entry (CAUGHT UP).\n"
    "\n"
    "  --stale   ask the first reachable node for its own view (no\n"
    "            progress figures)\n"
    "\n"
    "Example:\n"
    "  klaxonctl member list --json\n";

const char kctl_help_leader[] =
    "usage: klaxonctl leader transfer [ID]\n"
    "\n"
    "Leadership (administrators only).\n"
    "\n"
    "Subcommands:\n"
    "  transfer   hand leadership to another voter\n"
    "\n"
    "Example:\n"
    "  klaxonctl leader transfer 2\n";

static const char help_transfer[] =
    "usage: klaxonctl leader transfer [ID]\n"
    "\n"
    "Hand leadership to voter ID, or without ID to the most up-to-date\n"
    "voter, e.g. before maintenance of the leader's machine. Prints the new\n"
    "leader's id once it is known. Writes pause for about an election\n"
    "round trip meanwhile; clients retry on their own.\n"
    "\n"
    "Examples:\n"
    "  klaxonctl leader transfer\n"
    "  klaxonctl leader transfer 3\n";

static int member_id(struct kctl_ctx *ctx, size_t i, uint64_t *id)
{
    if (ctx->n_pos <= i) {
        return kctl_usage(ctx, "missing member ID");
    }
    if (kctl_parse_id(ctx->pos[i], id) != 0) {
        return kctl_usage(ctx, "'%s' is not a member ID", ctx->pos[i]);
    }
    return 0;
}

static int done(struct kctl_ctx *ctx, uint64_t id, const char *what)
{
    if (ctx->g.json) {
        return kctl_json_print(
            ctx, json_pack("{s:I, s:s}", "id", (json_int_t)id, "done", what));
    }
    printf("node %llu %s\n", (unsigned long long)id, what);
    return 0;
}

int kctl_cmd_member_add(struct kctl_ctx *ctx)
{
    struct klaxon_member_add m = {0};
    const char *role = kctl_flag(ctx, "role");
    char what[300];
    int rv = member_id(ctx, 0, &m.id);

    if (rv != 0) {
        return rv;
    }
    if (ctx->n_pos < 2) {
        return kctl_usage(ctx, "missing RAFT_ADDRESS");
    }
    m.raft_address = ctx->pos[1];
    m.api_address = kctl_flag(ctx, "api-address");
    m.role = role;
    rv = kctl_connect(ctx);
    if (rv != 0) {
        return rv;
    }
    rv = klaxon_member_add(ctx->client, &m);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    snprintf(what, sizeof what, "is a member (%s at %s)",
             role != NULL ? role : "standby", m.raft_address);
    return done(ctx, m.id, what);
}

int kctl_cmd_member_remove(struct kctl_ctx *ctx)
{
    uint64_t id;
    int rv = member_id(ctx, 0, &id);

    if (rv != 0 || (rv = kctl_connect(ctx)) != 0) {
        return rv;
    }
    rv = klaxon_member_remove(ctx->client, id);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    return done(ctx, id, "removed");
}

int kctl_cmd_member_promote(struct kctl_ctx *ctx)
{
    const char *role = kctl_flag(ctx, "role");
    char what[64];
    uint64_t id;
    int rv = member_id(ctx, 0, &id);

    if (rv != 0 || (rv = kctl_connect(ctx)) != 0) {
        return rv;
    }
    rv = klaxon_member_promote(ctx->client, id, role);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    snprintf(what, sizeof what, "is a %s", role != NULL ? role : "voter");
    return done(ctx, id, what);
}

static int member_row(struct kctl_table *t, const void *list, size_t i)
{
    const struct klaxon_member_list *l = list;
    const struct klaxon_member *m = &l->members[i];
    char id[24], match[24];
    const char *row[] = {id,
                         m->role,
                         m->raft_address,
                         kctl_or_dash(m->api_address),
                         match,
                         !m->progress_known ? "-"
                         : m->caught_up     ? "yes"
                                            : "no",
                         m->id == l->leader_id ? "leader" : ""};

    snprintf(id, sizeof id, "%llu", (unsigned long long)m->id);
    if (m->progress_known) {
        snprintf(match, sizeof match, "%llu",
                 (unsigned long long)m->match_index);
    } else {
        snprintf(match, sizeof match, "-");
    }
    return kctl_table_add(t, row);
}

static const struct kctl_listing members_listing = {
    (const char *const[]){"ID", "ROLE", "RAFT ADDRESS", "API ADDRESS", "MATCH",
                          "CAUGHT UP", ""},
    7, member_row, "no members known (a node waiting to be added)"};

static json_t *members_json(const struct klaxon_member_list *l)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        const struct klaxon_member *m = &l->members[i];
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:b}", "id",
                              (json_int_t)m->id, "role", m->role,
                              "raft_address", m->raft_address, "api_address",
                              m->api_address, "leader", m->id == l->leader_id,
                              "progress_known", m->progress_known);
        if (o != NULL && m->progress_known) {
            json_object_set_new(o, "match_index",
                                json_integer((json_int_t)m->match_index));
            json_object_set_new(o, "caught_up", json_boolean(m->caught_up));
        }
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return json_pack("{s:o, s:I, s:I, s:I}", "members", arr, "leader_id",
                     (json_int_t)l->leader_id, "last_index",
                     (json_int_t)l->last_index, "answered_by",
                     (json_int_t)l->answered_by);
}

int kctl_cmd_member_list(struct kctl_ctx *ctx)
{
    struct klaxon_member_list *l;
    int rv = kctl_connect(ctx);

    if (rv != 0) {
        return rv;
    }
    rv = klaxon_member_list(ctx->client, kctl_read_mode(ctx), &l);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    rv = kctl_print_list(ctx, ctx->g.json ? members_json(l) : NULL, l, l->n,
                         &members_listing);
    klaxon_member_list_free(l);
    return rv;
}

int kctl_cmd_leader_transfer(struct kctl_ctx *ctx)
{
    uint64_t id = 0, now = 0;
    int rv;

    if (ctx->n_pos > 0 && (rv = member_id(ctx, 0, &id)) != 0) {
        return rv;
    }
    if ((rv = kctl_connect(ctx)) != 0) {
        return rv;
    }
    rv = klaxon_leader_transfer(ctx->client, id, &now);
    if (rv != KLAXON_OK) {
        return kctl_fail(ctx, rv);
    }
    if (ctx->g.json) {
        return kctl_json_print(
            ctx, json_pack("{s:I}", "leader_id", (json_int_t)now));
    }
    printf("node %llu is the leader\n", (unsigned long long)now);
    return 0;
}

const struct kctl_cmd kctl_member_subs[KCTL_MEMBER_SUBS] = {
    {"member add", "add a node to the cluster (standby by default)", help_add,
     add_flags, N_OF(add_flags), 2, kctl_cmd_member_add, NULL, 0},
    {"member promote", "make a member a voter once it caught up", help_promote,
     promote_flags, N_OF(promote_flags), 1, kctl_cmd_member_promote, NULL, 0},
    {"member remove", "remove a member (the leader hands over first)",
     help_remove, NULL, 0, 1, kctl_cmd_member_remove, NULL, 0},
    {"member list", "list members, roles and replication progress", help_list,
     mlist_flags, N_OF(mlist_flags), 0, kctl_cmd_member_list, NULL, 0},
};

const struct kctl_cmd kctl_leader_subs[KCTL_LEADER_SUBS] = {
    {"leader transfer", "hand leadership to another voter", help_transfer, NULL,
     0, 1, kctl_cmd_leader_transfer, NULL, 0},
};
