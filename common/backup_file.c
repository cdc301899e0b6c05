#include "backup_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_BLOCK (1u << 20)

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

uint64_t backup_file_size(const struct backup_header *h)
{
    return BACKUP_HEADER_LEN + h->body_len + BACKUP_SUM_LEN;
}

void backup_header_encode(const struct backup_header *h,
                          uint8_t out[BACKUP_HEADER_LEN])
{
    memset(out, 0, BACKUP_HEADER_LEN);
    memcpy(out, BACKUP_MAGIC, 8);
    put32(out + 8, BACKUP_FORMAT_VERSION);
    put32(out + 12, BACKUP_HEADER_LEN);
    put64(out + 16, h->cluster_id);
    put64(out + 24, h->applied_index);
    put64(out + 32, h->created_ms);
    put64(out + 40, h->records);
    put64(out + 48, h->body_len);
}

int backup_header_decode(const uint8_t *p,
                         size_t len,
                         uint64_t file_size,
                         struct backup_header *h,
                         char *err,
                         size_t errlen)
{
    uint32_t hlen;

    memset(h, 0, sizeof *h);
    if (len < 16 || memcmp(p, BACKUP_MAGIC, 8) != 0) {
        snprintf(err, errlen,
                 "not a klaxon backup file (bad magic; expected \"%s\")",
                 BACKUP_MAGIC);
        return -1;
    }
    h->version = get32(p + 8);
    if (h->version != BACKUP_FORMAT_VERSION) {
        snprintf(err, errlen,
                 "format version %u is not supported (this build reads %d)",
                 h->version, BACKUP_FORMAT_VERSION);
        return -1;
    }
    hlen = get32(p + 12);
    if (hlen != BACKUP_HEADER_LEN || len < BACKUP_HEADER_LEN) {
        snprintf(err, errlen, "header length %u (expected %d)", hlen,
                 BACKUP_HEADER_LEN);
        return -1;
    }
    h->cluster_id = get64(p + 16);
    h->applied_index = get64(p + 24);
    h->created_ms = get64(p + 32);
    h->records = get64(p + 40);
    h->body_len = get64(p + 48);
    if (h->body_len > UINT64_MAX - BACKUP_HEADER_LEN - BACKUP_SUM_LEN ||
        backup_file_size(h) != file_size) {
        snprintf(err, errlen,
                 "file is %llu bytes, its header says %llu: truncated or "
                 "with bytes after the checksum",
                 (unsigned long long)file_size,
                 (unsigned long long)(BACKUP_HEADER_LEN + h->body_len +
                                      BACKUP_SUM_LEN));
        return -1;
    }
    return 0;
}

static int check_sum(const uint8_t *got,
                     const uint8_t *want,
                     char *err,
                     size_t errlen)
{
    char hg[2 * BACKUP_SUM_LEN + 1];
    char hw[2 * BACKUP_SUM_LEN + 1];

    if (memcmp(got, want, BACKUP_SUM_LEN) == 0) {
        return 0;
    }
    backup_sum_hex(got, hg);
    backup_sum_hex(want, hw);
    snprintf(err, errlen,
             "checksum mismatch: the content hashes to sha256 %.16s..., the "
             "file says %.16s...: the file is damaged",
             hg, hw);
    return -1;
}

int backup_verify_buffer(const void *data,
                         size_t len,
                         struct backup_header *h,
                         char *err,
                         size_t errlen)
{
    const uint8_t *p = data;
    uint8_t sum[BACKUP_SUM_LEN];
    unsigned n = 0;

    if (len < BACKUP_HEADER_LEN + BACKUP_SUM_LEN) {
        if (len >= 16 && memcmp(p, BACKUP_MAGIC, 8) == 0) {
            snprintf(err, errlen, "file of %zu bytes is truncated", len);
        } else {
            backup_header_decode(p, len, len, h, err, errlen);
        }
        return -1;
    }
    if (backup_header_decode(p, len, len, h, err, errlen) != 0) {
        return -1;
    }
    if (EVP_Digest(p, len - BACKUP_SUM_LEN, sum, &n, EVP_sha256(), NULL) != 1 ||
        n != BACKUP_SUM_LEN) {
        snprintf(err, errlen, "sha256 failed");
        return -1;
    }
    return check_sum(sum, p + len - BACKUP_SUM_LEN, err, errlen);
}

/* Hash the file's bytes up to the checksum; read the checksum into want. */
static int hash_stream(FILE *f,
                       uint64_t size,
                       uint8_t got[BACKUP_SUM_LEN],
                       uint8_t want[BACKUP_SUM_LEN])
{
    uint8_t *block = malloc(READ_BLOCK);
    uint64_t left = size - BACKUP_SUM_LEN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    int rv = -1;

    if (block == NULL || ctx == NULL ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        goto out;
    }
    while (left > 0) {
        size_t want_n = left < READ_BLOCK ? (size_t)left : READ_BLOCK;
        if (fread(block, 1, want_n, f) != want_n ||
            EVP_DigestUpdate(ctx, block, want_n) != 1) {
            goto out;
        }
        left -= want_n;
    }
    if (fread(want, 1, BACKUP_SUM_LEN, f) == BACKUP_SUM_LEN &&
        EVP_DigestFinal_ex(ctx, got, &n) == 1 && n == BACKUP_SUM_LEN) {
        rv = 0;
    }
out:
    EVP_MD_CTX_free(ctx);
    free(block);
    return rv;
}

int backup_verify_file(const char *path,
                       struct backup_header *h,
                       uint8_t sum[BACKUP_SUM_LEN],
                       char *err,
                       size_t errlen)
{
    uint8_t head[BACKUP_HEADER_LEN];
    uint8_t got[BACKUP_SUM_LEN];
    uint8_t want[BACKUP_SUM_LEN];
    char msg[256];
    struct stat st;
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto err;
    }
    n = fread(head, 1, sizeof head, f);
    if ((uint64_t)st.st_size < BACKUP_HEADER_LEN + BACKUP_SUM_LEN && n >= 16 &&
        memcmp(head, BACKUP_MAGIC, 8) == 0) {
        snprintf(err, errlen, "%s: file of %lld bytes is truncated", path,
                 (long long)st.st_size);
        goto err;
    }
    if (backup_header_decode(head, n, (uint64_t)st.st_size, h, msg,
                             sizeof msg) != 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        goto err;
    }
    if (fseek(f, 0, SEEK_SET) != 0 ||
        hash_stream(f, (uint64_t)st.st_size, got, want) != 0) {
        snprintf(err, errlen, "%s: read failed: %s", path,
                 ferror(f) ? strerror(errno) : "short file");
        goto err;
    }
    if (check_sum(got, want, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        goto err;
    }
    if (sum != NULL) {
        memcpy(sum, want, BACKUP_SUM_LEN);
    }
    fclose(f);
    return 0;

err:
    if (f != NULL) {
        fclose(f);
    }
    return -1;
}

void backup_sum_hex(const uint8_t sum[BACKUP_SUM_LEN],
                    char out[2 * BACKUP_SUM_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < BACKUP_SUM_LEN; i++) {
        out[2 * i] = hex[sum[i] >> 4];
        out[2 * i + 1] = hex[sum[i] & 15];
    }
    out[2 * BACKUP_SUM_LEN] = '\0';
}
