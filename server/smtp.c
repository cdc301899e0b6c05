#include "smtp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tls_stream.h"

#define FIELD_MAX 320 /* addresses, user name, password */
#define COMMAND_MAX 1100

enum state {
    ST_RESOLVE,
    ST_CONNECT,
    ST_TLS, /* smtps:// handshake */
    ST_GREETING,
    ST_EHLO,
    ST_HELO,
    ST_STARTTLS,
    ST_STARTTLS_HANDSHAKE,
    ST_AUTH_LOGIN,
    ST_AUTH_USER,
    ST_AUTH_PASS,
    ST_MAIL,
    ST_RCPT,
    ST_DATA,
    ST_END,
    ST_QUIT
};

struct smtp_session
{
    struct smtp_submission *sub;
    uv_loop_t *loop;
    enum state state;
    struct tls_stream ts; /* the connection, in the clear until TLS */
    uv_timer_t deadline;
    uv_getaddrinfo_t gai;
    uv_connect_t connect;
    struct addrinfo *addrs;
    struct addrinfo *next; /* address to try next */
    int pending;           /* handles and requests not yet finished */
    bool gai_pending;
    bool ts_open; /* ts initialised, its on_close not yet run */
    bool tls;     /* talking through TLS */
    bool implicit_tls;
    bool auth;
    bool ending; /* outcome decided, closing */
    bool ok;
    bool has_starttls;
    bool has_plain;
    bool has_login;
    bool has_8bitmime;
    bool continued; /* the reply being read has more lines */
    int code;       /* of the reply being read */
    char text[200]; /* its first line after the code */
    char host[256];
    char port[8];
    char ehlo[256];
    size_t line_len;
    char line[1024];
    char rbuf[4096];
    char connect_err[128];
    char err[256];
};

struct plain_write
{
    uv_write_t req;
    struct smtp_session *s;
    char data[];
};

static void on_reply(struct smtp_session *s);

/* --- ending -------------------------------------------------------------- */

static void maybe_done(struct smtp_session *s)
{
    struct smtp_submission *sub = s->sub;

    if (s->pending > 0) {
        return;
    }
    uv_freeaddrinfo(s->addrs);
    sub->session = NULL;
    sub->cb(sub, s->ok, s->ok ? "" : s->err);
    free(s);
}

static void deadline_closed(uv_handle_t *h)
{
    struct smtp_session *s = h->data;
    s->pending--;
    maybe_done(s);
}

/* Decide the outcome and close everything; the callback runs from the
 * last close (the deadline timer is always among them). */
static void finish(struct smtp_session *s, bool ok)
{
    if (s->ending) {
        return;
    }
    s->ending = true;
    s->ok = ok;
    uv_close((uv_handle_t *)&s->deadline, deadline_closed);
    if (s->gai_pending) {
        (void)uv_cancel((uv_req_t *)&s->gai);
    }
    if (s->ts_open) {
        if (ok) {
            tls_stream_close(&s->ts);
        } else {
            tls_stream_abort(&s->ts, NULL);
        }
    }
}

__attribute__((format(printf, 2, 3))) static void fail(struct smtp_session *s,
                                                       const char *fmt,
                                                       ...)
{
    va_list ap;

    if (s->ending) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    finish(s, false);
}

static void fail_reply(struct smtp_session *s, const char *stage)
{
    fail(s, "%s: %d %s", stage, s->code, s->text);
}

static void deadline_cb(uv_timer_t *t)
{
    struct smtp_session *s = t->data;
    fail(s, "timeout after %llu ms", (unsigned long long)s->sub->timeout_ms);
}

/* --- sending ------------------------------------------------------------- */

static void plain_written(uv_write_t *req, int status)
{
    struct plain_write *w = req->data;
    struct smtp_session *s = w->s;
    char buf[128];

    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        fail(s, "write: %s", strerror_r(-status, buf, sizeof buf));
    }
}

static void send_bytes(struct smtp_session *s, const char *data, size_t len)
{
    struct plain_write *w;
    uv_buf_t buf;
    int rv;

    if (s->tls) {
        if (tls_stream_write(&s->ts, data, len) != 0) {
            fail(s, "write: %s",
                 s->ts.errmsg[0] != '\0' ? s->ts.errmsg : "connection closed");
        }
        return;
    }
    w = malloc(sizeof *w + len);
    if (w == NULL) {
        fail(s, "out of memory");
        return;
    }
    memcpy(w->data, data, len);
    w->s = s;
    w->req.data = w;
    buf = uv_buf_init(w->data, (unsigned)len);
    rv = uv_write(&w->req, (uv_stream_t *)&s->ts.tcp, &buf, 1, plain_written);
    if (rv != 0) {
        free(w);
        fail(s, "write: %s", uv_strerror(rv));
    }
}

