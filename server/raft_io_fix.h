/*
 * A correction at libraft 0.15's I/O boundary.
 *
 * A libraft 0.15 follower that accepts an AppendEntries without writing
 * anything (a heartbeat, or entries it already has) answers with its own
 * last log index. When its log runs past what the leader sent, with
 * entries of an older term that the leader does not have (it led
 * briefly, appended, and stopped), the leader takes those entries as
 * matching its own: it counts the follower toward committing entries the
 * follower does not hold, and from then on sends heartbeats the follower
 * can only refuse, refusals the leader ignores as stale. The follower then
 * stays behind until the leader's log grows past its stale tail, and an
 * entry could be counted committed on a minority.
 *
 * The node wraps its raft_io's start (to see each message libraft receives)
 * and send: an AppendEntries result that libraft sends while it handles
 * an AppendEntries reports at most prev_log_index + n_entries of that
 * request, the entries the follower checked against the leader's. Results
 * of entries written later (asynchronously) already report the end of
 * the written entries. Lowering the hint is always safe: the leader then
 * sends again from there.
 */
#ifndef KLAXON_RAFT_IO_FIX_H
#define KLAXON_RAFT_IO_FIX_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

struct raft_io_fix
{
    int (*start)(struct raft_io *io,
                 unsigned msecs,
                 raft_io_tick_cb tick,
                 raft_io_recv_cb recv);
    int (*send)(struct raft_io *io,
                struct raft_io_send *req,
                const struct raft_message *message,
                raft_io_send_cb cb);
    raft_io_recv_cb recv;
    bool in_append;        /* libraft is handling an AppendEntries */
    raft_index append_end; /* its prev_log_index + n_entries */
    uint64_t n_lowered;    /* results whose hint was lowered */
};

/*
 * Wrap a node's io (n->io, with n->io_fix) with the correction. Call after
 * raft_init (which points io->data to the struct raft, whose data is the
 * node) and before raft_start.
 */
void raft_io_fix_install(struct raft_io_fix *fix, struct raft_io *io);

#endif /* KLAXON_RAFT_IO_FIX_H */
