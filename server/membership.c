/* Client API: membership changes and leadership transfer (membership.h). */
#include "membership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"
#include "log.h"
#include "member_check.h"
#include "members.h"
#include "node.h"

#define LEADER_POLL_MS 20

/* One membership request on its way through its steps. */
struct member_change
{
    struct api_req *r;
    struct node *n;
    const char *what; /* for logs: "member add", ... */
    uint64_t id;
    int role;
    bool assign;      /* add: raft_assign(role) after raft_add */
    bool remove_self; /* remove of the leader: hand over first */
    bool exists;      /* add: already a member as asked (a retry) */
    bool timer_ready;
    uint64_t deadline_ms;
    char raft_address[CONFIG_ADDR_MAX];
    char api_address[CONFIG_ADDR_MAX];
    char done[200];      /* the success message */
    uint64_t new_leader; /* leader transfer: answered in leader_id */
    struct raft_change change;
    struct raft_transfer transfer;
    uv_timer_t timer;
    Klaxon__Cluster__Command cmd;
    Klaxon__Member member;
    Klaxon__Cluster__MemberForget forget;
    struct node_op op;
};

/* --- the view --------------------------------------------------------------
 */

size_t membership_view(struct node *n,
                       Klaxon__Member **members,
                       Klaxon__Member *storage)
{
    const struct raft_configuration *conf;
    bool leader;
    size_t count = 0;

    if (!n->raft_ready) {
        return 0;
    }
    conf = &n->raft.configuration;
    leader = raft_state(&n->raft) == RAFT_LEADER;
    for (unsigned i = 0; i < conf->n && count < MEMBERS_MAX; i++) {
        const struct raft_server *s = &conf->servers[i];
        Klaxon__Member *m = &storage[count];

        klaxon__member__init(m);
        m->id = s->id;
        m->raft_address = s->address;
        m->role = (char *)member_role_name(s->role);
        members_api_address(&n->store, n->cfg, s->id, n->member_api[count],
                            sizeof n->member_api[count]);
        m->api_address = n->member_api[count];
        if (leader && n->raft.leader_state.progress != NULL) {
            m->progress_known = true;
            m->match_index = s->id == n->cfg->id
                                 ? raft_last_index(&n->raft)
                                 : n->raft.leader_state.progress[i].match_index;
            m->caught_up = m->match_index >= n->raft.commit_index;
        }
        members[count++] = m;
    }
    return count;
}

static void handle_list(struct api_req *r)
{
    Klaxon__Member *members[MEMBERS_MAX];
    Klaxon__Member storage[MEMBERS_MAX];
    Klaxon__MembersResult res = KLAXON__MEMBERS_RESULT__INIT;
    Klaxon__Response resp;
    struct node *n = r->node;
    const char *api;

    if (!r->req->stale && !node_is_ready(n)) {
        api_reply_error(r, KLAXON__CODE__NOT_LEADER,
                        api_code_message(KLAXON__CODE__NOT_LEADER));
        api_req_free(r);
        return;
    }
    res.n_members = membership_view(n, members, storage);
    res.members = members;
    node_leader(n, &res.leader_id, &api);
    res.last_index = n->raft_ready ? raft_last_index(&n->raft) : 0;
    res.answered_by = n->cfg->id;
    api_response_init(&resp, r->req->seq);
    resp.result_case = KLAXON__RESPONSE__RESULT_MEMBERS;
    resp.members = &res;
    api_reply(r, &resp);
    api_req_free(r);
}

/* --- finishing -------------------------------------------------------------
 */

static void change_free(uv_handle_t *h)
{
    free(h->data);
}

static void finish(struct member_change *ch, int code, const char *msg)
{
    struct api_req *r = ch->r;

    if (ch->n->member_change == ch) {
        ch->n->member_change = NULL;
    }
    if (code == KLAXON__CODE__OK) {
        Klaxon__MutationResult m = KLAXON__MUTATION_RESULT__INIT;
        Klaxon__Response resp;

        log_info("membership: %s: %s", ch->what, msg);
        api_response_init(&resp, r->req->seq);
        m.message = (char *)msg;
        resp.message = (char *)msg;
        resp.result_case = KLAXON__RESPONSE__RESULT_MUTATION;
        resp.mutation = &m;
        resp.leader_id = ch->new_leader;
        api_reply(r, &resp);
    } else {
        log_info("membership: %s of node %llu failed: %s", ch->what,
                 (unsigned long long)ch->id, msg);
        api_reply_error(r, code, msg);
    }
    api_req_free(r);
    if (ch->timer_ready) {
        ch->timer.data = ch;
        uv_close((uv_handle_t *)&ch->timer, change_free);
    } else {
        free(ch);
    }
}

