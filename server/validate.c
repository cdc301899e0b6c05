#include "validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "field_limits.h"

#define INVALID KLAXON__CODE__INVALID_ARGUMENT
#define OK KLAXON__CODE__OK

int validate_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len) {
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

/* Check one text field. `multiline` allows newlines and tabs. */
static int check_text(const char *field,
                      const char *s,
                      size_t max,
                      bool required,
                      bool multiline,
                      char *msg,
                      size_t len)
{
    size_t n = s != NULL ? strlen(s) : 0;
    bool blank = true;

    if (n == 0) {
        if (required) {
            snprintf(msg, len, "%s: required", field);
            return INVALID;
        }
        return OK;
    }
    if (n > max) {
        snprintf(msg, len, "%s: too long (%zu bytes, at most %zu)", field, n,
                 max);
        return INVALID;
    }
    if (!validate_utf8(s, n)) {
        snprintf(msg, len, "%s: not valid UTF-8", field);
        return INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) ||
            c == 0x7F) {
            snprintf(msg, len, "%s: control character 0x%02x at byte %zu",
                     field, c, i);
            return INVALID;
        }
        if (c != ' ' && c != '\t' && c != '\n') {
            blank = false;
        }
    }
    if (required && blank) {
        snprintf(msg, len, "%s: must not be blank", field);
        return INVALID;
    }
    return OK;
}

static int check_details(const Klaxon__TriggerRequest *t, char *msg, size_t len)
{
    size_t total = 0;
    char field[64];
    int rv;

    if (t->n_details > LIMIT_DETAILS) {
        snprintf(msg, len, "details: too many (%zu, at most %d)", t->n_details,
                 LIMIT_DETAILS);
        return INVALID;
    }
    for (size_t i = 0; i < t->n_details; i++) {
        const Klaxon__Detail *d = t->details[i];
        snprintf(field, sizeof field, "details[%zu].key", i);
        rv = check_text(field, d->key, LIMIT_DETAIL_KEY, true, false, msg, len);
        if (rv != OK) {
            return rv;
        }
        snprintf(field, sizeof field, "details[%zu].value", i);
        rv = check_text(field, d->value, LIMIT_DETAIL_VALUE, false, true, msg,
                        len);
        if (rv != OK) {
            return rv;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t->details[j]->key, d->key) == 0) {
                snprintf(msg, len, "details: duplicate key \"%s\"", d->key);
                return INVALID;
            }
        }
        total += strlen(d->key) + strlen(d->value);
    }
    if (total > LIMIT_DETAILS_TOTAL) {
        snprintf(msg, len, "details: too large (%zu bytes, at most %d)", total,
                 LIMIT_DETAILS_TOTAL);
        return INVALID;
    }
    return OK;
}

int validate_trigger(const Klaxon__TriggerRequest *t, char *msg, size_t len)
{
    int rv;

    rv =
        check_text("service", t->service, LIMIT_SERVICE, true, false, msg, len);
    if (rv != OK) {
        return rv;
    }
    if (t->severity < SEVERITY_MIN || t->severity > SEVERITY_MAX) {
        snprintf(msg, len, "severity: must be %d..%d, got %u", SEVERITY_MIN,
                 SEVERITY_MAX, t->severity);
        return INVALID;
    }
    rv = check_text("summary", t->summary, LIMIT_SUMMARY, true, true, msg, len);
    if (rv != OK) {
        return rv;
    }
    rv = check_text("source", t->source, LIMIT_SOURCE, false, false, msg, len);
    if (rv != OK) {
        return rv;
    }
    rv = check_text("dedup_key", t->dedup_key, LIMIT_DEDUP_KEY, false, false,
                    msg, len);
    if (rv != OK) {
        return rv;
    }
    return check_details(t, msg, len);
}

static int check_target(uint64_t id, const char *by, char *msg, size_t len)
{
    if (id == 0) {
        snprintf(msg, len, "incident_id: required");
        return INVALID;
    }
    return check_text("by", by, LIMIT_ACTOR, true, false, msg, len);
}

