/*
 * Backup files (common/backup_file.h): a valid file reads back; truncated
 * files, bad magic, an unknown version, a wrong header length, bytes after
 * the checksum and a damaged byte are refused, in memory and on disk.
 * Also: the streamed snapshot (server/snapshot.h) is byte for byte the one
 * Raft snapshots use, and measure predicts its size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_file.h"
#include "snapshot.h"
#include "store.h"

#define BODY_LEN 1000

struct file
{
    uint8_t *p;
    size_t len;
};

/* A valid file with a body of BODY_LEN bytes. */
static struct file make_file(void)
{
    struct backup_header h = {BACKUP_FORMAT_VERSION,
                              0x1122334455667788ull,
                              42,
                              1700000000000ull,
                              7,
                              BODY_LEN};
    struct file f;
    unsigned n = 0;

    f.len = (size_t)backup_file_size(&h);
    f.p = malloc(f.len);
    assert_non_null(f.p);
    backup_header_encode(&h, f.p);
    for (size_t i = 0; i < BODY_LEN; i++) {
        f.p[BACKUP_HEADER_LEN + i] = (uint8_t)(i * 7);
    }
    assert_int_equal(
        EVP_Digest(f.p, f.len - BACKUP_SUM_LEN, f.p + f.len - BACKUP_SUM_LEN,
                   &n, EVP_sha256(), NULL),
        1);
    return f;
}

/* Recompute the checksum after changing the header on purpose. */
static void reseal(struct file *f)
{
    unsigned n = 0;
    assert_int_equal(
        EVP_Digest(f->p, f->len - BACKUP_SUM_LEN,
                   f->p + f->len - BACKUP_SUM_LEN, &n, EVP_sha256(), NULL),
        1);
}

static int verify(const struct file *f, char *err, size_t len)
{
    struct backup_header h;
    return backup_verify_buffer(f->p, f->len, &h, err, len);
}

/* The same check on disk, through a temporary file. */
static int verify_on_disk(const struct file *f, char *err, size_t len)
{
    char path[] = "/tmp/klaxon-backup-test-XXXXXX";
    struct backup_header h;
    int fd = mkstemp(path);
    int rv;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->p, f->len), (ssize_t)f->len);
    close(fd);
    rv = backup_verify_file(path, &h, NULL, err, len);
    unlink(path);
    return rv;
}

static void expect_refused(const struct file *f, const char *why)
{
    char err[512];

    assert_int_equal(verify(f, err, sizeof err), -1);
    if (strstr(err, why) == NULL) {
        fail_msg("\"%s\" does not say \"%s\"", err, why);
    }
    assert_int_equal(verify_on_disk(f, err, sizeof err), -1);
    if (strstr(err, why) == NULL) {
        fail_msg("on disk: \"%s\" does not say \"%s\"", err, why);
    }
}

static void test_valid_file_reads_back(void **state)
{
    struct file f = make_file();
    struct backup_header h;
    uint8_t sum[BACKUP_SUM_LEN];
    char path[] = "/tmp/klaxon-backup-test-XXXXXX";
    char err[256];
    int fd;

    (void)state;
    assert_int_equal(backup_verify_buffer(f.p, f.len, &h, err, sizeof err), 0);
    assert_int_equal(h.version, BACKUP_FORMAT_VERSION);
    assert_true(h.cluster_id == 0x1122334455667788ull);
    assert_int_equal(h.applied_index, 42);
    assert_int_equal(h.created_ms, 1700000000000ull);
    assert_int_equal(h.records, 7);
    assert_int_equal(h.body_len, BODY_LEN);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f.p, f.len), (ssize_t)f.len);
    close(fd);
    assert_int_equal(backup_verify_file(path, &h, sum, err, sizeof err), 0);
    assert_memory_equal(sum, f.p + f.len - BACKUP_SUM_LEN, BACKUP_SUM_LEN);
    unlink(path);
    free(f.p);
}

static void test_truncated_refused(void **state)
{
    struct file f = make_file();
    size_t full = f.len;

    (void)state;
    f.len = full - 1; /* the last byte of the checksum missing */
    expect_refused(&f, "truncated");
    f.len = BACKUP_HEADER_LEN + 10; /* cut in the body */
    expect_refused(&f, "truncated");
    f.len = 20; /* cut in the header */
    expect_refused(&f, "truncated");
    f.len = 0;
    expect_refused(&f, "bad magic");
    free(f.p);
}

