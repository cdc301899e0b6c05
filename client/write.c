/* Writes of incidents: trigger, ack (by id or token), resolve and note.
 * Each carries a request id that stays the same across every retry of
 * the call. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "client.h"
#include "convert.h"
#include "klaxon.pb-c.h"
#include "request.h"
#include "write.h"

void write_result(const Klaxon__MutationResult *m, struct klaxon_result *out)
{
    out->incident_id = m->incident_id;
    out->deduplicated = m->deduplicated;
    out->alert_count = m->alert_count;
    out->status = convert_status_code(m->status);
}

/* Run a write of an incident and fill *out (may be NULL) from its
 * result. */
static int run_write(klaxon_client *c,
                     Klaxon__Request *req,
                     const char *request_id,
                     struct klaxon_result *out)
{
    Klaxon__Response *resp;
    int rv = request_write(c, req, request_id, &resp);

    if (rv != KLAXON_OK) {
        return rv;
    }
    if (out != NULL) {
        write_result(resp->mutation, out);
    }
    klaxon__response__free_unpacked(resp, NULL);
    return KLAXON_OK;
}

/* Start a write: clear *out and refuse a NULL client. */
static int begin(klaxon_client *c, struct klaxon_result *out)
{
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    return c != NULL ? KLAXON_OK : KLAXON_EINVAL;
}

