/*
 * Backup files (klaxonctl snapshot save, klaxond --restore): the format
 * shared by the node that writes them, the client that copies and inspects
 * them and the node that restores one. docs/PROTOCOL.md ("Backup files")
 * has the same layout:
 *
 *   offset  size  field (integers big-endian)
 *        0     8  magic "KLXNBKUP"
 *        8     4  format version (BACKUP_FORMAT_VERSION)
 *       12     4  header length (BACKUP_HEADER_LEN)
 *       16     8  cluster id (the state's, see server/token.h)
 *       24     8  applied index of the state
 *       32     8  created, ms since the epoch (the node's wall clock)
 *       40     8  record count
 *       48     8  body length
 *       56     8  reserved, 0
 *       64  body  the Raft snapshot stream of the state (server/snapshot.h)
 *   64+body   32  SHA-256 of every byte before it
 *
 * Nothing may follow the checksum. Readers refuse any other size, magic,
 * version or header length, and a checksum that does not match.
 */
#ifndef KLAXON_BACKUP_FILE_H
#define KLAXON_BACKUP_FILE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define BACKUP_MAGIC "KLXNBKUP"
#define BACKUP_FORMAT_VERSION 1
#define BACKUP_HEADER_LEN 64
#define BACKUP_SUM_LEN 32

struct backup_header
{
    uint32_t version;
    uint64_t cluster_id;
    uint64_t applied_index;
    uint64_t created_ms;
    uint64_t records;
    uint64_t body_len;
};

/* Size of the whole file of a header. */
uint64_t backup_file_size(const struct backup_header *h);

/* Write the header (version BACKUP_FORMAT_VERSION) into out. */
void backup_header_encode(const struct backup_header *h,
                          uint8_t out[BACKUP_HEADER_LEN]);

/*
 * Decode the first `len` bytes of a file of `file_size` bytes. 0, or -1
 * with a message naming what is wrong (magic, version, truncated...).
 */
int backup_header_decode(const uint8_t *p,
                         size_t len,
                         uint64_t file_size,
                         struct backup_header *h,
                         char *err,
                         size_t errlen);

/*
 * Check a whole file held in memory: header and checksum. 0 and *h, or -1
 * with a message.
 */
int backup_verify_buffer(const void *data,
                         size_t len,
                         struct backup_header *h,
                         char *err,
                         size_t errlen);

/*
 * Check a file on disk, reading it once. 0 and *h (sum: the checksum, may
 * be NULL), or -1 with a message that names the file.
 */
int backup_verify_file(const char *path,
                       struct backup_header *h,
                       uint8_t sum[BACKUP_SUM_LEN],
                       char *err,
                       size_t errlen);

/* Hex of a checksum into out (2 * BACKUP_SUM_LEN + 1 bytes). */
void backup_sum_hex(const uint8_t sum[BACKUP_SUM_LEN],
                    char out[2 * BACKUP_SUM_LEN + 1]);

#endif /* KLAXON_BACKUP_FILE_H */
