#include "file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

/* Start the writeback of every this many bytes as they are written. */
#define WRITEBACK_BYTES (4u << 20)

int file_sink_open(struct file_sink *s,
                   const char *path,
                   char *err,
                   size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp", path);
    s->md = EVP_MD_CTX_new();
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s->fd < 0 || s->md == NULL ||
        EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "create %.200s: %s", s->tmp,
                 s->fd < 0 ? strerror(errno) : "out of memory");
        file_sink_abort(s);
        return -1;
    }
    return 0;
}

int file_sink_write(void *arg, const uint8_t *p, size_t n)
{
    struct file_sink *s = arg;
    if (file_write_all(s->fd, p, n) != 0 ||
        EVP_DigestUpdate(s->md, p, n) != 1) {
        return -1;
    }
    s->written += n;
    if (s->written - s->flushed >= WRITEBACK_BYTES) {
        /* advisory: an error here shows again at the fsync */
        (void)sync_file_range(s->fd, (off64_t)s->flushed,
                              (off64_t)(s->written - s->flushed),
                              SYNC_FILE_RANGE_WRITE);
        s->flushed = s->written;
    }
    return 0;
}

int file_sink_digest(struct file_sink *s, uint8_t sum[FILE_SINK_SUM_LEN])
{
    unsigned n = 0;
    if (EVP_DigestFinal_ex(s->md, sum, &n) != 1 || n != FILE_SINK_SUM_LEN) {
        return -1;
    }
    return 0;
}

int file_sink_commit(struct file_sink *s,
                     const char *dir,
                     char *err,
                     size_t errlen)
{
    int rv = fsync(s->fd);
    if (close(s->fd) != 0) {
        rv = -1;
    }
    s->fd = -1;
    if (rv != 0) {
        snprintf(err, errlen, "sync %.200s: %s", s->tmp, strerror(errno));
        file_sink_abort(s);
        return -1;
    }
    if (rename(s->tmp, s->path) != 0 || file_sync_dir(dir) != 0) {
        snprintf(err, errlen, "rename %.200s: %s", s->tmp, strerror(errno));
        file_sink_abort(s);
        return -1;
    }
    s->tmp[0] = '\0';
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
    return 0;
}

void file_sink_abort(struct file_sink *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->tmp[0] != '\0') {
        unlink(s->tmp);
        s->tmp[0] = '\0';
    }
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
}
