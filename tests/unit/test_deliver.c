/*
 * Page delivery (server/deliver*.c, server/curl_uv.c) on a real loop:
 * webhooks and e-mail to deploy/page-receiver.py on 127.0.0.1 (started as a
 * child process; KLAXON_SRC names the source tree, default "."), programs
 * written to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver.h"
#include "klaxon.h"

#define WAIT_MS 10000   /* longest wait for anything */
#define MAX_RECEIVERS 2 /* per test, besides the shared one */
#define N_CONCURRENT 50
#define SLOW_MS 600 /* receiver delay in the concurrency test */

extern char **environ;

struct receiver
{
    pid_t pid;
    int http_port;
    int smtp_port;
    int smtps_port; /* with --tls-cert */
    char out[PATH_MAX];
};

struct fixture;

struct attempt
{
    struct delivery req;
    struct fixture *f;
    struct smtp_settings smtp;
    char address[PATH_MAX];
    char key[64];
    char *args[2];
    char smtp_url[128];
    int calls;
    bool ok;
    char err[256];
    uint64_t start_ns;
    uint64_t done_ns;
};

struct fixture
{
    uv_loop_t loop;
    struct deliverer d;
    uv_timer_t tick; /* wakes the loop so waits stay bounded */
    int done;        /* callbacks so far */
    int closed;      /* close callbacks so far */
    int done_at_close;
    struct receiver rx[MAX_RECEIVERS];
    int n_rx;
};

static char tmpdir[] = "/tmp/klaxon-test-deliver-XXXXXX";
static struct receiver shared; /* answers 200 at once */
static int receiver_seq;

/* --- files and programs -------------------------------------------------- */

static void path_in_tmp(char *buf, size_t len, const char *name)
{
    assert_true((size_t)snprintf(buf, len, "%s/%s", tmpdir, name) < len);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    size_t len = strlen(text);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* The file's contents (NUL-terminated, malloc'd), or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL) {
        return NULL;
    }
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

static void write_program(const char *name, const char *script)
{
    char path[PATH_MAX];
    path_in_tmp(path, sizeof path, name);
    write_file(path, script, 0755);
}

static const char *sleep_path(void)
{
    return access("/bin/sleep", X_OK) == 0 ? "/bin/sleep" : "/usr/bin/sleep";
}

static int remove_entry(const char *path,
                        const struct stat *st,
                        int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* --- the receiver -------------------------------------------------------- */

static int read_line(int fd, char *buf, size_t len)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (n + 1 < len) {
        if (poll(&p, 1, WAIT_MS) != 1 || read(fd, buf + n, 1) != 1) {
            return -1;
        }
        if (buf[n] == '\n') {
            break;
        }
        n++;
    }
    buf[n] = '\0';
    return 0;
}

static pid_t spawn_receiver(const char *out, const char *const *extra, int *fd)
{
    const char *src = getenv("KLAXON_SRC");
    char script[PATH_MAX];
    const char *argv[16] = {"python3", script, "--out", out};
    int n = 4;
    posix_spawn_file_actions_t fa;
    int pipefd[2];
    pid_t pid;

    snprintf(script, sizeof script, "%s/deploy/page-receiver.py",
             src != NULL ? src : ".");
    assert_int_equal(access(script, R_OK), 0);
    for (; extra != NULL && *extra != NULL; extra++) {
        argv[n++] = *extra;
    }
    argv[n] = NULL;
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1), 0);
    assert_int_equal(
        posix_spawnp(&pid, "python3", &fa, NULL, (char *const *)argv, environ),
        0);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    *fd = pipefd[0];
    return pid;
}

static void receiver_start(struct receiver *r, const char *const *extra)
{
    char name[32];
    char line[128];
    int fd;

    snprintf(name, sizeof name, "receiver-%d.jsonl", receiver_seq++);
    path_in_tmp(r->out, sizeof r->out, name);
    r->pid = spawn_receiver(r->out, extra, &fd);
    assert_int_equal(read_line(fd, line, sizeof line), 0);
    close(fd);
    assert_true(sscanf(line, "http=%d smtp=%d smtps=%d", &r->http_port,
                       &r->smtp_port, &r->smtps_port) >= 2);
}

