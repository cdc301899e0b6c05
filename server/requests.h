/*
 * The request-id table that makes writes idempotent: the outcome of every
 * applied write is kept under its client request id for
 * REQUEST_RETENTION_MS, and a command whose id is already there returns the
 * kept outcome instead of being applied again. Entries expire in apply
 * order, driven by the entries' own timestamps, so every node expires the
 * same entries at the same index.
 */
#ifndef KLAXON_REQUESTS_H
#define KLAXON_REQUESTS_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "incident.h"
#include "store.h"

#define REQUEST_RETENTION_MS (24ull * 3600 * 1000)

/* Expired ids removed per applied entry: this many, plus two per command
 * of the entry. */
#define REQUEST_EXPIRE_BATCH 64

/* 0 with *found and res set if the id is known; LMDB error otherwise. */
int requests_lookup(MDB_txn *txn,
                    const struct store *s,
                    ProtobufCBinaryData id,
                    struct apply_result *res,
                    bool *found);

int requests_record(MDB_txn *txn,
                    const struct store *s,
                    ProtobufCBinaryData id,
                    const struct apply_result *res,
                    uint64_t now_ms);

/* Remove up to `max` ids recorded before now_ms - REQUEST_RETENTION_MS. */
int requests_expire(MDB_txn *txn,
                    const struct store *s,
                    uint64_t now_ms,
                    unsigned max);

/* Fill a MutationResult from res (strings point into res). */
void apply_result_to_proto(const struct apply_result *res,
                           Klaxon__MutationResult *m);

#endif /* KLAXON_REQUESTS_H */
