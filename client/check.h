/*
 * Local validation of call arguments: obviously bad input (missing
 * required strings, out-of-range numbers, fields over common/limits.h) is
 * refused with KLAXON_EINVAL before any node is contacted. Nodes validate
 * everything again, including UTF-8 and control characters.
 *
 * Each function returns KLAXON_OK or KLAXON_EINVAL with a message naming
 * the field, in the nodes' style: "severity: must be 1..4, got 7".
 */
#ifndef KLAXON_CLIENT_CHECK_H
#define KLAXON_CLIENT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "klaxon.h"

int check_trigger(const struct klaxon_trigger *t, char *msg, size_t len);

/* incident_id and `by` of ack, resolve and note. */
int check_target(uint64_t incident_id, const char *by, char *msg, size_t len);

int check_note_text(const char *text, char *msg, size_t len);

int check_incident_id(uint64_t incident_id, char *msg, size_t len);

int check_list_query(const struct klaxon_list_query *q, char *msg, size_t len);

/* An acknowledgement token of a page. */
int check_token(const char *token, char *msg, size_t len);

/* file_name, yaml (`n` bytes, no NUL) and the optional `by` of apply. */
int check_apply(const char *file_name,
                const char *yaml,
                size_t n,
                const char *by,
                char *msg,
                size_t len);

int check_oncall_query(const struct klaxon_oncall_query *q,
                       char *msg,
                       size_t len);

/* The name of a heartbeat monitor. */
int check_monitor_name(const char *name, char *msg, size_t len);

int check_maintenance(const struct klaxon_maintenance *m,
                      char *msg,
                      size_t len);

/* window_id and `by` of maintenance_end. */
int check_window_end(uint64_t window_id, const char *by, char *msg, size_t len);

/* The limit of a pages query. */
int check_limit(unsigned limit, char *msg, size_t len);

/* Largest member id (node.id), and the longest member address + 1. */
#define MEMBER_ID_MAX ((uint64_t)1 << 53)
#define MEMBER_ADDRESS_MAX 256

/* A member id in 1..MEMBER_ID_MAX; `field` names it in msg. */
int check_member_id(const char *field, uint64_t id, char *msg, size_t len);

/* NULL, "", "voter", "standby" or "spare". */
int check_member_role(const char *role, char *msg, size_t len);

/* id, raft_address (host:port), optional api_address and role. */
int check_member_add(const struct klaxon_member_add *m, char *msg, size_t len);

#endif /* KLAXON_CLIENT_CHECK_H */