static void receiver_stop(struct receiver *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

/* A receiver with options for this test, stopped at teardown. */
static struct receiver *receiver(struct fixture *f, const char *const *extra)
{
    struct receiver *r;
    assert_true(f->n_rx < MAX_RECEIVERS);
    r = &f->rx[f->n_rx++];
    receiver_start(r, extra);
    return r;
}

/* Every record so far, as a JSON array. */
static json_t *records(const struct receiver *r)
{
    json_t *all = json_array();
    char *text = read_file(r->out, NULL);
    char *save = NULL;

    if (text == NULL) {
        return all;
    }
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *rec = json_loads(line, 0, NULL);
        assert_non_null(rec);
        json_array_append_new(all, rec);
    }
    free(text);
    return all;
}

/* The record whose field has the value, or NULL. */
static json_t *find(json_t *all, const char *field, const char *value)
{
    size_t i;
    json_t *rec;

    json_array_foreach(all, i, rec)
    {
        const char *v = json_string_value(json_object_get(rec, field));
        if (v != NULL && strcmp(v, value) == 0) {
            return rec;
        }
    }
    return NULL;
}

/* The e-mail record carrying the idempotency key, or NULL. */
static json_t *find_email(json_t *all, const char *key)
{
    char header[128];
    size_t i;
    json_t *rec;

    snprintf(header, sizeof header, "\r\nX-Klaxon-Idempotency-Key: %s\r\n",
             key);
    json_array_foreach(all, i, rec)
    {
        const char *data = json_string_value(json_object_get(rec, "data"));
        if (data != NULL && strstr(data, header) != NULL) {
            return rec;
        }
    }
    return NULL;
}

static const char *field(json_t *rec, const char *name)
{
    const char *v = json_string_value(json_object_get(rec, name));
    assert_non_null(v);
    return v;
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* --- loop and attempts --------------------------------------------------- */

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(deliverer_init(&f->d, &f->loop, err, sizeof err), 0);
    assert_int_equal(uv_timer_init(&f->loop, &f->tick), 0);
    assert_int_equal(uv_timer_start(&f->tick, tick_cb, 50, 50), 0);
    *state = f;
    return 0;
}

static uint64_t elapsed_ms(uint64_t since_ns)
{
    return (uv_hrtime() - since_ns) / 1000000;
}

