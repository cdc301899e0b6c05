#include "members.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MDB_val members_key(void)
{
    MDB_val k = {strlen(CONFIG_MEMBERS), (void *)CONFIG_MEMBERS};
    return k;
}

/* The stored table (NULL when none), 0 or an LMDB error. */
static int load(MDB_txn *txn,
                const struct store *s,
                Klaxon__Cluster__StoredMembers **out)
{
    MDB_val k = members_key();
    ProtobufCMessage *m = NULL;
    int rv =
        store_get_message(txn, s->dbi[TABLE_CONFIG], &k,
                          &klaxon__cluster__stored_members__descriptor, &m);

    *out = NULL;
    if (rv == MDB_NOTFOUND) {
        return 0;
    }
    if (rv == 0) {
        *out = (Klaxon__Cluster__StoredMembers *)m;
    }
    return rv;
}

/* Write `n` members (a copy of the table with one changed). */
static int save(struct apply_ctx *ctx, Klaxon__Member **members, size_t n)
{
    Klaxon__Cluster__StoredMembers sm = KLAXON__CLUSTER__STORED_MEMBERS__INIT;
    MDB_val k = members_key();

    sm.members = members;
    sm.n_members = n;
    return store_put_message(ctx->txn, ctx->store->dbi[TABLE_CONFIG], &k,
                             &sm.base);
}

int members_apply_set(struct apply_ctx *ctx,
                      const Klaxon__Member *m,
                      struct apply_result *res)
{
    Klaxon__Cluster__StoredMembers *old = NULL;
    Klaxon__Member *list[MEMBERS_TABLE_MAX + 1];
    Klaxon__Member entry = KLAXON__MEMBER__INIT;
    size_t n = 0;
    int rv = load(ctx->txn, ctx->store, &old);

    if (rv != 0) {
        return rv;
    }
    if (m->id == 0 || strlen(m->raft_address) >= CONFIG_ADDR_MAX ||
        strlen(m->api_address) >= CONFIG_ADDR_MAX) {
        rv = apply_answer(res, KLAXON__CODE__INVALID_ARGUMENT,
                          "member_set: bad id or address");
        goto out;
    }
    for (size_t i = 0; old != NULL && i < old->n_members; i++) {
        if (old->members[i]->id != m->id && n < MEMBERS_TABLE_MAX) {
            list[n++] = old->members[i];
        }
    }
    entry.id = m->id;
    entry.raft_address = m->raft_address;
    entry.api_address = m->api_address;
    list[n++] = &entry;
    rv = save(ctx, list, n);
    if (rv == 0) {
        res->code = KLAXON__CODE__OK;
    }
out:
    if (old != NULL) {
        klaxon__cluster__stored_members__free_unpacked(old, NULL);
    }
    return rv;
}

int members_apply_forget(struct apply_ctx *ctx,
                         const Klaxon__Cluster__MemberForget *f,
                         struct apply_result *res)
{
    Klaxon__Cluster__StoredMembers *old = NULL;
    Klaxon__Member *list[MEMBERS_TABLE_MAX];
    size_t n = 0;
    bool found = false;
    int rv = load(ctx->txn, ctx->store, &old);

    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; old != NULL && i < old->n_members; i++) {
        if (old->members[i]->id == f->id) {
            found = true;
        } else if (n < MEMBERS_TABLE_MAX) {
            list[n++] = old->members[i];
        }
    }
    if (found) {
        rv = save(ctx, list, n);
    }
    if (rv == 0) {
        res->code = KLAXON__CODE__OK;
    }
    if (old != NULL) {
        klaxon__cluster__stored_members__free_unpacked(old, NULL);
    }
    return rv;
}

void members_api_address(const struct store *s,
                         const struct config *cfg,
                         uint64_t id,
                         char *buf,
                         size_t len)
{
    Klaxon__Cluster__StoredMembers *sm = NULL;
    const struct config_member *cm;
    MDB_txn *txn;

    buf[0] = '\0';
    if (s->env != NULL && mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) == 0) {
        if (load(txn, s, &sm) == 0 && sm != NULL) {
            for (size_t i = 0; i < sm->n_members; i++) {
                if (sm->members[i]->id == id) {
                    snprintf(buf, len, "%s", sm->members[i]->api_address);
                }
            }
            klaxon__cluster__stored_members__free_unpacked(sm, NULL);
        }
        mdb_txn_abort(txn);
    }
    if (buf[0] != '\0') {
        return;
    }
    cm = config_member(cfg, id);
    if (cm != NULL) {
        snprintf(buf, len, "%s", cm->api_address);
    }
}