/* A libraft status as an answer. */
static void finish_raft(struct member_change *ch, int rv)
{
    char msg[200];
    int code;

    switch (rv) {
        case RAFT_NOTLEADER:
            code = KLAXON__CODE__NOT_LEADER;
            break;
        case RAFT_LEADERSHIPLOST:
            code = KLAXON__CODE__UNKNOWN_OUTCOME;
            break;
        case RAFT_SHUTDOWN:
        case RAFT_CANCELED:
        case RAFT_NOCONNECTION:
            code = KLAXON__CODE__UNAVAILABLE;
            break;
        case RAFT_CANTCHANGE:
        case RAFT_BUSY:
        case RAFT_BADID:
        case RAFT_BADROLE:
        case RAFT_DUPLICATEID:
        case RAFT_DUPLICATEADDRESS:
        case RAFT_NOTFOUND:
            code = KLAXON__CODE__FAILED_PRECONDITION;
            break;
        default:
            code = KLAXON__CODE__INTERNAL;
            break;
    }
    if (code == KLAXON__CODE__UNKNOWN_OUTCOME ||
        code == KLAXON__CODE__NOT_LEADER) {
        snprintf(msg, sizeof msg, "%s", api_code_message(code));
    } else if (rv == RAFT_CANTCHANGE) {
        snprintf(msg, sizeof msg,
                 "another membership change is in progress; retry when it "
                 "finished");
    } else {
        snprintf(msg, sizeof msg, "%s: %s", ch->what, raft_strerror(rv));
    }
    finish(ch, code, msg);
}

/* --- steps -----------------------------------------------------------------
 */

static void step_assign(struct member_change *ch);
static void step_forget(struct member_change *ch);

static void change_cb(struct raft_change *req, int status)
{
    struct member_change *ch = req->data;

    if (status != 0) {
        finish_raft(ch, status);
    } else if (ch->assign) {
        ch->assign = false;
        step_assign(ch);
    } else if (ch->forget.id != 0) {
        step_forget(ch);
    } else {
        finish(ch, KLAXON__CODE__OK, ch->done);
    }
}

static void step_assign(struct member_change *ch)
{
    int rv;

    ch->change.data = ch;
    rv = raft_assign(&ch->n->raft, &ch->change, ch->id, ch->role, change_cb);
    if (rv != 0) {
        finish_raft(ch, rv);
    }
}

static void step_add(struct member_change *ch)
{
    int rv;

    ch->change.data = ch;
    rv = raft_add(&ch->n->raft, &ch->change, ch->id, ch->raft_address,
                  change_cb);
    if (rv != 0) {
        finish_raft(ch, rv);
    }
}

static void table_done(struct node_op *op,
                       int code,
                       const struct apply_result *res)
{
    struct member_change *ch = op->data;

    if (code != KLAXON__CODE__OK) {
        finish(ch, code, api_code_message(code));
    } else if (res->code != KLAXON__CODE__OK) {
        finish(ch, res->code, res->message);
    } else if (ch->cmd.op_case == KLAXON__CLUSTER__COMMAND__OP_MEMBER_SET &&
               !ch->exists) {
        step_add(ch);
    } else {
        finish(ch, KLAXON__CODE__OK, ch->done);
    }
}

static void submit(struct member_change *ch)
{
    char msg[256];
    int rv = api_check_version(ch->n, &ch->cmd, msg, sizeof msg);

    if (rv != KLAXON__CODE__OK) {
        finish(ch, rv, msg);
        return;
    }
    ch->op.cmd = &ch->cmd;
    ch->op.cb = table_done;
    ch->op.data = ch;
    rv = node_submit(ch->n, &ch->op);
    if (rv != 0) {
        finish(ch, rv, api_code_message(rv));
    }
}

/* Record the member's addresses (replicated), then add it to Raft. */
static void step_set(struct member_change *ch)
{
    klaxon__cluster__command__init(&ch->cmd);
    klaxon__member__init(&ch->member);
    ch->member.id = ch->id;
    ch->member.raft_address = ch->raft_address;
    ch->member.api_address = ch->api_address;
    ch->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_MEMBER_SET;
    ch->cmd.member_set = &ch->member;
    submit(ch);
}