/* incident_id, or service and dedup_key (not both), and by. */
static int check_target_or_key(uint64_t id,
                               const char *service,
                               const char *dedup,
                               const char *by,
                               char *msg,
                               size_t len)
{
    bool keyed = (service != NULL && service[0] != '\0') ||
                 (dedup != NULL && dedup[0] != '\0');
    int rv;

    if (!keyed) {
        return check_target(id, by, msg, len);
    }
    if (id != 0) {
        snprintf(msg, len,
                 "incident_id: give either incident_id or service and "
                 "dedup_key, not both");
        return INVALID;
    }
    rv = check_text("service", service, LIMIT_SERVICE, true, false, msg, len);
    if (rv == OK) {
        rv = check_text("dedup_key", dedup, LIMIT_DEDUP_KEY, true, false, msg,
                        len);
    }
    if (rv == OK) {
        rv = check_text("by", by, LIMIT_ACTOR, true, false, msg, len);
    }
    return rv;
}

int validate_ack(const Klaxon__AckRequest *a, char *msg, size_t len)
{
    if (a->token == NULL || a->token[0] == '\0') {
        return check_target_or_key(a->incident_id, a->service, a->dedup_key,
                                   a->by, msg, len);
    }
    if (a->incident_id != 0 || (a->by != NULL && a->by[0] != '\0') ||
        (a->service != NULL && a->service[0] != '\0') ||
        (a->dedup_key != NULL && a->dedup_key[0] != '\0')) {
        snprintf(msg, len,
                 "token: give either a token or incident_id and by, not both");
        return INVALID;
    }
    return check_text("token", a->token, LIMIT_TOKEN, true, false, msg, len);
}

int validate_resolve(const Klaxon__ResolveRequest *r, char *msg, size_t len)
{
    return check_target_or_key(r->incident_id, r->service, r->dedup_key, r->by,
                               msg, len);
}

int validate_note(const Klaxon__NoteRequest *n, char *msg, size_t len)
{
    int rv = check_target(n->incident_id, n->by, msg, len);
    if (rv != OK) {
        return rv;
    }
    return check_text("text", n->text, LIMIT_NOTE, true, true, msg, len);
}

int validate_status_update(const Klaxon__StatusUpdateRequest *u,
                           char *msg,
                           size_t len)
{
    const Klaxon__StatusUpdate *up = u->update;
    int rv = check_target(u->incident_id, u->by, msg, len);

    if (rv != OK) {
        return rv;
    }
    if (up == NULL || up->status < KLAXON__PUBLIC_STATUS__INVESTIGATING ||
        up->status > KLAXON__PUBLIC_STATUS__PUBLIC_RESOLVED) {
        snprintf(msg, len,
                 "status: required: investigating, identified, monitoring or "
                 "resolved");
        return INVALID;
    }
    rv = check_text("message", up->message, LIMIT_NOTE, true, true, msg, len);
    if (rv == OK) {
        rv = check_text("impact", up->impact, LIMIT_SUMMARY, false, true, msg,
                        len);
    }
    if (rv == OK && up->n_components > LIMIT_COMPONENTS) {
        snprintf(msg, len, "components: at most %d", LIMIT_COMPONENTS);
        return INVALID;
    }
    for (size_t i = 0; rv == OK && i < up->n_components; i++) {
        rv = check_text("components", up->components[i], LIMIT_SERVICE, true,
                        false, msg, len);
    }
    return rv;
}

int validate_heartbeat(const Klaxon__HeartbeatRequest *h, char *msg, size_t len)
{
    return check_text("name", h->name, LIMIT_NAME, true, false, msg, len);
}

int validate_maintenance_start(const Klaxon__MaintenanceStartRequest *m,
                               char *msg,
                               size_t len)
{
    int rv =
        check_text("service", m->service, LIMIT_SERVICE, true, false, msg, len);
    if (rv == OK) {
        rv = check_text("reason", m->reason, LIMIT_SUMMARY, false, true, msg,
                        len);
    }
    if (rv == OK) {
        rv = check_text("by", m->by, LIMIT_ACTOR, true, false, msg, len);
    }
    if (rv != OK) {
        return rv;
    }
    if ((m->end_ms == 0) == (m->duration_ms == 0)) {
        snprintf(msg, len, "end_ms: give either an end or a duration");
        return INVALID;
    }
    if (m->end_ms != 0 && m->start_ms != 0 && m->end_ms <= m->start_ms) {
        snprintf(msg, len, "end_ms: must be after start_ms");
        return INVALID;
    }
    if (m->duration_ms > LIMIT_MAINTENANCE_MS) {
        snprintf(msg, len, "duration_ms: at most %llu ms (366 days)",
                 (unsigned long long)LIMIT_MAINTENANCE_MS);
        return INVALID;
    }
    return OK;
}

