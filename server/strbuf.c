#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strbuf_init(struct strbuf *b, size_t cap)
{
    b->buf = malloc(cap);
    b->len = 0;
    b->cap = cap;
    b->failed = b->buf == NULL;
    if (b->buf != NULL) {
        b->buf[0] = '\0';
    }
    return b->failed ? -1 : 0;
}

void strbuf_free(struct strbuf *b)
{
    free(b->buf);
    b->buf = NULL;
}

static int grow(struct strbuf *b, size_t need)
{
    size_t cap = b->cap;
    char *p;

    while (cap < b->len + need + 1) {
        cap = cap * 2 + 64;
    }
    if (cap == b->cap) {
        return 0;
    }
    p = realloc(b->buf, cap);
    if (p == NULL) {
        b->failed = true;
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) != 0) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_html(struct strbuf *b, const char *s)
{
    for (; s != NULL && *s != '\0' && !b->failed; s++) {
        switch (*s) {
            case '&':
                strbuf_printf(b, "&amp;");
                break;
            case '<':
                strbuf_printf(b, "&lt;");
                break;
            case '>':
                strbuf_printf(b, "&gt;");
                break;
            case '"':
                strbuf_printf(b, "&quot;");
                break;
            case '\'':
                strbuf_printf(b, "&#39;");
                break;
            default:
                if (grow(b, 1) == 0) {
                    b->buf[b->len++] = *s;
                    b->buf[b->len] = '\0';
                }
                break;
        }
    }
}

char *strbuf_take(struct strbuf *b, size_t *len)
{
    char *p = b->buf;
    if (b->failed) {
        strbuf_free(b);
        return NULL;
    }
    if (len != NULL) {
        *len = b->len;
    }
    b->buf = NULL;
    return p;
}