/* Run the loop until *counter reaches target or WAIT_MS pass. */
static void run_until(struct fixture *f, const int *counter, int target)
{
    uint64_t t0 = uv_hrtime();
    while (*counter < target && elapsed_ms(t0) < WAIT_MS) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static void run_for(struct fixture *f, uint64_t ms)
{
    uint64_t t0 = uv_hrtime();
    while (elapsed_ms(t0) < ms) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static void closed_cb(struct deliverer *d)
{
    struct fixture *f =
        (struct fixture *)(void *)((char *)d - offsetof(struct fixture, d));
    f->closed++;
    f->done_at_close = f->done;
}

static void close_deliverer(struct fixture *f)
{
    if (!f->d.closing) {
        deliverer_close(&f->d, closed_cb);
        assert_int_equal(f->closed, 0); /* never synchronously */
    }
    run_until(f, &f->closed, 1);
    assert_int_equal(f->closed, 1);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close_deliverer(f);
    uv_close((uv_handle_t *)&f->tick, NULL);
    for (int i = 0; i < 100 && uv_loop_alive(&f->loop); i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(f->closed, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (int i = 0; i < f->n_rx; i++) {
        receiver_stop(&f->rx[i]);
    }
    free(f);
    return 0;
}

static void done_cb(struct delivery *req, bool ok, const char *err)
{
    struct attempt *a = req->data;
    a->calls++;
    a->ok = ok;
    snprintf(a->err, sizeof a->err, "%s", err);
    a->done_ns = uv_hrtime();
    a->f->done++;
}

static void prepare(struct fixture *f,
                    struct attempt *a,
                    Klaxon__ContactKind kind,
                    const char *body,
                    uint64_t timeout_ms)
{
    static int seq;

    memset(a, 0, sizeof *a);
    a->f = f;
    snprintf(a->key, sizeof a->key, "inc-42-page-%d", seq++);
    a->req.kind = kind;
    a->req.address = a->address;
    a->req.body = body;
    a->req.body_len = strlen(body);
    a->req.idempotency_key = a->key;
    a->req.timeout_ms = timeout_ms;
    a->req.cb = done_cb;
    a->req.data = a;
}

static void webhook(struct fixture *f,
                    struct attempt *a,
                    int port,
                    const char *body,
                    uint64_t timeout_ms)
{
    prepare(f, a, KLAXON__CONTACT_KIND__CONTACT_WEBHOOK, body, timeout_ms);
    snprintf(a->address, sizeof a->address, "http://127.0.0.1:%d/hooks/page",
             port);
}

static void email(struct fixture *f,
                  struct attempt *a,
                  int port,
                  const char *subject,
                  const char *body)
{
    prepare(f, a, KLAXON__CONTACT_KIND__CONTACT_EMAIL, body, 5000);
    snprintf(a->address, sizeof a->address, "alice@example.org");
    snprintf(a->smtp_url, sizeof a->smtp_url, "smtp://127.0.0.1:%d", port);
    a->smtp.username = "";
    a->smtp.url = a->smtp_url;
    a->smtp.from = "klaxon@example.com";
    a->req.smtp = &a->smtp;
    a->req.subject = subject;
}

static void program(struct fixture *f,
                    struct attempt *a,
                    const char *path,
                    const char *arg,
                    const char *body,
                    uint64_t timeout_ms)
{
    prepare(f, a, KLAXON__CONTACT_KIND__CONTACT_EXEC, body, timeout_ms);
    snprintf(a->address, sizeof a->address, "%s", path);
    if (arg != NULL) {
        a->args[0] = (char *)arg;
        a->req.args = a->args;
        a->req.n_args = 1;
    }
}

static void start(struct fixture *f, struct attempt *a)
{
    char err[256] = "";
    int rv;

    a->start_ns = uv_hrtime();
    rv = deliver_start(&f->d, &a->req, err, sizeof err);
    if (rv != 0) {
        fail_msg("deliver_start: %s", err);
    }
    assert_int_equal(a->calls, 0); /* never synchronously */
}

/* Start one attempt and wait for its outcome. */
static void attempt(struct fixture *f, struct attempt *a)
{
    int target = f->done + 1;
    start(f, a);
    run_until(f, &f->done, target);
    assert_int_equal(a->calls, 1);
}

/* --- webhook ------------------------------------------------------------- */

static void test_webhook_delivered(void **state)
{
    struct fixture *f = *state;
    struct attempt a;
    json_t *all;
    json_t *rec;
    json_t *body;

    webhook(f, &a, shared.http_port, "{\"incident\":42,\"summary\":\"disk\"}",
            5000);
    attempt(f, &a);
    assert_true(a.ok);
    assert_string_equal(a.err, "");
    all = records(&shared);
    rec = find(all, "idempotency_key", a.key);
    assert_non_null(rec);
    assert_string_equal(field(rec, "channel"), "webhook");
    assert_string_equal(field(rec, "path"), "/hooks/page");
    assert_string_equal(field(rec, "content_type"), "application/json");
    assert_string_equal(field(rec, "user_agent"), "klaxon/" KLAXON_VERSION);
    body = json_object_get(rec, "body");
    assert_int_equal(json_integer_value(json_object_get(body, "incident")), 42);
    assert_string_equal(json_string_value(json_object_get(body, "summary")),
                        "disk");
    json_decref(all);
    assert_int_equal(f->d.n_started, 1);
    assert_int_equal(f->d.n_ok, 1);
    assert_int_equal(f->d.n_failed, 0);
}

static void test_webhook_http_500(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--status", "500", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt a;

    webhook(f, &a, r->http_port, "{}", 5000);
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "HTTP 500");
    assert_int_equal(f->d.n_failed, 1);
    assert_int_equal(f->d.n_ok, 0);
}

static void test_webhook_refused(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    webhook(f, &a, closed_port(), "{}", 5000);
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "connect: Connection refused");
}

static void test_webhook_timeout(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--delay-ms", "5000", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt a;
    uint64_t took;

    webhook(f, &a, r->http_port, "{}", 300);
    attempt(f, &a);
    took = (a.done_ns - a.start_ns) / 1000000;
    assert_false(a.ok);
    assert_string_equal(a.err, "timeout after 300 ms");
    assert_true(took >= 250 && took < 2000);
}

/* A 2xx answer counts even when its body is longer than what is read. */
static void test_webhook_long_answer(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--reply-bytes", "1000000", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt a;

    webhook(f, &a, r->http_port, "{}", 5000);
    attempt(f, &a);
    assert_true(a.ok);
}

static void test_webhook_other_protocol_refused(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    webhook(f, &a, shared.http_port, "{}", 5000);
    snprintf(a.address, sizeof a.address, "file:///etc/passwd");
    attempt(f, &a);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "file"));
}

