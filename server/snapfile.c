#include "snapfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4frame.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.pb-c.h"
#include "frame.h"
#include "log.h"
#include "snapshot.h"

#define NAME_FORMAT "state-%020" PRIu64 ".snap"
#define NAME_LEN 31 /* "state-" + 20 digits + ".snap" */
#define MAX_KEEP 16 /* snapshots a Raft directory holds (libraft keeps 2) */

/* The index a file name carries, or 0 if it is not a state file's. */
static uint64_t index_of_name(const char *name)
{
    uint64_t index = 0;
    char check[NAME_LEN + 1];

    if (strlen(name) != NAME_LEN ||
        sscanf(name, "state-%20" SCNu64, &index) != 1) {
        return 0;
    }
    snprintf(check, sizeof check, NAME_FORMAT, index);
    return strcmp(check, name) == 0 ? index : 0;
}

/* The dump, compressed as one LZ4 frame, into a file sink. */
struct lz4_writer
{
    struct file_sink sink;
    LZ4F_cctx *cctx;
    uint8_t *out;
    size_t cap;
};

static int out_room(struct lz4_writer *w, size_t need)
{
    uint8_t *p;
    if (need <= w->cap) {
        return 0;
    }
    p = raft_realloc(w->out, need);
    if (p == NULL) {
        return -1;
    }
    w->out = p;
    w->cap = need;
    return 0;
}

/* A snapshot_flush_fn: compress a block and write what LZ4 gives back. */
static int lz4_flush(void *arg, const uint8_t *p, size_t n)
{
    struct lz4_writer *w = arg;
    size_t r;

    if (out_room(w, LZ4F_compressBound(n, NULL)) != 0) {
        return -1;
    }
    r = LZ4F_compressUpdate(w->cctx, w->out, w->cap, p, n, NULL);
    if (LZ4F_isError(r)) {
        return -1;
    }
    return r > 0 ? file_sink_write(&w->sink, w->out, r) : 0;
}

static void write_failed(const struct lz4_writer *w, char *err, size_t errlen)
{
    snprintf(err, errlen, "snapshot: write %s: %s", w->sink.tmp,
             errno != 0 ? strerror(errno) : "compression failed");
}

/* Frame header, the dump, frame end. 0, or -1 with a message. */
static int write_frame(struct lz4_writer *w,
                       MDB_txn *txn,
                       const struct store *s,
                       struct snapshot_info *info,
                       char *err,
                       size_t errlen)
{
    size_t r;

    errno = 0;
    if (out_room(w, LZ4F_HEADER_SIZE_MAX) != 0 ||
        LZ4F_isError(r = LZ4F_compressBegin(w->cctx, w->out, w->cap, NULL)) ||
        file_sink_write(&w->sink, w->out, r) != 0) {
        write_failed(w, err, errlen);
        return -1;
    }
    if (snapshot_stream(txn, s, lz4_flush, w, NULL, info, err, errlen) != 0) {
        return -1;
    }
    if (out_room(w, LZ4F_compressBound(0, NULL)) != 0 ||
        LZ4F_isError(r = LZ4F_compressEnd(w->cctx, w->out, w->cap, NULL)) ||
        file_sink_write(&w->sink, w->out, r) != 0) {
        write_failed(w, err, errlen);
        return -1;
    }
    return 0;
}

int snapfile_write(MDB_txn *txn,
                   const struct store *s,
                   const char *dir,
                   struct snapfile_ref *ref,
                   char *err,
                   size_t errlen)
{
    struct lz4_writer w = {0};
    struct snapshot_info info;
    char path[4200];
    uint64_t index;
    int rv = store_meta_get(txn, s, META_APPLIED_INDEX, &index);

    if (rv != 0) {
        snprintf(err, errlen, "snapshot: %s", mdb_strerror(rv));
        return -1;
    }
    memset(ref, 0, sizeof *ref);
    snprintf(ref->file, sizeof ref->file, NAME_FORMAT, index);
    snprintf(path, sizeof path, "%s/%s", dir, ref->file);
    if (LZ4F_isError(LZ4F_createCompressionContext(&w.cctx, LZ4F_VERSION))) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    if (file_sink_open(&w.sink, path, err, errlen) != 0) {
        goto err_after_cctx;
    }
    if (write_frame(&w, txn, s, &info, err, errlen) != 0) {
        goto err_after_open;
    }
    if (file_sink_digest(&w.sink, ref->sha256) != 0 ||
        file_sink_write(&w.sink, ref->sha256, sizeof ref->sha256) != 0) {
        snprintf(err, errlen, "snapshot: write %s: %s", path, strerror(errno));
        goto err_after_open;
    }
    ref->size = w.sink.written;
    if (file_sink_commit(&w.sink, dir, err, errlen) != 0) {
        goto err_after_cctx;
    }
    ref->index = info.applied_index;
    ref->stream_bytes = info.bytes;
    raft_free(w.out);
    LZ4F_freeCompressionContext(w.cctx);
    return 0;

err_after_open:
    file_sink_abort(&w.sink);
err_after_cctx:
    raft_free(w.out);
    LZ4F_freeCompressionContext(w.cctx);
    return -1;
}

