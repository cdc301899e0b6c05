#include "loopstat.h"

/* Once per turn, before the loop waits: the turn that just ended lasted
 * now - last_ns, of which the idle-time delta was spent waiting. */
static void prepare_cb(uv_prepare_t *h)
{
    struct loopstat *s = h->data;
    uint64_t now = uv_hrtime();
    uint64_t idle = uv_metrics_idle_time(h->loop);

    if (s->last_ns != 0) {
        uint64_t total = now - s->last_ns;
        uint64_t waited = idle - s->last_idle;
        uint64_t busy = total > waited ? total - waited : 0;
        histogram_observe(s->busy, (double)busy / 1e9);
    }
    s->last_ns = now;
    s->last_idle = idle;
}

int loopstat_start(struct loopstat *s, uv_loop_t *loop, struct histogram *busy)
{
    int rv = uv_prepare_init(loop, &s->prepare);

    if (rv != 0) {
        return rv;
    }
    s->prepare.data = s;
    s->busy = busy;
    s->last_ns = 0;
    s->last_idle = 0;
    rv = uv_prepare_start(&s->prepare, prepare_cb);
    if (rv != 0) {
        uv_close((uv_handle_t *)&s->prepare, NULL);
        return rv;
    }
    uv_unref((uv_handle_t *)&s->prepare);
    s->started = true;
    return 0;
}

void loopstat_stop(struct loopstat *s)
{
    if (!s->started) {
        return;
    }
    s->started = false;
    uv_close((uv_handle_t *)&s->prepare, NULL);
}