/* https:// to a plain HTTP port: the TLS handshake fails, cleanly. */
static void test_webhook_tls_failure(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    webhook(f, &a, shared.http_port, "{}", 5000);
    snprintf(a.address, sizeof a.address, "https://127.0.0.1:%d/hooks/page",
             shared.http_port);
    attempt(f, &a);
    assert_false(a.ok);
    assert_true(a.err[0] != '\0');
}

/* Every attempt waits SLOW_MS at the receiver: together they take about
 * that long, one after the other N_CONCURRENT times as long. */
static void test_webhook_concurrent(void **state)
{
    struct fixture *f = *state;
    char delay[16];
    const char *opts[] = {"--delay-ms", delay, NULL};
    struct receiver *r;
    struct attempt *a = calloc(N_CONCURRENT, sizeof *a);
    uint64_t t0 = uv_hrtime();
    json_t *all;

    assert_non_null(a);
    snprintf(delay, sizeof delay, "%d", SLOW_MS);
    r = receiver(f, opts);
    t0 = uv_hrtime();
    for (int i = 0; i < N_CONCURRENT; i++) {
        webhook(f, &a[i], r->http_port, "{\"n\":1}", WAIT_MS - 1000);
        start(f, &a[i]);
    }
    run_until(f, &f->done, N_CONCURRENT);
    assert_true(elapsed_ms(t0) < 6 * SLOW_MS);
    all = records(r);
    for (int i = 0; i < N_CONCURRENT; i++) {
        assert_int_equal(a[i].calls, 1);
        if (!a[i].ok) {
            fail_msg("attempt %d: %s", i, a[i].err);
        }
        assert_non_null(find(all, "idempotency_key", a[i].key));
    }
    json_decref(all);
    assert_int_equal(f->d.n_ok, N_CONCURRENT);
    free(a);
}

static void restart_cb(struct delivery *req, bool ok, const char *err)
{
    struct attempt *a = req->data;
    struct attempt *next = a + 1;

    done_cb(req, ok, err);
    if (a->calls == 1) {
        start(a->f, next);
    }
}

/* A callback may start the next attempt. */
static void test_start_from_callback(void **state)
{
    struct fixture *f = *state;
    struct attempt a[2];

    webhook(f, &a[0], shared.http_port, "{}", 5000);
    webhook(f, &a[1], shared.http_port, "{}", 5000);
    a[0].req.cb = restart_cb;
    start(f, &a[0]);
    run_until(f, &f->done, 2);
    assert_true(a[0].ok);
    assert_true(a[1].ok);
    assert_int_equal(a[1].calls, 1);
}

/* --- email --------------------------------------------------------------- */