int trigger_msg_init(struct trigger_msg *m,
                     const struct klaxon_trigger *t,
                     char *msg,
                     size_t len)
{
    memset(m, 0, sizeof *m);
    klaxon__trigger_request__init(&m->tr);
    if (check_trigger(t, msg, len) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    if (t->n_details > 0) {
        m->details = calloc(t->n_details, sizeof *m->details);
        m->ptrs = calloc(t->n_details, sizeof *m->ptrs);
        if (m->details == NULL || m->ptrs == NULL) {
            trigger_msg_clear(m);
            snprintf(msg, len, "out of memory");
            return KLAXON_ENOMEM;
        }
    }
    for (size_t i = 0; i < t->n_details; i++) {
        klaxon__detail__init(&m->details[i]);
        m->details[i].key = (char *)t->details[i].key;
        if (t->details[i].value != NULL) {
            m->details[i].value = (char *)t->details[i].value;
        }
        m->ptrs[i] = &m->details[i];
    }
    m->tr.service = (char *)t->service;
    m->tr.severity = t->severity;
    m->tr.summary = (char *)t->summary;
    m->tr.source = t->source != NULL ? (char *)t->source : "";
    m->tr.dedup_key = t->dedup_key != NULL ? (char *)t->dedup_key : "";
    m->tr.n_details = t->n_details;
    m->tr.details = m->ptrs;
    return KLAXON_OK;
}

void trigger_msg_clear(struct trigger_msg *m)
{
    free(m->ptrs);
    free(m->details);
    m->ptrs = NULL;
    m->details = NULL;
}

int klaxon_trigger(klaxon_client *c,
                   const struct klaxon_trigger *t,
                   struct klaxon_result *out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    struct trigger_msg m;
    char msg[200];
    int rv;

    if (begin(c, out) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    rv = trigger_msg_init(&m, t, msg, sizeof msg);
    if (rv != KLAXON_OK) {
        return client_fail(c, rv, "%s", msg);
    }
    req.op_case = KLAXON__REQUEST__OP_TRIGGER;
    req.trigger = &m.tr;
    rv = run_write(c, &req, t->request_id, out);
    trigger_msg_clear(&m);
    return rv;
}

/* ack, resolve and note: a write aimed at one incident by one person.
 * text is the note's text (NULL for ack and resolve). */
static int incident_write(klaxon_client *c,
                          Klaxon__Request__OpCase op,
                          uint64_t incident_id,
                          const char *by,
                          const char *text,
                          bool false_positive,
                          struct klaxon_result *out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__AckRequest ack = KLAXON__ACK_REQUEST__INIT;
    Klaxon__ResolveRequest res = KLAXON__RESOLVE_REQUEST__INIT;
    Klaxon__NoteRequest note = KLAXON__NOTE_REQUEST__INIT;
    char msg[200];

    if (begin(c, out) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    if (check_target(incident_id, by, msg, sizeof msg) != KLAXON_OK ||
        (op == KLAXON__REQUEST__OP_NOTE &&
         check_note_text(text, msg, sizeof msg) != KLAXON_OK)) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    req.op_case = op;
    if (op == KLAXON__REQUEST__OP_ACK) {
        ack.incident_id = incident_id;
        ack.by = (char *)by;
        req.ack = &ack;
    } else if (op == KLAXON__REQUEST__OP_RESOLVE) {
        res.incident_id = incident_id;
        res.by = (char *)by;
        res.false_positive = false_positive;
        req.resolve = &res;
    } else {
        note.incident_id = incident_id;
        note.by = (char *)by;
        note.text = (char *)text;
        req.note = &note;
    }
    return run_write(c, &req, NULL, out);
}

int klaxon_ack(klaxon_client *c,
               uint64_t incident_id,
               const char *by,
               struct klaxon_result *out)
{
    return incident_write(c, KLAXON__REQUEST__OP_ACK, incident_id, by, NULL,
                          false, out);
}

int klaxon_resolve(klaxon_client *c,
                   uint64_t incident_id,
                   const char *by,
                   struct klaxon_result *out)
{
    return incident_write(c, KLAXON__REQUEST__OP_RESOLVE, incident_id, by, NULL,
                          false, out);
}

int klaxon_resolve_false_positive(klaxon_client *c,
                                  uint64_t incident_id,
                                  const char *by,
                                  struct klaxon_result *out)
{
    return incident_write(c, KLAXON__REQUEST__OP_RESOLVE, incident_id, by, NULL,
                          true, out);
}

static int check_update(const struct klaxon_status_update *u,
                        char *msg,
                        size_t len)
{
    if (u == NULL || u->status < KLAXON_PUBLIC_INVESTIGATING ||
        u->status > KLAXON_PUBLIC_RESOLVED) {
        snprintf(msg, len,
                 "status: required: investigating, identified, monitoring or "
                 "resolved");
        return KLAXON_EINVAL;
    }
    if (check_note_text(u->message, msg, len) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    if (u->n_components > 16 ||
        (u->n_components > 0 && u->components == NULL)) {
        snprintf(msg, len, "components: at most 16");
        return KLAXON_EINVAL;
    }
    for (size_t i = 0; i < u->n_components; i++) {
        size_t n = u->components[i] != NULL ? strlen(u->components[i]) : 0;
        if (n == 0 || n > 128) {
            snprintf(msg, len, "components: each 1..128 bytes");
            return KLAXON_EINVAL;
        }
    }
    return KLAXON_OK;
}

int klaxon_status_update(klaxon_client *c,
                         uint64_t incident_id,
                         const char *by,
                         const struct klaxon_status_update *u,
                         struct klaxon_result *out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__StatusUpdateRequest sr = KLAXON__STATUS_UPDATE_REQUEST__INIT;
    Klaxon__StatusUpdate up = KLAXON__STATUS_UPDATE__INIT;
    char msg[200];

    if (begin(c, out) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    if (check_target(incident_id, by, msg, sizeof msg) != KLAXON_OK ||
        check_update(u, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    up.status = (Klaxon__PublicStatus)u->status;
    up.message = (char *)u->message;
    up.n_components = u->n_components;
    up.components = (char **)u->components;
    up.impact = (char *)(u->impact != NULL ? u->impact : "");
    sr.incident_id = incident_id;
    sr.by = (char *)by;
    sr.update = &up;
    req.op_case = KLAXON__REQUEST__OP_STATUS_UPDATE;
    req.status_update = &sr;
    return run_write(c, &req, NULL, out);
}

int klaxon_note(klaxon_client *c,
                uint64_t incident_id,
                const char *by,
                const char *text,
                struct klaxon_result *out)
{
    return incident_write(c, KLAXON__REQUEST__OP_NOTE, incident_id, by, text,
                          false, out);
}

int klaxon_ack_token(klaxon_client *c,
                     const char *token,
                     struct klaxon_result *out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__AckRequest ack = KLAXON__ACK_REQUEST__INIT;
    char msg[200];

    if (begin(c, out) != KLAXON_OK) {
        return KLAXON_EINVAL;
    }
    if (check_token(token, msg, sizeof msg) != KLAXON_OK) {
        return client_fail(c, KLAXON_EINVAL, "%s", msg);
    }
    ack.token = (char *)token;
    req.op_case = KLAXON__REQUEST__OP_ACK;
    req.ack = &ack;
    return run_write(c, &req, NULL, out);
}
