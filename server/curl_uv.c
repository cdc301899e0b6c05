#include "curl_uv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* One watched socket. Freed in its close callback. */
struct curl_poll
{
    uv_poll_t poll;
    struct list link; /* d->curl_polls */
    struct deliverer *d;
    curl_socket_t fd;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- finished transfers -------------------------------------------------- */

/* Hand every finished transfer to deliver.c. Its callback may start new
 * transfers or close the deliverer (which cleans up the multi handle). */
static void drain_done(struct deliverer *d)
{
    CURLMsg *msg;
    int left;

    while (d->curl_multi != NULL &&
           (msg = curl_multi_info_read(d->curl_multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            CURL *easy = msg->easy_handle;
            CURLcode result = msg->data.result;
            deliver_curl_done(d, easy, result);
        }
    }
}

static void socket_action(struct deliverer *d, curl_socket_t fd, int flags)
{
    int running;
    CURLMcode rc;

    if (d->curl_multi == NULL) {
        return;
    }
    rc = curl_multi_socket_action(d->curl_multi, fd, flags, &running);
    if (rc != CURLM_OK) {
        log_error("deliver: curl_multi_socket_action: %s",
                  curl_multi_strerror(rc));
    }
    drain_done(d);
}

/* --- sockets ------------------------------------------------------------- */

static void poll_closed(uv_handle_t *h)
{
    struct curl_poll *p = h->data;
    struct deliverer *d = p->d;
    free(p);
    deliver_handle_closed(d);
}

static void poll_close(struct curl_poll *p)
{
    list_remove(&p->link);
    uv_close((uv_handle_t *)&p->poll, poll_closed);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct curl_poll *p = h->data;
    int flags = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & (UV_READABLE | UV_DISCONNECT)) {
            flags |= CURL_CSELECT_IN;
        }
        if (events & UV_WRITABLE) {
            flags |= CURL_CSELECT_OUT;
        }
    }
    /* p may be closed (not freed) during the call. */
    socket_action(p->d, p->fd, flags);
}

static struct curl_poll *poll_new(struct deliverer *d, curl_socket_t fd)
{
    struct curl_poll *p = malloc(sizeof *p);
    int rv;

    if (p == NULL) {
        log_error("deliver: watch socket %d: out of memory", (int)fd);
        return NULL;
    }
    rv = uv_poll_init_socket(d->loop, &p->poll, fd);
    if (rv != 0) {
        log_error("deliver: watch socket %d: %s", (int)fd, uv_strerror(rv));
        free(p);
        return NULL;
    }
    p->poll.data = p;
    p->d = d;
    p->fd = fd;
    list_push(&d->curl_polls, &p->link);
    d->n_handles++;
    return p;
}

static int watch(struct deliverer *d,
                 curl_socket_t fd,
                 int what,
                 struct curl_poll *p)
{
    int events = 0;
    int rv;

    if (p == NULL) {
        p = poll_new(d, fd);
        if (p == NULL) {
            return -1;
        }
        if (curl_multi_assign(d->curl_multi, fd, p) != CURLM_OK) {
            log_error("deliver: curl_multi_assign %d failed", (int)fd);
            poll_close(p);
            return -1;
        }
    }
    if (what & CURL_POLL_IN) {
        events |= UV_READABLE;
    }
    if (what & CURL_POLL_OUT) {
        events |= UV_WRITABLE;
    }
    rv = uv_poll_start(&p->poll, events, poll_cb);
    if (rv != 0) {
        log_error("deliver: watch socket %d: %s", (int)fd, uv_strerror(rv));
        return -1;
    }
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION. Never returns -1: that would poison the whole
 * multi handle. A socket that cannot be watched leaves its transfer to
 * run into its own timeout (the reason is logged). */
static int socket_cb(CURL *easy,
                     curl_socket_t fd,
                     int what,
                     void *userp,
                     void *socketp)
{
    struct deliverer *d = userp;
    struct curl_poll *p = socketp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (p != NULL) {
            (void)curl_multi_assign(d->curl_multi, fd, NULL);
            poll_close(p);
        }
        return 0;
    }
    if (d->closing) {
        return 0;
    }
    (void)watch(d, fd, what, p);
    return 0;
}