__attribute__((format(printf, 2, 3))) static void
send_command(struct smtp_session *s, const char *fmt, ...)
{
    char line[COMMAND_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2) {
        fail(s, "command too long");
        return;
    }
    memcpy(line + n, "\r\n", 2);
    send_bytes(s, line, (size_t)n + 2);
}

/* The message, a line starting with "." doubled, then the end mark. */
static void send_message(struct smtp_session *s)
{
    const char *m = s->sub->message;
    size_t len = s->sub->message_len;
    size_t n = 0;
    char *buf = malloc(2 * len + 6);

    if (buf == NULL) {
        fail(s, "out of memory");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '.' && (i == 0 || m[i - 1] == '\n')) {
            buf[n++] = '.';
        }
        buf[n++] = m[i];
    }
    if (n > 0 && (n < 2 || buf[n - 2] != '\r' || buf[n - 1] != '\n')) {
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    memcpy(buf + n, ".\r\n", 3);
    send_bytes(s, buf, n + 3);
    free(buf);
}

static void send_base64(struct smtp_session *s,
                        const char *prefix,
                        const char *data,
                        size_t len)
{
    unsigned char out[4 * ((2 * FIELD_MAX + 2 + 2) / 3) + 1];
    EVP_EncodeBlock(out, (const unsigned char *)data, (int)len);
    send_command(s, "%s%s", prefix, (const char *)out);
}

/* --- conversation -------------------------------------------------------- */

static void send_ehlo(struct smtp_session *s)
{
    s->has_starttls = false;
    s->has_plain = false;
    s->has_login = false;
    s->has_8bitmime = false;
    s->state = ST_EHLO;
    send_command(s, "EHLO %s", s->ehlo);
}

static void start_mail(struct smtp_session *s)
{
    s->state = ST_MAIL;
    send_command(s, "MAIL FROM:<%s>%s", s->sub->from,
                 s->has_8bitmime ? " BODY=8BITMIME" : "");
}

/* AUTH PLAIN with the credentials in the first command, or LOGIN. */
static void start_auth(struct smtp_session *s)
{
    const char *user = s->sub->username;
    const char *pass = s->sub->password != NULL ? s->sub->password : "";
    char plain[2 * FIELD_MAX + 2];
    size_t ul = strlen(user);
    size_t pl = strlen(pass);

    if (s->has_plain) {
        plain[0] = '\0';
        memcpy(plain + 1, user, ul);
        plain[1 + ul] = '\0';
        memcpy(plain + 2 + ul, pass, pl);
        s->state = ST_AUTH_PASS;
        send_base64(s, "AUTH PLAIN ", plain, ul + pl + 2);
    } else if (s->has_login) {
        s->state = ST_AUTH_LOGIN;
        send_command(s, "AUTH LOGIN");
    } else {
        fail(s, "relay offers no AUTH PLAIN or LOGIN");
    }
}

static void on_tls_data(struct tls_stream *ts, const uint8_t *data, size_t len);
static void ts_closed(struct tls_stream *ts);

static void on_handshake(struct tls_stream *ts)
{
    struct smtp_session *s = ts->data;

    s->tls = true;
    if (s->state == ST_TLS) {
        s->state = ST_GREETING; /* smtps: the greeting comes over TLS */
        return;
    }
    send_ehlo(s);
}

static void start_tls(struct smtp_session *s, enum state state)
{
    uint64_t t = s->sub->timeout_ms;

    (void)uv_read_stop((uv_stream_t *)&s->ts.tcp);
    s->state = state;
    tls_stream_start(&s->ts, t > UINT32_MAX ? UINT32_MAX : (unsigned)t, 0,
                     on_handshake, on_tls_data, ts_closed);
}

static void after_ehlo(struct smtp_session *s)
{
    if (!s->tls && s->has_starttls) {
        s->state = ST_STARTTLS;
        send_command(s, "STARTTLS");
    } else if (!s->tls && s->auth) {
        fail(s, "relay does not offer STARTTLS");
    } else if (s->auth) {
        start_auth(s);
    } else {
        start_mail(s);
    }
}

static void on_starttls(struct smtp_session *s)
{
    if (s->code == 220) {
        start_tls(s, ST_STARTTLS_HANDSHAKE);
    } else if (s->auth) {
        fail_reply(s, "STARTTLS");
    } else {
        start_mail(s); /* TLS when offered, not required */
    }
}

