#include "raft_io_fix.h"

#include "log.h"
#include "node.h"

static struct raft_io_fix *fix_of(struct raft_io *io)
{
    struct raft *r = io->data;
    struct node *n = r->data;
    return &n->io_fix;
}

/* The hint to send for an AppendEntries result. */
static raft_index hint_of(const struct raft_io_fix *fix,
                          raft_index rejected,
                          raft_index last_log_index)
{
    if (rejected != 0 || !fix->in_append || last_log_index <= fix->append_end) {
        return last_log_index;
    }
    return fix->append_end;
}

static int fixed_send(struct raft_io *io,
                      struct raft_io_send *req,
                      const struct raft_message *message,
                      raft_io_send_cb cb)
{
    struct raft_io_fix *fix = fix_of(io);
    const struct raft_append_entries_result *res;
    struct raft_message copy;
    raft_index hint;

    if (message->type != RAFT_IO_APPEND_ENTRIES_RESULT) {
        return fix->send(io, req, message, cb);
    }
    res = &message->append_entries_result;
    hint = hint_of(fix, res->rejected, res->last_log_index);
    if (hint == res->last_log_index) {
        return fix->send(io, req, message, cb);
    }
    /* raft_uv encodes the message before send returns */
    copy = *message;
    copy.append_entries_result.last_log_index = hint;
    fix->n_lowered++;
    log_info(
        "raft: told leader %llu that our log matches its own up to %llu, "
        "not %llu (the entries after it are from an older term)",
        (unsigned long long)message->server_id, (unsigned long long)hint,
        (unsigned long long)res->last_log_index);
    return fix->send(io, req, &copy, cb);
}

static void fixed_recv(struct raft_io *io, struct raft_message *msg)
{
    struct raft_io_fix *fix = fix_of(io);

    if (msg->type != RAFT_IO_APPEND_ENTRIES) {
        fix->recv(io, msg);
        return;
    }
    fix->in_append = true;
    fix->append_end =
        msg->append_entries.prev_log_index + msg->append_entries.n_entries;
    fix->recv(io, msg);
    fix->in_append = false;
}

static int fixed_start(struct raft_io *io,
                       unsigned msecs,
                       raft_io_tick_cb tick,
                       raft_io_recv_cb recv)
{
    struct raft_io_fix *fix = fix_of(io);
    fix->recv = recv;
    return fix->start(io, msecs, tick, fixed_recv);
}

void raft_io_fix_install(struct raft_io_fix *fix, struct raft_io *io)
{
    fix->start = io->start;
    fix->send = io->send;
    fix->in_append = false;
    fix->append_end = 0;
    io->start = fixed_start;
    io->send = fixed_send;
}
