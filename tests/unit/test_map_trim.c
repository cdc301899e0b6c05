/*
 * Keeping the state file's mapped pages down (server/map_trim.h): reading
 * a store maps its pages into the process; a look over the budget drops
 * them, the data reads back the same, a budget of 0 leaves them, and a
 * dump of the whole store keeps them within the budget as it scans.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map_trim.h"
#include "snapshot.h"
#include "store.h"

#define MIB (1024u * 1024u)
#define RECORDS 6000
#define VALUE_LEN 4000 /* one overflow page each: 6000 records, ~47 MiB */

struct fixture
{
    char dir[64];
    struct store s;
    uv_loop_t loop;
    struct map_trim t;
};

static void fill(struct store *s, uint64_t first, unsigned n)
{
    MDB_txn *txn;

    assert_int_equal(mdb_txn_begin(s->env, NULL, 0, &txn), 0);
    assert_int_equal(store_meta_put(txn, s, META_APPLIED_INDEX, 7), 0);
    for (uint64_t i = first; i < first + n; i++) {
        uint8_t k[8];
        uint8_t v[VALUE_LEN];
        MDB_val key = store_id_key(k, i);
        MDB_val val = {sizeof v, v};
        memset(v, (int)(i & 0xff), sizeof v);
        assert_int_equal(mdb_put(txn, s->dbi[TABLE_INCIDENTS], &key, &val, 0),
                         0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Read every record through the map; true if all hold what fill wrote. */
static bool read_all(struct store *s)
{
    MDB_txn *txn;
    bool same = true;

    assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), 0);
    for (uint64_t i = 1; i <= RECORDS; i++) {
        uint8_t k[8];
        MDB_val key = store_id_key(k, i);
        MDB_val val;
        const uint8_t *p;
        assert_int_equal(mdb_get(txn, s->dbi[TABLE_INCIDENTS], &key, &val), 0);
        p = val.mv_data;
        same &= val.mv_size == VALUE_LEN && p[0] == (uint8_t)(i & 0xff) &&
                p[VALUE_LEN - 1] == (uint8_t)(i & 0xff);
    }
    mdb_txn_abort(txn);
    return same;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[96];
    char err[256];

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_map_trim_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof path, "%s/state", f->dir);
    assert_int_equal(store_open(&f->s, path, 1u << 30, err, sizeof err), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    map_trim_stop(&f->t);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    f->s.trim = NULL;
    map_trim_destroy(&f->t);
    store_close(&f->s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_over_budget_drops_pages(void **state)
{
    struct fixture *f = *state;
    uint64_t before, after, resident, trims;

    assert_int_equal(map_trim_start(&f->t, &f->loop, f->s.env, 4), 0);
    fill(&f->s, 1, RECORDS);
    assert_true(read_all(&f->s));
    before = map_trim_resident_file();
    assert_true(before >= f->t.base + 20 * MIB);

    assert_true(map_trim_check(&f->t));
    after = map_trim_resident_file();
    assert_true(after + 20 * MIB <= before);
    map_trim_figures(&f->t, &resident, &trims);
    assert_int_equal(trims, 1);
    assert_true(resident <= f->t.base + 4 * MIB);

    /* under the budget now: no second trim; the data is all there */
    assert_false(map_trim_check(&f->t));
    assert_true(read_all(&f->s));
}

static void test_zero_budget_leaves_pages(void **state)
{
    struct fixture *f = *state;
    uint64_t before, resident, trims;

    assert_int_equal(map_trim_start(&f->t, &f->loop, f->s.env, 0), 0);
    fill(&f->s, 1, RECORDS);
    assert_true(read_all(&f->s));
    before = map_trim_resident_file();
    assert_false(map_trim_check(&f->t));
    assert_true(map_trim_resident_file() + 4 * MIB >= before);
    map_trim_figures(&f->t, &resident, &trims);
    assert_int_equal(trims, 0);
}

static int discard(void *arg, const uint8_t *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return 0;
}

static void test_dump_keeps_pages_within_budget(void **state)
{
    struct fixture *f = *state;
    struct snapshot_info info;
    size_t streamed = 0;
    uint64_t resident, trims;
    char err[256];
    MDB_txn *txn;

    assert_int_equal(map_trim_start(&f->t, &f->loop, f->s.env, 4), 0);
    f->s.trim = &f->t;
    fill(&f->s, 1, RECORDS);
    assert_int_equal(mdb_txn_begin(f->s.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(snapshot_stream(txn, &f->s, discard, &streamed, NULL,
                                     &info, err, sizeof err),
                     0);
    mdb_txn_abort(txn);
    assert_int_equal(streamed, info.bytes);
    assert_true(streamed >= (size_t)RECORDS * VALUE_LEN);
    map_trim_figures(&f->t, &resident, &trims);
    assert_true(trims >= 4);
    /* what the scan left mapped: at most the budget and one look's worth */
    assert_true(map_trim_resident_file() <= f->t.floor + 4 * MIB + 2 * MIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_over_budget_drops_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zero_budget_leaves_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_keeps_pages_within_budget,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
