/*
 * InstallSnapshot from state files: the node wraps its raft_io's
 * snapshot_get, which libraft calls only to send a follower its latest
 * snapshot. When the loaded snapshot is a reference (snapfile.h), the
 * state file is read and checked in libuv's thread pool and libraft gets
 * the full format-1 snapshot in its place, so followers receive what they
 * always did. A file that cannot be read fails the get (libraft logs it
 * and tries again later); the follower is never sent a reference.
 */
#ifndef KLAXON_SNAP_SEND_H
#define KLAXON_SNAP_SEND_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct snap_send
{
    int (*snapshot_get)(struct raft_io *io,
                        struct raft_io_snapshot_get *req,
                        raft_io_snapshot_get_cb cb);
    uv_loop_t *loop;
    const char *dir;   /* the state files */
    bool closing;      /* the node is stopping: reads finish as canceled */
    unsigned pending;  /* reads in the thread pool */
    uint64_t n_sent;   /* snapshots expanded from a state file */
    uint64_t n_failed; /* state files that could not be read */
};

/* Wrap io->snapshot_get (struct raft must be io->data, the node its data,
 * with `w` as n->snap_send). */
void snap_send_install(struct snap_send *w,
                       struct raft_io *io,
                       uv_loop_t *loop,
                       const char *dir);

#endif /* KLAXON_SNAP_SEND_H */
