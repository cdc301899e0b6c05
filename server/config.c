#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "yamldoc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Most fields one mapping of the file may have. */
#define FIELDS_MAX 12

static const char address_forms[] =
    "expected host:port, e.g. 127.0.0.1:7001, [::1]:7001 or "
    "node1.example.com:7001";

static const char *const log_level_names[] = {"debug", "info", "warn", "error",
                                              NULL};

/* --- schema -------------------------------------------------------------- */

enum field_kind {
    FIELD_U64,      /* uint64_t, min..max */
    FIELD_UINT,     /* unsigned, min..max */
    FIELD_DURATION, /* unsigned milliseconds, min..max */
    FIELD_PATH,     /* char[PATH_MAX], made absolute */
    FIELD_ADDRESS,  /* char[CONFIG_ADDR_MAX], host:port */
    FIELD_LOG_LEVEL,
    FIELD_ENUM,    /* unsigned, the index in `names` */
    FIELD_MEMBERS, /* cluster.members */
    FIELD_SECTION, /* a mapping described by `fields` */
};

struct field_spec
{
    const char *name;
    enum field_kind kind;
    bool required;
    size_t offset; /* in struct config, or struct config_member */
    uint64_t min, max;
    const struct field_spec *fields; /* FIELD_SECTION */
    size_t n_fields;
    const char *const *names; /* FIELD_ENUM, NULL-terminated */
};

#define IN_CONFIG(f) offsetof(struct config, f)
#define IN_MEMBER(f) offsetof(struct config_member, f)

/* Table entries: a field that must be given, one that may be given, an
 * optional duration or count in lo..hi, an id, and a section. */
#define REQUIRED(n, k, off)                                         \
    {                                                               \
        .name = (n), .kind = (k), .required = true, .offset = (off) \
    }
#define OPTIONAL(n, k, off)                       \
    {                                             \
        .name = (n), .kind = (k), .offset = (off) \
    }
#define DURATION(n, off, lo, hi)                                           \
    {                                                                      \
        .name = (n), .kind = FIELD_DURATION, .offset = (off), .min = (lo), \
        .max = (hi)                                                        \
    }
#define COUNT(n, off, lo, hi)                                          \
    {                                                                  \
        .name = (n), .kind = FIELD_UINT, .offset = (off), .min = (lo), \
        .max = (hi)                                                    \
    }
#define ENUM(n, off, list)                                                \
    {                                                                     \
        .name = (n), .kind = FIELD_ENUM, .offset = (off), .names = (list) \
    }
#define ID(off)                                                             \
    {                                                                       \
        .name = "id", .kind = FIELD_U64, .required = true, .offset = (off), \
        .min = 1, .max = CONFIG_ID_MAX                                      \
    }
#define SECTION(n, req, table)                                 \
    {                                                          \
        .name = (n), .kind = FIELD_SECTION, .required = (req), \
        .fields = (table), .n_fields = ARRAY_LEN(table)        \
    }

static const struct field_spec node_fields[] = {
    ID(IN_CONFIG(id)),
    REQUIRED("data_dir", FIELD_PATH, IN_CONFIG(data_dir)),
    REQUIRED("raft_address", FIELD_ADDRESS, IN_CONFIG(raft_address)),
    REQUIRED("api_address", FIELD_ADDRESS, IN_CONFIG(api_address)),
    OPTIONAL("raft_bind", FIELD_ADDRESS, IN_CONFIG(raft_bind)),
    OPTIONAL("api_bind", FIELD_ADDRESS, IN_CONFIG(api_bind)),
};

static const struct field_spec tls_fields[] = {
    REQUIRED("ca", FIELD_PATH, IN_CONFIG(tls_ca)),
    REQUIRED("cert", FIELD_PATH, IN_CONFIG(tls_cert)),
    REQUIRED("key", FIELD_PATH, IN_CONFIG(tls_key)),
};

static const char *const bool_names[] = {"false", "true", NULL};

static const struct field_spec cluster_fields[] = {
    REQUIRED("members", FIELD_MEMBERS, 0),
    ENUM("join", IN_CONFIG(join), bool_names),
};

