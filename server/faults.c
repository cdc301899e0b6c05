#include "faults.h"

#ifdef FIU_ENABLE

#include <stdlib.h>

struct wrapped_append
{
    struct raft_io_append inner;
    struct raft_io_append *outer;
};

/* The original append of the wrapped io (there is one per process). */
static int (*real_append)(struct raft_io *io,
                          struct raft_io_append *req,
                          const struct raft_entry entries[],
                          unsigned n,
                          raft_io_append_cb cb);

static void append_done(struct raft_io_append *req, int status)
{
    struct wrapped_append *w = (struct wrapped_append *)req;
    struct raft_io_append *outer = w->outer;

    if (status == 0 && fault_point("klaxon/raft/append")) {
        status = RAFT_IOERR;
    }
    free(w);
    outer->cb(outer, status);
}

static int faulty_append(struct raft_io *io,
                         struct raft_io_append *req,
                         const struct raft_entry entries[],
                         unsigned n,
                         raft_io_append_cb cb)
{
    struct wrapped_append *w = calloc(1, sizeof *w);
    int rv;

    if (w == NULL) {
        return RAFT_NOMEM;
    }
    w->outer = req;
    req->cb = cb;
    rv = real_append(io, &w->inner, entries, n, append_done);
    if (rv != 0) {
        free(w);
    }
    return rv;
}

int faults_wrap_io(struct raft_io *io)
{
    real_append = io->append;
    io->append = faulty_append;
    return 0;
}

#else

int faults_wrap_io(struct raft_io *io)
{
    (void)io;
    return 0;
}

#endif
