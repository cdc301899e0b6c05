#include "yamldoc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for a quoted value or key inside a message. */
#define PRINTABLE_MAX 80

const char yamldoc_duration_forms[] =
    "expected an integer with unit ms, s, m or h, e.g. 500ms, 3s, 1m, 2h; "
    "a bare integer is milliseconds";

/* --- messages ------------------------------------------------------------ */

__attribute__((format(printf, 4, 0))) static void doc_vreport(struct yamldoc *d,
                                                              size_t line,
                                                              const char *field,
                                                              const char *fmt,
                                                              va_list ap)
{
    char reason[1024];
    char where[32] = "";

    if (d->err == NULL || d->errlen == 0) {
        return;
    }
    vsnprintf(reason, sizeof reason, fmt, ap);
    if (line > 0) {
        snprintf(where, sizeof where, ":%zu", line);
    }
    if (field != NULL && field[0] != '\0') {
        snprintf(d->err, d->errlen, "%s%s: %s: %s", d->name, where, field,
                 reason);
    } else {
        snprintf(d->err, d->errlen, "%s%s: %s", d->name, where, reason);
    }
}

__attribute__((format(printf, 3, 4))) static int doc_report(struct yamldoc *d,
                                                            size_t line,
                                                            const char *fmt,
                                                            ...)
{
    va_list ap;

    va_start(ap, fmt);
    doc_vreport(d, line, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int yamldoc_error(struct yamldoc *d,
                  const yaml_node_t *node,
                  const char *field,
                  const char *fmt,
                  ...)
{
    va_list ap;

    va_start(ap, fmt);
    doc_vreport(d, node != NULL ? yamldoc_line(node) : 0, field, fmt, ap);
    va_end(ap);
    return -1;
}

size_t yamldoc_line(const yaml_node_t *node)
{
    return node->start_mark.line + 1;
}

void yamldoc_printable(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t o = 0;
    size_t i;

    if (buflen < 8) {
        if (buflen > 0) {
            buf[0] = '\0';
        }
        return;
    }
    for (i = 0; i < len && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
        } else if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else {
            buf[o++] = (char)c;
        }
    }
    if (i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

/* The printable text of a scalar node. */
static void node_printable(const yaml_node_t *node, char *buf, size_t buflen)
{
    yamldoc_printable((const char *)node->data.scalar.value,
                      node->data.scalar.length, buf, buflen);
}

void yamldoc_field(char *buf, size_t len, const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0') {
        snprintf(buf, len, "%s", key);
    } else {
        snprintf(buf, len, "%s.%s", parent, key);
    }
}

void yamldoc_field_index(char *buf, size_t len, const char *parent, size_t i)
{
    snprintf(buf, len, "%s[%zu]", parent, i);
}

/* --- loading ------------------------------------------------------------- */

/* 1-based line of a byte offset (reader errors carry only the offset). */
static size_t line_of_offset(const char *text, size_t len, size_t offset)
{
    size_t line = 1;

    for (size_t i = 0; i < offset && i < len; i++) {
        line += text[i] == '\n';
    }
    return line;
}

static int doc_parser_error(struct yamldoc *d,
                            const yaml_parser_t *p,
                            const char *text,
                            size_t len)
{
    const char *problem = p->problem != NULL ? p->problem : "unknown error";
    size_t line = p->problem_mark.line + 1;

    if (p->error == YAML_MEMORY_ERROR) {
        return doc_report(d, 0, "out of memory");
    }
    if (p->error == YAML_READER_ERROR) {
        line = line_of_offset(text, len, p->problem_offset);
    }
    if (p->context != NULL) {
        return doc_report(d, line, "YAML syntax error: %s (%s at line %zu)",
                          problem, p->context, p->context_mark.line + 1);
    }
    return doc_report(d, line, "YAML syntax error: %s", problem);
}

static int doc_check_event(struct yamldoc *d,
                           const yaml_event_t *ev,
                           unsigned *documents)
{
    size_t line = ev->start_mark.line + 1;

    if (ev->type == YAML_ALIAS_EVENT) {
        return doc_report(d, line, "YAML aliases (*%s) are not supported",
                          (const char *)ev->data.alias.anchor);
    }
    if (ev->type == YAML_DOCUMENT_START_EVENT && ++*documents > 1) {
        return doc_report(d, line, "only one YAML document is allowed");
    }
    return 0;
}

/*
 * Parse the text as events first: this reports aliases and extra
 * documents at their own line, which the loaded tree no longer shows.
 */
static int doc_prescan(struct yamldoc *d, const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    unsigned documents = 0;
    bool done = false;
    int rc = 0;

    if (!yaml_parser_initialize(&parser)) {
        return doc_report(d, 0, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = doc_parser_error(d, &parser, text, len);
            break;
        }
        rc = doc_check_event(d, &ev, &documents);
        done = rc != 0 || ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

static int doc_compose(struct yamldoc *d, const char *text, size_t len)
{
    yaml_parser_t parser;
    int rc = 0;

    if (!yaml_parser_initialize(&parser)) {
        return doc_report(d, 0, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (yaml_parser_load(&parser, &d->doc)) {
        d->loaded = true;
    } else {
        rc = doc_parser_error(d, &parser, text, len);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int yamldoc_load_string(struct yamldoc *d,
                        const char *name,
                        const char *text,
                        size_t len,
                        char *err,
                        size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->err = err;
    d->errlen = errlen;
    snprintf(d->name, sizeof d->name, "%s", name);
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (doc_prescan(d, text, len) != 0) {
        return -1;
    }
    return doc_compose(d, text, len);
}

/* Double buf's capacity, up to YAMLDOC_FILE_MAX. */
static int buf_grow(struct yamldoc *d, char **buf, size_t *cap)
{
    char *bigger;

    if (*cap >= YAMLDOC_FILE_MAX) {
        return doc_report(d, 0, "file is too large (max %zu MiB)",
                          YAMLDOC_FILE_MAX >> 20);
    }
    bigger = realloc(*buf, *cap * 2);
    if (bigger == NULL) {
        return doc_report(d, 0, "out of memory");
    }
    *buf = bigger;
    *cap *= 2;
    return 0;
}

static int read_all(struct yamldoc *d, int fd, char **out, size_t *outlen)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    if (buf == NULL) {
        return doc_report(d, 0, "out of memory");
    }
    for (;;) {
        if (len == cap && buf_grow(d, &buf, &cap) != 0) {
            goto err_after_buf;
        }
        n = read(fd, buf + len, cap - len);
        if (n == 0) {
            break;
        }
        if (n < 0 && errno != EINTR) {
            doc_report(d, 0, "cannot read: %s", strerror(errno));
            goto err_after_buf;
        }
        len += n > 0 ? (size_t)n : 0;
    }
    *out = buf;
    *outlen = len;
    return 0;

err_after_buf:
    free(buf);
    return -1;
}

static int read_file(struct yamldoc *d,
                     const char *path,
                     char **out,
                     size_t *outlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0) {
        return doc_report(d, 0, "cannot open: %s", strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        rc = doc_report(d, 0, "cannot stat: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        rc = doc_report(d, 0, "cannot read: %s", strerror(EISDIR));
    } else {
        rc = read_all(d, fd, out, outlen);
    }
    close(fd);
    return rc;
}

int yamldoc_load_file(struct yamldoc *d,
                      const char *path,
                      char *err,
                      size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    memset(d, 0, sizeof *d);
    d->err = err;
    d->errlen = errlen;
    snprintf(d->name, sizeof d->name, "%s", path);
    if (read_file(d, path, &text, &len) != 0) {
        return -1;
    }
    rc = yamldoc_load_string(d, path, text, len, err, errlen);
    free(text);
    return rc;
}

void yamldoc_free(struct yamldoc *d)
{
    if (d->loaded) {
        yaml_document_delete(&d->doc);
        d->loaded = false;
    }
}

/* --- walking ------------------------------------------------------------- */

yaml_node_t *yamldoc_root(struct yamldoc *d)
{
    return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

const char *yamldoc_kind(const yaml_node_t *node)
{
    switch (node->type) {
        case YAML_MAPPING_NODE:
            return "a mapping";
        case YAML_SEQUENCE_NODE:
            return "a sequence";
        case YAML_SCALAR_NODE:
            return yamldoc_is_null(node) ? "null" : "a scalar";
        default:
            return "nothing";
    }
}

bool yamldoc_is_null(const yaml_node_t *node)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *s = yamldoc_scalar(node);

    if (s == NULL || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (strcmp(s, nulls[i]) == 0) {
            return true;
        }
    }
    return false;
}

const char *yamldoc_scalar(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)node->data.scalar.value;
}

int yamldoc_expect_mapping(struct yamldoc *d,
                           const yaml_node_t *node,
                           const char *field)
{
    if (node->type != YAML_MAPPING_NODE) {
        return yamldoc_error(d, node, field, "expected a mapping, got %s",
                             yamldoc_kind(node));
    }
    return 0;
}

int yamldoc_expect_sequence(struct yamldoc *d,
                            const yaml_node_t *node,
                            const char *field)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        return yamldoc_error(d, node, field, "expected a sequence, got %s",
                             yamldoc_kind(node));
    }
    return 0;
}

size_t yamldoc_size(const yaml_node_t *node)
{
    switch (node->type) {
        case YAML_MAPPING_NODE:
            return (size_t)(node->data.mapping.pairs.top -
                            node->data.mapping.pairs.start);
        case YAML_SEQUENCE_NODE:
            return (size_t)(node->data.sequence.items.top -
                            node->data.sequence.items.start);
        default:
            return 0;
    }
}

yaml_node_t *yamldoc_item(struct yamldoc *d, const yaml_node_t *seq, size_t i)
{
    if (seq->type != YAML_SEQUENCE_NODE || i >= yamldoc_size(seq)) {
        return NULL;
    }
    return yaml_document_get_node(&d->doc, seq->data.sequence.items.start[i]);
}

int yamldoc_pair(struct yamldoc *d,
                 const yaml_node_t *map,
                 size_t i,
                 yaml_node_t **key,
                 yaml_node_t **value)
{
    const yaml_node_pair_t *pair;

    if (map->type != YAML_MAPPING_NODE || i >= yamldoc_size(map)) {
        return -1;
    }
    pair = &map->data.mapping.pairs.start[i];
    *key = yaml_document_get_node(&d->doc, pair->key);
    *value = yaml_document_get_node(&d->doc, pair->value);
    return 0;
}

/* Whether a node is the scalar `s` (NUL bytes inside never match). */
static bool scalar_is(const yaml_node_t *node, const char *s, size_t len)
{
    return node->type == YAML_SCALAR_NODE && node->data.scalar.length == len &&
           memcmp(node->data.scalar.value, s, len) == 0;
}

yaml_node_t *yamldoc_get(struct yamldoc *d,
                         const yaml_node_t *map,
                         const char *key)
{
    size_t n = yamldoc_size(map);
    size_t len = strlen(key);
    yaml_node_t *k;
    yaml_node_t *v;

    for (size_t i = 0; i < n; i++) {
        if (yamldoc_pair(d, map, i, &k, &v) == 0 && scalar_is(k, key, len)) {
            return v;
        }
    }
    return NULL;
}

/* --- key checks ---------------------------------------------------------- */

static bool key_known(const yaml_node_t *key, const char *const *known)
{
    for (; *known != NULL; known++) {
        if (scalar_is(key, *known, strlen(*known))) {
            return true;
        }
    }
    return false;
}

/* The first key before pair `upto` equal to `key`, or NULL. */
static yaml_node_t *key_earlier(struct yamldoc *d,
                                const yaml_node_t *map,
                                size_t upto,
                                const yaml_node_t *key)
{
    yaml_node_t *k;
    yaml_node_t *v;

    for (size_t i = 0; i < upto; i++) {
        if (yamldoc_pair(d, map, i, &k, &v) == 0 &&
            scalar_is(k, (const char *)key->data.scalar.value,
                      key->data.scalar.length)) {
            return k;
        }
    }
    return NULL;
}

static void join_names(const char *const *names, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL && o < len; i++) {
        int n = snprintf(buf + o, len - o, "%s%s", i > 0 ? ", " : "", names[i]);
        if (n < 0) {
            return;
        }
        o += (size_t)n;
    }
}

static int check_key(struct yamldoc *d,
                     const yaml_node_t *map,
                     size_t i,
                     const char *field,
                     const char *const *known)
{
    char name[PRINTABLE_MAX];
    char path[YAMLDOC_FIELD_MAX];
    char list[512];
    yaml_node_t *key;
    yaml_node_t *value;
    yaml_node_t *first;

    if (yamldoc_pair(d, map, i, &key, &value) != 0) {
        return yamldoc_error(d, map, field, "malformed mapping");
    }
    if (key->type != YAML_SCALAR_NODE) {
        return yamldoc_error(d, key, field, "keys must be scalars, got %s",
                             yamldoc_kind(key));
    }
    node_printable(key, name, sizeof name);
    yamldoc_field(path, sizeof path, field, name);
    if (!key_known(key, known)) {
        join_names(known, list, sizeof list);
        return yamldoc_error(d, key, path, "unknown field (known: %s)", list);
    }
    first = key_earlier(d, map, i, key);
    if (first != NULL) {
        return yamldoc_error(d, key, path,
                             "duplicate field (first at line %zu)",
                             yamldoc_line(first));
    }
    return 0;
}

int yamldoc_check_keys(struct yamldoc *d,
                       const yaml_node_t *map,
                       const char *field,
                       const char *const *known)
{
    size_t n = yamldoc_size(map);

    if (yamldoc_expect_mapping(d, map, field) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (check_key(d, map, i, field, known) != 0) {
            return -1;
        }
    }
    return 0;
}

/* --- parsers ------------------------------------------------------------- */

/* Leading decimal digits of s into *out; *end after them. -1 on overflow. */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
    uint64_t v = 0;

    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            return -1;
        }
        v = v * 10 + digit;
    }
    *end = s;
    *out = v;
    return 0;
}

/* The reason a text that does not start with a digit is not a number. */
static const char *not_a_number(const char *s)
{
    if (s[0] == '\0') {
        return "empty value";
    }
    if (s[0] == '-') {
        return "must not be negative";
    }
    return "not an unsigned integer";
}

static int parse_fail(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
    return -1;
}

int yamldoc_parse_uint(const char *s, uint64_t *out, const char **reason)
{
    const char *end;
    uint64_t v;

    if (s[0] < '0' || s[0] > '9') {
        return parse_fail(reason, not_a_number(s));
    }
    if (parse_digits(s, &end, &v) != 0) {
        return parse_fail(reason, "too large");
    }
    if (*end != '\0') {
        return parse_fail(reason, "not an unsigned integer");
    }
    *out = v;
    return 0;
}

/* Milliseconds per unit, 0 for an unknown unit. */
static uint64_t duration_unit(const char *unit)
{
    static const struct
    {
        const char *name;
        uint64_t ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            return units[i].ms;
        }
    }
    return 0;
}