static void test_email_delivered(void **state)
{
    struct fixture *f = *state;
    struct attempt a;
    char want[128];
    json_t *all;
    json_t *rec;
    const char *data;

    email(f, &a, shared.smtp_port, "Incident 42: disk full",
          "Disk /var is full.\nSecond line\n.starts with a dot\n.\nlast");
    attempt(f, &a);
    if (!a.ok) {
        fail_msg("email: %s", a.err);
    }
    all = records(&shared);
    rec = find_email(all, a.key);
    assert_non_null(rec);
    assert_string_equal(field(rec, "from"), "klaxon@example.com");
    assert_string_equal(field(rec, "to"), "alice@example.org");
    data = field(rec, "data");
    assert_non_null(strstr(data, "\r\nFrom: klaxon@example.com\r\n"));
    assert_non_null(strstr(data, "\r\nTo: alice@example.org\r\n"));
    assert_non_null(strstr(data, "\r\nSubject: Incident 42: disk full\r\n"));
    snprintf(want, sizeof want, "\r\nMessage-ID: <%s@example.com>\r\n", a.key);
    assert_non_null(strstr(data, want));
    snprintf(want, sizeof want, "\r\nX-Klaxon-Idempotency-Key: %s\r\n", a.key);
    assert_non_null(strstr(data, want));
    assert_non_null(
        strstr(data, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(data, "\r\nMIME-Version: 1.0\r\n"));
    assert_true(strncmp(data, "Date: ", 6) == 0);
    assert_non_null(strstr(data,
                           "\r\n\r\nDisk /var is full.\r\nSecond line\r\n"
                           ".starts with a dot\r\n.\r\nlast\r\n"));
    json_decref(all);
}

static void test_email_subject_encoded(void **state)
{
    struct fixture *f = *state;
    struct attempt a;
    json_t *all;
    json_t *rec;
    const char *data;

    /* "Störung" */
    email(f, &a, shared.smtp_port, "St\xc3\xb6rung", "text");
    attempt(f, &a);
    assert_true(a.ok);
    all = records(&shared);
    rec = find_email(all, a.key);
    assert_non_null(rec);
    data = field(rec, "data");
    assert_non_null(strstr(data, "\r\nSubject: =?UTF-8?B?U3TDtnJ1bmc=?=\r\n"));
    json_decref(all);
}

static void expect_refused(struct fixture *f, struct attempt *a)
{
    char err[256] = "";

    assert_int_equal(deliver_start(&f->d, &a->req, err, sizeof err), -1);
    assert_non_null(strstr(err, "line break"));
}

/* CR or LF in a header value is refused before anything starts. */
static void test_email_header_injection(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    email(f, &a, shared.smtp_port, "Incident", "text");
    snprintf(a.address, sizeof a.address, "alice@example.org\r\nBcc: x@y");
    expect_refused(f, &a);
    email(f, &a, shared.smtp_port, "Incident\nBcc: x@y", "text");
    expect_refused(f, &a);
    email(f, &a, shared.smtp_port, "Incident\r", "text");
    expect_refused(f, &a);
    run_for(f, 100);
    assert_int_equal(a.calls, 0);
    assert_int_equal(f->d.n_started, 0);
    assert_int_equal(f->d.n_active, 0);
}

static void test_email_refused_by_relay(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--smtp-fail-first", "1", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt a;

    email(f, &a, r->smtp_port, "Incident", "text");
    attempt(f, &a);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "451"));
}

static void test_email_refused(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    email(f, &a, closed_port(), "Incident", "text");
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "connect: Connection refused");
}

/* The relay answers the end of the message late: the loop goes on (a
 * webhook completes meanwhile) and the attempt times out. */
static void test_email_slow_relay_does_not_block(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--delay-ms", "3000", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt mail;
    struct attempt hook;
    uint64_t took;

    email(f, &mail, r->smtp_port, "Incident", "text");
    mail.req.timeout_ms = 1000;
    webhook(f, &hook, shared.http_port, "{}", 5000);
    start(f, &mail);
    run_for(f, 200); /* the message is being sent */
    attempt(f, &hook);
    assert_true(hook.ok);
    assert_true((hook.done_ns - hook.start_ns) / 1000000 < 500);
    assert_int_equal(mail.calls, 0);
    run_until(f, &f->done, 2);
    took = (mail.done_ns - mail.start_ns) / 1000000;
    assert_false(mail.ok);
    assert_string_equal(mail.err, "timeout after 1000 ms");
    assert_true(took >= 900 && took < 2000);
}

static char cert_trusted[PATH_MAX];
static char key_trusted[PATH_MAX];
static char cert_rogue[PATH_MAX];
static char key_rogue[PATH_MAX];

/* A receiver with STARTTLS and an smtps port, and more options. */
static struct receiver *tls_receiver(struct fixture *f,
                                     bool trusted,
                                     const char *const *more)
{
    const char *opts[12] = {"--tls-cert", trusted ? cert_trusted : cert_rogue,
                            "--tls-key", trusted ? key_trusted : key_rogue};
    int n = 4;

    for (; more != NULL && *more != NULL && n < 11; more++) {
        opts[n++] = *more;
    }
    opts[n] = NULL;
    return receiver(f, opts);
}

static void expect_email_record(struct receiver *r,
                                const struct attempt *a,
                                const char *user)
{
    json_t *all = records(r);
    json_t *rec = find_email(all, a->key);

    assert_non_null(rec);
    assert_true(json_is_true(json_object_get(rec, "tls")));
    if (user != NULL) {
        assert_string_equal(field(rec, "auth"), user);
    }
    json_decref(all);
}

