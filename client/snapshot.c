/* Backups: klaxon_snapshot_save and klaxon_snapshot_inspect. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup_file.h"
#include "call.h"
#include "client.h"
#include "endpoint.h"
#include "fileio.h"
#include "klaxon.pb-c.h"

#define POLL_MS 100
#define FETCH_TRIES 5
/* A node whose writing shows no progress for this long is given up. */
#define STALL_MS (10u * 60 * 1000)

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void info_of(const struct backup_header *h,
                    const uint8_t sum[BACKUP_SUM_LEN],
                    struct klaxon_snapshot_info *info)
{
    memset(info, 0, sizeof *info);
    info->format_version = h->version;
    info->cluster_id = h->cluster_id;
    info->applied_index = h->applied_index;
    info->created_ms = h->created_ms;
    info->records = h->records;
    info->size = backup_file_size(h);
    backup_sum_hex(sum, info->sha256);
}

/* One snapshot_save request; on KLAXON_OK *out has a SnapshotResult. */
static int snapshot_call(klaxon_client *c,
                         uint64_t id,
                         uint64_t offset,
                         const struct endpoint *node,
                         Klaxon__Response **out)
{
    Klaxon__Request req = KLAXON__REQUEST__INIT;
    Klaxon__SnapshotSaveRequest q = KLAXON__SNAPSHOT_SAVE_REQUEST__INIT;
    int rv;

    q.snapshot_id = id;
    q.offset = offset;
    req.op_case = KLAXON__REQUEST__OP_SNAPSHOT_SAVE;
    req.snapshot_save = &q;
    rv = call_run(c, &req, node != NULL ? CALL_ONE : CALL_LEADER, node, out);
    if (rv == KLAXON_OK &&
        (*out)->result_case != KLAXON__RESPONSE__RESULT_SNAPSHOT) {
        klaxon__response__free_unpacked(*out, NULL);
        *out = NULL;
        return client_fail(c, KLAXON_EPROTO,
                           "snapshot: the node answered without a snapshot");
    }
    return rv;
}

/* A fetch from the node that holds the file, retried a few times when
 * the connection fails (the node keeps the file for minutes). */
static int fetch(klaxon_client *c,
                 uint64_t id,
                 uint64_t offset,
                 const struct endpoint *node,
                 Klaxon__Response **out)
{
    int rv = KLAXON_OK;

    for (int i = 0; i < FETCH_TRIES; i++) {
        rv = snapshot_call(c, id, offset, node, out);
        if (rv != KLAXON_ECONNECT && rv != KLAXON_ETIMEOUT &&
            rv != KLAXON_EUNAVAILABLE && rv != KLAXON_EINTERNAL) {
            return rv;
        }
        sleep_ms(200u << i);
    }
    return rv;
}

/* Wait until the node finished writing snapshot `id`. */
static int wait_ready(klaxon_client *c,
                      uint64_t id,
                      const struct endpoint *node,
                      klaxon_progress_fn progress,
                      void *arg)
{
    uint64_t last_done = 0;
    unsigned still = 0;

    for (;;) {
        Klaxon__Response *resp = NULL;
        int rv = fetch(c, id, 0, node, &resp);
        bool ready;

        if (rv != KLAXON_OK) {
            return rv;
        }
        ready = resp->snapshot->ready;
        still = resp->snapshot->records_done == last_done ? still + 1 : 0;
        last_done = resp->snapshot->records_done;
        if (progress != NULL) {
            progress(arg, KLAXON_SNAPSHOT_WRITING, resp->snapshot->records_done,
                     resp->snapshot->records);
        }
        klaxon__response__free_unpacked(resp, NULL);
        if (ready) {
            return KLAXON_OK;
        }
        if (still * POLL_MS >= STALL_MS) {
            return client_fail(c, KLAXON_ETIMEOUT,
                               "snapshot %llu: the node made no progress "
                               "writing it for %u s",
                               (unsigned long long)id, STALL_MS / 1000);
        }
        sleep_ms(POLL_MS);
    }
}

struct download
{
    uint64_t size;
    uint8_t sum[BACKUP_SUM_LEN];
    bool have_sum;
};

/* Check one block's answer against where we are. */
static int check_block(klaxon_client *c,
                       const Klaxon__SnapshotResult *s,
                       uint64_t offset,
                       struct download *d)
{
    if (!s->ready || s->offset != offset || (s->data.len == 0 && !s->last) ||
        s->total_size == 0 || s->sha256.len != BACKUP_SUM_LEN ||
        offset + s->data.len > s->total_size ||
        (d->have_sum && (s->total_size != d->size ||
                         memcmp(s->sha256.data, d->sum, BACKUP_SUM_LEN)))) {
        return client_fail(c, KLAXON_EPROTO,
                           "snapshot: unexpected block at offset %llu",
                           (unsigned long long)offset);
    }
    d->size = s->total_size;
    memcpy(d->sum, s->sha256.data, BACKUP_SUM_LEN);
    d->have_sum = true;
    return KLAXON_OK;
}