static void test_bad_magic_refused(void **state)
{
    struct file f = make_file();

    (void)state;
    f.p[0] = 'X';
    reseal(&f);
    expect_refused(&f, "bad magic");
    free(f.p);
}

static void test_bad_version_refused(void **state)
{
    struct file f = make_file();

    (void)state;
    f.p[11] = 2; /* format version 2, checksum valid */
    reseal(&f);
    expect_refused(&f, "format version 2 is not supported");
    free(f.p);
}

static void test_bad_header_length_refused(void **state)
{
    struct file f = make_file();

    (void)state;
    f.p[15] = 80;
    reseal(&f);
    expect_refused(&f, "header length 80");
    free(f.p);
}

static void test_bad_checksum_refused(void **state)
{
    struct file f = make_file();

    (void)state;
    f.p[BACKUP_HEADER_LEN + 500] ^= 1; /* one bit of the body */
    expect_refused(&f, "checksum mismatch");
    f.p[BACKUP_HEADER_LEN + 500] ^= 1;
    f.p[f.len - 1] ^= 0x80; /* the checksum itself */
    expect_refused(&f, "checksum mismatch");
    f.p[f.len - 1] ^= 0x80;
    f.p[30] ^= 1; /* the applied index in the header */
    expect_refused(&f, "checksum mismatch");
    free(f.p);
}

static void test_trailing_bytes_refused(void **state)
{
    struct file f = make_file();
    uint8_t *longer = realloc(f.p, f.len + 1);

    (void)state;
    assert_non_null(longer);
    f.p = longer;
    f.p[f.len++] = 0;
    expect_refused(&f, "bytes after the checksum");
    free(f.p);
}

/* --- the streamed snapshot ---------------------------------------------- */

struct collected
{
    uint8_t *p;
    size_t len;
};

static int collect(void *arg, const uint8_t *p, size_t n)
{
    struct collected *c = arg;
    uint8_t *q = realloc(c->p, c->len + n);
    if (q == NULL) {
        return -1;
    }
    memcpy(q + c->len, p, n);
    c->p = q;
    c->len += n;
    return 0;
}

static void test_stream_equals_dump(void **state)
{
    char dir[] = "/tmp/klaxon-backup-store-XXXXXX";
    char path[64];
    struct snapshot_info measured;
    struct snapshot_info streamed;
    struct collected c = {NULL, 0};
    struct raft_buffer dump;
    struct store s;
    uint64_t done = 0;
    char err[256];
    MDB_txn *txn;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state", dir);
    assert_int_equal(store_open(&s, path, 1 << 26, err, sizeof err), 0);
    assert_int_equal(mdb_txn_begin(s.env, NULL, 0, &txn), 0);
    assert_int_equal(store_meta_put(txn, &s, META_APPLIED_INDEX, 99), 0);
    for (uint64_t i = 1; i <= 5000; i++) {
        /* enough bytes for several flushes of 1 MiB */
        uint8_t k[8];
        uint8_t v[400];
        MDB_val key = store_id_key(k, i);
        MDB_val val = {sizeof v, v};
        memset(v, (int)i, sizeof v);
        assert_int_equal(mdb_put(txn, s.dbi[TABLE_INCIDENTS], &key, &val, 0),
                         0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);

    assert_int_equal(mdb_txn_begin(s.env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(snapshot_dump(txn, &s, &dump, err, sizeof err), 0);
    assert_int_equal(snapshot_measure(txn, &s, &measured, err, sizeof err), 0);
    assert_int_equal(snapshot_stream(txn, &s, collect, &c, &done, &streamed,
                                     err, sizeof err),
                     0);
    mdb_txn_abort(txn);

    assert_int_equal(measured.bytes, dump.len);
    assert_int_equal(measured.applied_index, 99);
    assert_int_equal(measured.records, streamed.records);
    assert_int_equal(done, streamed.records);
    assert_int_equal(c.len, dump.len);
    assert_memory_equal(c.p, dump.base, dump.len);
    raft_free(dump.base);
    free(c.p);
    store_close(&s);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_reads_back),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_bad_magic_refused),
        cmocka_unit_test(test_bad_version_refused),
        cmocka_unit_test(test_bad_header_length_refused),
        cmocka_unit_test(test_bad_checksum_refused),
        cmocka_unit_test(test_trailing_bytes_refused),
        cmocka_unit_test(test_stream_equals_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
