/*
 * Validation of incident requests. Every node checks a request before it
 * proposes it (so bad input is refused without a Raft round trip) and the
 * state machine checks every command again when it applies it (so that no
 * log entry, whatever its origin, can put invalid data in the state).
 *
 * Each function returns KLAXON__CODE__OK or an error code and then writes a
 * message that names the field and the reason, e.g.
 * "severity: must be 1..4, got 7".
 */
#ifndef KLAXON_VALIDATE_H
#define KLAXON_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.pb-c.h"
#include "klaxon.pb-c.h"

int validate_trigger(const Klaxon__TriggerRequest *t, char *msg, size_t len);
int validate_ack(const Klaxon__AckRequest *a, char *msg, size_t len);
int validate_resolve(const Klaxon__ResolveRequest *r, char *msg, size_t len);
int validate_note(const Klaxon__NoteRequest *n, char *msg, size_t len);
int validate_status_update(const Klaxon__StatusUpdateRequest *u,
                           char *msg,
                           size_t len);
int validate_heartbeat(const Klaxon__HeartbeatRequest *h,
                       char *msg,
                       size_t len);
int validate_maintenance_start(const Klaxon__MaintenanceStartRequest *m,
                               char *msg,
                               size_t len);
int validate_maintenance_end(const Klaxon__MaintenanceEndRequest *m,
                             char *msg,
                             size_t len);
int validate_set_config(const Klaxon__Cluster__SetConfig *c,
                        char *msg,
                        size_t len);
int validate_request_id(ProtobufCBinaryData id, char *msg, size_t len);

/* Commands only the leader proposes (tick, page outcome, secret): they
 * carry no request id and are never accepted from clients. */
bool validate_is_internal(const Klaxon__Cluster__Command *c);

/* A whole command: request id and its one operation. */
int validate_command(const Klaxon__Cluster__Command *c, char *msg, size_t len);

/* Is `s` (len bytes) valid UTF-8? */
int validate_utf8(const char *s, size_t len);

#endif /* KLAXON_VALIDATE_H */
