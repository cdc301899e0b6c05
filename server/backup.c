#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_sink.h"
#include "fileio.h"
#include "log.h"
#include "snapshot.h"

#define SWEEP_MS 30000

/* --- files ------------------------------------------------------------ */

/* Remove every file of an earlier run. */
static void remove_leftovers(const char *dir)
{
    char path[4400];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) {
            log_info("backup: removed %s, left by an earlier run", path);
        }
    }
    closedir(d);
}

/* --- the work, in the thread pool --------------------------------------- */

static uint64_t read_cluster_id(MDB_txn *txn, const struct store *s)
{
    MDB_val k = {strlen(CONFIG_CLUSTER_ID), (void *)CONFIG_CLUSTER_ID};
    MDB_val v;
    uint64_t id = 0;

    if (mdb_get(txn, s->dbi[TABLE_CONFIG], &k, &v) == 0 && v.mv_size == 8) {
        id = store_get_be64(v.mv_data);
    }
    return id;
}

/* Header, snapshot stream and checksum into the open file. */
static int write_body(struct backup_job *job, struct file_sink *sk)
{
    struct backup *b = job->owner;
    struct snapshot_info info;
    uint8_t head[BACKUP_HEADER_LEN];

    if (snapshot_measure(job->txn, b->store, &info, job->err,
                         sizeof job->err) != 0) {
        return -1;
    }
    job->hdr.cluster_id = read_cluster_id(job->txn, b->store);
    job->hdr.applied_index = info.applied_index;
    __atomic_store_n(&job->hdr.records, info.records, __ATOMIC_RELAXED);
    job->hdr.body_len = info.bytes;
    backup_header_encode(&job->hdr, head);
    if (file_sink_write(sk, head, sizeof head) != 0) {
        snprintf(job->err, sizeof job->err, "write: %s", strerror(errno));
        return -1;
    }
    if (snapshot_stream(job->txn, b->store, file_sink_write, sk,
                        &job->records_done, &info, job->err,
                        sizeof job->err) != 0) {
        return -1;
    }
    if (info.bytes != job->hdr.body_len) {
        snprintf(job->err, sizeof job->err,
                 "the state changed size while written (%llu, then %llu "
                 "bytes)",
                 (unsigned long long)job->hdr.body_len,
                 (unsigned long long)info.bytes);
        return -1;
    }
    if (file_sink_digest(sk, job->sum) != 0 ||
        file_write_all(sk->fd, job->sum, BACKUP_SUM_LEN) != 0) {
        snprintf(job->err, sizeof job->err, "write checksum: %s",
                 strerror(errno));
        return -1;
    }
    job->size = backup_file_size(&job->hdr);
    return 0;
}

static void work_cb(uv_work_t *w)
{
    struct backup_job *job = w->data;
    struct file_sink sk;

    if (file_sink_open(&sk, job->path, job->err, sizeof job->err) != 0) {
        return;
    }
    if (write_body(job, &sk) != 0) {
        file_sink_abort(&sk);
        if (job->err[0] == '\0') {
            snprintf(job->err, sizeof job->err, "failed");
        }
        return;
    }
    if (file_sink_commit(&sk, job->owner->dir, job->err, sizeof job->err) !=
        0) {
        return;
    }
    job->err[0] = '\0';
}

/* --- jobs on the loop ----------------------------------------------------- */

static void job_remove(struct backup_job *job)
{
    if (job->fd >= 0) {
        close(job->fd);
    }
    if (job->state == BACKUP_READY) {
        unlink(job->path);
    }
    list_remove(&job->link);
    free(job);
}

static void after_work_cb(uv_work_t *w, int status)
{
    struct backup_job *job = w->data;
    struct backup *b = job->owner;

    mdb_txn_abort(job->txn);
    job->txn = NULL;
    b->writing = false;
    job->used_ms = uv_now(b->loop);
    if (status == 0 && job->err[0] == '\0') {
        job->fd = open(job->path, O_RDONLY | O_CLOEXEC);
        job->state = BACKUP_READY;
        b->n_saved++;
        log_info(
            "backup: %llu written to %s: state at index %llu, %llu records, "
            "%llu bytes",
            (unsigned long long)job->id, job->path,
            (unsigned long long)job->hdr.applied_index,
            (unsigned long long)job->hdr.records,
            (unsigned long long)job->size);
        if (job->fd < 0) {
            snprintf(job->err, sizeof job->err, "open %.200s: %s", job->path,
                     strerror(errno));
            unlink(job->path);
            job->state = BACKUP_FAILED;
        }
    } else {
        job->state = BACKUP_FAILED;
        b->n_failed++;
        log_error("backup: %llu failed: %s", (unsigned long long)job->id,
                  job->err);
    }
    if (b->stopping) {
        job_remove(job);
    }
}

