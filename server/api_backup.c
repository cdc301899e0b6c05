/*
 * Client API: snapshot_save. snapshot_id 0 starts a backup on the leader
 * at a linearizable read point (node_read); any other id reads progress or a
 * block of the file from the node that wrote it (see backup.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"
#include "backup.h"
#include "log.h"

struct chunk_read
{
    struct backup_read rd;
    struct api_req *r;
    uint8_t buf[BACKUP_CHUNK];
};

static void result_of(const struct backup_job *job, Klaxon__SnapshotResult *s)
{
    klaxon__snapshot_result__init(s);
    s->snapshot_id = job->id;
    s->ready = job->state == BACKUP_READY;
    s->records_done = __atomic_load_n(&job->records_done, __ATOMIC_RELAXED);
    s->records = __atomic_load_n(&job->hdr.records, __ATOMIC_RELAXED);
    if (s->ready) {
        s->applied_index = job->hdr.applied_index;
        s->total_size = job->size;
        s->sha256.data = (uint8_t *)job->sum;
        s->sha256.len = BACKUP_SUM_LEN;
    }
}

static void reply_result(struct api_req *r, Klaxon__SnapshotResult *s)
{
    Klaxon__Response resp;

    api_response_init(&resp, r->req->seq);
    resp.result_case = KLAXON__RESPONSE__RESULT_SNAPSHOT;
    resp.snapshot = s;
    api_reply(r, &resp);
}

static void refuse(struct api_req *r, int code, const char *msg)
{
    api_log_refused(r, "snapshot_save", msg);
    api_reply_error(r, code, msg);
    api_req_free(r);
}

static void start_after_barrier(struct node_read *rd, int code)
{
    struct api_req *r = rd->data;
    struct backup_job *job;
    Klaxon__SnapshotResult s;
    char err[300];
    char msg[360];

    if (code != KLAXON__CODE__OK) {
        api_reply_error(r, code, api_code_message(code));
        api_req_free(r);
        return;
    }
    if (backup_start(&r->node->backup, node_time_ms(r->node), &job, err,
                     sizeof err) != 0) {
        snprintf(msg, sizeof msg, "snapshot: %s", err);
        refuse(r, KLAXON__CODE__FAILED_PRECONDITION, msg);
        return;
    }
    log_info("api: snapshot %llu requested by %s (%s)",
             (unsigned long long)job->id, r->who, r->remote);
    result_of(job, &s);
    reply_result(r, &s);
    api_req_free(r);
}

static void chunk_done(struct backup_read *rd, ssize_t n)
{
    struct chunk_read *c = rd->data;
    struct api_req *r = c->r;
    const struct backup_job *job = rd->job;
    uint64_t offset = r->req->snapshot_save->offset;
    Klaxon__SnapshotResult s;
    char msg[160];

    if (n < 0) {
        snprintf(msg, sizeof msg, "snapshot %llu: read: %s",
                 (unsigned long long)job->id, uv_strerror((int)n));
        log_error("api: %s", msg);
        api_reply_error(r, KLAXON__CODE__INTERNAL, msg);
    } else {
        result_of(job, &s);
        s.offset = offset;
        s.data.data = c->buf;
        s.data.len = (size_t)n;
        s.last = offset + (uint64_t)n >= job->size;
        reply_result(r, &s);
    }
    free(c);
    api_req_free(r);
}

static void serve_ready(struct api_req *r, struct backup_job *job)
{
    uint64_t offset = r->req->snapshot_save->offset;
    uint64_t left;
    Klaxon__SnapshotResult s;
    struct chunk_read *c;
    char msg[160];
    int rv;

    if (offset > job->size) {
        snprintf(msg, sizeof msg,
                 "offset: %llu is past the end of snapshot %llu (%llu bytes)",
                 (unsigned long long)offset, (unsigned long long)job->id,
                 (unsigned long long)job->size);
        refuse(r, KLAXON__CODE__INVALID_ARGUMENT, msg);
        return;
    }
    left = job->size - offset;
    if (left == 0) {
        result_of(job, &s);
        s.offset = offset;
        s.last = true;
        reply_result(r, &s);
        api_req_free(r);
        return;
    }
    c = malloc(sizeof *c);
    if (c == NULL) {
        api_reply_error(r, KLAXON__CODE__INTERNAL, "out of memory");
        api_req_free(r);
        return;
    }
    c->r = r;
    c->rd.buf = c->buf;
    c->rd.data = c;
    rv = backup_read(job, &c->rd, offset,
                     left < BACKUP_CHUNK ? (size_t)left : BACKUP_CHUNK,
                     chunk_done);
    if (rv != 0) {
        free(c);
        snprintf(msg, sizeof msg, "snapshot %llu: read: %s",
                 (unsigned long long)job->id, uv_strerror(rv));
        api_reply_error(r, KLAXON__CODE__INTERNAL, msg);
        api_req_free(r);
    }
}

static void serve_fetch(struct api_req *r)
{
    const Klaxon__SnapshotSaveRequest *q = r->req->snapshot_save;
    struct backup_job *job = backup_find(&r->node->backup, q->snapshot_id);
    Klaxon__SnapshotResult s;
    char msg[400];

    if (job == NULL) {
        snprintf(msg, sizeof msg,
                 "snapshot_id: this node has no snapshot %llu (removed after "
                 "%d minutes unused, or the node restarted); save again",
                 (unsigned long long)q->snapshot_id, BACKUP_IDLE_MS / 60000);
        refuse(r, KLAXON__CODE__NOT_FOUND, msg);
        return;
    }
    switch (job->state) {
        case BACKUP_WRITING:
            result_of(job, &s);
            reply_result(r, &s);
            api_req_free(r);
            return;
        case BACKUP_FAILED:
            snprintf(msg, sizeof msg, "snapshot %llu failed on the node: %s",
                     (unsigned long long)job->id, job->err);
            refuse(r, KLAXON__CODE__FAILED_PRECONDITION, msg);
            return;
        default:
            serve_ready(r, job);
            return;
    }
}

void api_handle_snapshot(struct api_req *r)
{
    const Klaxon__SnapshotSaveRequest *q = r->req->snapshot_save;
    int rv;

    if (q == NULL) {
        refuse(r, KLAXON__CODE__INVALID_ARGUMENT, "snapshot_save: missing");
        return;
    }
    if (q->snapshot_id != 0) {
        serve_fetch(r);
        return;
    }
    if (q->offset != 0) {
        refuse(r, KLAXON__CODE__INVALID_ARGUMENT,
               "offset: must be 0 when starting a snapshot (snapshot_id 0)");
        return;
    }
    r->read.cb = start_after_barrier;
    r->read.data = r;
    rv = node_read(r->node, &r->read);
    if (rv != 0) {
        api_reply_error(r, rv, api_code_message(rv));
        api_req_free(r);
    }
}
