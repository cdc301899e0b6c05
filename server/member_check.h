/*
 * Membership requests checked against a Raft configuration: pure
 * functions, no I/O, so that every refusal is unit-tested (see
 * tests/unit/test_member_check.c). Each returns a KLAXON__CODE__* and, on
 * anything but OK, a one-line message naming the field and the reason.
 *
 * The configuration is the leader's latest one (committed or not).
 * libraft allows one change at a time; that is checked by the caller.
 */
#ifndef KLAXON_MEMBER_CHECK_H
#define KLAXON_MEMBER_CHECK_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Most members a configuration may have (node status arrays). */
#define MEMBERS_MAX CONFIG_MAX_MEMBERS

/* "voter", "standby", "spare"; "?" for anything else. */
const char *member_role_name(int role);

/* Parse a role name; "" gives `dflt`. 0, or -1 if unknown. */
int member_role_parse(const char *name, int dflt, int *role);

/* The server with `id`, or NULL. */
const struct raft_server *member_find(const struct raft_configuration *conf,
                                      uint64_t id);

/* Number of voters. */
unsigned member_voters(const struct raft_configuration *conf);

/*
 * member_add: id 1..2^53, raft_address and (optional) api_address
 * host:port, role voter/standby/spare ("" = standby), id and raft address
 * not used by another member, at most MEMBERS_MAX members. *role gets the
 * parsed role. *exists is set when `id` is already a member with the
 * same raft address and role: the add was done before (OK, nothing to
 * change in Raft).
 */
int member_check_add(const struct raft_configuration *conf,
                     uint64_t id,
                     const char *raft_address,
                     const char *api_address,
                     const char *role_name,
                     int *role,
                     bool *exists,
                     char *msg,
                     size_t len);

/* member_remove: a member, and not the last voter. */
int member_check_remove(const struct raft_configuration *conf,
                        uint64_t id,
                        char *msg,
                        size_t len);

/* member_promote: a member; role "" = voter. *same when it already has
 * that role (OK, nothing to do). Demoting the last voter is refused. */
int member_check_assign(const struct raft_configuration *conf,
                        uint64_t id,
                        const char *role_name,
                        int *role,
                        bool *same,
                        char *msg,
                        size_t len);

/* leader_transfer from `self`: id 0 (any voter) or a voter; *same when id
 * is self (already the leader: nothing to do). */
int member_check_transfer(const struct raft_configuration *conf,
                          uint64_t self,
                          uint64_t id,
                          bool *same,
                          char *msg,
                          size_t len);

#endif /* KLAXON_MEMBER_CHECK_H */