static void test_email_starttls(void **state)
{
    struct fixture *f = *state;
    struct receiver *r = tls_receiver(f, true, NULL);
    struct attempt a;

    email(f, &a, r->smtp_port, "Incident", "over TLS");
    attempt(f, &a);
    if (!a.ok) {
        fail_msg("email: %s", a.err);
    }
    expect_email_record(r, &a, NULL);
}

/* smtps:// to a name: the certificate must carry the name, and each
 * address of localhost is tried (the receiver listens on 127.0.0.1). */
static void test_email_smtps(void **state)
{
    struct fixture *f = *state;
    struct receiver *r = tls_receiver(f, true, NULL);
    struct attempt a;

    email(f, &a, 0, "Incident", "over TLS");
    snprintf(a.smtp_url, sizeof a.smtp_url, "smtps://localhost:%d",
             r->smtps_port);
    attempt(f, &a);
    if (!a.ok) {
        fail_msg("email: %s", a.err);
    }
    expect_email_record(r, &a, NULL);
}

/* A relay offering STARTTLS with a certificate we do not trust: no
 * message, and no retry in the clear. */
static void test_email_untrusted_relay(void **state)
{
    struct fixture *f = *state;
    struct receiver *r = tls_receiver(f, false, NULL);
    struct attempt a;
    json_t *all;

    email(f, &a, r->smtp_port, "Incident", "text");
    attempt(f, &a);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "STARTTLS: handshake: certificate"));
    all = records(r);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
}

static void auth_attempt(struct fixture *f,
                         const char *mechs,
                         const char *password,
                         struct attempt *a)
{
    const char *const opts[] = {"--auth", "pager:s3cret", "--auth-mechs", mechs,
                                NULL};
    struct receiver *r = tls_receiver(f, true, opts);

    email(f, a, r->smtp_port, "Incident", "text");
    a->smtp.username = "pager";
    a->smtp.password = password;
    attempt(f, a);
    if (a->ok) {
        expect_email_record(r, a, "pager");
    }
}

static void test_email_auth_plain(void **state)
{
    struct attempt a;
    auth_attempt(*state, "PLAIN LOGIN", "s3cret", &a);
    if (!a.ok) {
        fail_msg("email: %s", a.err);
    }
}

static void test_email_auth_login(void **state)
{
    struct attempt a;
    auth_attempt(*state, "LOGIN", "s3cret", &a);
    if (!a.ok) {
        fail_msg("email: %s", a.err);
    }
}

static void test_email_auth_wrong_password(void **state)
{
    struct attempt a;
    auth_attempt(*state, "PLAIN", "wrong", &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "AUTH: 535 5.7.8 bad credentials");
}

/* A password is never sent to a relay without TLS. */
static void test_email_auth_needs_tls(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    email(f, &a, shared.smtp_port, "Incident", "text");
    a.smtp.username = "pager";
    a.smtp.password = "s3cret";
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "relay does not offer STARTTLS");
}

/* --- exec ---------------------------------------------------------------- */

static void test_exec_delivered(void **state)
{
    struct fixture *f = *state;
    char prog[PATH_MAX];
    char out[PATH_MAX];
    char side[PATH_MAX + 8];
    struct attempt a;
    char *text;

    path_in_tmp(prog, sizeof prog, "copy.sh");
    path_in_tmp(out, sizeof out, "copy.out");
    program(f, &a, prog, out, "{\"incident\":42}", 5000);
    attempt(f, &a);
    if (!a.ok) {
        fail_msg("exec: %s", a.err);
    }
    text = read_file(out, NULL);
    assert_non_null(text);
    assert_string_equal(text, "{\"incident\":42}");
    free(text);
    snprintf(side, sizeof side, "%s.key", out);
    text = read_file(side, NULL);
    assert_non_null(text);
    assert_string_equal(text, a.key);
    free(text);
    snprintf(side, sizeof side, "%s.path", out);
    text = read_file(side, NULL);
    assert_non_null(text);
    assert_string_equal(text, "/usr/bin:/bin");
    free(text);
}

static void test_exec_exit_status(void **state)
{
    struct fixture *f = *state;
    char prog[PATH_MAX];
    struct attempt a;

    path_in_tmp(prog, sizeof prog, "fail.sh");
    program(f, &a, prog, NULL, "{}", 5000);
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "exit status 3: pager gateway unreachable");
}