static const struct field_spec member_fields[] = {
    ID(IN_MEMBER(id)),
    REQUIRED("raft_address", FIELD_ADDRESS, IN_MEMBER(raft_address)),
    REQUIRED("api_address", FIELD_ADDRESS, IN_MEMBER(api_address)),
};

static const struct field_spec raft_fields[] = {
    DURATION("heartbeat_timeout", IN_CONFIG(heartbeat_ms), 10, 60000),
    DURATION("election_timeout", IN_CONFIG(election_ms), 100, 600000),
    COUNT("snapshot_threshold", IN_CONFIG(snapshot_threshold), 16, 10000000),
    COUNT("snapshot_trailing", IN_CONFIG(snapshot_trailing), 0, 10000000),
    COUNT("log_memory_mb", IN_CONFIG(log_memory_mb), 0, 65536),
    ENUM("read_lease", IN_CONFIG(read_lease), bool_names),
};

static const struct field_spec api_fields[] = {
    COUNT("max_connections", IN_CONFIG(max_connections), 1, 100000),
};

static const char *const client_cert_names[] = {"optional", "required", NULL};

/* Per group of endpoints: may a caller come without a client
 * certificate? (http.h, enum http_group) */
static const struct field_spec http_cert_fields[] = {
    ENUM("events", IN_CONFIG(http_client_certs[0]), client_cert_names),
    ENUM("metrics", IN_CONFIG(http_client_certs[1]), client_cert_names),
    ENUM("status", IN_CONFIG(http_client_certs[2]), client_cert_names),
    ENUM("health", IN_CONFIG(http_client_certs[3]), client_cert_names),
};

static const struct field_spec http_fields[] = {
    OPTIONAL("bind", FIELD_ADDRESS, IN_CONFIG(http_bind)),
    COUNT("max_body", IN_CONFIG(http_max_body), 1024, 16u << 20),
    COUNT("rate_limit", IN_CONFIG(http_rate_limit), 1, 1000000),
    COUNT("max_connections", IN_CONFIG(http_max_connections), 1, 100000),
    SECTION("client_certs", false, http_cert_fields),
};

/* Defaults of the limits section (see config.h). */
#define LIMIT_MAX_FRAME (1u << 20)
#define LIMIT_MAX_BODY (512u << 10)
#define LIMIT_MAX_CONNECTIONS 1024
#define LIMIT_MAX_HANDSHAKES 128
#define LIMIT_PER_CLIENT 512
#define LIMIT_HANDSHAKE_MS 10000
#define LIMIT_IDLE_MS 300000
#define LIMIT_HTTP_IDLE_MS 60000
#define LIMIT_REQUEST_MS 30000
#define LIMIT_CLIENT_RATE 50000
#define LIMIT_KEY_RATE 100

static const struct field_spec limits_fields[] = {
    COUNT("max_frame", IN_CONFIG(limit_max_frame), 1024, 1u << 20),
    COUNT("max_body", IN_CONFIG(limit_max_body), 1024, 16u << 20),
    COUNT("max_connections", IN_CONFIG(limit_max_connections), 1, 100000),
    COUNT("max_handshakes", IN_CONFIG(limit_max_handshakes), 1, 100000),
    COUNT("max_connections_per_client", IN_CONFIG(limit_per_client), 1, 100000),
    DURATION("handshake_timeout", IN_CONFIG(limit_handshake_ms), 100, 300000),
    DURATION("idle_timeout", IN_CONFIG(limit_idle_ms), 1000, 86400000),
    DURATION("http_idle_timeout", IN_CONFIG(limit_http_idle_ms), 1000, 3600000),
    DURATION("request_timeout", IN_CONFIG(limit_request_ms), 100, 600000),
    COUNT("client_rate", IN_CONFIG(limit_client_rate), 1, 10000000),
    COUNT("key_rate", IN_CONFIG(limit_key_rate), 1, 1000000),
    COUNT("state_mapped_mb", IN_CONFIG(limit_state_mapped_mb), 0, 65536),
};

static const struct field_spec log_fields[] = {
    OPTIONAL("level", FIELD_LOG_LEVEL, IN_CONFIG(log_level)),
};

