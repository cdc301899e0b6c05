/*
 * E-mail: the message is built here (header fields checked for line
 * breaks) and handed to the relay by the SMTP client (smtp.c).
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver_int.h"
#include "smtp.h"

#define SUBJECT_WORD 45 /* raw bytes per RFC 2047 encoded word */
#define FIELD_MAX 320   /* addresses */
#define KEY_MAX 256
#define BODY_MAX (8 << 20) /* relays refuse more long before */

struct email_job
{
    struct smtp_submission sub;
    struct delivery *req;
    char *message;
};

/* --- growing text buffer ------------------------------------------------- */

struct text
{
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->oom) {
        return;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 1024;
        char *p;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        p = realloc(t->p, cap);
        if (p == NULL) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void text_printf(struct text *t,
                                                              const char *fmt,
                                                              ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof small) {
        t->oom = true; /* only short header lines are formatted */
        return;
    }
    text_add(t, small, (size_t)n);
}

/* --- message ------------------------------------------------------------- */

static void add_date(struct text *t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL) {
        t->oom = true;
        return;
    }
    text_printf(t, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool is_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80) {
            return false;
        }
    }
    return true;
}

/* Subject as RFC 2047 encoded words when it is not ASCII; a word never
 * splits a UTF-8 sequence. */
static void add_subject(struct text *t, const char *subject)
{
    size_t len = strlen(subject);
    size_t off = 0;

    text_str(t, "Subject:");
    if (is_ascii(subject)) {
        text_str(t, " ");
        text_str(t, subject);
        text_str(t, "\r\n");
        return;
    }
    while (off < len) {
        unsigned char b64[4 * ((SUBJECT_WORD + 2) / 3) + 1];
        size_t n = len - off < SUBJECT_WORD ? len - off : SUBJECT_WORD;
        while (off + n < len && n > 1 &&
               ((unsigned char)subject[off + n] & 0xC0) == 0x80) {
            n--;
        }
        EVP_EncodeBlock(b64, (const unsigned char *)subject + off, (int)n);
        text_printf(t, "%s=?UTF-8?B?%s?=", off > 0 ? "\r\n " : " ", b64);
        off += n;
    }
    text_str(t, "\r\n");
}

/* The Message-ID is the idempotency key, so that a retried attempt is the
 * same message to the recipient's software. */
static void add_message_id(struct text *t, const char *key, const char *from)
{
    const char *at = strrchr(from, '@');
    const char *domain = at != NULL && at[1] != '\0' ? at + 1 : "klaxon";

    text_str(t, "Message-ID: <");
    for (const char *c = key; *c != '\0'; c++) {
        bool atext = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') ||
                     strchr("!#$%&'*+-/=?^_`{|}~.", *c) != NULL;
        text_add(t, atext ? c : "-", 1);
    }
    text_printf(t, "@%.*s>\r\n", (int)strcspn(domain, ">"), domain);
}

/* The body with every line ending made CRLF; the SMTP client does the dot
 * stuffing. */
static void add_body(struct text *t, const char *body, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (body[i] != '\r' && body[i] != '\n') {
            continue;
        }
        text_add(t, body + start, i - start);
        text_str(t, "\r\n");
        if (body[i] == '\r' && i + 1 < len && body[i + 1] == '\n') {
            i++;
        }
        start = i + 1;
    }
    text_add(t, body + start, len - start);
    if (len > start) {
        text_str(t, "\r\n");
    }
}

static char *build_message(const struct delivery *req, size_t *len)
{
    struct text t = {0};

    add_date(&t);
    text_printf(&t, "From: %s\r\n", req->smtp->from);
    text_printf(&t, "To: %s\r\n", req->address);
    add_subject(&t, req->subject != NULL ? req->subject : "");
    add_message_id(&t, req->idempotency_key, req->smtp->from);
    text_printf(&t, "X-Klaxon-Idempotency-Key: %s\r\n", req->idempotency_key);
    text_str(&t,
             "MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n"
             "Auto-Submitted: auto-generated\r\n"
             "\r\n");
    add_body(&t, req->body != NULL ? req->body : "", req->body_len);
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

/* --- submission ---------------------------------------------------------- */

static bool has_crlf(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static int check(const struct delivery *req, char *err, size_t errlen)
{
    const struct smtp_settings *s = req->smtp;

    if (s == NULL || s->url == NULL || s->from == NULL || s->from[0] == '\0') {
        snprintf(err, errlen, "email: no SMTP relay configured");
        return -1;
    }
    if (has_crlf(req->address) || has_crlf(req->subject) || has_crlf(s->from) ||
        has_crlf(req->idempotency_key)) {
        snprintf(err, errlen,
                 "email: line break in the address, sender, subject or "
                 "idempotency key");
        return -1;
    }
    if (strlen(req->address) > FIELD_MAX || strlen(s->from) > FIELD_MAX ||
        strlen(req->idempotency_key) > KEY_MAX) {
        snprintf(err, errlen, "email: address or idempotency key too long");
        return -1;
    }
    if (req->body_len > BODY_MAX) {
        snprintf(err, errlen, "email: body larger than %d bytes", BODY_MAX);
        return -1;
    }
    return 0;
}

static void sent(struct smtp_submission *sub, bool ok, const char *err)
{
    struct email_job *j = sub->data;
    struct delivery *req = j->req;

    if (!ok && req->err[0] == '\0') {
        snprintf(req->err, sizeof req->err, "%s", err);
    }
    free(j->message);
    free(j);
    req->impl = NULL;
    deliver_finish(req, ok);
}

int deliver_email_start(struct deliverer *d,
                        struct delivery *req,
                        char *err,
                        size_t errlen)
{
    const struct smtp_settings *s = req->smtp;
    struct email_job *j;

    if (check(req, err, errlen) != 0) {
        return -1;
    }
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        snprintf(err, errlen, "email: out of memory");
        return -1;
    }
    j->message = build_message(req, &j->sub.message_len);
    if (j->message == NULL) {
        snprintf(err, errlen, "email: out of memory");
        goto err_after_job;
    }
    j->req = req;
    j->sub.url = s->url;
    j->sub.username = s->username;
    j->sub.password = s->password;
    j->sub.from = s->from;
    j->sub.rcpt = req->address;
    j->sub.message = j->message;
    j->sub.timeout_ms = req->timeout_ms;
    j->sub.tls = d->smtp_tls;
    j->sub.cb = sent;
    j->sub.data = j;
    if (smtp_submit(d->loop, &j->sub, err, errlen) != 0) {
        goto err_after_message;
    }
    req->impl = j;
    return 0;

err_after_message:
    free(j->message);
err_after_job:
    free(j);
    return -1;
}

void deliver_email_abort(struct delivery *req)
{
    struct email_job *j = req->impl;
    smtp_cancel(&j->sub, req->err);
}
