#include "recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "backup_file.h"
#include "fileio.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"

#define TMP_NAME ".restore"
#define RAFT_SNAPSHOT_TERM 1

/* --- files ------------------------------------------------------------ */

/* -1 if dir cannot be read; else 1 if it holds anything, 0 if not. */
static int dir_has_entries(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    int found = 0;

    if (d == NULL) {
        return -1;
    }
    while (found == 0 && (e = readdir(d)) != NULL) {
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return found;
}

static int remove_one(const char *path,
                      const struct stat *st,
                      int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void remove_tree(const char *dir)
{
    (void)nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The backup file, mapped. */
struct mapped
{
    void *base;
    size_t len;
};

static int map_file(const char *path, struct mapped *m, char *err, size_t len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, len, "%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    m->len = (size_t)st.st_size;
    m->base = m->len > 0 ? mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0)
                         : MAP_FAILED;
    close(fd);
    if (m->base == MAP_FAILED) {
        snprintf(err, len, "%s: %s", path,
                 m->len == 0 ? "empty file" : strerror(errno));
        return -1;
    }
    return 0;
}

/* --- raft ------------------------------------------------------------- */

static int members_conf(const struct config *cfg,
                        struct raft_configuration *conf)
{
    int rv = 0;
    raft_configuration_init(conf);
    for (unsigned i = 0; i < cfg->n_members && rv == 0; i++) {
        rv = raft_configuration_add(conf, cfg->members[i].id,
                                    cfg->members[i].raft_address, RAFT_VOTER);
    }
    return rv;
}

struct raft_env
{
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    bool io_ready;
    bool done;
    int status;
};

static int env_open(struct raft_env *e,
                    const char *dir,
                    char *err,
                    size_t errlen)
{
    int rv;

    memset(e, 0, sizeof *e);
    uv_loop_init(&e->loop);
    rv = raft_uv_tcp_init(&e->transport, &e->loop);
    if (rv == 0) {
        rv = raft_uv_init(&e->io, &e->loop, dir, &e->transport);
        if (rv != 0) {
            snprintf(err, errlen, "raft: init %s: %s", dir,
                     e->io.errmsg[0] ? e->io.errmsg : raft_strerror(rv));
            raft_uv_tcp_close(&e->transport);
        }
    } else {
        snprintf(err, errlen, "raft: transport: %s", raft_strerror(rv));
    }
    if (rv != 0) {
        uv_loop_close(&e->loop);
        return -1;
    }
    e->io_ready = true;
    return 0;
}

static void env_close(struct raft_env *e)
{
    uv_run(&e->loop, UV_RUN_DEFAULT);
    if (e->io_ready) {
        raft_uv_close(&e->io);
        raft_uv_tcp_close(&e->transport);
    }
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
}

static void io_closed(struct raft_io *io)
{
    (void)io;
}

static void put_done(struct raft_io_snapshot_put *req, int status)
{
    struct raft_env *e = req->data;
    e->done = true;
    e->status = status;
}

/* A fresh Raft directory holding one snapshot of `body` at `index`. */
static int put_raft_snapshot(const struct config *cfg,
                             const char *dir,
                             raft_index index,
                             void *body,
                             size_t len,
                             char *err,
                             size_t errlen)
{
    struct raft_env e;
    struct raft_snapshot snap;
    struct raft_buffer buf = {body, len};
    struct raft_io_snapshot_put req;
    struct raft_entry *entries = NULL;
    struct raft_snapshot *old = NULL;
    raft_index start;
    raft_term term;
    raft_id vote;
    size_t n = 0;
    int rv;

    if (env_open(&e, dir, err, errlen) != 0) {
        return -1;
    }
    memset(&snap, 0, sizeof snap);
    rv = e.io.init(&e.io, cfg->id, cfg->raft_address);
    if (rv == 0) {
        rv = e.io.load(&e.io, &term, &vote, &old, &start, &entries, &n);
    }
    if (rv == 0 && (term != 0 || old != NULL || n != 0)) {
        rv = RAFT_CANTBOOTSTRAP; /* checked empty before: cannot happen */
    }
    if (rv == 0) {
        rv = e.io.set_term(&e.io, RAFT_SNAPSHOT_TERM);
    }
    if (rv == 0) {
        rv = members_conf(cfg, &snap.configuration);
    }
    if (rv == 0) {
        snap.index = index;
        snap.term = RAFT_SNAPSHOT_TERM;
        snap.configuration_index = index;
        snap.bufs = &buf;
        snap.n_bufs = 1;
        req.data = &e;
        rv = e.io.snapshot_put(&e.io, 1, &req, &snap, put_done);
    }
    if (rv == 0) {
        while (!e.done && uv_run(&e.loop, UV_RUN_ONCE) != 0) {
        }
        rv = e.done ? e.status : RAFT_IOERR;
    }
    if (rv != 0) {
        snprintf(err, errlen, "raft: write the snapshot into %s: %s", dir,
                 e.io.errmsg[0] ? e.io.errmsg : raft_strerror(rv));
    }
    raft_configuration_close(&snap.configuration);
    e.io.close(&e.io, io_closed);
    env_close(&e);
    return rv == 0 ? 0 : -1;
}

/* --- restore ------------------------------------------------------------ */

static int check_empty_data_dir(const char *dir,
                                bool *exists,
                                char *err,
                                size_t errlen)
{
    int has = dir_has_entries(dir);

    *exists = has >= 0;
    if (has < 0 && errno != ENOENT) {
        snprintf(err, errlen, "node.data_dir: %s: %s", dir, strerror(errno));
        return -1;
    }
    if (has > 0) {
        snprintf(err, errlen,
                 "node.data_dir: %s is not empty: --restore only seeds a new "
                 "node; move the old data away first",
                 dir);
        return -1;
    }
    return 0;
}

/* Check the file and its snapshot stream before writing anything. */
static int check_backup(const char *file,
                        const struct mapped *m,
                        struct backup_header *h,
                        char *err,
                        size_t errlen)
{
    char msg[300];
    uint64_t index;

    if (backup_verify_buffer(m->base, m->len, h, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s: %s", file, msg);
        return -1;
    }
    if (snapshot_peek((uint8_t *)m->base + BACKUP_HEADER_LEN,
                      (size_t)h->body_len, &index) != 0 ||
        index != h->applied_index) {
        snprintf(err, errlen,
                 "%s: the snapshot inside does not match the header "
                 "(applied index %llu)",
                 file, (unsigned long long)h->applied_index);
        return -1;
    }
    return 0;
}

/* State and Raft snapshot into tmp/state and tmp/raft. */
static int build(const struct config *cfg,
                 const char *tmp,
                 const struct mapped *m,
                 const struct backup_header *h,
                 char *err,
                 size_t errlen)
{
    uint8_t *body = (uint8_t *)m->base + BACKUP_HEADER_LEN;
    char path[PATH_MAX + 32];
    struct store s;

    if (mkdir(tmp, 0700) != 0) {
        snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/state", tmp);
    if (store_open(&s, path, STORE_DEFAULT_MAP_SIZE, err, errlen) != 0) {
        return -1;
    }
    if (snapshot_load(&s, body, (size_t)h->body_len, err, errlen) != 0) {
        store_close(&s);
        return -1;
    }
    store_close(&s);
    snprintf(path, sizeof path, "%s/raft", tmp);
    if (mkdir(path, 0700) != 0) {
        snprintf(err, errlen, "create %s: %s", path, strerror(errno));
        return -1;
    }
    /* libraft has no snapshot at index 0; the state's own index (0) still
     * makes every entry after it apply. */
    return put_raft_snapshot(cfg, path,
                             h->applied_index > 0 ? h->applied_index : 1, body,
                             (size_t)h->body_len, err, errlen);
}

/* Move tmp/raft, then tmp/state into data_dir. */
static int move_in(const char *data_dir,
                   const char *tmp,
                   char *err,
                   size_t errlen)
{
    static const char *const parts[] = {"raft", "state"};
    char from[PATH_MAX + 32];
    char to[PATH_MAX + 32];

    for (size_t i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/%s", tmp, parts[i]);
        snprintf(to, sizeof to, "%s/%s", data_dir, parts[i]);
        if (rename(from, to) != 0 || file_sync_dir(data_dir) != 0) {
            snprintf(err, errlen, "move %s to %s: %s", from, to,
                     strerror(errno));
            return -1;
        }
    }
    if (rmdir(tmp) != 0 || file_sync_dir(data_dir) != 0) {
        snprintf(err, errlen, "remove %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int recovery_restore(const struct config *cfg,
                     const char *file,
                     char *err,
                     size_t errlen)
{
    struct backup_header h;
    struct mapped m;
    char tmp[PATH_MAX + 16];
    bool existed;

    if (check_empty_data_dir(cfg->data_dir, &existed, err, errlen) != 0 ||
        map_file(file, &m, err, errlen) != 0) {
        return -1;
    }
    if (check_backup(file, &m, &h, err, errlen) != 0) {
        goto err_after_map;
    }
    if (!existed && mkdir(cfg->data_dir, 0700) != 0) {
        snprintf(err, errlen, "node.data_dir: create %s: %s", cfg->data_dir,
                 strerror(errno));
        goto err_after_map;
    }
    snprintf(tmp, sizeof tmp, "%s/%s", cfg->data_dir, TMP_NAME);
    if (build(cfg, tmp, &m, &h, err, errlen) != 0 ||
        move_in(cfg->data_dir, tmp, err, errlen) != 0) {
        goto err_after_mkdir;
    }
    munmap(m.base, m.len);
    log_info(
        "restore: %s written from %s: state at index %llu, %llu records, "
        "cluster id %016llx; Raft starts from a snapshot at that index with "
        "%u member(s)",
        cfg->data_dir, file, (unsigned long long)h.applied_index,
        (unsigned long long)h.records, (unsigned long long)h.cluster_id,
        cfg->n_members);
    return 0;

err_after_mkdir:
    remove_tree(tmp);
    if (!existed) {
        rmdir(cfg->data_dir);
    } else {
        char p[PATH_MAX + 16];
        /* only what this run moved in; the directory was empty */
        snprintf(p, sizeof p, "%s/raft", cfg->data_dir);
        remove_tree(p);
        snprintf(p, sizeof p, "%s/state", cfg->data_dir);
        remove_tree(p);
    }
err_after_map:
    munmap(m.base, m.len);
    return -1;
}

/* --- force a new configuration ------------------------------------------ */

static int fsm_unused_apply(struct raft_fsm *fsm,
                            const struct raft_buffer *buf,
                            void **result)
{
    (void)fsm;
    (void)buf;
    (void)result;
    return RAFT_INVALID;
}

static void raft_closed(struct raft *r)
{
    (void)r;
}

static int has_raft_state(const char *raft_dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metadata1", raft_dir);
    if (access(path, F_OK) == 0) {
        return 1;
    }
    snprintf(path, sizeof path, "%s/metadata2", raft_dir);
    return access(path, F_OK) == 0;
}

/* Does a running process (klaxond) hold the state's LMDB environment open?
 * LMDB keeps a shared fcntl lock on the first byte of lock.mdb for as long
 * as an environment is open. The pid, or 0. */
static long state_in_use(const char *data_dir)
{
    char path[PATH_MAX + 32];
    struct flock fl;
    int fd;

    snprintf(path, sizeof path, "%s/state/lock.mdb", data_dir);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) {
        fl.l_pid = 0;
    }
    close(fd);
    return (long)fl.l_pid;
}

static void log_members(const struct config *cfg)
{
    for (unsigned i = 0; i < cfg->n_members; i++) {
        log_warn("force-new-cluster:   member %llu at %s",
                 (unsigned long long)cfg->members[i].id,
                 cfg->members[i].raft_address);
    }
}

int recovery_force_new_cluster(const struct config *cfg,
                               char *err,
                               size_t errlen)
{
    struct raft_fsm fsm;
    struct raft_configuration conf;
    struct raft_env e;
    struct raft r;
    char dir[PATH_MAX + 16];
    long pid;
    int rv;

    snprintf(dir, sizeof dir, "%s/raft", cfg->data_dir);
    pid = state_in_use(cfg->data_dir);
    if (pid != 0) {
        snprintf(err, errlen,
                 "node.data_dir: %s is in use by process %ld: stop that "
                 "klaxond first",
                 cfg->data_dir, pid);
        return -1;
    }
    if (!has_raft_state(dir)) {
        snprintf(err, errlen,
                 "node.data_dir: no Raft state in %s: --force-new-cluster "
                 "recovers a node that has data (a new node is seeded with "
                 "--restore)",
                 dir);
        return -1;
    }
    if (env_open(&e, dir, err, errlen) != 0) {
        return -1;
    }
    memset(&fsm, 0, sizeof fsm);
    fsm.version = 1;
    fsm.apply = fsm_unused_apply;
    rv = raft_init(&r, &e.io, &fsm, cfg->id, cfg->raft_address);
    if (rv != 0) {
        snprintf(err, errlen, "raft: init: %s", raft_errmsg(&r));
        env_close(&e);
        return -1;
    }
    log_warn(
        "force-new-cluster: rewriting the Raft configuration in %s to the "
        "%u member(s) of this node's configuration:",
        dir, cfg->n_members);
    log_members(cfg);
    rv = members_conf(cfg, &conf);
    if (rv == 0) {
        rv = raft_recover(&r, &conf);
    }
    raft_configuration_close(&conf);
    if (rv != 0) {
        snprintf(err, errlen, "raft: recover: %s",
                 e.io.errmsg[0] ? e.io.errmsg : raft_strerror(rv));
    }
    raft_close(&r, raft_closed);
    env_close(&e);
    if (rv != 0) {
        return -1;
    }
    log_warn(
        "force-new-cluster: done. Every entry in this node's log is kept; "
        "entries the old cluster had not committed will commit too. The "
        "old members are no longer part of the cluster: never start them "
        "again with their old data. Start this node normally now (without "
        "--force-new-cluster).");
    return 0;
}