static const struct field_spec root_fields[] = {
    SECTION("node", true, node_fields),
    SECTION("tls", true, tls_fields),
    SECTION("cluster", true, cluster_fields),
    SECTION("raft", false, raft_fields),
    SECTION("api", false, api_fields),
    SECTION("http", false, http_fields),
    SECTION("limits", false, limits_fields),
    SECTION("log", false, log_fields),
};

_Static_assert(ARRAY_LEN(root_fields) <= FIELDS_MAX, "root_fields");
_Static_assert(ARRAY_LEN(node_fields) <= FIELDS_MAX, "node_fields");
_Static_assert(ARRAY_LEN(raft_fields) <= FIELDS_MAX, "raft_fields");
_Static_assert(ARRAY_LEN(tls_fields) <= FIELDS_MAX, "tls_fields");
_Static_assert(ARRAY_LEN(cluster_fields) <= FIELDS_MAX, "cluster_fields");
_Static_assert(ARRAY_LEN(member_fields) <= FIELDS_MAX, "member_fields");
_Static_assert(ARRAY_LEN(api_fields) <= FIELDS_MAX, "api_fields");
_Static_assert(ARRAY_LEN(log_fields) <= FIELDS_MAX, "log_fields");
_Static_assert(ARRAY_LEN(limits_fields) <= FIELDS_MAX, "limits_fields");
_Static_assert(ARRAY_LEN(http_fields) <= FIELDS_MAX, "http_fields");

/* State of one load. */
struct loader
{
    struct yamldoc *doc;
    struct config *cfg;
    char base_dir[PATH_MAX]; /* absolute, for relative paths */
};

/* --- addresses ----------------------------------------------------------- */

/* Locate the host (h, hlen; brackets excluded) and the ':' before the port. */
static const char *address_locate(const char *addr,
                                  const char **h,
                                  size_t *hlen,
                                  const char **colon,
                                  bool *bracketed)
{
    const char *close;

    *bracketed = addr[0] == '[';
    if (*bracketed) {
        close = strchr(addr, ']');
        if (close == NULL) {
            return "missing ']' after the IPv6 address";
        }
        *h = addr + 1;
        *hlen = (size_t)(close - *h);
        *colon = close + 1;
        return **colon == ':' ? NULL : "missing :port";
    }
    *colon = strrchr(addr, ':');
    if (*colon == NULL) {
        return "missing :port";
    }
    *h = addr;
    *hlen = (size_t)(*colon - addr);
    if (memchr(addr, ':', *hlen) != NULL) {
        return "an IPv6 address must be in brackets";
    }
    return NULL;
}

static bool hostname_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static const char *hostname_check(const char *h)
{
    size_t label = 0;

    if (strlen(h) > 253) {
        return "host name longer than 253 characters";
    }
    for (const char *p = h;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63) {
                return "host name labels must be 1 to 63 characters";
            }
            if (*p == '\0') {
                return NULL;
            }
            label = 0;
        } else if (!hostname_char(*p)) {
            return "invalid character in host name";
        } else {
            label++;
        }
    }
}

static const char *host_check(const char *h, bool bracketed)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (h[0] == '\0') {
        return "missing host";
    }
    if (bracketed) {
        return inet_pton(AF_INET6, h, &a6) == 1 ? NULL : "invalid IPv6 address";
    }
    if (strspn(h, "0123456789.") == strlen(h)) {
        return inet_pton(AF_INET, h, &a4) == 1 ? NULL : "invalid IPv4 address";
    }
    return hostname_check(h);
}

/* NULL if addr is a valid host:port, else the reason it is not. */
static const char *address_parse(const char *addr,
                                 char *host,
                                 size_t hostlen,
                                 unsigned *port)
{
    char h[CONFIG_ADDR_MAX];
    const char *start;
    const char *colon;
    const char *reason;
    size_t hlen;
    bool bracketed;
    uint64_t p;

    reason = address_locate(addr, &start, &hlen, &colon, &bracketed);
    if (reason != NULL) {
        return reason;
    }
    if (hlen >= sizeof h || hlen >= hostlen) {
        return "host too long";
    }
    memcpy(h, start, hlen);
    h[hlen] = '\0';
    reason = host_check(h, bracketed);
    if (reason != NULL) {
        return reason;
    }
    if (yamldoc_parse_uint(colon + 1, &p, NULL) != 0 || p < 1 || p > 65535) {
        return "port must be a number from 1 to 65535";
    }
    memcpy(host, h, hlen + 1);
    *port = (unsigned)p;
    return NULL;
}

