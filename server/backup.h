/*
 * Backup files on a node (klaxonctl snapshot save): the node writes a
 * consistent copy of its state to DATA_DIR/backups/ in libuv's thread pool,
 * then serves the file's bytes to the client by offset.
 *
 * - backup_start() opens an LMDB read transaction on the loop (the caller
 *   does this right after a Raft barrier, so the copy holds every write
 *   acknowledged before the request) and queues the work: measure, then
 *   write header + snapshot stream + SHA-256 to "<id>.tmp", fsync, rename
 *   to "<id>.klxb", fsync the directory. Apply goes on meanwhile (MVCC).
 * - backup_read() reads a block of a finished file through uv_fs_read.
 * - Files are removed when idle for BACKUP_IDLE_MS, when the node stops,
 *   and at start (leftovers of an earlier run). A failed write leaves no
 *   file; the job keeps the message for the client.
 *
 * At most one backup is written at a time per node. Format:
 * common/backup_file.h.
 */
#ifndef KLAXON_BACKUP_H
#define KLAXON_BACKUP_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "backup_file.h"
#include "list.h"
#include "store.h"

#define BACKUP_IDLE_MS (5 * 60 * 1000)
#define BACKUP_CHUNK (512u * 1024)

enum backup_state {
    BACKUP_WRITING,
    BACKUP_READY,
    BACKUP_FAILED,
};

struct backup;

struct backup_job
{
    struct list link;
    struct backup *owner;
    uint64_t id;
    enum backup_state state;
    MDB_txn *txn; /* until the work is done */
    uv_work_t work;
    uint64_t records_done; /* atomically, by the worker */
    struct backup_header hdr;
    uint8_t sum[BACKUP_SUM_LEN];
    uint64_t size;
    int fd;         /* the finished file, for reads; -1 otherwise */
    unsigned reads; /* in flight */
    uint64_t used_ms;
    char path[4300];
    char err[300];
};

struct backup
{
    uv_loop_t *loop;
    struct store *store;
    uv_timer_t timer;
    struct list jobs;
    uint64_t next_id;
    bool writing;
    bool stopping;
    bool started;
    char dir[4200];
    /* counters */
    uint64_t n_saved;
    uint64_t n_failed;
};

/* Create DATA_DIR/backups (emptied of earlier files) and the idle timer.
 * 0, or -1 with a message. */
int backup_init(struct backup *b,
                uv_loop_t *loop,
                struct store *store,
                const char *data_dir,
                char *err,
                size_t errlen);

/* Stop the timer; jobs still writing finish and their files are removed. */
void backup_stop(struct backup *b);

/* After the loop ended: close and remove every file, free every job. */
void backup_destroy(struct backup *b);

/* Start a backup of the state as it is now (see above), stamped
 * created_ms. 0 and *job, or -1 with a message (another backup is being
 * written, the store cannot be read). */
int backup_start(struct backup *b,
                 uint64_t created_ms,
                 struct backup_job **job,
                 char *err,
                 size_t errlen);

/* The job of an id, or NULL. Marks it used. */
struct backup_job *backup_find(struct backup *b, uint64_t id);

struct backup_read;
/* n: bytes read (0 at the end), or a negative libuv error. */
typedef void (*backup_read_cb)(struct backup_read *r, ssize_t n);

struct backup_read
{
    uv_fs_t fs;
    struct backup_job *job;
    uint8_t *buf; /* the caller's, at least `len` bytes */
    backup_read_cb cb;
    void *data;
};

/*
 * Read up to len bytes of a READY job's file at offset into r->buf. 0 and
 * the callback later exactly once, or a negative libuv error and no
 * callback. The job stays while the read is in flight.
 */
int backup_read(struct backup_job *job,
                struct backup_read *r,
                uint64_t offset,
                size_t len,
                backup_read_cb cb);

#endif /* KLAXON_BACKUP_H */
