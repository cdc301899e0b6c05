/*
 * Programs: uv_spawn with the body on stdin, stdout discarded, the first
 * line of stderr kept for the error message, killed at the timeout.
 *
 * An attempt owns five handles (process, three pipes, timer) and is called
 * back from the close callback of the last one, so never before the
 * program has exited. The program runs in a process group of its own
 * (UV_PROCESS_DETACHED) so that the kill at the timeout also reaches what
 * it started. After the exit, output still buffered is read for at most
 * EXIT_GRACE_MS: a background child holding the pipes open cannot delay
 * the outcome longer than that.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_int.h"
#include "log.h"

#define EXIT_GRACE_MS 200
#define N_HANDLES 5

struct exec_job
{
    struct delivery *req;
    uv_process_t proc;
    uv_pipe_t in;
    uv_pipe_t out;
    uv_pipe_t errp;
    uv_timer_t timer;
    uv_write_t write;
    int open; /* handles not yet closed */
    bool spawned;
    bool exited;
    bool timed_out;
    int64_t exit_status;
    int term_signal;
    bool line_done;
    size_t line_len;
    char line[160]; /* first line of stderr */
    char rbuf[4096];
};

static void job_closed(uv_handle_t *h);

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, job_closed);
    }
}

static bool outcome(struct exec_job *j)
{
    struct delivery *req = j->req;

    if (req->err[0] != '\0') { /* shutting down, or spawn failed */
        return false;
    }
    if (j->timed_out && j->term_signal != 0) {
        snprintf(req->err, sizeof req->err, "timeout after %llu ms",
                 (unsigned long long)req->timeout_ms);
    } else if (j->term_signal != 0) {
        snprintf(req->err, sizeof req->err, "killed by signal %d",
                 j->term_signal);
    } else if (j->exit_status != 0) {
        snprintf(req->err, sizeof req->err, "exit status %lld%s%.*s",
                 (long long)j->exit_status, j->line_len > 0 ? ": " : "",
                 (int)j->line_len, j->line);
    } else {
        return true;
    }
    return false;
}

static void job_closed(uv_handle_t *h)
{
    struct exec_job *j = h->data;
    struct delivery *req = j->req;
    bool ok;

    if (--j->open > 0) {
        return;
    }
    ok = outcome(j);
    free(j);
    req->impl = NULL;
    deliver_finish(req, ok);
}

/* Kill the program's process group, or the program alone if it left it. */
static void kill_program(struct exec_job *j)
{
    if (uv_kill(-j->proc.pid, SIGKILL) != 0 &&
        uv_process_kill(&j->proc, SIGKILL) != 0) {
        log_warn("deliver: cannot kill %s (pid %d)", j->req->address,
                 j->proc.pid);
    }
}

static bool pipes_closed(struct exec_job *j)
{
    return uv_is_closing((uv_handle_t *)&j->out) &&
           uv_is_closing((uv_handle_t *)&j->errp);
}

/* After the exit: a write still pending (a child of the program holds
 * stdin open) is canceled. */
static void wind_up(struct exec_job *j)
{
    close_handle((uv_handle_t *)&j->in);
    close_handle((uv_handle_t *)&j->out);
    close_handle((uv_handle_t *)&j->errp);
    close_handle((uv_handle_t *)&j->timer);
}

static void timer_cb(uv_timer_t *t)
{
    struct exec_job *j = t->data;

    if (!j->exited) {
        j->timed_out = true;
        kill_program(j);
        return;
    }
    wind_up(j); /* the grace after the exit is over */
}

/* The program exited: close the rest once the output pipes reach their
 * end, or after the grace period, whichever comes first. */
static void settle(struct exec_job *j)
{
    if (!j->exited) {
        return;
    }
    if (pipes_closed(j) || j->req->owner->closing) {
        wind_up(j);
        return;
    }
    if (uv_timer_start(&j->timer, timer_cb, EXIT_GRACE_MS, 0) != 0) {
        wind_up(j);
    }
}

static void exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct exec_job *j = p->data;

    j->exited = true;
    j->exit_status = exit_status;
    j->term_signal = term_signal;
    close_handle((uv_handle_t *)p);
    settle(j);
}

/* --- pipes --------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct exec_job *j = h->data;
    (void)suggested;
    *buf = uv_buf_init(j->rbuf, sizeof j->rbuf);
}

static void keep_line(struct exec_job *j, const char *data, size_t n)
{
    for (size_t i = 0; i < n && !j->line_done; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\n' || j->line_len == sizeof j->line) {
            j->line_done = true;
        } else if (c != '\r') {
            j->line[j->line_len++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct exec_job *j = s->data;

    if (n < 0) {
        close_handle((uv_handle_t *)s);
        settle(j);
        return;
    }
    if (s == (uv_stream_t *)&j->errp) {
        keep_line(j, buf->base, (size_t)n);
    }
}

/* EPIPE (the program exited without reading) or ECANCELED (closing) are
 * not failures of the attempt: its exit status decides. */
static void write_cb(uv_write_t *w, int status)
{
    struct exec_job *j = w->data;
    (void)status;
    close_handle((uv_handle_t *)&j->in);
}