int config_split_address(const char *addr,
                         char *host,
                         size_t hostlen,
                         unsigned *port)
{
    return address_parse(addr, host, hostlen, port) == NULL ? 0 : -1;
}

/* Same host (ignoring case) and port. */
static bool address_equal(const char *a, const char *b)
{
    char ha[CONFIG_ADDR_MAX];
    char hb[CONFIG_ADDR_MAX];
    unsigned pa;
    unsigned pb;

    if (address_parse(a, ha, sizeof ha, &pa) != NULL ||
        address_parse(b, hb, sizeof hb, &pb) != NULL) {
        return strcmp(a, b) == 0;
    }
    return pa == pb && strcasecmp(ha, hb) == 0;
}

/* --- paths --------------------------------------------------------------- */

/* `path` made absolute against `base` (absolute). -1 if it does not fit. */
static int path_resolve(const char *base,
                        const char *path,
                        char *out,
                        size_t len)
{
    const char *sep = "/";
    int n;

    if (path[0] == '/') {
        n = snprintf(out, len, "%s", path);
        return n >= 0 && (size_t)n < len ? 0 : -1;
    }
    while (path[0] == '.' && path[1] == '/') {
        path += 2;
        path += strspn(path, "/");
    }
    if (strcmp(path, ".") == 0) {
        path = "";
    }
    if (path[0] == '\0' || base[strlen(base) - 1] == '/') {
        sep = "";
    }
    n = snprintf(out, len, "%s%s%s", base, sep, path);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* A directory made absolute against the working directory. */
static int dir_absolute(const char *dir, char *out, size_t len)
{
    char cwd[PATH_MAX];

    if (dir != NULL && dir[0] == '/' && path_resolve("/", dir, out, len) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (dir != NULL && dir[0] == '/') {
        return 0;
    }
    if (getcwd(cwd, sizeof cwd) == NULL) {
        return -1;
    }
    if (path_resolve(cwd, dir != NULL ? dir : "", out, len) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* --- fields -------------------------------------------------------------- */

static int load_fields(struct loader *l,
                       const yaml_node_t *map,
                       const char *path,
                       const struct field_spec *specs,
                       size_t n,
                       char *base);

static int load_path(struct loader *l,
                     const yaml_node_t *node,
                     const char *field,
                     char *out)
{
    char raw[PATH_MAX];

    if (yamldoc_string(l->doc, node, field, raw, sizeof raw) != 0) {
        return -1;
    }
    if (path_resolve(l->base_dir, raw, out, PATH_MAX) != 0) {
        return yamldoc_error(l->doc, node, field,
                             "path too long once made absolute against %s",
                             l->base_dir);
    }
    return 0;
}

static int load_address(struct loader *l,
                        const yaml_node_t *node,
                        const char *field,
                        char *out)
{
    char host[CONFIG_ADDR_MAX];
    char text[80];
    const char *reason;
    unsigned port;

    if (yamldoc_string(l->doc, node, field, out, CONFIG_ADDR_MAX) != 0) {
        return -1;
    }
    reason = address_parse(out, host, sizeof host, &port);
    if (reason != NULL) {
        yamldoc_printable(out, strlen(out), text, sizeof text);
        return yamldoc_error(l->doc, node, field,
                             "invalid address \"%s\": %s (%s)", text, reason,
                             address_forms);
    }
    return 0;
}

static int load_members(struct loader *l,
                        const yaml_node_t *seq,
                        const char *field)
{
    struct config *c = l->cfg;
    char item_field[YAMLDOC_FIELD_MAX];
    size_t n;

    if (yamldoc_expect_sequence(l->doc, seq, field) != 0) {
        return -1;
    }
    n = yamldoc_size(seq);
    if (n < 1 || n > CONFIG_MAX_MEMBERS) {
        return yamldoc_error(l->doc, seq, field,
                             "must list 1 to %d members, got %zu",
                             CONFIG_MAX_MEMBERS, n);
    }
    c->members = calloc(n, sizeof *c->members);
    if (c->members == NULL) {
        return yamldoc_error(l->doc, seq, field, "out of memory");
    }
    c->n_members = (unsigned)n;
    for (size_t i = 0; i < n; i++) {
        yamldoc_field_index(item_field, sizeof item_field, field, i);
        if (load_fields(l, yamldoc_item(l->doc, seq, i), item_field,
                        member_fields, ARRAY_LEN(member_fields),
                        (char *)&c->members[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_number(struct loader *l,
                       const yaml_node_t *node,
                       const char *field,
                       const struct field_spec *spec,
                       void *dst)
{
    uint64_t v;
    int rc;

    if (spec->kind == FIELD_DURATION) {
        rc = yamldoc_duration_ms(l->doc, node, field, spec->min, spec->max, &v);
    } else {
        rc = yamldoc_uint(l->doc, node, field, spec->min, spec->max, &v);
    }
    if (rc != 0) {
        return -1;
    }
    if (spec->kind == FIELD_U64) {
        *(uint64_t *)dst = v;
    } else {
        *(unsigned *)dst = (unsigned)v;
    }
    return 0;
}

static int load_log_level(struct loader *l,
                          const yaml_node_t *node,
                          const char *field,
                          enum log_level *out)
{
    unsigned i;

    if (yamldoc_enum(l->doc, node, field, log_level_names, &i) != 0) {
        return -1;
    }
    *out = (enum log_level)i;
    return 0;
}

static int load_field(struct loader *l,
                      const yaml_node_t *node,
                      const char *field,
                      const struct field_spec *spec,
                      char *base)
{
    char *dst = base + spec->offset;

    switch (spec->kind) {
        case FIELD_U64:
        case FIELD_UINT:
        case FIELD_DURATION:
            return load_number(l, node, field, spec, dst);
        case FIELD_PATH:
            return load_path(l, node, field, dst);
        case FIELD_ADDRESS:
            return load_address(l, node, field, dst);
        case FIELD_LOG_LEVEL:
            return load_log_level(l, node, field, (enum log_level *)dst);
        case FIELD_ENUM:
            return yamldoc_enum(l->doc, node, field, spec->names,
                                (unsigned *)dst);
        case FIELD_MEMBERS:
            return load_members(l, node, field);
        case FIELD_SECTION:
            return load_fields(l, node, field, spec->fields, spec->n_fields,
                               base);
    }
    return yamldoc_error(l->doc, node, field, "unsupported field kind");
}

/*
 * Load the fields of mapping `map` into `base` (a struct config or a
 * struct config_member). A field given as null counts as absent.
 */
static int load_fields(struct loader *l,
                       const yaml_node_t *map,
                       const char *path,
                       const struct field_spec *specs,
                       size_t n,
                       char *base)
{
    const char *names[FIELDS_MAX + 1];
    char field[YAMLDOC_FIELD_MAX];
    yaml_node_t *node;

    for (size_t i = 0; i < n; i++) {
        names[i] = specs[i].name;
    }
    names[n] = NULL;
    if (yamldoc_check_keys(l->doc, map, path, names) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        yamldoc_field(field, sizeof field, path, specs[i].name);
        node = yamldoc_get(l->doc, map, specs[i].name);
        if (node != NULL && !yamldoc_is_null(node)) {
            if (load_field(l, node, field, &specs[i], base) != 0) {
                return -1;
            }
        } else if (specs[i].required && node != NULL) {
            return yamldoc_error(l->doc, node, field,
                                 "required field has no value");
        } else if (specs[i].required) {
            return yamldoc_error(l->doc, map, field,
                                 "required field is missing");
        }
    }
    return 0;
}

/* --- cross-field checks -------------------------------------------------- */

/* The non-null value at section.key (member `key` of the root if no
 * section), or NULL. */
static yaml_node_t *find_value(struct loader *l,
                               const char *section,
                               const char *key)
{
    yaml_node_t *node = yamldoc_root(l->doc);

    if (node != NULL && section != NULL) {
        node = yamldoc_get(l->doc, node, section);
    }
    if (node != NULL) {
        node = yamldoc_get(l->doc, node, key);
    }
    return node != NULL && !yamldoc_is_null(node) ? node : NULL;
}

static yaml_node_t *member_node(struct loader *l, size_t i, const char *key)
{
    yaml_node_t *seq = find_value(l, "cluster", "members");
    yaml_node_t *item = seq != NULL ? yamldoc_item(l->doc, seq, i) : NULL;

    return item != NULL ? yamldoc_get(l->doc, item, key) : NULL;
}

static int check_timeouts(struct loader *l)
{
    const struct config *c = l->cfg;
    char hb[32];
    char el[32];
    char min[32];
    yaml_node_t *node;

    if ((uint64_t)c->election_ms >= 3 * (uint64_t)c->heartbeat_ms) {
        return 0;
    }
    yamldoc_format_duration(c->heartbeat_ms, hb, sizeof hb);
    yamldoc_format_duration(c->election_ms, el, sizeof el);
    yamldoc_format_duration(3 * (uint64_t)c->heartbeat_ms, min, sizeof min);
    node = find_value(l, "raft", "election_timeout");
    if (node != NULL) {
        return yamldoc_error(
            l->doc, node, "raft.election_timeout",
            "%s is less than 3 x raft.heartbeat_timeout (%s), must be at "
            "least %s",
            el, hb, min);
    }
    return yamldoc_error(l->doc, find_value(l, "raft", "heartbeat_timeout"),
                         "raft.heartbeat_timeout",
                         "%s is more than a third of raft.election_timeout "
                         "(%s, the default)",
                         hb, el);
}

/*
 * A setting given both in its section and as an alias in limits: both
 * must agree. *value is the section's (0 if absent), *alias the limit's;
 * the result goes to *value, or `def` if neither was given.
 */
static int merge_alias(struct loader *l,
                       const char *section,
                       const char *key,
                       const char *alias,
                       unsigned *value,
                       unsigned given_alias,
                       unsigned def)
{
    char field[YAMLDOC_FIELD_MAX];

    if (*value != 0 && given_alias != 0 && *value != given_alias) {
        yamldoc_field(field, sizeof field, "limits", alias);
        return yamldoc_error(l->doc, find_value(l, "limits", alias), field,
                             "%u differs from %s.%s (%u, line %zu); give "
                             "only one of them",
                             given_alias, section, key, *value,
                             yamldoc_line(find_value(l, section, key)));
    }
    if (*value == 0) {
        *value = given_alias != 0 ? given_alias : def;
    }
    return 0;
}

/* Fill the limits not given, and the per-listener settings they stand in
 * for. */
static int check_limits(struct loader *l)
{
    struct config *c = l->cfg;
    unsigned conns = c->limit_max_connections != 0 ? c->limit_max_connections
                                                   : LIMIT_MAX_CONNECTIONS;

    if (merge_alias(l, "http", "max_body", "max_body", &c->http_max_body,
                    c->limit_max_body, LIMIT_MAX_BODY) != 0 ||
        merge_alias(l, "http", "rate_limit", "key_rate", &c->http_rate_limit,
                    c->limit_key_rate, LIMIT_KEY_RATE) != 0) {
        return -1;
    }
    c->limit_max_body = c->http_max_body;
    c->limit_key_rate = c->http_rate_limit;
    c->limit_max_connections = conns;
    if (c->max_connections == 0) {
        c->max_connections = conns;
    }
    if (c->http_max_connections == 0) {
        c->http_max_connections = conns;
    }
    if (c->limit_max_frame == 0) {
        c->limit_max_frame = LIMIT_MAX_FRAME;
    }
    if (c->limit_max_handshakes == 0) {
        c->limit_max_handshakes = LIMIT_MAX_HANDSHAKES;
    }
    if (c->limit_per_client == 0) {
        c->limit_per_client = LIMIT_PER_CLIENT;
    }
    if (c->limit_handshake_ms == 0) {
        c->limit_handshake_ms = LIMIT_HANDSHAKE_MS;
    }
    if (c->limit_idle_ms == 0) {
        c->limit_idle_ms = LIMIT_IDLE_MS;
    }
    if (c->limit_http_idle_ms == 0) {
        c->limit_http_idle_ms = LIMIT_HTTP_IDLE_MS;
    }
    if (c->limit_request_ms == 0) {
        c->limit_request_ms = LIMIT_REQUEST_MS;
    }
    if (c->limit_client_rate == 0) {
        c->limit_client_rate = LIMIT_CLIENT_RATE;
    }
    return 0;
}

static int check_member_ids(struct loader *l)
{
    const struct config *c = l->cfg;
    char field[YAMLDOC_FIELD_MAX];

    for (size_t i = 1; i < c->n_members; i++) {
        for (size_t j = 0; j < i; j++) {
            if (c->members[i].id != c->members[j].id) {
                continue;
            }
            snprintf(field, sizeof field, "cluster.members[%zu].id", i);
            return yamldoc_error(l->doc, member_node(l, i, "id"), field,
                                 "duplicate member id %" PRIu64
                                 " (also cluster.members[%zu].id at line %zu)",
                                 c->members[i].id, j,
                                 yamldoc_line(member_node(l, j, "id")));
        }
    }
    return 0;
}

/* Address k of the members: raft_address of k / 2 if k is even, else
 * api_address. */
static const char *member_address(const struct config *c,
                                  size_t k,
                                  const char **key)
{
    const struct config_member *m = &c->members[k / 2];

    *key = k % 2 == 0 ? "raft_address" : "api_address";
    return k % 2 == 0 ? m->raft_address : m->api_address;
}

static int check_member_addresses(struct loader *l)
{
    const struct config *c = l->cfg;
    char field[YAMLDOC_FIELD_MAX];
    const char *a;
    const char *b;
    const char *ka;
    const char *kb;

    for (size_t i = 1; i < 2 * (size_t)c->n_members; i++) {
        a = member_address(c, i, &ka);
        for (size_t j = 0; j < i; j++) {
            b = member_address(c, j, &kb);
            if (!address_equal(a, b)) {
                continue;
            }
            snprintf(field, sizeof field, "cluster.members[%zu].%s", i / 2, ka);
            return yamldoc_error(
                l->doc, member_node(l, i / 2, ka), field,
                "address %s is already used by cluster.members[%zu].%s "
                "(line %zu)",
                a, j / 2, kb, yamldoc_line(member_node(l, j / 2, kb)));
        }
    }
    return 0;
}

static int check_self_address(struct loader *l,
                              size_t i,
                              const char *key,
                              const char *mine,
                              const char *listed)
{
    char field[YAMLDOC_FIELD_MAX];

    if (address_equal(mine, listed)) {
        return 0;
    }
    yamldoc_field(field, sizeof field, "node", key);
    return yamldoc_error(l->doc, find_value(l, "node", key), field,
                         "%s differs from %s in this node's member entry "
                         "cluster.members[%zu] (line %zu)",
                         mine, listed, i, yamldoc_line(member_node(l, i, key)));
}

static int check_self(struct loader *l)
{
    const struct config *c = l->cfg;
    const struct config_member *m = config_member(c, c->id);
    size_t i;

    if (m == NULL && c->join) {
        return 0; /* a new node: the leader adds it at runtime */
    }
    if (m == NULL) {
        return yamldoc_error(l->doc, find_value(l, "node", "id"), "node.id",
                             "%" PRIu64
                             " is not the id of any of "
                             "cluster.members (a node that joins a running "
                             "cluster needs cluster.join: true)",
                             c->id);
    }
    i = (size_t)(m - c->members);
    if (check_self_address(l, i, "raft_address", c->raft_address,
                           m->raft_address) != 0 ||
        check_self_address(l, i, "api_address", c->api_address,
                           m->api_address) != 0) {
        return -1;
    }
    return 0;
}

unsigned config_election_base_ms(const struct config *c)
{
    unsigned half = c->election_ms / 2;
    uint64_t floor = 2 * (uint64_t)c->heartbeat_ms;

    return half >= floor ? half : (unsigned)floor;
}

/* --- loading ------------------------------------------------------------- */

static void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->heartbeat_ms = 500;
    c->election_ms = 3000;
    c->snapshot_threshold = 8192;
    c->snapshot_trailing = 8192;
    c->log_memory_mb = 32;
    c->limit_state_mapped_mb = 256;
    c->read_lease = 1;
    c->log_level = LOG_INFO;
}

static int config_from_doc(struct loader *l)
{
    struct config *c = l->cfg;
    yaml_node_t *root = yamldoc_root(l->doc);

    if (root == NULL) {
        return yamldoc_error(l->doc, NULL, NULL,
                             "empty configuration (node, tls and cluster "
                             "are required)");
    }
    if (load_fields(l, root, "", root_fields, ARRAY_LEN(root_fields),
                    (char *)c) != 0) {
        return -1;
    }
    if (c->raft_bind[0] == '\0') {
        memcpy(c->raft_bind, c->raft_address, sizeof c->raft_bind);
    }
    if (c->api_bind[0] == '\0') {
        memcpy(c->api_bind, c->api_address, sizeof c->api_bind);
    }
    if (check_timeouts(l) != 0 || check_limits(l) != 0 ||
        check_member_ids(l) != 0 || check_member_addresses(l) != 0 ||
        check_self(l) != 0) {
        return -1;
    }
    return 0;
}

/* Build the configuration from a loaded document, which it frees. */
static int config_finish(struct loader *l)
{
    int rc = config_from_doc(l);

    yamldoc_free(l->doc);
    if (rc != 0) {
        config_free(l->cfg);
        memset(l->cfg, 0, sizeof *l->cfg);
    }
    return rc;
}

__attribute__((format(printf, 3, 4))) static int report(char *err,
                                                        size_t errlen,
                                                        const char *fmt,
                                                        ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The absolute directory of `path` into l->base_dir, and path into
 * c->path. */
static int resolve_location(struct loader *l,
                            const char *path,
                            char *err,
                            size_t errlen)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *file = slash != NULL ? slash + 1 : path;
    size_t dirlen = slash == NULL   ? 0
                    : slash == path ? 1
                                    : (size_t)(slash - path);

    if (dirlen >= sizeof dir) {
        return report(err, errlen, "%s: path too long", path);
    }
    memcpy(dir, dirlen > 0 ? path : ".", dirlen > 0 ? dirlen : 1);
    dir[dirlen > 0 ? dirlen : 1] = '\0';
    if (realpath(dir, l->base_dir) == NULL) {
        return report(err, errlen, "%s: cannot resolve directory %s: %s", path,
                      dir, strerror(errno));
    }
    if (path_resolve(l->base_dir, file, l->cfg->path, sizeof l->cfg->path) !=
        0) {
        return report(err, errlen, "%s: path too long", path);
    }
    return 0;
}

int config_load(const char *path, struct config *out, char *err, size_t errlen)
{
    struct yamldoc doc;
    struct loader l = {.doc = &doc, .cfg = out};

    config_defaults(out);
    if (yamldoc_load_file(&doc, path, err, errlen) != 0) {
        goto err_after_defaults;
    }
    if (resolve_location(&l, path, err, errlen) != 0) {
        goto err_after_doc;
    }
    return config_finish(&l);

err_after_doc:
    yamldoc_free(&doc);
err_after_defaults:
    memset(out, 0, sizeof *out);
    return -1;
}

int config_load_string(const char *name,
                       const char *text,
                       const char *base_dir,
                       struct config *out,
                       char *err,
                       size_t errlen)
{
    struct yamldoc doc;
    struct loader l = {.doc = &doc, .cfg = out};

    config_defaults(out);
    if (dir_absolute(base_dir, l.base_dir, sizeof l.base_dir) != 0) {
        report(err, errlen, "%s: cannot resolve base directory: %s", name,
               strerror(errno));
        goto err_after_defaults;
    }
    snprintf(out->path, sizeof out->path, "%s", name);
    if (yamldoc_load_string(&doc, name, text, strlen(text), err, errlen) != 0) {
        goto err_after_defaults;
    }
    return config_finish(&l);

err_after_defaults:
    memset(out, 0, sizeof *out);
    return -1;
}

void config_free(struct config *c)
{
    if (c == NULL) {
        return;
    }
    free(c->members);
    c->members = NULL;
    c->n_members = 0;
}

const struct config_member *config_member(const struct config *c, uint64_t id)
{
    for (unsigned i = 0; i < c->n_members; i++) {
        if (c->members[i].id == id) {
            return &c->members[i];
        }
    }
    return NULL;
}

const char *config_log_level_name(enum log_level level)
{
    unsigned i = (unsigned)level;

    return i < ARRAY_LEN(log_level_names) - 1 ? log_level_names[i] : "?";
}
