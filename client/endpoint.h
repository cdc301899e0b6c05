/*
 * Node API addresses: "host:port", with IPv6 literals in brackets
 * ("[::1]:7001"), alone or as a comma-separated list.
 */
#ifndef KLAXON_CLIENT_ENDPOINT_H
#define KLAXON_CLIENT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct endpoint
{
    char *addr; /* as given, without surrounding blanks: "host:port" */
    char *host; /* without brackets */
    char *port; /* decimal 1..65535 */
    /* In a client's list: a connection to it failed, so leader search
     * passes it by until then (CLOCK_MONOTONIC ms, 0: never failed). */
    int64_t avoid_until;
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

/* Index of the first endpoint from `from` on (wrapping around) that is not
 * avoided at `now`, or from % l->n when all of them are. */
size_t endpoint_list_pick(const struct endpoint_list *l,
                          size_t from,
                          int64_t now);

/* Whether `addr` is in the list and avoided at `now`. */
bool endpoint_list_avoided(const struct endpoint_list *l,
                           const char *addr,
                           int64_t now);

/* Write "a, b, c" into buf (truncated to len). */
void endpoint_list_join(const struct endpoint_list *l, char *buf, size_t len);

#endif /* KLAXON_CLIENT_ENDPOINT_H */