static void on_ehlo(struct smtp_session *s)
{
    if (s->code == 250) {
        after_ehlo(s);
    } else if (!s->tls && !s->auth) {
        s->state = ST_HELO;
        send_command(s, "HELO %s", s->ehlo);
    } else {
        fail_reply(s, "EHLO");
    }
}

static void on_auth(struct smtp_session *s)
{
    const char *user = s->sub->username;
    const char *pass = s->sub->password != NULL ? s->sub->password : "";

    if (s->state == ST_AUTH_LOGIN && s->code == 334) {
        s->state = ST_AUTH_USER;
        send_base64(s, "", user, strlen(user));
    } else if (s->state == ST_AUTH_USER && s->code == 334) {
        s->state = ST_AUTH_PASS;
        send_base64(s, "", pass, strlen(pass));
    } else if (s->state == ST_AUTH_PASS && s->code == 235) {
        start_mail(s);
    } else {
        fail_reply(s, "AUTH");
    }
}

static void on_end(struct smtp_session *s)
{
    if (s->code != 250) {
        fail_reply(s, "end of data");
        return;
    }
    s->state = ST_QUIT;
    send_command(s, "QUIT"); /* the answer is not awaited */
    finish(s, true);
}

/* Expect code, then send the next command, or fail naming the stage. */
static bool expect(struct smtp_session *s, int code, const char *stage)
{
    if (s->code != code) {
        fail_reply(s, stage);
        return false;
    }
    return true;
}

static void on_reply(struct smtp_session *s)
{
    switch (s->state) {
        case ST_GREETING:
            if (expect(s, 220, "greeting")) {
                send_ehlo(s);
            }
            break;
        case ST_EHLO:
            on_ehlo(s);
            break;
        case ST_HELO:
            if (expect(s, 250, "HELO")) {
                start_mail(s);
            }
            break;
        case ST_STARTTLS:
            on_starttls(s);
            break;
        case ST_AUTH_LOGIN:
        case ST_AUTH_USER:
        case ST_AUTH_PASS:
            on_auth(s);
            break;
        case ST_MAIL:
            if (expect(s, 250, "MAIL FROM")) {
                s->state = ST_RCPT;
                send_command(s, "RCPT TO:<%s>", s->sub->rcpt);
            }
            break;
        case ST_RCPT:
            if (s->code == 251 || expect(s, 250, "RCPT TO")) {
                s->state = ST_DATA;
                send_command(s, "DATA");
            }
            break;
        case ST_DATA:
            if (expect(s, 354, "DATA")) {
                s->state = ST_END;
                send_message(s);
            }
            break;
        case ST_END:
            on_end(s);
            break;
        default:
            break; /* nothing asked */
    }
}

/* --- replies ------------------------------------------------------------- */

static void ehlo_keyword(struct smtp_session *s, const char *kw)
{
    char buf[256];
    char *save = NULL;

    if (strcasecmp(kw, "STARTTLS") == 0) {
        s->has_starttls = true;
    } else if (strcasecmp(kw, "8BITMIME") == 0) {
        s->has_8bitmime = true;
    } else if (strncasecmp(kw, "AUTH", 4) == 0 &&
               (kw[4] == ' ' || kw[4] == '=')) {
        snprintf(buf, sizeof buf, "%s", kw + 5);
        for (char *m = strtok_r(buf, " =", &save); m != NULL;
             m = strtok_r(NULL, " =", &save)) {
            s->has_plain |= strcasecmp(m, "PLAIN") == 0;
            s->has_login |= strcasecmp(m, "LOGIN") == 0;
        }
    }
}

static void reply_line(struct smtp_session *s, const char *line)
{
    size_t len = strlen(line);
    int code;

    if (len < 3 || !isdigit((unsigned char)line[0]) ||
        !isdigit((unsigned char)line[1]) || !isdigit((unsigned char)line[2]) ||
        (len > 3 && line[3] != ' ' && line[3] != '-')) {
        fail(s, "bad reply from the relay: %.80s", line);
        return;
    }
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!s->continued) {
        s->code = code;
        snprintf(s->text, sizeof s->text, "%s", len > 4 ? line + 4 : "");
    }
    if (s->state == ST_EHLO && len > 4) {
        ehlo_keyword(s, line + 4);
    }
    s->continued = len > 3 && line[3] == '-';
    if (!s->continued) {
        on_reply(s);
    }
}

/* Bytes from the relay, in the clear or decrypted. After the answer to
 * STARTTLS, whatever else came in the clear is dropped. */