static void test_exec_signal(void **state)
{
    struct fixture *f = *state;
    char prog[PATH_MAX];
    struct attempt a;

    path_in_tmp(prog, sizeof prog, "killself.sh");
    program(f, &a, prog, NULL, "{}", 5000);
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err, "killed by signal 9");
}

static void expect_timeout(struct fixture *f, const char *prog, const char *arg)
{
    struct attempt a;
    uint64_t took;

    program(f, &a, prog, arg, "{}", 300);
    attempt(f, &a);
    took = (a.done_ns - a.start_ns) / 1000000;
    assert_false(a.ok);
    assert_string_equal(a.err, "timeout after 300 ms");
    assert_true(took >= 250 && took < 1500);
}

static void test_exec_timeout(void **state)
{
    expect_timeout(*state, sleep_path(), "10");
}

/* The sleep is a child of the shell and holds its pipes: killed too. */
static void test_exec_timeout_kills_group(void **state)
{
    char prog[PATH_MAX];
    path_in_tmp(prog, sizeof prog, "sleepy.sh");
    expect_timeout(*state, prog, NULL);
}

/* The program exits at once but leaves a child holding its output pipes:
 * the outcome does not wait for that child. */
static void test_exec_background_child(void **state)
{
    struct fixture *f = *state;
    char prog[PATH_MAX];
    struct attempt a;

    path_in_tmp(prog, sizeof prog, "background.sh");
    program(f, &a, prog, NULL, "{}", 5000);
    attempt(f, &a);
    if (!a.ok) {
        fail_msg("exec: %s", a.err);
    }
    assert_true((a.done_ns - a.start_ns) / 1000000 < 1000);
}

static void test_exec_missing_program(void **state)
{
    struct fixture *f = *state;
    struct attempt a;

    program(f, &a, "/nonexistent/klaxon-notify", NULL, "{}", 5000);
    attempt(f, &a);
    assert_false(a.ok);
    assert_string_equal(a.err,
                        "exec /nonexistent/klaxon-notify: no such file or "
                        "directory");
}

static void test_exec_relative_path_refused(void **state)
{
    struct fixture *f = *state;
    struct attempt a;
    char err[256] = "";

    program(f, &a, "notify", NULL, "{}", 5000);
    assert_int_equal(deliver_start(&f->d, &a.req, err, sizeof err), -1);
    assert_non_null(strstr(err, "absolute path"));
    assert_int_equal(f->d.n_started, 0);
}

/* A program that exits without reading a large body succeeds. */
static void test_exec_unread_stdin(void **state)
{
    struct fixture *f = *state;
    size_t len = 4u << 20;
    char *body = malloc(len + 1);
    char prog[PATH_MAX];
    struct attempt a;

    assert_non_null(body);
    memset(body, 'x', len);
    body[len] = '\0';
    path_in_tmp(prog, sizeof prog, "noread.sh");
    program(f, &a, prog, NULL, body, 5000);
    attempt(f, &a);
    free(body);
    if (!a.ok) {
        fail_msg("exec: %s", a.err);
    }
}

/* --- shutting down ------------------------------------------------------- */

#define N_INFLIGHT 6

static void test_close_with_attempts_in_flight(void **state)
{
    struct fixture *f = *state;
    const char *const opts[] = {"--delay-ms", "5000", NULL};
    struct receiver *r = receiver(f, opts);
    struct attempt a[N_INFLIGHT + 1];
    char sleepy[PATH_MAX];
    char err[256];

    path_in_tmp(sleepy, sizeof sleepy, "sleepy.sh");
    webhook(f, &a[0], r->http_port, "{}", 8000);
    webhook(f, &a[1], r->http_port, "{}", 8000);
    webhook(f, &a[2], closed_port(), "{}", 8000);
    email(f, &a[3], r->smtp_port, "Incident", "text");
    program(f, &a[4], sleep_path(), "10", "{}", 8000);
    program(f, &a[5], sleepy, NULL, "{}", 8000);
    for (int i = 0; i < N_INFLIGHT; i++) {
        start(f, &a[i]);
    }
    run_for(f, 300);
    assert_int_equal(f->done, 1); /* only the refused connection */
    deliverer_close(&f->d, closed_cb);
    for (int i = 0; i < N_INFLIGHT; i++) {
        assert_int_equal(a[i].calls, i == 2 ? 1 : 0);
    }
    webhook(f, &a[N_INFLIGHT], shared.http_port, "{}", 5000);
    assert_int_equal(deliver_start(&f->d, &a[N_INFLIGHT].req, err, sizeof err),
                     -1);
    assert_string_equal(err, "shutting down");
    run_until(f, &f->closed, 1);
    assert_int_equal(f->closed, 1);
    assert_int_equal(f->done_at_close, N_INFLIGHT);
    for (int i = 0; i < N_INFLIGHT; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_false(a[i].ok);
        if (i != 2) {
            assert_string_equal(a[i].err, "shutting down");
        }
    }
    assert_int_equal(f->d.n_active, 0);
    assert_int_equal(f->d.n_failed, N_INFLIGHT);
}