static void sweep_cb(uv_timer_t *t)
{
    struct backup *b = t->data;
    uint64_t now = uv_now(b->loop);
    struct list *l = b->jobs.next;

    while (l != &b->jobs) {
        struct backup_job *job = list_entry(l, struct backup_job, link);
        l = l->next;
        if (job->state != BACKUP_WRITING && job->reads == 0 &&
            now - job->used_ms >= BACKUP_IDLE_MS) {
            log_info("backup: %llu unused for %d s; removed",
                     (unsigned long long)job->id, BACKUP_IDLE_MS / 1000);
            job_remove(job);
        }
    }
}

int backup_init(struct backup *b,
                uv_loop_t *loop,
                struct store *store,
                const char *data_dir,
                char *err,
                size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->loop = loop;
    b->store = store;
    list_init(&b->jobs);
    snprintf(b->dir, sizeof b->dir, "%s/backups", data_dir);
    if (mkdir(b->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "node.data_dir: create %s: %s", b->dir,
                 strerror(errno));
        return -1;
    }
    remove_leftovers(b->dir);
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    uv_timer_start(&b->timer, sweep_cb, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&b->timer);
    b->started = true;
    /* ids differ across restarts: a client never reads another run's. */
    b->next_id = (uint64_t)time(NULL) << 16;
    return 0;
}

void backup_stop(struct backup *b)
{
    if (!b->started || b->stopping) {
        return;
    }
    b->stopping = true;
    uv_close((uv_handle_t *)&b->timer, NULL);
}

void backup_destroy(struct backup *b)
{
    while (b->started && !list_empty(&b->jobs)) {
        job_remove(list_entry(b->jobs.next, struct backup_job, link));
    }
}

int backup_start(struct backup *b,
                 uint64_t created_ms,
                 struct backup_job **out,
                 char *err,
                 size_t errlen)
{
    struct backup_job *job;
    int rv;

    if (b->stopping) {
        snprintf(err, errlen, "the node is stopping");
        return -1;
    }
    if (b->writing) {
        snprintf(err, errlen,
                 "another backup is being written on this node; try again "
                 "when it is done");
        return -1;
    }
    job = calloc(1, sizeof *job);
    if (job == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rv = mdb_txn_begin(b->store->env, NULL, MDB_RDONLY, &job->txn);
    if (rv != 0) {
        snprintf(err, errlen, "read the state: %s", mdb_strerror(rv));
        free(job);
        return -1;
    }
    job->owner = b;
    job->id = ++b->next_id;
    job->fd = -1;
    job->state = BACKUP_WRITING;
    job->hdr.version = BACKUP_FORMAT_VERSION;
    job->hdr.created_ms = created_ms;
    job->used_ms = uv_now(b->loop);
    job->work.data = job;
    snprintf(job->path, sizeof job->path, "%s/%llu.klxb", b->dir,
             (unsigned long long)job->id);
    rv = uv_queue_work(b->loop, &job->work, work_cb, after_work_cb);
    if (rv != 0) {
        snprintf(err, errlen, "queue the work: %s", uv_strerror(rv));
        mdb_txn_abort(job->txn);
        free(job);
        return -1;
    }
    list_push(&b->jobs, &job->link);
    b->writing = true;
    log_info("backup: %llu started", (unsigned long long)job->id);
    *out = job;
    return 0;
}

struct backup_job *backup_find(struct backup *b, uint64_t id)
{
    struct list *l;
    for (l = b->jobs.next; l != &b->jobs; l = l->next) {
        struct backup_job *job = list_entry(l, struct backup_job, link);
        if (job->id == id) {
            job->used_ms = uv_now(b->loop);
            return job;
        }
    }
    return NULL;
}

static void read_cb(uv_fs_t *fs)
{
    struct backup_read *r = fs->data;
    ssize_t n = fs->result;

    uv_fs_req_cleanup(fs);
    r->job->reads--;
    r->job->used_ms = uv_now(r->job->owner->loop);
    r->cb(r, n);
}

int backup_read(struct backup_job *job,
                struct backup_read *r,
                uint64_t offset,
                size_t len,
                backup_read_cb cb)
{
    uv_buf_t buf = uv_buf_init((char *)r->buf, (unsigned)len);
    int rv;

    if (job->state != BACKUP_READY || job->fd < 0) {
        return UV_EINVAL;
    }
    r->job = job;
    r->cb = cb;
    r->fs.data = r;
    rv = uv_fs_read(job->owner->loop, &r->fs, job->fd, &buf, 1, (int64_t)offset,
                    read_cb);
    if (rv != 0) {
        return rv;
    }
    job->reads++;
    return 0;
}