static void feed(struct smtp_session *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len && !s->ending; i++) {
        if (data[i] != '\n') {
            if (s->line_len < sizeof s->line - 1) {
                s->line[s->line_len++] = data[i];
            }
            continue;
        }
        if (s->line_len > 0 && s->line[s->line_len - 1] == '\r') {
            s->line_len--;
        }
        s->line[s->line_len] = '\0';
        s->line_len = 0;
        reply_line(s, s->line);
        if (s->state == ST_STARTTLS_HANDSHAKE && !s->tls) {
            return;
        }
    }
}

static void on_tls_data(struct tls_stream *ts, const uint8_t *data, size_t len)
{
    feed(ts->data, (const char *)data, len);
}

static void plain_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct smtp_session *s = ((struct tls_stream *)h->data)->data;
    (void)suggested;
    *buf = uv_buf_init(s->rbuf, sizeof s->rbuf);
}

static void plain_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct smtp_session *s = ((struct tls_stream *)stream->data)->data;

    if (s->ending) {
        return;
    }
    if (n < 0) {
        fail(s, "%s",
             n == UV_EOF ? "connection closed by the relay"
                         : uv_strerror((int)n));
        return;
    }
    feed(s, buf->base, (size_t)n);
}

/* --- connecting ---------------------------------------------------------- */

static void connect_next(struct smtp_session *s);

static void ts_closed(struct tls_stream *ts)
{
    struct smtp_session *s = ts->data;

    s->ts_open = false;
    s->pending--;
    if (!s->ending && s->state == ST_CONNECT) {
        connect_next(s);
    } else if (!s->ending) {
        fail(s, "%s%s",
             s->state == ST_STARTTLS_HANDSHAKE ? "STARTTLS: "
             : s->state == ST_TLS              ? "TLS: "
                                               : "",
             ts->errmsg[0] != '\0' ? ts->errmsg : "connection closed");
    }
    maybe_done(s);
}

static void connect_failed(struct smtp_session *s, int status)
{
    char buf[128];
    snprintf(s->connect_err, sizeof s->connect_err, "connect: %s",
             strerror_r(-status, buf, sizeof buf));
    tls_stream_abort(&s->ts, NULL); /* ts_closed tries the next address */
}

static void connected(uv_connect_t *req, int status)
{
    struct smtp_session *s = req->data;
    int rv;

    if (s->ending) {
        return;
    }
    if (status != 0) {
        connect_failed(s, status);
        return;
    }
    if (s->implicit_tls) {
        start_tls(s, ST_TLS);
        return;
    }
    s->state = ST_GREETING;
    rv = uv_read_start((uv_stream_t *)&s->ts.tcp, plain_alloc, plain_read);
    if (rv != 0) {
        fail(s, "read: %s", uv_strerror(rv));
    }
}

/* The certificate must name the host of the URL. */
static int expect_peer(struct smtp_session *s)
{
    SSL *ssl = s->ts.ssl;
    unsigned char addr[16];

    if (inet_pton(AF_INET, s->host, addr) == 1 ||
        inet_pton(AF_INET6, s->host, addr) == 1) {
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->host) == 1
                   ? 0
                   : -1;
    }
    if (SSL_set_tlsext_host_name(ssl, s->host) != 1 ||
        SSL_set1_host(ssl, s->host) != 1) {
        return -1;
    }
    return 0;
}

static void connect_next(struct smtp_session *s)
{
    struct addrinfo *ai = s->next;
    int rv;

    if (ai == NULL) {
        fail(s, "%s", s->connect_err);
        return;
    }
    s->next = ai->ai_next;
    s->ts.data = s;
    if (tls_stream_init(&s->ts, s->loop, s->sub->tls, false) != 0) {
        ERR_clear_error();
        fail(s, "TLS: cannot set up a connection");
        return;
    }
    s->ts.on_close = ts_closed;
    s->ts_open = true;
    s->pending++;
    if (expect_peer(s) != 0) {
        ERR_clear_error();
        fail(s, "TLS: cannot verify host name %s", s->host);
        return;
    }
    s->connect.data = s;
    rv = uv_tcp_connect(&s->connect, &s->ts.tcp, ai->ai_addr, connected);
    if (rv != 0) {
        connect_failed(s, rv);
    }
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct smtp_session *s = req->data;

    s->gai_pending = false;
    s->pending--;
    if (s->ending) {
        uv_freeaddrinfo(ai);
    } else if (status < 0) {
        fail(s, "resolve %s: %s", s->host, uv_strerror(status));
    } else {
        s->addrs = ai;
        s->next = ai;
        s->state = ST_CONNECT;
        snprintf(s->connect_err, sizeof s->connect_err, "connect: no address");
        connect_next(s);
    }
    maybe_done(s);
}

