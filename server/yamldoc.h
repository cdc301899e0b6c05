/*
 * A small layer over libyaml's document API for reading configuration-like
 * YAML files: load a file (or a string) into a tree, walk its mappings,
 * sequences and scalars, and read scalars as strings, bounded unsigned
 * integers, booleans, durations and enumerations.
 *
 * Every error is written, as one line, into the error buffer given at load
 * time:
 *
 *   FILE:LINE: FIELD: REASON
 *
 * LINE is the 1-based line where the offending node starts and FIELD is the
 * dotted path the caller passes (e.g. "cluster.members[1].api_address");
 * with an empty FIELD the message is "FILE:LINE: REASON". Syntax errors read
 * "FILE:LINE: YAML syntax error: PROBLEM".
 *
 * Restrictions: one document per file, and no aliases (*name); anchors alone
 * are accepted. Mapping keys must be scalars and may appear once
 * (yamldoc_check_keys). A plain empty value, "~" or "null" is a null node:
 * the scalar readers refuse it, callers treat it as "not given".
 *
 * Functions returning int return 0 on success, or -1 after writing the
 * error message.
 */
#ifndef KLAXON_YAMLDOC_H
#define KLAXON_YAMLDOC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* Room for a dotted field path such as "cluster.members[8].api_address". */
#define YAMLDOC_FIELD_MAX 256

/* Largest file yamldoc_load_file() accepts. */
#define YAMLDOC_FILE_MAX ((size_t)64 << 20)

struct yamldoc
{
    yaml_document_t doc;
    bool loaded;         /* doc holds a document to delete */
    char name[PATH_MAX]; /* FILE in messages */
    char *err;
    size_t errlen;
};

/*
 * Load the single document of a file or a string. `name` is FILE in
 * messages. On failure nothing is left to free; yamldoc_free() is harmless
 * either way. `err` (which may be NULL) receives every later message too.
 */
int yamldoc_load_file(struct yamldoc *d,
                      const char *path,
                      char *err,
                      size_t errlen);
int yamldoc_load_string(struct yamldoc *d,
                        const char *name,
                        const char *text,
                        size_t len,
                        char *err,
                        size_t errlen);
void yamldoc_free(struct yamldoc *d);

/* The root node, or NULL for an empty document. */
yaml_node_t *yamldoc_root(struct yamldoc *d);

/* 1-based line where a node starts. */
size_t yamldoc_line(const yaml_node_t *node);

/* Write "FILE:LINE: FIELD: REASON" for `node` (NULL: no LINE); returns -1. */
int yamldoc_error(struct yamldoc *d,
                  const yaml_node_t *node,
                  const char *field,
                  const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* "a mapping", "a sequence", "a scalar" or "null", for messages. */
const char *yamldoc_kind(const yaml_node_t *node);

/* True for a plain scalar "", "~", "null", "Null" or "NULL". */
bool yamldoc_is_null(const yaml_node_t *node);

/* The text of a scalar node, NULL for other nodes. */
const char *yamldoc_scalar(const yaml_node_t *node);

/* Check a node's type, with "expected a mapping, got a scalar" on error. */
int yamldoc_expect_mapping(struct yamldoc *d,
                           const yaml_node_t *node,
                           const char *field);
int yamldoc_expect_sequence(struct yamldoc *d,
                            const yaml_node_t *node,
                            const char *field);

/* Number of pairs of a mapping or items of a sequence; 0 for a scalar. */
size_t yamldoc_size(const yaml_node_t *node);

/* Item i of a sequence, NULL if out of range or not a sequence. */
yaml_node_t *yamldoc_item(struct yamldoc *d, const yaml_node_t *seq, size_t i);

/* Pair i of a mapping; -1 (without a message) if out of range. */
int yamldoc_pair(struct yamldoc *d,
                 const yaml_node_t *map,
                 size_t i,
                 yaml_node_t **key,
                 yaml_node_t **value);

/* The value of scalar key `key` in a mapping, NULL if absent. */
yaml_node_t *yamldoc_get(struct yamldoc *d,
                         const yaml_node_t *map,
                         const char *key);

/*
 * Refuse non-scalar keys, duplicate keys and keys not in `known` (a
 * NULL-terminated list): "FIELD.KEY: unknown field (known: a, b, c)".
 */
int yamldoc_check_keys(struct yamldoc *d,
                       const yaml_node_t *map,
                       const char *field,
                       const char *const *known);

/* Scalar readers. A null node or a node of the wrong kind is an error. */

/* A non-empty string shorter than buflen, without NUL bytes. */
int yamldoc_string(struct yamldoc *d,
                   const yaml_node_t *node,
                   const char *field,
                   char *buf,
                   size_t buflen);
/* A decimal integer in min..max. */
int yamldoc_uint(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 uint64_t min,
                 uint64_t max,
                 uint64_t *out);
/* true/false, yes/no or on/off, in any case. */
int yamldoc_bool(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 bool *out);
/* A duration (see yamldoc_parse_duration_ms) in min_ms..max_ms. */
int yamldoc_duration_ms(struct yamldoc *d,
                        const yaml_node_t *node,
                        const char *field,
                        uint64_t min_ms,
                        uint64_t max_ms,
                        uint64_t *out);
/* One of the NULL-terminated `names` (exact match); *index is its index. */
int yamldoc_enum(struct yamldoc *d,
                 const yaml_node_t *node,
                 const char *field,
                 const char *const *names,
                 unsigned *index);

/*
 * Parsers behind the readers, for any text. On failure *reason (if not
 * NULL) is a static description such as "not an unsigned integer".
 *
 * Unsigned integers: decimal digits only. Durations: an unsigned integer
 * followed by a unit ms, s, m or h ("500ms", "3s", "1m", "2h"); without a
 * unit the integer is milliseconds.
 */
int yamldoc_parse_uint(const char *s, uint64_t *out, const char **reason);
int yamldoc_parse_duration_ms(const char *s,
                              uint64_t *out,
                              const char **reason);

/* The accepted duration forms, for messages. */
extern const char yamldoc_duration_forms[];

/* Write ms with the largest unit dividing it exactly: "1m", "1500ms". */
void yamldoc_format_duration(uint64_t ms, char *buf, size_t len);

/*
 * Copy at most `len` bytes of `s` into buf for a message: control bytes,
 * '"' and '\\' are escaped and an over-long text ends in "...".
 */
void yamldoc_printable(const char *s, size_t len, char *buf, size_t buflen);

/* Field paths: "parent.key" (just "key" if parent is empty), "parent[i]". */
void yamldoc_field(char *buf, size_t len, const char *parent, const char *key);
void yamldoc_field_index(char *buf, size_t len, const char *parent, size_t i);

#endif /* KLAXON_YAMLDOC_H */
