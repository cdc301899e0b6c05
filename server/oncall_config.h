/*
 * The on-call configuration: YAML (docs/ONCALL.md) to a validated
 * klaxon.OncallConfig (proto/oncall.proto), and the checks behind it.
 *
 * oncall_config_parse() is what a node runs on `klaxonctl apply`: it reads
 * the YAML, fills in defaults (severity rules, time zones, notification
 * settings) and validates everything, with errors as
 *
 *     FILE:LINE: FIELD: REASON
 *     oncall.yaml:42: escalation_policies[0].levels[1].targets[0].id:
 *         unknown user "bob"
 *
 * oncall_config_validate() runs the same checks on a decoded OncallConfig
 * (what the state machine does before storing one that arrived through
 * Raft), with errors as "FIELD: REASON". Both refuse: duplicate ids or
 * names, references to unknown users, schedules, policies or services,
 * empty rotations or policies, malformed or out-of-range durations and
 * times, unknown time zones, invalid contact methods.
 */
#ifndef KLAXON_ONCALL_CONFIG_H
#define KLAXON_ONCALL_CONFIG_H

#include <stddef.h>

#include "oncall.pb-c.h"

/* Limits (also in docs/ONCALL.md). */
#define ONCALL_MAX_USERS 10000
#define ONCALL_MAX_SCHEDULES 1000
#define ONCALL_MAX_POLICIES 1000
#define ONCALL_MAX_SERVICES 10000
#define ONCALL_MAX_HEARTBEATS 10000
#define ONCALL_MAX_LAYERS 16
#define ONCALL_MAX_LAYER_USERS 1000
#define ONCALL_MAX_RESTRICTIONS 32
#define ONCALL_MAX_OVERRIDES 1000
#define ONCALL_MAX_LEVELS 20
#define ONCALL_MAX_TARGETS 20
#define ONCALL_MAX_CONTACTS 10
#define ONCALL_MAX_ARGS 32 /* arguments of an exec contact */
#define ONCALL_MAX_REPEAT 100
#define ONCALL_MAX_ID 128    /* ids and names, bytes */
#define ONCALL_MAX_TEXT 1024 /* addresses, URLs, descriptions */

/*
 * Parse and validate `len` bytes of YAML named `name` (for messages).
 * 0 and *out (free with oncall_config_free), or -1 with a message in err
 * and *out NULL.
 */
int oncall_config_parse(const char *name,
                        const char *text,
                        size_t len,
                        Klaxon__OncallConfig **out,
                        char *err,
                        size_t errlen);

/* Validate a decoded config. 0, or -1 with "FIELD: REASON" in err. */
int oncall_config_validate(const Klaxon__OncallConfig *c,
                           char *err,
                           size_t errlen);

/*
 * Free a config from oncall_config_parse() or from
 * klaxon__oncall_config__unpack(..., NULL, ...): every part of a parsed
 * config is malloc'd the way protobuf-c's default allocator does it.
 * NULL is allowed.
 */
void oncall_config_free(Klaxon__OncallConfig *c);

/* Lookups by id/name in a validated config; NULL if absent. */
const Klaxon__User *oncall_user(const Klaxon__OncallConfig *c, const char *id);
const Klaxon__Schedule *oncall_schedule(const Klaxon__OncallConfig *c,
                                        const char *id);
const Klaxon__EscalationPolicy *oncall_policy(const Klaxon__OncallConfig *c,
                                              const char *id);
const Klaxon__Service *oncall_service(const Klaxon__OncallConfig *c,
                                      const char *name);
const Klaxon__HeartbeatMonitor *oncall_heartbeat(const Klaxon__OncallConfig *c,
                                                 const char *name);

/* The rule of severity 1..4 of a validated service. */
const Klaxon__SeverityRule *oncall_severity(const Klaxon__Service *s,
                                            unsigned severity);

/* Effective paging mode of a rule (PAGING_DEFAULT resolved). */
Klaxon__Paging oncall_paging(const Klaxon__SeverityRule *r);

#endif /* KLAXON_ONCALL_CONFIG_H */
