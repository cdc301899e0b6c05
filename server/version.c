#include "version.h"

#include <stdio.h>

/* Version 2 added status updates, resolving as a false positive,
 * acknowledging or resolving by service and dedup key, and the replicated
 * member addresses of runtime membership changes. */
static uint32_t ack_version(const Klaxon__AckRequest *a)
{
    return a != NULL && a->dedup_key[0] != '\0' ? 2 : 1;
}

static uint32_t resolve_version(const Klaxon__ResolveRequest *r)
{
    if (r == NULL) {
        return 1;
    }
    return r->dedup_key[0] != '\0' || r->false_positive ? 2 : 1;
}

uint32_t command_version(const Klaxon__Cluster__Command *cmd)
{
    switch (cmd->op_case) {
        case KLAXON__CLUSTER__COMMAND__OP_TRIGGER:
        case KLAXON__CLUSTER__COMMAND__OP_NOTE:
        case KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG:
        case KLAXON__CLUSTER__COMMAND__OP_TICK:
        case KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME:
        case KLAXON__CLUSTER__COMMAND__OP_SET_SECRET:
        case KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT:
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START:
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END:
            return 1;
        case KLAXON__CLUSTER__COMMAND__OP_ACK:
            return ack_version(cmd->ack);
        case KLAXON__CLUSTER__COMMAND__OP_RESOLVE:
            return resolve_version(cmd->resolve);
        case KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE:
        case KLAXON__CLUSTER__COMMAND__OP_MEMBER_SET:
        case KLAXON__CLUSTER__COMMAND__OP_MEMBER_FORGET:
            return 2;
        default:
            return UINT32_MAX;
    }
}

uint32_t command_too_new(const Klaxon__Cluster__Command *cmd,
                         char *msg,
                         size_t len)
{
    uint32_t need = command_version(cmd);

    if (need == UINT32_MAX) {
        snprintf(msg, len,
                 "an operation this klaxond does not know (command field "
                 "%u%s); it applies up to version %u",
                 (unsigned)cmd->op_case,
                 cmd->op_case == 0 ? ", or one of a later release" : "",
                 (unsigned)APPLY_VERSION);
        return need;
    }
    if (cmd->min_version > need) {
        need = cmd->min_version;
    }
    if (need <= APPLY_VERSION) {
        return 0;
    }
    snprintf(msg, len,
             "a command that needs apply version %u; this klaxond applies "
             "up to version %u",
             (unsigned)need, (unsigned)APPLY_VERSION);
    return need;
}
