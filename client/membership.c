/* Membership changes and leadership transfer (see klaxon.h). */
#include <stdlib.h>

#include "check.h"
#include "client.h"
#include "convert.h"
#include "klaxon.pb-c.h"
#include "request.h"

int klaxon_member_add(klaxon_client *c, const struct klaxon_member_add *m)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MemberAddRequest ma = KLAXON__MEMBER_ADD_REQUEST__INIT;
    char msg[200];

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_member_add(m, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    ma.id = m->id;
    ma.raft_address = (char *)m->raft_address;
    ma.api_address = m->api_address != NULL ? (char *)m->api_address : "";
    ma.role = m->role != NULL ? (char *)m->role : "";
    req.op_case = KLAXON__REQUEST__OP_MEMBER_ADD;
    req.member_add = &ma;
    return request_write_only(c, &req);
}

int klaxon_member_remove(klaxon_client *c, uint64_t id)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MemberRemoveRequest mr = KLAXON__MEMBER_REMOVE_REQUEST__INIT;
    char msg[200];

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_member_id("id", id, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    mr.id = id;
    req.op_case = KLAXON__REQUEST__OP_MEMBER_REMOVE;
    req.member_remove = &mr;
    return request_write_only(c, &req);
}

int klaxon_member_promote(klaxon_client *c, uint64_t id, const char *role)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MemberPromoteRequest mp = KLAXON__MEMBER_PROMOTE_REQUEST__INIT;
    char msg[200];

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (check_member_id("id", id, msg, sizeof msg) != KLAXON_OK ||
        check_member_role(role, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    mp.id = id;
    mp.role = role != NULL ? (char *)role : "";
    req.op_case = KLAXON__REQUEST__OP_MEMBER_PROMOTE;
    req.member_promote = &mp;
    return request_write_only(c, &req);
}

static void *members_of(const Klaxon__Response *resp)
{
    const Klaxon__MembersResult *in = resp->members;
    struct klaxon_member_list *l = calloc(1, sizeof *l);
    bool bad = false;

    if (l == NULL) {
        return NULL;
    }
    l->leader_id = in->leader_id;
    l->last_index = in->last_index;
    l->answered_by = in->answered_by;
    convert_members(in->members, in->n_members, &l->members, &l->n, &bad);
    if (bad) {
        klaxon_member_list_free(l);
        return NULL;
    }
    return l;
}

int klaxon_member_list(klaxon_client *c,
                       enum klaxon_read read,
                       struct klaxon_member_list **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__MemberListRequest ml = KLAXON__MEMBER_LIST_REQUEST__INIT;
    void *res = NULL;
    int rv;

    if (c == NULL || out == NULL) {
        return KLAXON_EINVAL;
    }
    req.op_case = KLAXON__REQUEST__OP_MEMBER_LIST;
    req.member_list = &ml;
    rv = request_fetch(c, &req, read, KLAXON__RESPONSE__RESULT_MEMBERS,
                       members_of, &res);
    *out = res;
    return rv;
}

void klaxon_member_list_free(struct klaxon_member_list *l)
{
    if (l == NULL) {
        return;
    }
    convert_members_free(l->members, l->n);
    free(l);
}

int klaxon_leader_transfer(klaxon_client *c, uint64_t id, uint64_t *new_leader)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__LeaderTransferRequest lt = KLAXON__LEADER_TRANSFER_REQUEST__INIT;
    Klaxon__Response *resp;
    char msg[200];
    int rv;

    if (new_leader != NULL) {
        *new_leader = 0;
    }
    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (id != 0 && check_member_id("id", id, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    lt.id = id;
    req.op_case = KLAXON__REQUEST__OP_LEADER_TRANSFER;
    req.leader_transfer = &lt;
    rv = request_write(c, &req, NULL, &resp);
    if (rv != KLAXON_OK) {
        return rv;
    }
    if (new_leader != NULL) {
        *new_leader = resp->leader_id;
    }
    klaxon__response__free_unpacked(resp, NULL);
    return KLAXON_OK;
}