int validate_maintenance_end(const Klaxon__MaintenanceEndRequest *m,
                             char *msg,
                             size_t len)
{
    if (m->window_id == 0) {
        snprintf(msg, len, "window_id: required");
        return INVALID;
    }
    return check_text("by", m->by, LIMIT_ACTOR, true, false, msg, len);
}

int validate_request_id(ProtobufCBinaryData id, char *msg, size_t len)
{
    if (id.len == 0) {
        snprintf(msg, len, "request_id: required on writes");
        return INVALID;
    }
    if (id.len > LIMIT_REQUEST_ID) {
        snprintf(msg, len, "request_id: too long (%zu bytes, at most %d)",
                 id.len, LIMIT_REQUEST_ID);
        return INVALID;
    }
    return OK;
}

int validate_set_config(const Klaxon__Cluster__SetConfig *c,
                        char *msg,
                        size_t len)
{
    int rv;

    if (c->config == NULL) {
        snprintf(msg, len, "config: required");
        return INVALID;
    }
    rv = check_text("file_name", c->file_name, LIMIT_FILE_NAME, false, false,
                    msg, len);
    if (rv == OK) {
        rv = check_text("by", c->by, LIMIT_ACTOR, true, false, msg, len);
    }
    if (rv != OK) {
        return rv;
    }
    /* The text is kept as written (CR, tabs and all); the YAML parser
     * already accepted it. */
    if (strlen(c->yaml) > LIMIT_CONFIG_YAML) {
        snprintf(msg, len, "yaml: too long (%zu bytes, at most %u)",
                 strlen(c->yaml), LIMIT_CONFIG_YAML);
        return INVALID;
    }
    if (!validate_utf8(c->yaml, strlen(c->yaml))) {
        snprintf(msg, len, "yaml: not valid UTF-8");
        return INVALID;
    }
    return OK;
}

bool validate_is_internal(const Klaxon__Cluster__Command *c)
{
    return c->op_case == KLAXON__CLUSTER__COMMAND__OP_TICK ||
           c->op_case == KLAXON__CLUSTER__COMMAND__OP_PAGE_OUTCOME ||
           c->op_case == KLAXON__CLUSTER__COMMAND__OP_SET_SECRET ||
           c->op_case == KLAXON__CLUSTER__COMMAND__OP_MEMBER_SET ||
           c->op_case == KLAXON__CLUSTER__COMMAND__OP_MEMBER_FORGET;
}

int validate_command(const Klaxon__Cluster__Command *c, char *msg, size_t len)
{
    int rv;

    if (validate_is_internal(c)) {
        return OK; /* proposed by the leader itself; apply checks them */
    }
    rv = validate_request_id(c->request_id, msg, len);
    if (rv != OK) {
        return rv;
    }
    switch (c->op_case) {
        case KLAXON__CLUSTER__COMMAND__OP_SET_CONFIG:
            return validate_set_config(c->set_config, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_HEARTBEAT:
            return validate_heartbeat(c->heartbeat, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_START:
            return validate_maintenance_start(c->maintenance_start, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_MAINTENANCE_END:
            return validate_maintenance_end(c->maintenance_end, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_TRIGGER:
            return validate_trigger(c->trigger, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_ACK:
            return validate_ack(c->ack, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_RESOLVE:
            return validate_resolve(c->resolve, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_NOTE:
            return validate_note(c->note, msg, len);
        case KLAXON__CLUSTER__COMMAND__OP_STATUS_UPDATE:
            return validate_status_update(c->status_update, msg, len);
        default:
            snprintf(msg, len, "op: missing or unknown operation");
            return KLAXON__CODE__UNSUPPORTED;
    }
}