/* --- timeouts ------------------------------------------------------------ */

static void timer_cb(uv_timer_t *t)
{
    socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static void kick_cb(uv_idle_t *h)
{
    if (uv_idle_stop(h) != 0) {
        log_error("deliver: uv_idle_stop failed");
    }
    socket_action(h->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION. A zero timeout is honoured from the idle phase
 * of the loop, never by calling libcurl back from inside this callback
 * (nor in a chain of timer callbacks that could spin). */
static int timerfunction_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct deliverer *d = userp;
    int rv = 0;

    (void)multi;
    if (d->closing) {
        return 0;
    }
    if (timeout_ms < 0) {
        rv = uv_timer_stop(&d->curl_timer) | uv_idle_stop(&d->curl_kick);
    } else if (timeout_ms == 0) {
        rv = uv_timer_stop(&d->curl_timer) |
             uv_idle_start(&d->curl_kick, kick_cb);
    } else {
        rv = uv_idle_stop(&d->curl_kick) |
             uv_timer_start(&d->curl_timer, timer_cb, (uint64_t)timeout_ms, 0);
    }
    if (rv != 0) {
        log_error("deliver: cannot arm the libcurl timer");
    }
    return 0;
}

/* --- life cycle ---------------------------------------------------------- */

static int multi_setup(struct deliverer *d, CURLM *multi)
{
    if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb) !=
            CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, d) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timerfunction_cb) !=
            CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, d) != CURLM_OK) {
        return -1;
    }
    return 0;
}

int curl_uv_init(struct deliverer *d, char *err, size_t errlen)
{
    CURLM *multi;

    if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init: %s",
                 curl_easy_strerror(global_rc));
        return -1;
    }
    multi = curl_multi_init();
    if (multi == NULL) {
        snprintf(err, errlen, "curl_multi_init failed");
        return -1;
    }
    if (multi_setup(d, multi) != 0) {
        snprintf(err, errlen, "curl_multi_setopt failed");
        goto err_after_multi;
    }
    /* On unix these only link the handle into the loop; they cannot fail,
     * and nothing after them can, so no close path is needed here. */
    if (uv_timer_init(d->loop, &d->curl_timer) != 0 ||
        uv_idle_init(d->loop, &d->curl_kick) != 0) {
        abort();
    }
    d->curl_timer.data = d;
    d->curl_kick.data = d;
    d->n_handles += 2;
    d->curl_multi = multi;
    return 0;

err_after_multi:
    curl_multi_cleanup(multi);
    return -1;
}

int curl_uv_add(struct deliverer *d, CURL *easy, char *err, size_t errlen)
{
    CURLMcode rc = curl_multi_add_handle(d->curl_multi, easy);
    if (rc != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle: %s",
                 curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void curl_uv_remove(struct deliverer *d, CURL *easy)
{
    CURLMcode rc = curl_multi_remove_handle(d->curl_multi, easy);
    if (rc != CURLM_OK) {
        log_error("deliver: curl_multi_remove_handle: %s",
                  curl_multi_strerror(rc));
    }
}

static void handle_closed(uv_handle_t *h)
{
    deliver_handle_closed(h->data);
}

void curl_uv_close(struct deliverer *d)
{
    /* Stop watching first: libcurl closes the sockets of its cached
     * connections during the cleanup, and the callbacks ignore everything
     * once d->closing is set. */
    while (!list_empty(&d->curl_polls)) {
        struct curl_poll *p =
            list_entry(d->curl_polls.next, struct curl_poll, link);
        (void)curl_multi_assign(d->curl_multi, p->fd, NULL);
        poll_close(p);
    }
    curl_multi_cleanup(d->curl_multi);
    d->curl_multi = NULL;
    uv_close((uv_handle_t *)&d->curl_timer, handle_closed);
    uv_close((uv_handle_t *)&d->curl_kick, handle_closed);
}
