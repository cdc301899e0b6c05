#include "snapfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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

int snapfile_write(MDB_txn *txn,
                   const struct store *s,
                   const char *dir,
                   struct snapfile_ref *ref,
                   char *err,
                   size_t errlen)
{
    struct file_sink sink;
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
    if (file_sink_open(&sink, path, err, errlen) != 0) {
        return -1;
    }
    if (snapshot_stream(txn, s, file_sink_write, &sink, NULL, &info, err,
                        errlen) != 0) {
        goto err;
    }
    if (file_sink_digest(&sink, ref->sha256) != 0 ||
        file_sink_write(&sink, ref->sha256, sizeof ref->sha256) != 0) {
        snprintf(err, errlen, "snapshot: write %s: %s", path, strerror(errno));
        goto err;
    }
    if (file_sink_commit(&sink, dir, err, errlen) != 0) {
        return -1;
    }
    ref->index = info.applied_index;
    ref->size = info.bytes + sizeof ref->sha256;
    return 0;

err:
    file_sink_abort(&sink);
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
        h->file_size < sizeof ref->sha256) {
        goto out;
    }
    memset(ref, 0, sizeof *ref);
    ref->index = h->applied_index;
    snprintf(ref->file, sizeof ref->file, "%s", h->file);
    ref->size = h->file_size;
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

int snapfile_read(const char *dir,
                  const struct snapfile_ref *ref,
                  struct raft_buffer *out,
                  char *err,
                  size_t errlen)
{
    uint8_t *p;
    size_t done = 0;
    int fd = open_file(dir, ref, err, errlen);

    if (fd < 0) {
        return -1;
    }
    p = raft_malloc(ref->size);
    if (p == NULL) {
        snprintf(err, errlen, "snapshot: %s: out of memory", ref->file);
        goto err;
    }
    while (done < ref->size) {
        ssize_t n = pread(fd, p + done, ref->size - done, (off_t)done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            snprintf(err, errlen, "snapshot: read %s: %s", ref->file,
                     n == 0 ? "file shrank" : strerror(errno));
            goto err;
        }
        done += (size_t)n;
    }
    if (check(p, ref->size, ref, err, errlen) != 0) {
        goto err;
    }
    close(fd);
    out->base = p;
    out->len = ref->size - FILE_SINK_SUM_LEN;
    return 0;

err:
    raft_free(p);
    close(fd);
    return -1;
}

int snapfile_load(struct store *s,
                  const char *dir,
                  const struct snapfile_ref *ref,
                  char *err,
                  size_t errlen)
{
    void *map;
    int rv = -1;
    int fd = open_file(dir, ref, err, errlen);

    if (fd < 0) {
        return -1;
    }
    map = mmap(NULL, ref->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "snapshot: map %s: %s", ref->file,
                 strerror(errno));
        return -1;
    }
    (void)madvise(map, ref->size, MADV_SEQUENTIAL);
    if (check(map, ref->size, ref, err, errlen) == 0 &&
        snapshot_load(s, map, ref->size - FILE_SINK_SUM_LEN, err, errlen) ==
            0) {
        rv = 0;
    }
    munmap(map, ref->size);
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