int yamldoc_parse_duration_ms(const char *s, uint64_t *out, const char **reason)
{
    const char *unit;
    uint64_t v;
    uint64_t scale;

    if (s[0] < '0' || s[0] > '9') {
        return parse_fail(reason, s[0] == '-' || s[0] == '\0'
                                      ? not_a_number(s)
                                      : "does not start with a number");
    }
    if (parse_digits(s, &unit, &v) != 0) {
        return parse_fail(reason, "too large");
    }
    if (unit[0] == '.' || unit[0] == ',') {
        return parse_fail(reason,
                          "fractions are not supported, use a smaller unit");
    }
    scale = duration_unit(unit);
    if (scale == 0) {
        return parse_fail(reason, "unknown unit");
    }
    if (v > UINT64_MAX / scale) {
        return parse_fail(reason, "too large");
    }
    *out = v * scale;
    return 0;
}

void yamldoc_format_duration(uint64_t ms, char *buf, size_t len)
{
    static const struct
    {
        const char *name;
        uint64_t ms;
    } units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};

    for (size_t i = 0; ms > 0 && i < sizeof units / sizeof units[0]; i++) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms,
                     units[i].name);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64 "ms", ms);
}

/* --- scalar readers ------------------------------------------------------ */

/* The text of a non-null scalar without NUL bytes, else an error. */
static const char *scalar_text(struct yamldoc *d,
                               const yaml_node_t *node,
                               const char *field,
                               const char *expected)
{
    const char *s = yamldoc_scalar(node);

    if (s == NULL || yamldoc_is_null(node)) {
        yamldoc_error(d, node, field, "expected %s, got %s", expected,
                      yamldoc_kind(node));
        return NULL;
    }
    if (strlen(s) != node->data.scalar.length) {
        yamldoc_error(d, node, field, "value contains a NUL byte");
        return NULL;
    }
    return s;
}