static void step_forget(struct member_change *ch)
{
    klaxon__cluster__command__init(&ch->cmd);
    ch->cmd.op_case = KLAXON__CLUSTER__COMMAND__OP_MEMBER_FORGET;
    ch->cmd.member_forget = &ch->forget;
    ch->raft_address[0] = '\0';
    submit(ch);
}

/* --- leadership transfer ---------------------------------------------------
 */

/* After a transfer: wait until a leader is known, then answer. */
static void leader_poll(uv_timer_t *t)
{
    struct member_change *ch = t->data;
    struct node *n = ch->n;
    raft_id lid = 0;
    const char *addr = NULL;
    char msg[200];

    if (!n->closing) {
        raft_leader(&n->raft, &lid, &addr);
    }
    if (lid == n->cfg->id) {
        snprintf(msg, sizeof msg,
                 "leadership was not handed over within the election "
                 "timeout; node %llu still leads",
                 (unsigned long long)lid);
        finish(ch, KLAXON__CODE__FAILED_PRECONDITION, msg);
    } else if (lid != 0 && ch->remove_self) {
        /* The new leader removes this node: the client follows there. */
        finish(ch, KLAXON__CODE__NOT_LEADER,
               "leadership handed over before removing this node; "
               "the new leader removes it");
    } else if (lid != 0) {
        ch->new_leader = lid;
        snprintf(msg, sizeof msg, "node %llu is the leader now",
                 (unsigned long long)lid);
        finish(ch, KLAXON__CODE__OK, msg);
    } else if (n->closing || uv_now(n->loop) >= ch->deadline_ms) {
        finish(ch, KLAXON__CODE__UNAVAILABLE,
               "leadership was handed over; no new leader known yet");
    } else {
        uv_timer_start(&ch->timer, leader_poll, LEADER_POLL_MS, 0);
    }
}

static void transfer_cb(struct raft_transfer *req)
{
    struct member_change *ch = req->data;

    ch->deadline_ms =
        uv_now(ch->n->loop) + 2 * (uint64_t)ch->n->cfg->election_ms;
    leader_poll(&ch->timer);
}

static void step_transfer(struct member_change *ch, uint64_t target)
{
    int rv;

    uv_timer_init(ch->n->loop, &ch->timer);
    ch->timer.data = ch;
    ch->timer_ready = true;
    ch->transfer.data = ch;
    rv = raft_transfer(&ch->n->raft, &ch->transfer, target, transfer_cb);
    if (rv != 0) {
        finish_raft(ch, rv);
    }
}

/* --- requests --------------------------------------------------------------
 */

static struct member_change *change_new(struct api_req *r, const char *what)
{
    struct member_change *ch = calloc(1, sizeof *ch);

    if (ch == NULL) {
        api_reply_error(r, KLAXON__CODE__INTERNAL, "out of memory");
        api_req_free(r);
        return NULL;
    }
    ch->r = r;
    ch->n = r->node;
    ch->what = what;
    ch->n->member_change = ch;
    return ch;
}

static void start_add(struct api_req *r, char *msg, size_t len)
{
    const Klaxon__MemberAddRequest *a = r->req->member_add;
    struct member_change *ch;
    bool exists;
    int role;
    int code =
        member_check_add(&r->node->raft.configuration, a->id, a->raft_address,
                         a->api_address, a->role, &role, &exists, msg, len);

    if (code != KLAXON__CODE__OK) {
        api_log_refused(r, "member add", msg);
        api_reply_error(r, code, msg);
        api_req_free(r);
        return;
    }
    if ((ch = change_new(r, "member add")) == NULL) {
        return;
    }
    ch->id = a->id;
    ch->role = role;
    snprintf(ch->raft_address, sizeof ch->raft_address, "%s", a->raft_address);
    snprintf(ch->api_address, sizeof ch->api_address, "%s", a->api_address);
    snprintf(ch->done, sizeof ch->done, "node %llu %s as %s at %s",
             (unsigned long long)a->id,
             exists ? "is already a member" : "added", member_role_name(role),
             a->raft_address);
    /* A retry of an add that was done only makes sure of the address. */
    ch->exists = exists;
    ch->assign = role != RAFT_SPARE;
    step_set(ch);
}

