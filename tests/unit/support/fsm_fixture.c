#include "fsm_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct apply_result *results_hook(void *arg, uint64_t seq, size_t n)
{
    struct fixture *fx = arg;
    (void)seq;
    assert_true(n <= FIXTURE_MAX_CMDS);
    fx->n_results = n;
    return fx->results;
}

static void open_fsm(struct fixture *fx)
{
    char err[256];

    assert_int_equal(store_open(&fx->store, fx->dir, 64 << 20, err, sizeof err),
                     0);
    assert_int_equal(fsm_init(&fx->fsm, &fx->store, FIXTURE_NODE_ID,
                              FIXTURE_NONCE, false, err, sizeof err),
                     0);
    fx->fsm.results = results_hook;
    fx->fsm.results_arg = fx;
}

int fsm_fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/klaxon-test-fsm-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    open_fsm(fx);
    *state = fx;
    return 0;
}

void fsm_fixture_reopen(struct fixture *fx)
{
    fsm_close(&fx->fsm);
    store_close(&fx->store);
    open_fsm(fx);
}

int fsm_fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    fsm_close(&fx->fsm);
    store_close(&fx->store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

void fsm_fixture_apply(struct fixture *fx,
                       uint64_t time_ms,
                       Klaxon__Cluster__Command *const *cmds,
                       size_t n)
{
    Klaxon__Cluster__Entry e = KLAXON__CLUSTER__ENTRY__INIT;
    struct raft_buffer buf;

    assert_true(n <= FIXTURE_MAX_CMDS);
    e.version = 1;
    e.time_ms = time_ms;
    e.proposer_id = FIXTURE_NODE_ID;
    e.proposer_nonce = FIXTURE_NONCE;
    e.batch_seq = fx->seq++;
    e.n_commands = n;
    e.commands = (Klaxon__Cluster__Command **)cmds;
    memset(fx->results, 0xAB, sizeof fx->results);
    fx->n_results = 0;
    assert_int_equal(fsm_encode_entry(&e, &buf), 0);
    assert_int_equal(fsm_apply_entry(&fx->fsm, ++fx->index, buf.base, buf.len),
                     0);
    raft_free(buf.base);
    assert_int_equal(fx->n_results, n);
}

MDB_txn *fsm_fixture_read(struct fixture *fx)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->store.env, NULL, MDB_RDONLY, &txn), 0);
    return txn;
}