int yamldoc_string(struct yamldoc *d,
                   const yaml_node_t *node,
                   const char *field,
                   char *buf,
                   size_t buflen)
{
    const char *s = scalar_text(d, node, field, "a string");
    size_t len;

    if (s == NULL) {
        return -1;
    }
    len = strlen(s);
    if (len == 0) {
        return yamldoc_error(d, node, field, "must not be empty");
    }
    if (len >= buflen) {
        return yamldoc_error(d, node, field, "too long (%zu bytes, max %zu)",
                             len, buflen - 1);
    }
    memcpy(buf, s, len + 1);
    return 0;
}

int yamldoc_uint(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 uint64_t min,
                 uint64_t max,
                 uint64_t *out)
{
    const char *s = scalar_text(d, node, field, "an integer");
    const char *reason;
    char text[PRINTABLE_MAX];
    uint64_t v;

    if (s == NULL) {
        return -1;
    }
    node_printable(node, text, sizeof text);
    if (yamldoc_parse_uint(s, &v, &reason) != 0) {
        return yamldoc_error(d, node, field, "invalid integer \"%s\": %s", text,
                             reason);
    }
    if (v < min || v > max) {
        return yamldoc_error(d, node, field,
                             "%s is out of range (must be %" PRIu64 "..%" PRIu64
                             ")",
                             text, min, max);
    }
    *out = v;
    return 0;
}

