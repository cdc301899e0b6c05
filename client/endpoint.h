/*
 * Node API addresses: "host:port", with IPv6 literals in brackets
 * ("[::1]:7001"), alone or as a comma-separated list.
 */
#ifndef KLAXON_CLIENT_ENDPOINT_H
#define KLAXON_CLIENT_ENDPOINT_H

#include <stddef.h>

struct endpoint
{
    char *addr; /* as given, without surrounding blanks: "host:port" */
    char *host; /* without brackets */
    char *port; /* decimal 1..65535 */
};

struct endpoint_list
{
    struct endpoint *v;
    size_t n;
};

/* Parse one address. KLAXON_OK, KLAXON_EINVAL (message in msg) or
 * KLAXON_ENOMEM. Release with endpoint_clear. */
int endpoint_parse(const char *s, struct endpoint *out, char *msg, size_t len);

void endpoint_clear(struct endpoint *e);

/* Parse a comma-separated list of at least one address; blanks around the
 * commas are ignored. Same results as endpoint_parse. */
int endpoint_list_parse(const char *s,
                        struct endpoint_list *out,
                        char *msg,
                        size_t len);

void endpoint_list_clear(struct endpoint_list *l);

/* Index of `addr` in the list, or l->n if absent. */
size_t endpoint_list_find(const struct endpoint_list *l, const char *addr);

/* Write "a, b, c" into buf (truncated to len). */
void endpoint_list_join(const struct endpoint_list *l, char *buf, size_t len);

#endif /* KLAXON_CLIENT_ENDPOINT_H */
