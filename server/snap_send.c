#include "snap_send.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "node.h"
#include "snapfile.h"

struct get
{
    uv_work_t work;
    struct raft_io_snapshot_get inner;  /* ours, to the real snapshot_get */
    struct raft_io_snapshot_get *outer; /* libraft's */
    raft_io_snapshot_get_cb cb;
    struct snap_send *w;
    struct raft_snapshot *snapshot;
    struct snapfile_ref ref;
    struct raft_buffer full;
    int rv;
    char err[512];
};

static struct snap_send *send_of(struct raft_io *io)
{
    struct raft *r = io->data;
    struct node *n = r->data;
    return &n->snap_send;
}

/* What snapshotClose + raft_free do inside libraft. */
static void snapshot_free(struct raft_snapshot *s)
{
    raft_configuration_close(&s->configuration);
    for (unsigned i = 0; i < s->n_bufs; i++) {
        raft_free(s->bufs[i].base);
    }
    raft_free(s->bufs);
    raft_free(s);
}

static void finish(struct get *g, struct raft_snapshot *s, int status)
{
    struct raft_io_snapshot_get *outer = g->outer;
    raft_io_snapshot_get_cb cb = g->cb;
    raft_free(g);
    cb(outer, s, status);
}

static void read_work(uv_work_t *work)
{
    struct get *g = work->data;
    g->rv = snapfile_read(g->w->dir, &g->ref, &g->full, g->err, sizeof g->err);
}

static void read_done(uv_work_t *work, int status)
{
    struct get *g = work->data;
    struct snap_send *w = g->w;
    struct raft_snapshot *s = g->snapshot;

    w->pending--;
    if (status != 0 || g->rv != 0 || w->closing) {
        if (g->rv != 0) {
            w->n_failed++;
            log_error("%s: cannot send it to a follower", g->err);
        } else if (g->full.base != NULL) {
            raft_free(g->full.base);
        }
        snapshot_free(s);
        finish(g, NULL, w->closing ? RAFT_CANCELED : RAFT_IOERR);
        return;
    }
    raft_free(s->bufs[0].base);
    s->bufs[0] = g->full;
    w->n_sent++;
    log_info(
        "snapshot: sending the state at index %llu (%llu bytes) to a "
        "follower",
        (unsigned long long)g->ref.index, (unsigned long long)g->full.len);
    finish(g, s, 0);
}

static void got(struct raft_io_snapshot_get *inner,
                struct raft_snapshot *s,
                int status)
{
    struct get *g = inner->data;

    if (status != 0 || s->n_bufs != 1 ||
        snapfile_ref_decode(s->bufs[0].base, s->bufs[0].len, &g->ref) != 1) {
        finish(g, s, status);
        return;
    }
    g->snapshot = s;
    g->work.data = g;
    if (uv_queue_work(g->w->loop, &g->work, read_work, read_done) != 0) {
        snapshot_free(s);
        finish(g, NULL, RAFT_IOERR);
        return;
    }
    g->w->pending++;
}

static int wrapped_get(struct raft_io *io,
                       struct raft_io_snapshot_get *req,
                       raft_io_snapshot_get_cb cb)
{
    struct snap_send *w = send_of(io);
    struct get *g = raft_malloc(sizeof *g);
    int rv;

    if (g == NULL) {
        return RAFT_NOMEM;
    }
    memset(g, 0, sizeof *g);
    g->outer = req;
    g->cb = cb;
    g->w = w;
    g->inner.data = g;
    rv = w->snapshot_get(io, &g->inner, got);
    if (rv != 0) {
        raft_free(g);
    }
    return rv;
}

void snap_send_install(struct snap_send *w,
                       struct raft_io *io,
                       uv_loop_t *loop,
                       const char *dir)
{
    w->snapshot_get = io->snapshot_get;
    w->loop = loop;
    w->dir = dir;
    w->closing = false;
    w->pending = 0;
    io->snapshot_get = wrapped_get;
}