int yamldoc_bool(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 bool *out)
{
    static const char *const words[] = {"true",  "yes", "on",
                                        "false", "no",  "off"};
    const char *s = scalar_text(d, node, field, "a boolean");
    char text[PRINTABLE_MAX];

    if (s == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(s, words[i]) == 0) {
            *out = i < 3;
            return 0;
        }
    }
    node_printable(node, text, sizeof text);
    return yamldoc_error(d, node, field,
                         "invalid boolean \"%s\" (expected true or false, "
                         "yes or no, on or off)",
                         text);
}

int yamldoc_duration_ms(struct yamldoc *d,
                        const yaml_node_t *node,
                        const char *field,
                        uint64_t min_ms,
                        uint64_t max_ms,
                        uint64_t *out)
{
    const char *s = scalar_text(d, node, field, "a duration");
    const char *reason;
    char text[PRINTABLE_MAX];
    char lo[32];
    char hi[32];
    uint64_t v;

    if (s == NULL) {
        return -1;
    }
    node_printable(node, text, sizeof text);
    if (yamldoc_parse_duration_ms(s, &v, &reason) != 0) {
        return yamldoc_error(d, node, field, "invalid duration \"%s\": %s (%s)",
                             text, reason, yamldoc_duration_forms);
    }
    if (v < min_ms || v > max_ms) {
        yamldoc_format_duration(min_ms, lo, sizeof lo);
        yamldoc_format_duration(max_ms, hi, sizeof hi);
        return yamldoc_error(d, node, field,
                             "%s is out of range (must be %s..%s)", text, lo,
                             hi);
    }
    *out = v;
    return 0;
}

int yamldoc_enum(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 const char *const *names,
                 unsigned *index)
{
    const char *s = scalar_text(d, node, field, "a name");
    char text[PRINTABLE_MAX];
    char list[512];

    if (s == NULL) {
        return -1;
    }
    for (unsigned i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *index = i;
            return 0;
        }
    }
    node_printable(node, text, sizeof text);
    join_names(names, list, sizeof list);
    return yamldoc_error(d, node, field,
                         "invalid value \"%s\" (expected one of: %s)", text,
                         list);
}