/* --- main ---------------------------------------------------------------- */

/* A self-signed certificate for localhost and 127.0.0.1. */
static void make_cert(char *cert, char *key, const char *name)
{
    char base[PATH_MAX - 16];
    const char *argv[] = {"openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-days",
                          "2",
                          "-subj",
                          "/CN=localhost",
                          "-addext",
                          "subjectAltName=DNS:localhost,IP:127.0.0.1",
                          "-keyout",
                          key,
                          "-out",
                          cert,
                          NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    path_in_tmp(base, sizeof base, name);
    snprintf(cert, PATH_MAX, "%s.pem", base);
    snprintf(key, PATH_MAX, "%s-key.pem", base);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0), 0);
    assert_int_equal(
        posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)argv, environ),
        0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int group_setup(void **state)
{
    const char *const none[] = {NULL};

    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    make_cert(cert_trusted, key_trusted, "trusted");
    make_cert(cert_rogue, key_rogue, "rogue");
    /* Relays are verified against this file instead of the system's. */
    assert_int_equal(setenv("SSL_CERT_FILE", cert_trusted, 1), 0);
    write_program("copy.sh",
                  "#!/bin/sh\n"
                  "cat > \"$1\"\n"
                  "printf '%s' \"$KLAXON_IDEMPOTENCY_KEY\" > \"$1.key\"\n"
                  "printf '%s' \"$PATH\" > \"$1.path\"\n");
    write_program("fail.sh",
                  "#!/bin/sh\n"
                  "echo 'pager gateway unreachable' >&2\n"
                  "echo 'second line' >&2\n"
                  "exit 3\n");
    write_program("killself.sh", "#!/bin/sh\nkill -9 $$\n");
    write_program("sleepy.sh", "#!/bin/sh\nsleep 10\necho done\n");
    write_program("noread.sh", "#!/bin/sh\nexit 0\n");
    write_program("background.sh", "#!/bin/sh\nsleep 2 &\nexit 0\n");
    receiver_start(&shared, none);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    receiver_stop(&shared);
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_webhook_delivered),
        TEST(test_webhook_http_500),
        TEST(test_webhook_refused),
        TEST(test_webhook_timeout),
        TEST(test_webhook_long_answer),
        TEST(test_webhook_other_protocol_refused),
        TEST(test_webhook_tls_failure),
        TEST(test_webhook_concurrent),
        TEST(test_start_from_callback),
        TEST(test_email_delivered),
        TEST(test_email_subject_encoded),
        TEST(test_email_header_injection),
        TEST(test_email_refused_by_relay),
        TEST(test_email_refused),
        TEST(test_email_slow_relay_does_not_block),
        TEST(test_email_starttls),
        TEST(test_email_smtps),
        TEST(test_email_untrusted_relay),
        TEST(test_email_auth_plain),
        TEST(test_email_auth_login),
        TEST(test_email_auth_wrong_password),
        TEST(test_email_auth_needs_tls),
        TEST(test_exec_delivered),
        TEST(test_exec_exit_status),
        TEST(test_exec_signal),
        TEST(test_exec_timeout),
        TEST(test_exec_timeout_kills_group),
        TEST(test_exec_background_child),
        TEST(test_exec_missing_program),
        TEST(test_exec_relative_path_refused),
        TEST(test_exec_unread_stdin),
        TEST(test_close_with_attempts_in_flight),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
