/*
 * Command versions, for rolling upgrades.
 *
 * Every replicated command needs some apply version: the lowest klaxond
 * release whose state machine applies it correctly. A command that only
 * uses what the first release knew needs version 1; one that uses a later
 * operation or field needs the version that introduced it (the table is in
 * version.c). The proposer stamps the version into Command.min_version.
 *
 * A node whose APPLY_VERSION is below what a command needs, or that meets
 * an operation it does not know at all, never skips or guesses: apply
 * stops with an error naming the entry and the versions, the node exits,
 * and it applies the entry after it was upgraded (the entry stays in the
 * Raft log). The leader avoids that: it refuses a write needing version V
 * until every member has announced (in its Raft handshake) that it
 * applies V.
 */
#ifndef KLAXON_VERSION_H
#define KLAXON_VERSION_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"

/* The apply version of this build. A build for compatibility tests may
 * set a lower one (it then refuses what later versions added). */
#ifndef KLAXON_APPLY_VERSION
#define KLAXON_APPLY_VERSION 2
#endif
#define APPLY_VERSION ((uint32_t)KLAXON_APPLY_VERSION)

/* The apply version cmd needs from what it contains; UINT32_MAX for an
 * operation this build does not know. */
uint32_t command_version(const Klaxon__Cluster__Command *cmd);

/*
 * What a node must be able to apply: the larger of cmd->min_version and
 * command_version(cmd). 0 when this build can apply it, else the version
 * it needs (UINT32_MAX: unknown operation) with a message in msg.
 */
uint32_t command_too_new(const Klaxon__Cluster__Command *cmd,
                         char *msg,
                         size_t len);

#endif /* KLAXON_VERSION_H */