/* Every block of the file into fd. */
static int download(klaxon_client *c,
                    uint64_t id,
                    const struct endpoint *node,
                    int fd,
                    struct download *d,
                    klaxon_progress_fn progress,
                    void *arg)
{
    uint64_t offset = 0;
    bool last = false;

    while (!last) {
        Klaxon__Response *resp = NULL;
        int rv = fetch(c, id, offset, node, &resp);

        if (rv == KLAXON_OK) {
            rv = check_block(c, resp->snapshot, offset, d);
        }
        if (rv == KLAXON_OK && file_write_all(fd, resp->snapshot->data.data,
                                              resp->snapshot->data.len) != 0) {
            rv = client_fail(c, KLAXON_EIO, "snapshot: write: %s",
                             strerror(errno));
        }
        if (rv != KLAXON_OK) {
            if (resp != NULL) {
                klaxon__response__free_unpacked(resp, NULL);
            }
            return rv;
        }
        offset += resp->snapshot->data.len;
        last = resp->snapshot->last;
        klaxon__response__free_unpacked(resp, NULL);
        if (progress != NULL) {
            progress(arg, KLAXON_SNAPSHOT_FETCHING, offset, d->size);
        }
    }
    if (offset != d->size) {
        return client_fail(
            c, KLAXON_EPROTO, "snapshot: got %llu bytes, the node said %llu",
            (unsigned long long)offset, (unsigned long long)d->size);
    }
    return KLAXON_OK;
}

static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    int fd;
    int rv = -1;

    if (copy == NULL) {
        return -1;
    }
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rv = fsync(fd);
        close(fd);
    }
    free(copy);
    return rv;
}

/* The file is on disk in tmp: verify it, then put it in place. */
static int finish(klaxon_client *c,
                  const char *tmp,
                  const char *path,
                  const struct download *d,
                  struct klaxon_snapshot_info *info)
{
    struct backup_header h;
    uint8_t sum[BACKUP_SUM_LEN];
    char msg[600];

    if (backup_verify_file(tmp, &h, sum, msg, sizeof msg) != 0) {
        return client_fail(c, KLAXON_EPROTO, "snapshot: %s", msg);
    }
    if (memcmp(sum, d->sum, BACKUP_SUM_LEN) != 0) {
        return client_fail(c, KLAXON_EPROTO,
                           "snapshot: the file's checksum is not the one the "
                           "node announced");
    }
    if (rename(tmp, path) != 0 || sync_parent(path) != 0) {
        return client_fail(c, KLAXON_EIO, "snapshot: rename %s to %s: %s", tmp,
                           path, strerror(errno));
    }
    if (info != NULL) {
        info_of(&h, sum, info);
    }
    return KLAXON_OK;
}

static int start(klaxon_client *c, uint64_t *id, struct endpoint *node)
{
    Klaxon__Response *resp;
    char msg[200];
    int rv = snapshot_call(c, 0, 0, NULL, &resp);

    if (rv != KLAXON_OK) {
        return rv;
    }
    *id = resp->snapshot->snapshot_id;
    klaxon__response__free_unpacked(resp, NULL);
    if (*id == 0 || c->conn == NULL) {
        return client_fail(c, KLAXON_EPROTO, "snapshot: no snapshot id");
    }
    /* Later requests go to the node that answered: it has the file. */
    rv = endpoint_parse(conn_endpoint(c->conn), node, msg, sizeof msg);
    if (rv != KLAXON_OK) {
        return client_fail(c, rv, "snapshot: %s", msg);
    }
    return KLAXON_OK;
}

int klaxon_snapshot_save(klaxon_client *c,
                         const char *path,
                         klaxon_progress_fn progress,
                         void *arg,
                         struct klaxon_snapshot_info *info)
{
    struct endpoint node = {0};
    struct download d = {0};
    char *tmp;
    uint64_t id;
    int fd = -1;
    int rv;

    if (c == NULL) {
        return KLAXON_EINVAL;
    }
    if (path == NULL || path[0] == '\0') {
        return client_fail(c, KLAXON_EINVAL, "path: missing");
    }
    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    rv = start(c, &id, &node);
    if (rv == KLAXON_OK) {
        rv = wait_ready(c, id, &node, progress, arg);
    }
    if (rv == KLAXON_OK) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            rv = client_fail(c, KLAXON_EIO, "snapshot: create %s: %s", tmp,
                             strerror(errno));
        }
    }
    if (rv == KLAXON_OK) {
        rv = download(c, id, &node, fd, &d, progress, arg);
    }
    if (rv == KLAXON_OK && fsync(fd) != 0) {
        rv = client_fail(c, KLAXON_EIO, "snapshot: fsync %s: %s", tmp,
                         strerror(errno));
    }
    if (fd >= 0 && close(fd) != 0 && rv == KLAXON_OK) {
        rv = client_fail(c, KLAXON_EIO, "snapshot: close %s: %s", tmp,
                         strerror(errno));
    }
    if (rv == KLAXON_OK) {
        rv = finish(c, tmp, path, &d, info);
    }
    if (rv != KLAXON_OK && fd >= 0) {
        unlink(tmp);
    }
    endpoint_clear(&node);
    free(tmp);
    return rv;
}

int klaxon_snapshot_inspect(const char *path,
                            struct klaxon_snapshot_info *info,
                            char *errmsg,
                            size_t len)
{
    struct backup_header h;
    uint8_t sum[BACKUP_SUM_LEN];
    char msg[600];
    FILE *f;

    if (path == NULL || info == NULL) {
        return KLAXON_EINVAL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errmsg != NULL && len > 0) {
            snprintf(errmsg, len, "%s: %s", path, strerror(errno));
        }
        return KLAXON_EIO;
    }
    fclose(f);
    if (backup_verify_file(path, &h, sum, msg, sizeof msg) != 0) {
        if (errmsg != NULL && len > 0) {
            snprintf(errmsg, len, "%s", msg);
        }
        return KLAXON_EINVAL;
    }
    info_of(&h, sum, info);
    return KLAXON_OK;
}
