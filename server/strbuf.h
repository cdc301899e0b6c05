/* A growing text buffer for rendered answers (metrics, status page). */
#ifndef KLAXON_STRBUF_H
#define KLAXON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf
{
    char *buf; /* NUL-terminated while not failed */
    size_t len, cap;
    bool failed; /* out of memory: later appends do nothing */
};

/* 0, or -1 out of memory. */
int strbuf_init(struct strbuf *b, size_t cap);
void strbuf_free(struct strbuf *b);

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append s with &, <, >, " and ' escaped for HTML text and attributes. */
void strbuf_html(struct strbuf *b, const char *s);

/* Hand the text over (the caller frees it); NULL if anything failed. */
char *strbuf_take(struct strbuf *b, size_t *len);

#endif /* KLAXON_STRBUF_H */