static void feed_stdin(struct exec_job *j)
{
    struct delivery *req = j->req;
    uv_buf_t buf;

    if (req->body_len == 0) {
        close_handle((uv_handle_t *)&j->in);
        return;
    }
    buf = uv_buf_init((char *)req->body, (unsigned)req->body_len);
    j->write.data = j;
    if (uv_write(&j->write, (uv_stream_t *)&j->in, &buf, 1, write_cb) != 0) {
        close_handle((uv_handle_t *)&j->in);
    }
}

static void start_reading(uv_pipe_t *p)
{
    if (uv_read_start((uv_stream_t *)p, alloc_cb, read_cb) != 0) {
        close_handle((uv_handle_t *)p);
    }
}

/* --- start --------------------------------------------------------------- */

static void init_handles(uv_loop_t *loop, struct exec_job *j)
{
    /* These only initialise structures and link them into the loop. */
    if (uv_pipe_init(loop, &j->in, 0) != 0 ||
        uv_pipe_init(loop, &j->out, 0) != 0 ||
        uv_pipe_init(loop, &j->errp, 0) != 0 ||
        uv_timer_init(loop, &j->timer) != 0) {
        abort();
    }
    j->in.data = j;
    j->out.data = j;
    j->errp.data = j;
    j->timer.data = j;
    j->proc.data = j;
    j->open = N_HANDLES;
}

static int spawn(uv_loop_t *loop, struct exec_job *j, char **argv, char **env)
{
    uv_stdio_container_t stdio[3];
    uv_process_options_t opt;

    memset(&opt, 0, sizeof opt);
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&j->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&j->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&j->errp;
    opt.exit_cb = exit_cb;
    opt.file = j->req->address;
    opt.args = argv;
    opt.env = env;
    opt.flags = UV_PROCESS_DETACHED;
    opt.stdio_count = 3;
    opt.stdio = stdio;
    return uv_spawn(loop, &j->proc, &opt);
}

/* A program that could not be started: every handle is closed and the
 * callback reports why. */
static void spawn_failed(struct exec_job *j, int rv)
{
    snprintf(j->req->err, sizeof j->req->err, "exec %s: %s", j->req->address,
             uv_strerror(rv));
    j->exited = true;
    close_handle((uv_handle_t *)&j->proc);
    wind_up(j);
}

static void run(uv_loop_t *loop, struct exec_job *j, char **argv, char **env)
{
    int rv = spawn(loop, j, argv, env);

    if (rv != 0) {
        spawn_failed(j, rv);
        return;
    }
    j->spawned = true;
    feed_stdin(j);
    start_reading(&j->out);
    start_reading(&j->errp);
    if (uv_timer_start(&j->timer, timer_cb, j->req->timeout_ms, 0) != 0) {
        kill_program(j);
    }
}

static char **make_argv(const struct delivery *req)
{
    char **argv = calloc(req->n_args + 2, sizeof *argv);

    if (argv == NULL) {
        return NULL;
    }
    argv[0] = (char *)req->address;
    for (size_t i = 0; i < req->n_args; i++) {
        argv[i + 1] = req->args[i];
    }
    return argv;
}

static int exec_check(const struct delivery *req, char *err, size_t errlen)
{
    if (req->address[0] != '/') {
        snprintf(err, errlen, "exec %s: the program must be an absolute path",
                 req->address);
        return -1;
    }
    if (req->body_len > UINT32_MAX) {
        snprintf(err, errlen, "exec %s: body too large", req->address);
        return -1;
    }
    for (size_t i = 0; i < req->n_args; i++) {
        if (req->args[i] == NULL) {
            snprintf(err, errlen, "exec %s: argument %zu missing", req->address,
                     i + 1);
            return -1;
        }
    }
    return 0;
}

int deliver_exec_start(struct deliverer *d,
                       struct delivery *req,
                       char *err,
                       size_t errlen)
{
    char key_var[320];
    char path_var[] = "PATH=/usr/bin:/bin";
    char *env[] = {path_var, key_var, NULL};
    struct exec_job *j;
    char **argv;

    if (exec_check(req, err, errlen) != 0) {
        return -1;
    }
    if ((size_t)snprintf(key_var, sizeof key_var, "KLAXON_IDEMPOTENCY_KEY=%s",
                         req->idempotency_key) >= sizeof key_var) {
        snprintf(err, errlen, "exec %s: idempotency key too long",
                 req->address);
        return -1;
    }
    argv = make_argv(req);
    if (argv == NULL) {
        snprintf(err, errlen, "exec %s: out of memory", req->address);
        return -1;
    }
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        snprintf(err, errlen, "exec %s: out of memory", req->address);
        goto err_after_argv;
    }
    j->req = req;
    req->impl = j;
    init_handles(d->loop, j);
    run(d->loop, j, argv, env); /* from here on, reported by callback */
    free(argv);
    return 0;

err_after_argv:
    free(argv);
    return -1;
}

void deliver_exec_abort(struct delivery *req)
{
    struct exec_job *j = req->impl;

    if (!j->exited) {
        kill_program(j); /* exit_cb winds up */
        return;
    }
    wind_up(j);
}
