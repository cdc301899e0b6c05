/*
 * The correction of libraft 0.15's AppendEntries result hint: a result
 * sent while libraft handles an AppendEntries reports no more than the
 * entries that request covered; rejections, results of later writes and
 * other messages pass unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "raft_io_fix.h"

struct fake
{
    struct node *node;
    raft_io_recv_cb recv; /* what the wrapped start handed the I/O */
    struct raft_message sent;
    unsigned n_sent;
    /* what the fake libraft answers to the next AppendEntries */
    raft_index reply_rejected;
    raft_index reply_last;
};

static struct fake fake;

static int fake_start(struct raft_io *io,
                      unsigned msecs,
                      raft_io_tick_cb tick,
                      raft_io_recv_cb recv)
{
    (void)io;
    (void)msecs;
    (void)tick;
    fake.recv = recv;
    return 0;
}

static int fake_send(struct raft_io *io,
                     struct raft_io_send *req,
                     const struct raft_message *message,
                     raft_io_send_cb cb)
{
    (void)io;
    (void)req;
    (void)cb;
    fake.sent = *message;
    fake.n_sent++;
    return 0;
}

static void send_result(struct raft_io *io,
                        raft_index rejected,
                        raft_index last)
{
    struct raft_message m;
    struct raft_io_send req;

    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES_RESULT;
    m.server_id = 2;
    m.append_entries_result.term = 5;
    m.append_entries_result.rejected = rejected;
    m.append_entries_result.last_log_index = last;
    assert_int_equal(io->send(io, &req, &m, NULL), 0);
}

/* Plays libraft: answers an AppendEntries at once. */
static void libraft_recv(struct raft_io *io, struct raft_message *msg)
{
    if (msg->type == RAFT_IO_APPEND_ENTRIES) {
        send_result(io, fake.reply_rejected, fake.reply_last);
    }
}

static int setup(void **state)
{
    struct node *n = calloc(1, sizeof *n);

    assert_non_null(n);
    memset(&fake, 0, sizeof fake);
    fake.node = n;
    n->raft.data = n;
    n->io.data = &n->raft;
    n->io.start = fake_start;
    n->io.send = fake_send;
    raft_io_fix_install(&n->io_fix, &n->io);
    assert_int_equal(n->io.start(&n->io, 100, NULL, libraft_recv), 0);
    assert_non_null(fake.recv);
    *state = n;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void deliver_append(struct node *n, raft_index prev, unsigned n_entries)
{
    struct raft_message m;

    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_APPEND_ENTRIES;
    m.server_id = 2;
    m.append_entries.term = 5;
    m.append_entries.prev_log_index = prev;
    m.append_entries.prev_log_term = 3;
    m.append_entries.n_entries = n_entries;
    fake.recv(&n->io, &m);
}

/* The case libraft 0.15 gets wrong: a heartbeat at 104 accepted by a
 * follower whose log ends at 105, an entry of an older term. */
static void test_heartbeat_over_a_stale_tail(void **state)
{
    struct node *n = *state;

    fake.reply_last = 105;
    deliver_append(n, 104, 0);
    assert_int_equal(fake.n_sent, 1);
    assert_int_equal(fake.sent.type, RAFT_IO_APPEND_ENTRIES_RESULT);
    assert_int_equal(fake.sent.append_entries_result.last_log_index, 104);
    assert_int_equal(fake.sent.append_entries_result.rejected, 0);
    assert_int_equal(fake.sent.append_entries_result.term, 5);
    assert_int_equal(fake.sent.server_id, 2);
    assert_int_equal(n->io_fix.n_lowered, 1);
    /* entries it already had: the hint ends with them */
    fake.reply_last = 110;
    deliver_append(n, 104, 3);
    assert_int_equal(fake.sent.append_entries_result.last_log_index, 107);
}

static void test_what_passes_unchanged(void **state)
{
    struct node *n = *state;
    struct raft_message m;
    struct raft_io_send req;

    /* a refusal keeps libraft's hint: the leader probes from it */
    fake.reply_rejected = 105;
    fake.reply_last = 105;
    deliver_append(n, 105, 0);
    assert_int_equal(fake.sent.append_entries_result.rejected, 105);
    assert_int_equal(fake.sent.append_entries_result.last_log_index, 105);
    /* a log that ends inside the request (writes still in flight) */
    fake.reply_rejected = 0;
    fake.reply_last = 105;
    deliver_append(n, 104, 2);
    assert_int_equal(fake.sent.append_entries_result.last_log_index, 105);
    /* the result of a write that finished later, outside any request */
    send_result(&n->io, 0, 130);
    assert_int_equal(fake.sent.append_entries_result.last_log_index, 130);
    /* other messages */
    memset(&m, 0, sizeof m);
    m.type = RAFT_IO_REQUEST_VOTE_RESULT;
    m.request_vote_result.term = 9;
    assert_int_equal(n->io.send(&n->io, &req, &m, NULL), 0);
    assert_int_equal(fake.sent.type, RAFT_IO_REQUEST_VOTE_RESULT);
    assert_int_equal(fake.sent.request_vote_result.term, 9);
    assert_int_equal(n->io_fix.n_lowered, 0);
    assert_int_equal(fake.n_sent, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heartbeat_over_a_stale_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_what_passes_unchanged, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
