/*
 * Cluster membership on the client API: member_add, member_remove,
 * member_promote, member_list and leader_transfer, served by the leader
 * with libraft's raft_add / raft_assign / raft_remove / raft_transfer,
 * and the view of the members that status and member_list show.
 *
 * A change answers only once it committed (libraft calls back when the
 * configuration entry is committed; a promotion to voter first catches
 * the member up). One change runs at a time (node->member_change); a
 * second one is refused with FAILED_PRECONDITION while it runs. Leadership
 * lost in the middle answers UNKNOWN_OUTCOME: add and promote are
 * idempotent, so the client's retry at the new leader is safe.
 *
 * The request checks are in member_check.h; the replicated API addresses
 * in members.h.
 */
#ifndef KLAXON_MEMBERSHIP_H
#define KLAXON_MEMBERSHIP_H

#include <stddef.h>

#include "klaxon.pb-c.h"

struct node;
struct api_req;

/*
 * The members of n's current Raft configuration into members[] (pointing
 * at storage[], both MEMBERS_MAX entries; strings point into n until the
 * next call). On the leader each carries its replication progress.
 * Returns the count.
 */
size_t membership_view(struct node *n,
                       Klaxon__Member **members,
                       Klaxon__Member *storage);

/* Serve a membership request (answers and frees r exactly once). */
void api_handle_membership(struct api_req *r);

#endif /* KLAXON_MEMBERSHIP_H */