int snapfile_ref_encode(const struct snapfile_ref *ref, struct raft_buffer *out)
{
    Klaxon__Cluster__SnapshotHeader h = KLAXON__CLUSTER__SNAPSHOT_HEADER__INIT;
    size_t n;

    h.format = SNAPFILE_FORMAT_REF;
    h.applied_index = ref->index;
    h.file = (char *)ref->file;
    h.file_size = ref->size;
    h.sha256.data = (uint8_t *)ref->sha256;
    h.sha256.len = sizeof ref->sha256;
    h.stream_bytes = ref->stream_bytes;
    n = klaxon__cluster__snapshot_header__get_packed_size(&h);
    out->base = raft_malloc(4 + n);
    if (out->base == NULL) {
        return -1;
    }
    frame_put_len(out->base, (uint32_t)n);
    klaxon__cluster__snapshot_header__pack(&h, (uint8_t *)out->base + 4);
    out->len = 4 + n;
    return 0;
}

int snapfile_ref_decode(const void *data, size_t len, struct snapfile_ref *ref)
{
    Klaxon__Cluster__SnapshotHeader *h = snapshot_header(data, len);
    int rv = 0;

    if (h == NULL || h->format != SNAPFILE_FORMAT_REF) {
        goto out;
    }
    rv = -1;
    if (h->sha256.len != sizeof ref->sha256 || h->file == NULL ||
        strlen(h->file) >= sizeof ref->file ||
        index_of_name(h->file) != h->applied_index || h->applied_index == 0 ||
        h->file_size < sizeof ref->sha256 || h->stream_bytes == 0 ||
        h->stream_bytes > SIZE_MAX / 2) {
        goto out;
    }
    memset(ref, 0, sizeof *ref);
    ref->index = h->applied_index;
    snprintf(ref->file, sizeof ref->file, "%s", h->file);
    ref->size = h->file_size;
    ref->stream_bytes = h->stream_bytes;
    memcpy(ref->sha256, h->sha256.data, sizeof ref->sha256);
    rv = 1;
out:
    if (h != NULL) {
        klaxon__cluster__snapshot_header__free_unpacked(h, NULL);
    }
    return rv;
}

/* Is p[0..size) the file `ref` describes: the stream's SHA-256 at its end,
 * and the one in the reference? */
static int check(const uint8_t *p,
                 uint64_t size,
                 const struct snapfile_ref *ref,
                 char *err,
                 size_t errlen)
{
    uint8_t sum[FILE_SINK_SUM_LEN];
    size_t body = size - sizeof sum;
    unsigned n = 0;

    if (EVP_Digest(p, body, sum, &n, EVP_sha256(), NULL) != 1 ||
        n != sizeof sum) {
        snprintf(err, errlen, "snapshot: %s: checksum failed", ref->file);
        return -1;
    }
    if (CRYPTO_memcmp(sum, p + body, sizeof sum) != 0 ||
        CRYPTO_memcmp(sum, ref->sha256, sizeof sum) != 0) {
        snprintf(err, errlen, "snapshot: %s is damaged (checksum mismatch)",
                 ref->file);
        return -1;
    }
    return 0;
}

/* Open the file and check its size. The fd, or -1 with a message. */
static int open_file(const char *dir,
                     const struct snapfile_ref *ref,
                     char *err,
                     size_t errlen)
{
    char path[4200];
    struct stat st;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, ref->file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "snapshot: open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != ref->size) {
        snprintf(err, errlen,
                 "snapshot: %s has %lld bytes, its reference says %llu", path,
                 (long long)st.st_size, (unsigned long long)ref->size);
        close(fd);
        return -1;
    }
    return fd;
}