static void start_promote(struct api_req *r, char *msg, size_t len)
{
    const Klaxon__MemberPromoteRequest *p = r->req->member_promote;
    struct member_change *ch;
    bool same;
    int role;
    int code = member_check_assign(&r->node->raft.configuration, p->id, p->role,
                                   &role, &same, msg, len);

    if (code != KLAXON__CODE__OK) {
        api_log_refused(r, "member promote", msg);
        api_reply_error(r, code, msg);
        api_req_free(r);
        return;
    }
    if ((ch = change_new(r, "member promote")) == NULL) {
        return;
    }
    ch->id = p->id;
    ch->role = role;
    snprintf(ch->done, sizeof ch->done, "node %llu %s %s",
             (unsigned long long)p->id, same ? "is already a" : "is now a",
             member_role_name(role));
    if (same) {
        finish(ch, KLAXON__CODE__OK, ch->done);
        return;
    }
    step_assign(ch);
}

static void start_remove(struct api_req *r, char *msg, size_t len)
{
    struct node *n = r->node;
    uint64_t id = r->req->member_remove->id;
    struct member_change *ch;
    int code = member_check_remove(&n->raft.configuration, id, msg, len);
    int rv;

    if (code != KLAXON__CODE__OK) {
        api_log_refused(r, "member remove", msg);
        api_reply_error(r, code, msg);
        api_req_free(r);
        return;
    }
    if ((ch = change_new(r, "member remove")) == NULL) {
        return;
    }
    ch->id = id;
    klaxon__cluster__member_forget__init(&ch->forget);
    ch->forget.id = id;
    snprintf(ch->done, sizeof ch->done, "node %llu removed",
             (unsigned long long)id);
    if (id == n->cfg->id) {
        ch->remove_self = true;
        log_info(
            "membership: removing the leader (node %llu): handing "
            "leadership over first",
            (unsigned long long)id);
        step_transfer(ch, 0);
        return;
    }
    ch->change.data = ch;
    rv = raft_remove(&n->raft, &ch->change, id, change_cb);
    if (rv != 0) {
        finish_raft(ch, rv);
    }
}

static void start_transfer(struct api_req *r, char *msg, size_t len)
{
    struct node *n = r->node;
    uint64_t id = r->req->leader_transfer->id;
    struct member_change *ch;
    bool same;
    int code = member_check_transfer(&n->raft.configuration, n->cfg->id, id,
                                     &same, msg, len);

    if (code != KLAXON__CODE__OK) {
        api_log_refused(r, "leader transfer", msg);
        api_reply_error(r, code, msg);
        api_req_free(r);
        return;
    }
    if ((ch = change_new(r, "leader transfer")) == NULL) {
        return;
    }
    ch->id = id;
    if (same) {
        ch->new_leader = id;
        snprintf(ch->done, sizeof ch->done, "node %llu is the leader already",
                 (unsigned long long)id);
        finish(ch, KLAXON__CODE__OK, ch->done);
        return;
    }
    step_transfer(ch, id);
}

void api_handle_membership(struct api_req *r)
{
    struct node *n = r->node;
    char msg[256];
    int code = KLAXON__CODE__OK;

    if (r->req->op_case == KLAXON__REQUEST__OP_MEMBER_LIST) {
        handle_list(r);
        return;
    }
    if (!node_is_ready(n)) {
        code = node_is_leader(n) ? KLAXON__CODE__UNAVAILABLE
                                 : KLAXON__CODE__NOT_LEADER;
        snprintf(msg, sizeof msg, "%s", api_code_message(code));
    } else if (n->raft.transfer != NULL ||
               (r->req->op_case != KLAXON__REQUEST__OP_LEADER_TRANSFER &&
                (n->member_change != NULL ||
                 n->raft.leader_state.change != NULL))) {
        /* A transfer may overtake a change: the way out of a promotion
         * whose member never catches up (the change then fails). */
        code = KLAXON__CODE__FAILED_PRECONDITION;
        snprintf(msg, sizeof msg,
                 "another membership change or leadership transfer is in "
                 "progress; retry when it finished");
    }
    if (code != KLAXON__CODE__OK) {
        api_reply_error(r, code, msg);
        api_req_free(r);
        return;
    }
    switch (r->req->op_case) {
        case KLAXON__REQUEST__OP_MEMBER_ADD:
            start_add(r, msg, sizeof msg);
            break;
        case KLAXON__REQUEST__OP_MEMBER_PROMOTE:
            start_promote(r, msg, sizeof msg);
            break;
        case KLAXON__REQUEST__OP_MEMBER_REMOVE:
            start_remove(r, msg, sizeof msg);
            break;
        default:
            start_transfer(r, msg, sizeof msg);
            break;
    }
}
