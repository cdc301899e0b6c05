#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"

#define CLEAN_MARKER "clean"
#define BOOT_ID_FILE "boot_id"
#define BOOT_ID_SOURCE "/proc/sys/kernel/random/boot_id"

static const char *const table_names[TABLE_COUNT] = {
    "meta",     "incidents",   "timeline",    "dedup",    "open",
    "requests", "request_age", "config",      "timers",   "pages",
    "pending",  "inc_pages",   "maintenance", "monitors",
};

const char *store_table_name(enum store_table t)
{
    return t < TABLE_COUNT ? table_names[t] : "?";
}

void store_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t store_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

void store_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void path_join(char *out, size_t len, const char *dir, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Read the kernel's boot id (a random UUID per boot) into buf. */
static void read_boot_id(char *buf, size_t len)
{
    FILE *f = fopen(BOOT_ID_SOURCE, "r");
    buf[0] = '\0';
    if (f == NULL) {
        return;
    }
    if (fgets(buf, (int)len, f) == NULL) {
        buf[0] = '\0';
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Write a small file durably (write, fsync, rename, fsync dir). */
static int write_file_durable(const char *dir, const char *name, const char *s)
{
    char path[4200];
    char tmp[4300];
    size_t len = strlen(s);
    int fd;

    path_join(path, sizeof path, dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    if (write(fd, s, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return file_sync_dir(dir);
}

static bool file_matches(const char *dir, const char *name, const char *want)
{
    char path[4200];
    char got[128] = "";
    FILE *f;

    path_join(path, sizeof path, dir, name);
    f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    if (fgets(got, sizeof got, f) == NULL) {
        got[0] = '\0';
    }
    fclose(f);
    return strcmp(got, want) == 0;
}

/*
 * Decide whether the state on disk can be trusted, then arm the markers for
 * this run: the clean marker is removed (durably) before the first write,
 * and the boot id of this boot is recorded.
 */
static int check_markers(struct store *s, char *err, size_t errlen)
{
    char boot_id[128];
    char path[4200];
    bool clean;
    bool same_boot;

    read_boot_id(boot_id, sizeof boot_id);
    path_join(path, sizeof path, s->dir, CLEAN_MARKER);
    clean = access(path, F_OK) == 0;
    same_boot =
        boot_id[0] != '\0' && file_matches(s->dir, BOOT_ID_FILE, boot_id);
    path_join(path, sizeof path, s->dir, "data.mdb");
    if (!clean && !same_boot && access(path, F_OK) == 0) {
        log_warn(
            "state: previous run did not stop cleanly and the machine "
            "restarted since; discarding %s (Raft rebuilds it from its "
            "snapshot and log)",
            path);
        if (unlink(path) != 0) {
            snprintf(err, errlen, "state: remove %s: %s", path,
                     strerror(errno));
            return -1;
        }
        s->rebuilt = true;
    }
    path_join(path, sizeof path, s->dir, CLEAN_MARKER);
    if (clean && (unlink(path) != 0 || file_sync_dir(s->dir) != 0)) {
        snprintf(err, errlen, "state: remove %s: %s", path, strerror(errno));
        return -1;
    }
    if (write_file_durable(s->dir, BOOT_ID_FILE, boot_id) != 0) {
        snprintf(err, errlen, "state: write %s/%s: %s", s->dir, BOOT_ID_FILE,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int open_tables(struct store *s, char *err, size_t errlen)
{
    MDB_txn *txn;
    uint64_t schema;
    int rv;

    rv = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rv != 0) {
        snprintf(err, errlen, "state: begin: %s", mdb_strerror(rv));
        return -1;
    }
    for (int t = 0; t < TABLE_COUNT; t++) {
        rv = mdb_dbi_open(txn, table_names[t], MDB_CREATE, &s->dbi[t]);
        if (rv != 0) {
            snprintf(err, errlen, "state: open table %s: %s", table_names[t],
                     mdb_strerror(rv));
            goto err_after_begin;
        }
    }
    rv = store_meta_get(txn, s, META_SCHEMA, &schema);
    if (rv == 0 && schema == 0) {
        rv = store_meta_put(txn, s, META_SCHEMA, STORE_SCHEMA_VERSION);
    } else if (rv == 0 && schema != STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "state: schema version %llu is not supported by this "
                 "build (expects %d)",
                 (unsigned long long)schema, STORE_SCHEMA_VERSION);
        goto err_after_begin;
    }
    if (rv != 0) {
        snprintf(err, errlen, "state: schema: %s", mdb_strerror(rv));
        goto err_after_begin;
    }
    rv = mdb_txn_commit(txn);
    if (rv != 0) {
        snprintf(err, errlen, "state: commit: %s", mdb_strerror(rv));
        return -1;
    }
    return 0;

err_after_begin:
    mdb_txn_abort(txn);
    return -1;
}

int store_open(struct store *s,
               const char *dir,
               size_t map_size,
               char *err,
               size_t errlen)
{
    int rv;

    memset(s, 0, sizeof *s);
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir) {
        snprintf(err, errlen, "state: path too long: %s", dir);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "state: create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (check_markers(s, err, errlen) != 0) {
        return -1;
    }
    rv = mdb_env_create(&s->env);
    if (rv != 0) {
        snprintf(err, errlen, "state: %s", mdb_strerror(rv));
        return -1;
    }
    mdb_env_set_maxdbs(s->env, TABLE_COUNT);
    mdb_env_set_mapsize(s->env, map_size);
    rv = mdb_env_open(s->env, dir, MDB_NOSYNC | MDB_NOTLS, 0600);
    if (rv != 0) {
        snprintf(err, errlen, "state: open %s: %s", dir, mdb_strerror(rv));
        goto err_after_create;
    }
    if (open_tables(s, err, errlen) != 0) {
        goto err_after_create;
    }
    return 0;

err_after_create:
    mdb_env_close(s->env);
    s->env = NULL;
    return -1;
}

void store_close(struct store *s)
{
    int rv;

    if (s->env == NULL) {
        return;
    }
    rv = mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
    s->env = NULL;
    if (rv != 0) {
        log_error(
            "state: sync at shutdown failed: %s; the next start "
            "rebuilds the state if the machine restarts",
            mdb_strerror(rv));
        return;
    }
    if (write_file_durable(s->dir, CLEAN_MARKER, "clean") != 0) {
        log_error("state: write clean marker: %s", strerror(errno));
    }
}

int store_meta_get(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v;
    int rv = mdb_get(txn, s->dbi[TABLE_META], &k, &v);
    if (rv == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rv != 0) {
        return rv;
    }
    if (v.mv_size != 8) {
        return MDB_CORRUPTED;
    }
    *out = store_get_be64(v.mv_data);
    return 0;
}

int store_meta_put(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t value)
{
    uint8_t buf[8];
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v = {sizeof buf, buf};
    store_put_be64(buf, value);
    return mdb_put(txn, s->dbi[TABLE_META], &k, &v, 0);
}

int store_meta_add(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t delta)
{
    uint64_t v;
    int rv = store_meta_get(txn, s, key, &v);
    if (rv != 0) {
        return rv;
    }
    return store_meta_put(txn, s, key, v + delta);
}

int store_put_message(MDB_txn *txn,
                      MDB_dbi dbi,
                      const MDB_val *key,
                      const ProtobufCMessage *m)
{
    MDB_val val;
    int rv;

    val.mv_size = protobuf_c_message_get_packed_size(m);
    val.mv_data = NULL;
    rv = mdb_put(txn, dbi, (MDB_val *)key, &val, MDB_RESERVE);
    if (rv != 0) {
        return rv;
    }
    protobuf_c_message_pack(m, val.mv_data);
    return 0;
}

int store_get_message(MDB_txn *txn,
                      MDB_dbi dbi,
                      const MDB_val *key,
                      const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out)
{
    MDB_val v;
    int rv = mdb_get(txn, dbi, (MDB_val *)key, &v);

    *out = NULL;
    if (rv != 0) {
        return rv;
    }
    *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    return *out != NULL ? 0 : MDB_CORRUPTED;
}

MDB_val store_id_key(uint8_t buf[8], uint64_t id)
{
    MDB_val k = {8, buf};
    store_put_be64(buf, id);
    return k;
}

uint64_t store_applied_index(const struct store *s)
{
    MDB_txn *txn;
    uint64_t applied = 0;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
        return 0;
    }
    if (store_meta_get(txn, s, META_APPLIED_INDEX, &applied) != 0) {
        applied = 0;
    }
    mdb_txn_abort(txn);
    return applied;
}