/* Decompress the frame src[0..n) into a raft_malloc'd buffer of exactly
 * `want` bytes. 0, or -1 with a message. */
static int decompress(const struct snapfile_ref *ref,
                      const uint8_t *src,
                      size_t n,
                      struct raft_buffer *out,
                      char *err,
                      size_t errlen)
{
    LZ4F_dctx *d;
    uint8_t *dst;
    size_t in_at = 0;
    size_t out_at = 0;
    size_t r = 1;

    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    dst = raft_malloc(ref->stream_bytes);
    while (dst != NULL && r != 0 && in_at < n) {
        size_t in = n - in_at;
        size_t o = ref->stream_bytes - out_at;
        r = LZ4F_decompress(d, dst + out_at, &o, src + in_at, &in, NULL);
        if (LZ4F_isError(r) || (in == 0 && o == 0)) {
            break;
        }
        in_at += in;
        out_at += o;
    }
    LZ4F_freeDecompressionContext(d);
    if (dst == NULL || r != 0 || in_at != n || out_at != ref->stream_bytes) {
        snprintf(err, errlen,
                 "snapshot: %s does not decompress to the %llu "
                 "bytes its reference says",
                 ref->file, (unsigned long long)ref->stream_bytes);
        raft_free(dst);
        return -1;
    }
    out->base = dst;
    out->len = out_at;
    return 0;
}

int snapfile_read(const char *dir,
                  const struct snapfile_ref *ref,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen)
{
    uint8_t *p;
    size_t done = 0;
    int rv = -1;
    int fd = open_file(dir, ref, err, errlen);

    if (fd < 0) {
        return -1;
    }
    p = raft_malloc(ref->size);
    if (p == NULL) {
        snprintf(err, errlen, "snapshot: %s: out of memory", ref->file);
        close(fd);
        return -1;
    }
    while (done < ref->size) {
        ssize_t n = pread(fd, p + done, ref->size - done, (off_t)done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            snprintf(err, errlen, "snapshot: read %s: %s", ref->file,
                     n == 0 ? "file shrank" : strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    if (check(p, ref->size, ref, err, errlen) == 0 &&
        decompress(ref, p, ref->size - FILE_SINK_SUM_LEN, out, err, errlen) ==
            0) {
        rv = 0;
    }
out:
    raft_free(p);
    close(fd);
    return rv;
}

int snapfile_load(struct store *s,
                  const char *dir,
                  const struct snapfile_ref *ref,
                  char *err,
                  size_t errlen)
{
    struct raft_buffer b;
    int rv;

    if (snapfile_read(dir, ref, &b, err, errlen) != 0) {
        return -1;
    }
    rv = snapshot_load(s, b.base, b.len, err, errlen);
    raft_free(b.base);
    return rv;
}

/* The indexes of the snapshots in the Raft directory (libraft's file
 * names: snapshot-TERM-INDEX-TIMESTAMP[.meta]). Their count, or -1. */
static int raft_snapshots(const char *raft_dir, uint64_t *out, int max)
{
    DIR *d = opendir(raft_dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        unsigned long long term;
        unsigned long long index;
        unsigned long long stamp;
        if (sscanf(e->d_name, "snapshot-%llu-%llu-%llu", &term, &index,
                   &stamp) != 3) {
            continue;
        }
        if (n == max) {
            n = -1; /* more than expected: keep everything */
            break;
        }
        out[n++] = index;
    }
    closedir(d);
    return n;
}

static bool named(const uint64_t *indexes, int n, uint64_t index)
{
    for (int i = 0; i < n; i++) {
        if (indexes[i] == index) {
            return true;
        }
    }
    return false;
}

static bool is_temporary(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".tmp") == 0 &&
           strncmp(name, "state-", 6) == 0;
}

void snapfile_prune(const char *dir, const char *raft_dir, uint64_t keep)
{
    uint64_t indexes[MAX_KEEP];
    int n = raft_snapshots(raft_dir, indexes, MAX_KEEP);
    char path[4400];
    struct dirent *e;
    DIR *d;

    if (n < 0 || (d = opendir(dir)) == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        uint64_t index = index_of_name(e->d_name);
        if (index == 0 ? !is_temporary(e->d_name)
                       : index == keep || named(indexes, n, index)) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) {
            log_info("snapshot: removed %s, no longer needed", path);
        }
    }
    closedir(d);
}
