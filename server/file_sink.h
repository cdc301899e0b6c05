/*
 * A large file written durably from the thread pool: bytes go to
 * "PATH.tmp" through a SHA-256 digest, with the writeback started every few
 * MiB (so the final fsync is short and the Raft log's own fsyncs do not
 * queue behind it); commit fsyncs, renames to PATH and fsyncs the
 * directory. A file that is not committed is removed: a reader never sees
 * a partial PATH. Used by backups and state snapshot files.
 */
#ifndef KLAXON_FILE_SINK_H
#define KLAXON_FILE_SINK_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define FILE_SINK_SUM_LEN 32

struct file_sink
{
    int fd;
    EVP_MD_CTX *md;
    uint64_t written;
    uint64_t flushed; /* writeback started up to here */
    char path[4400];
    char tmp[4408];
};

/* Create PATH.tmp. 0, or -1 with a message naming the file. */
int file_sink_open(struct file_sink *s,
                   const char *path,
                   char *err,
                   size_t errlen);

/* Append n bytes (a snapshot_flush_fn). 0, or -1 with errno set. */
int file_sink_write(void *arg, const uint8_t *p, size_t n);

/* The SHA-256 of everything written so far; call once, as the last
 * digest use. 0, or -1. */
int file_sink_digest(struct file_sink *s, uint8_t sum[FILE_SINK_SUM_LEN]);

/* fsync, close, rename to PATH, fsync the directory `dir`. On error the
 * temporary file is removed. 0, or -1 with a message. */
int file_sink_commit(struct file_sink *s,
                     const char *dir,
                     char *err,
                     size_t errlen);

/* Give up: close and remove the temporary file. Safe after commit. */
void file_sink_abort(struct file_sink *s);

#endif /* KLAXON_FILE_SINK_H */
