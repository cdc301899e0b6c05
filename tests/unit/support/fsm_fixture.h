/*
 * State machine test fixture: a real fsm over a fresh LMDB store in a
 * temporary directory, and entries applied exactly as Raft would (encoded,
 * at consecutive indexes, with results handed to the proposer).
 */
#ifndef KLAXON_TESTS_FSM_FIXTURE_H
#define KLAXON_TESTS_FSM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "cluster.pb-c.h"
#include "fsm.h"
#include "store.h"

#define FIXTURE_NODE_ID 1
#define FIXTURE_NONCE 42
#define FIXTURE_MAX_CMDS 16

struct fixture
{
    char dir[64];
    struct store store;
    struct fsm fsm;
    uint64_t index;
    uint64_t seq;
    struct apply_result results[FIXTURE_MAX_CMDS];
    size_t n_results;
    int request_counter;
};

/* cmocka setup/teardown: *state is a struct fixture. */
int fsm_fixture_setup(void **state);
int fsm_fixture_teardown(void **state);

/* Apply the commands as one entry at the next index with time_ms;
 * fx->results holds their results. */
void fsm_fixture_apply(struct fixture *fx,
                       uint64_t time_ms,
                       Klaxon__Cluster__Command *const *cmds,
                       size_t n);

/* Close the fsm and store cleanly and open them again from disk. */
void fsm_fixture_reopen(struct fixture *fx);

/* A fresh read transaction (abort it when done). */
MDB_txn *fsm_fixture_read(struct fixture *fx);

#endif /* KLAXON_TESTS_FSM_FIXTURE_H */