/* --- start --------------------------------------------------------------- */

/* smtp://host[:port] or smtps://host[:port], host a name, an IPv4 address
 * or an IPv6 address in brackets; a path is ignored. */
static int parse_url(struct smtp_session *s, const char *url)
{
    const char *p;
    const char *end;
    const char *host;
    const char *after;
    size_t hl;

    if (strncasecmp(url, "smtps://", 8) == 0) {
        s->implicit_tls = true;
        p = url + 8;
    } else if (strncasecmp(url, "smtp://", 7) == 0) {
        p = url + 7;
    } else {
        return -1;
    }
    end = p + strcspn(p, "/?#");
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL) {
            return -1;
        }
        host = p + 1;
        hl = (size_t)(close - host);
        after = close + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host = p;
        after = colon != NULL ? colon : end;
        hl = (size_t)(after - host);
    }
    if (hl == 0 || hl >= sizeof s->host || memchr(host, '@', hl) != NULL) {
        return -1;
    }
    memcpy(s->host, host, hl);
    s->host[hl] = '\0';
    if (after == end) {
        snprintf(s->port, sizeof s->port, "%s", s->implicit_tls ? "465" : "25");
        return 0;
    }
    if (*after != ':' || end - after < 2 || end - after > 6 ||
        strspn(after + 1, "0123456789") < (size_t)(end - after - 1)) {
        return -1;
    }
    memcpy(s->port, after + 1, (size_t)(end - after - 1));
    s->port[end - after - 1] = '\0';
    return atoi(s->port) > 0 && atoi(s->port) < 65536 ? 0 : -1;
}

/* Our name in EHLO: the host name when it is a plain DNS name. */
static void ehlo_name(struct smtp_session *s)
{
    if (gethostname(s->ehlo, sizeof s->ehlo) != 0 || s->ehlo[0] == '\0' ||
        s->ehlo[strspn(s->ehlo,
                       "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")] != '\0') {
        snprintf(s->ehlo, sizeof s->ehlo, "localhost");
    }
}

static int check(const struct smtp_submission *sub, char *err, size_t errlen)
{
    const char *fields[] = {sub->from, sub->rcpt, sub->username, sub->password};

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i] != NULL && (strlen(fields[i]) > FIELD_MAX ||
                                  strpbrk(fields[i], "\r\n") != NULL)) {
            snprintf(err, errlen, "SMTP: bad %s",
                     i < 2 ? "address" : "credentials");
            return -1;
        }
    }
    if (sub->from == NULL || sub->rcpt == NULL || sub->tls == NULL ||
        sub->cb == NULL || sub->timeout_ms == 0) {
        snprintf(err, errlen, "SMTP: incomplete submission");
        return -1;
    }
    return 0;
}

int smtp_submit(uv_loop_t *loop,
                struct smtp_submission *sub,
                char *err,
                size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct smtp_session *s;
    int rv;

    if (check(sub, err, errlen) != 0) {
        return -1;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "SMTP: out of memory");
        return -1;
    }
    if (sub->url == NULL || parse_url(s, sub->url) != 0) {
        snprintf(err, errlen, "SMTP: bad relay URL %s",
                 sub->url != NULL ? sub->url : "(none)");
        free(s);
        return -1;
    }
    s->sub = sub;
    s->loop = loop;
    s->auth = sub->username != NULL && sub->username[0] != '\0';
    ehlo_name(s);
    sub->session = s;
    /* From here on, failures are reported through the callback. */
    if (uv_timer_init(loop, &s->deadline) != 0) {
        abort(); /* only links the handle into the loop */
    }
    s->deadline.data = s;
    s->pending = 1;
    rv = uv_timer_start(&s->deadline, deadline_cb, sub->timeout_ms, 0);
    if (rv != 0) {
        fail(s, "timer: %s", uv_strerror(rv));
        return 0;
    }
    s->gai.data = s;
    rv = uv_getaddrinfo(loop, &s->gai, resolved, s->host, s->port, &hints);
    if (rv != 0) {
        fail(s, "resolve %s: %s", s->host, uv_strerror(rv));
        return 0;
    }
    s->gai_pending = true;
    s->pending++;
    return 0;
}

void smtp_cancel(struct smtp_submission *sub, const char *why)
{
    if (sub->session != NULL) {
        fail(sub->session, "%s", why);
    }
}

SSL_CTX *smtp_tls_context(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        snprintf(err, errlen, "SMTP TLS: %s",
                 ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "SMTP TLS: cannot load the trust store");
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}
