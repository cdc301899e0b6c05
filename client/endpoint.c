#include "endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klaxon.h"

static int port_valid(const char *p)
{
    unsigned long v = 0;

    if (*p == '\0' || strlen(p) > 5) {
        return 0;
    }
    for (; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p)) {
            return 0;
        }
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v >= 1 && v <= 65535;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Split "host:port" or "[v6]:port" into host and port bounds. */
static int split(const char *s,
                 const char **host,
                 size_t *host_len,
                 const char **port)
{
    const char *colon;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':') {
            return -1;
        }
        *host = s + 1;
        *host_len = (size_t)(end - s - 1);
        *port = end + 2;
        return 0;
    }
    colon = strrchr(s, ':');
    if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) {
        return -1; /* no port, or an IPv6 literal without brackets */
    }
    *host = s;
    *host_len = (size_t)(colon - s);
    *port = colon + 1;
    return 0;
}

int endpoint_parse(const char *s, struct endpoint *out, char *msg, size_t len)
{
    const char *host;
    const char *port;
    size_t host_len;

    memset(out, 0, sizeof *out);
    if (s == NULL || *s == '\0') {
        snprintf(msg, len, "empty address");
        return KLAXON_EINVAL;
    }
    if (split(s, &host, &host_len, &port) != 0 || host_len == 0) {
        snprintf(msg, len, "\"%s\": expected host:port", s);
        return KLAXON_EINVAL;
    }
    if (!port_valid(port)) {
        snprintf(msg, len, "\"%s\": port must be 1..65535", s);
        return KLAXON_EINVAL;
    }
    out->addr = strdup(s);
    out->host = dup_range(host, host_len);
    out->port = strdup(port);
    if (out->addr == NULL || out->host == NULL || out->port == NULL) {
        endpoint_clear(out);
        snprintf(msg, len, "out of memory");
        return KLAXON_ENOMEM;
    }
    return KLAXON_OK;
}

void endpoint_clear(struct endpoint *e)
{
    free(e->port);
    free(e->host);
    free(e->addr);
    memset(e, 0, sizeof *e);
}

/* Parse the item s[0..n) without its surrounding blanks into l->v[l->n]. */
static int parse_item(const char *s,
                      size_t n,
                      struct endpoint_list *l,
                      char *msg,
                      size_t len)
{
    char *item;
    int rv;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0) {
        snprintf(msg, len, "empty address in the list");
        return KLAXON_EINVAL;
    }
    item = dup_range(s, n);
    if (item == NULL) {
        snprintf(msg, len, "out of memory");
        return KLAXON_ENOMEM;
    }
    rv = endpoint_parse(item, &l->v[l->n], msg, len);
    free(item);
    if (rv == KLAXON_OK) {
        l->n++;
    }
    return rv;
}

int endpoint_list_parse(const char *s,
                        struct endpoint_list *out,
                        char *msg,
                        size_t len)
{
    size_t items = 1;
    const char *p;
    int rv = KLAXON_OK;

    memset(out, 0, sizeof *out);
    if (s == NULL) {
        snprintf(msg, len, "no endpoints");
        return KLAXON_EINVAL;
    }
    for (p = s; *p != '\0'; p++) {
        items += *p == ',';
    }
    out->v = calloc(items, sizeof *out->v);
    if (out->v == NULL) {
        snprintf(msg, len, "out of memory");
        return KLAXON_ENOMEM;
    }
    for (p = s; rv == KLAXON_OK; p++) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        rv = parse_item(p, n, out, msg, len);
        if (end == NULL) {
            break;
        }
        p = end;
    }
    if (rv != KLAXON_OK) {
        endpoint_list_clear(out);
    }
    return rv;
}

void endpoint_list_clear(struct endpoint_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        endpoint_clear(&l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

size_t endpoint_list_find(const struct endpoint_list *l, const char *addr)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].addr, addr) == 0) {
            break;
        }
    }
    return i;
}

size_t endpoint_list_pick(const struct endpoint_list *l,
                          size_t from,
                          int64_t now)
{
    for (size_t k = 0; k < l->n; k++) {
        size_t i = (from + k) % l->n;
        if (l->v[i].avoid_until <= now) {
            return i;
        }
    }
    return from % l->n;
}

bool endpoint_list_avoided(const struct endpoint_list *l,
                           const char *addr,
                           int64_t now)
{
    size_t i = endpoint_list_find(l, addr);

    return i < l->n && l->v[i].avoid_until > now;
}

void endpoint_list_join(const struct endpoint_list *l, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "",
                         l->v[i].addr);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}
