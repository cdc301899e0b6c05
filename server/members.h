/*
 * The replicated members table: the API address of each member added at
 * runtime, kept in the `config` table under key "members" (a
 * StoredMembers) so that every node can send clients to a leader that is
 * not in its own klaxond.yaml. Written only by apply (member_set and
 * member_forget commands, proposed by the leader around raft_add and
 * raft_remove), so it is in every snapshot.
 *
 * The Raft configuration stays the authority on who is a member and at
 * which raft address; the table only adds the API address. A lookup
 * falls back to cluster.members of the node's own config.
 */
#ifndef KLAXON_MEMBERS_H
#define KLAXON_MEMBERS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "cluster.pb-c.h"
#include "config.h"
#include "klaxon.pb-c.h"
#include "store.h"

#define CONFIG_MEMBERS "members"

/* Most entries the table keeps (removed members are forgotten). */
#define MEMBERS_TABLE_MAX 64

/* apply: record (or replace) member m's addresses. LMDB error or 0. */
int members_apply_set(struct apply_ctx *ctx,
                      const Klaxon__Member *m,
                      struct apply_result *res);

/* apply: drop member f->id's addresses (none: nothing to do). */
int members_apply_forget(struct apply_ctx *ctx,
                         const Klaxon__Cluster__MemberForget *f,
                         struct apply_result *res);

/*
 * The API address of member `id` into buf (len bytes): the members table
 * first, then cfg's cluster.members; "" when neither knows it. Opens its
 * own read transaction. Never fails: a store error reads as unknown.
 */
void members_api_address(const struct store *s,
                         const struct config *cfg,
                         uint64_t id,
                         char *buf,
                         size_t len);

#endif /* KLAXON_MEMBERS_H */
