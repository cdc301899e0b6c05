/*
 * Small file helpers shared by klaxond and libklaxon.
 */
#ifndef KLAXON_FILEIO_H
#define KLAXON_FILEIO_H

#include <stddef.h>

/* Write all n bytes of p to fd (retrying short writes and EINTR). 0, or
 * -1 with errno set. */
int file_write_all(int fd, const void *p, size_t n);

/* fsync the directory dir, so that a rename or unlink in it is durable.
 * 0, or -1 with errno set. */
int file_sync_dir(const char *dir);

#endif /* KLAXON_FILEIO_H */
