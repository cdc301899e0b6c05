#include "page_message.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oncall_config.h"
#include "token.h"
#include "tz.h"

static const char *const kinds[] = {"incident", "reminder", "handoff"};
static const char *const statuses[] = {"unknown", "triggered", "acknowledged",
                                       "resolved"};

static const char *kind_name(Klaxon__PageKind k)
{
    return (unsigned)k < 3 ? kinds[k] : "incident";
}

static json_t *time_json(uint64_t ms)
{
    char buf[40];
    instant_format_utc((int64_t)ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *incident_json(const Klaxon__Incident *inc)
{
    json_t *details = json_object();
    json_t *o;

    for (size_t i = 0; details != NULL && i < inc->n_details; i++) {
        json_object_set_new(details, inc->details[i]->key,
                            json_string(inc->details[i]->value));
    }
    o = json_pack("{s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:i, s:s, s:o*}",
                  "id", (json_int_t)inc->id, "service", inc->service,
                  "severity", (int)inc->severity, "summary", inc->summary,
                  "source", inc->source, "dedup_key", inc->dedup_key, "status",
                  statuses[(unsigned)inc->status < 4 ? inc->status : 0],
                  "created", time_json(inc->created_ms), "alert_count",
                  (int)inc->alert_count, "commander", inc->commander, "details",
                  details);
    return o;
}

/* The acknowledgement part; NULL when no token can be made. */
static json_t *ack_json(const Klaxon__Page *p,
                        const Klaxon__OncallConfig *cfg,
                        const struct apply_env *env,
                        char *cmd,
                        size_t cmd_len)
{
    const Klaxon__Notifications *nt = cfg->notifications;
    uint64_t ttl = nt != NULL && nt->token_ttl_ms != 0 ? nt->token_ttl_ms
                                                       : TOKEN_TTL_DEFAULT_MS;
    struct ack_token t = {p->incident_id, p->created_ms + ttl, p->id, ""};
    char token[TOKEN_MAX];
    char url[TOKEN_MAX + 1100] = "";

    snprintf(t.user, sizeof t.user, "%s", p->user);
    if (!env->has_secret ||
        token_make(env->secret, SECRET_LEN, &t, token, sizeof token) != 0) {
        return NULL;
    }
    snprintf(cmd, cmd_len, "klaxonctl ack --token %s", token);
    if (nt != NULL && nt->ack_url[0] != '\0') {
        snprintf(url, sizeof url, "%s%stoken=%s", nt->ack_url,
                 strchr(nt->ack_url, '?') != NULL ? "&" : "?", token);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "token", token, "command", cmd,
                     "url", url, "expires", time_json(t.expires_ms));
}

static char *subject_of(const Klaxon__Page *p, const Klaxon__Incident *inc)
{
    char start[40];
    char end[40];
    char *s = NULL;
    int rv;

    if (p->kind == KLAXON__PAGE_KIND__PAGE_HANDOFF || inc == NULL) {
        instant_format_utc((int64_t)p->shift_start_ms, start, sizeof start);
        instant_format_utc((int64_t)p->shift_end_ms, end, sizeof end);
        rv = asprintf(&s, "[klaxon] you are on call for %s from %s until %s",
                      p->schedule, start, end);
    } else if (p->kind == KLAXON__PAGE_KIND__PAGE_REMINDER) {
        rv = asprintf(&s,
                      "[klaxon] post a status update: incident %llu, Sev%u "
                      "%s: %s",
                      (unsigned long long)inc->id, inc->severity, inc->service,
                      inc->summary);
    } else {
        rv = asprintf(&s, "[klaxon] Sev%u %s: %s (incident %llu, level %u)",
                      inc->severity, inc->service, inc->summary,
                      (unsigned long long)inc->id, p->level);
    }
    return rv < 0 ? NULL : s;
}

static char *text_of(const char *subject,
                     const Klaxon__Incident *inc,
                     const char *ack_cmd)
{
    char *s = NULL;
    int rv;

    if (inc == NULL) {
        rv = asprintf(&s, "%s\n", subject);
    } else {
        rv = asprintf(&s,
                      "%s\n\nService: %s\nSeverity: Sev%u\nSource: %s\n"
                      "Alerts: %u\n%s%s\n",
                      subject, inc->service, inc->severity, inc->source,
                      inc->alert_count,
                      ack_cmd[0] != '\0' ? "\nAcknowledge: " : "", ack_cmd);
    }
    return rv < 0 ? NULL : s;
}

static json_t *document(const Klaxon__Page *p,
                        const Klaxon__Incident *inc,
                        const Klaxon__OncallConfig *cfg,
                        const struct page_message *m,
                        json_t *ack)
{
    const Klaxon__User *u = oncall_user(cfg, p->user);
    json_t *o = json_pack(
        "{s:s, s:I, s:s, s:s, s:{s:s, s:s}, s:i, s:i, s:s, s:I}", "type",
        kind_name(p->kind), "page_id", (json_int_t)p->id, "idempotency_key",
        m->idempotency_key, "text", m->subject, "user", "id", p->user, "name",
        u != NULL && u->name[0] != '\0' ? u->name : p->user, "level",
        (int)p->level, "repeat", (int)p->loop, "schedule", p->schedule,
        "sent_ms", (json_int_t)m->sent_ms);

    if (o == NULL) {
        json_decref(ack);
        return NULL;
    }
    if (inc != NULL) {
        json_object_set_new(o, "incident", incident_json(inc));
    }
    if (ack != NULL) {
        json_object_set_new(o, "acknowledge", ack);
    }
    if (p->kind == KLAXON__PAGE_KIND__PAGE_HANDOFF) {
        json_object_set_new(
            o, "shift",
            json_pack("{s:o, s:o}", "start", time_json(p->shift_start_ms),
                      "end", time_json(p->shift_end_ms)));
    }
    return o;
}

int page_message_build(const Klaxon__Page *p,
                       const Klaxon__Incident *inc,
                       const Klaxon__OncallConfig *cfg,
                       const struct apply_env *env,
                       uint64_t sent_ms,
                       struct page_message *out)
{
    char ack_cmd[TOKEN_MAX + 64] = "";
    json_t *ack = NULL;
    json_t *doc;

    memset(out, 0, sizeof *out);
    out->sent_ms = sent_ms;
    token_page_key(env->cluster_id, CLUSTER_ID_LEN, p->id, out->idempotency_key,
                   sizeof out->idempotency_key);
    if (inc != NULL && p->kind != KLAXON__PAGE_KIND__PAGE_HANDOFF) {
        ack = ack_json(p, cfg, env, ack_cmd, sizeof ack_cmd);
    }
    out->subject = subject_of(p, inc);
    out->text =
        out->subject != NULL ? text_of(out->subject, inc, ack_cmd) : NULL;
    if (out->text != NULL) {
        doc = document(p, inc, cfg, out, ack); /* takes ack */
    } else {
        json_decref(ack);
        doc = NULL;
    }
    out->json = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (out->json == NULL) {
        page_message_free(out);
        return -1;
    }
    return 0;
}

void page_message_free(struct page_message *m)
{
    free(m->json);
    free(m->subject);
    free(m->text);
    m->json = m->subject = m->text = NULL;
}
