/*
 * The node's state: an LMDB environment in DATA_DIR/state holding the
 * tables below. The state machine (fsm.c) is the only writer; it writes one
 * transaction per applied Raft entry, always together with the entry's index
 * (meta "applied_index"), so replaying an entry that is already in the state
 * is detected and skipped.
 *
 * Durability: the Raft log is the durable record. LMDB is opened with
 * MDB_NOSYNC, so a commit costs no fsync. A killed process loses nothing
 * (committed pages are in the page cache); an operating system crash or
 * power loss may tear the file. store_open() tells the two apart: a clean
 * shutdown leaves a "clean" marker (after an explicit sync), and every start
 * records the kernel boot id. A start that finds no marker and a different
 * boot id discards the state, which Raft then rebuilds from its snapshot
 * and log. See docs/ARCHITECTURE.md ("State and durability").
 *
 * Tables and key layouts (values are protobuf messages from
 * proto/klaxon.proto and proto/cluster.proto; integers in keys are
 * big-endian so that LMDB's byte order is numeric order):
 *
 *   meta        ascii name              -> u64 big-endian (see META_*)
 *   incidents   id u64                  -> klaxon.Incident
 *   timeline    id u64 | seq u32        -> klaxon.TimelineEvent
 *   dedup       service NUL dedup_key   -> id u64   (open incidents only)
 *   open        id u64                  -> empty    (open incidents only)
 *   requests    request id bytes        -> cluster.StoredRequest
 *   request_age at_ms u64 | request id  -> empty    (expiry order)
 *   config      "current"               -> cluster.StoredConfig
 *               "secret", "cluster_id"  -> raw bytes (see token.h)
 *   timers      due_ms u64 | kind u8 | ref -> empty (see timers.h)
 *   pages       id u64                  -> klaxon.Page
 *   pending     id u64                  -> empty    (pages to deliver)
 *   inc_pages   incident u64 | page u64 -> empty
 *   maintenance id u64                  -> klaxon.MaintenanceWindow
 *   monitors    name                    -> cluster.StoredMonitor
 */
#ifndef KLAXON_STORE_H
#define KLAXON_STORE_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_table {
    TABLE_META = 0,
    TABLE_INCIDENTS,
    TABLE_TIMELINE,
    TABLE_DEDUP,
    TABLE_OPEN,
    TABLE_REQUESTS,
    TABLE_REQUEST_AGE,
    TABLE_CONFIG,
    TABLE_TIMERS,
    TABLE_PAGES,
    TABLE_PENDING,
    TABLE_INCIDENT_PAGES,
    TABLE_MAINTENANCE,
    TABLE_MONITORS,
    TABLE_COUNT
};

/* meta keys */
#define META_APPLIED_INDEX "applied_index"
#define META_NEXT_INCIDENT "next_incident_id"
#define META_LAST_TIME "last_time_ms"
#define META_SCHEMA "schema_version"
/* keys of the config table */
#define CONFIG_CURRENT "current"
#define CONFIG_SECRET "secret"
#define CONFIG_CLUSTER_ID "cluster_id"

#define META_NEXT_PAGE "next_page_id"
#define META_NEXT_WINDOW "next_window_id"

#define STORE_SCHEMA_VERSION 1

/* Default LMDB map size (virtual; the file grows as needed). */
struct map_trim;

#define STORE_DEFAULT_MAP_SIZE ((size_t)16 << 30)

struct store
{
    MDB_env *env;
    MDB_dbi dbi[TABLE_COUNT];
    char dir[4096];
    bool rebuilt;          /* the state was discarded at open (unclean stop) */
    struct map_trim *trim; /* keeps mapped pages down (may be NULL) */
};

/* Name of a table, for messages and snapshots. */
const char *store_table_name(enum store_table t);

/*
 * Open (creating if needed) the state in `dir`. If the previous run did not
 * stop cleanly and the machine rebooted since, the state is discarded first
 * and s->rebuilt is set. 0, or -1 with a message in err.
 */
int store_open(struct store *s,
               const char *dir,
               size_t map_size,
               char *err,
               size_t errlen);

/* Sync to disk, leave the clean-shutdown marker and close. */
void store_close(struct store *s);

/* Read a u64 from meta; a missing key reads as 0. LMDB error code or 0. */
int store_meta_get(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t *out);
int store_meta_put(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t value);

/* Add delta to the u64 meta counter `key`. */
int store_meta_add(MDB_txn *txn,
                   const struct store *s,
                   const char *key,
                   uint64_t delta);

/* Encode `m` straight into an LMDB value (MDB_RESERVE). LMDB error or 0. */
int store_put_message(MDB_txn *txn,
                      MDB_dbi dbi,
                      const MDB_val *key,
                      const ProtobufCMessage *m);

/*
 * Read and decode the value of `key`: 0 and *out (free with
 * protobuf_c_message_free_unpacked), MDB_NOTFOUND, MDB_CORRUPTED if it does
 * not decode, or another LMDB error.
 */
int store_get_message(MDB_txn *txn,
                      MDB_dbi dbi,
                      const MDB_val *key,
                      const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out);

/* A key of a big-endian u64 in buf. */
MDB_val store_id_key(uint8_t buf[8], uint64_t id);

/* The applied index in a fresh read transaction (0 on error). */
uint64_t store_applied_index(const struct store *s);

/* Big-endian helpers for keys. */
void store_put_be64(uint8_t *p, uint64_t v);
uint64_t store_get_be64(const uint8_t *p);
void store_put_be32(uint8_t *p, uint32_t v);

#endif /* KLAXON_STORE_H */
