#include "member_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "klaxon.pb-c.h"

#define OK KLAXON__CODE__OK

const char *member_role_name(int role)
{
    switch (role) {
        case RAFT_VOTER:
            return "voter";
        case RAFT_STANDBY:
            return "standby";
        case RAFT_SPARE:
            return "spare";
        default:
            return "?";
    }
}

int member_role_parse(const char *name, int dflt, int *role)
{
    static const int roles[] = {RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE};

    if (name == NULL || name[0] == '\0') {
        *role = dflt;
        return 0;
    }
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(name, member_role_name(roles[i])) == 0) {
            *role = roles[i];
            return 0;
        }
    }
    return -1;
}

const struct raft_server *member_find(const struct raft_configuration *conf,
                                      uint64_t id)
{
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].id == id) {
            return &conf->servers[i];
        }
    }
    return NULL;
}

unsigned member_voters(const struct raft_configuration *conf)
{
    unsigned n = 0;
    for (unsigned i = 0; i < conf->n; i++) {
        n += conf->servers[i].role == RAFT_VOTER;
    }
    return n;
}

static int fail(char *msg, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t len, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return code;
}

static int check_id(uint64_t id, char *msg, size_t len)
{
    if (id == 0 || id > CONFIG_ID_MAX) {
        return fail(msg, len, KLAXON__CODE__INVALID_ARGUMENT,
                    "id: must be 1..%llu, got %llu",
                    (unsigned long long)CONFIG_ID_MAX, (unsigned long long)id);
    }
    return OK;
}

static int check_address(const char *field,
                         const char *addr,
                         char *msg,
                         size_t len)
{
    char host[CONFIG_ADDR_MAX];
    unsigned port;

    if (strlen(addr) >= CONFIG_ADDR_MAX ||
        config_split_address(addr, host, sizeof host, &port) != 0) {
        return fail(msg, len, KLAXON__CODE__INVALID_ARGUMENT,
                    "%s: \"%.64s\" is not host:port (port 1..65535)", field,
                    addr);
    }
    return OK;
}

static int not_member(uint64_t id, char *msg, size_t len)
{
    return fail(msg, len, KLAXON__CODE__NOT_FOUND,
                "id: node %llu is not a member of the cluster",
                (unsigned long long)id);
}

static int bad_role(const char *role_name, char *msg, size_t len)
{
    return fail(msg, len, KLAXON__CODE__INVALID_ARGUMENT,
                "role: must be voter, standby or spare, got \"%.32s\"",
                role_name);
}

/* Is raft_address used by a member other than id? */
static const struct raft_server *address_user(
    const struct raft_configuration *conf,
    uint64_t id,
    const char *raft_address)
{
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].id != id &&
            strcmp(conf->servers[i].address, raft_address) == 0) {
            return &conf->servers[i];
        }
    }
    return NULL;
}

int member_check_add(const struct raft_configuration *conf,
                     uint64_t id,
                     const char *raft_address,
                     const char *api_address,
                     const char *role_name,
                     int *role,
                     bool *exists,
                     char *msg,
                     size_t len)
{
    const struct raft_server *s;
    int rv;

    *exists = false;
    if ((rv = check_id(id, msg, len)) != OK ||
        (rv = check_address("raft_address", raft_address, msg, len)) != OK) {
        return rv;
    }
    if (api_address[0] != '\0' &&
        (rv = check_address("api_address", api_address, msg, len)) != OK) {
        return rv;
    }
    if (member_role_parse(role_name, RAFT_STANDBY, role) != 0) {
        return bad_role(role_name, msg, len);
    }
    s = member_find(conf, id);
    if (s != NULL && strcmp(s->address, raft_address) == 0 &&
        s->role == *role) {
        *exists = true;
        return OK;
    }
    if (s != NULL) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "id: node %llu is already a member (%s at %s)",
                    (unsigned long long)id, member_role_name(s->role),
                    s->address);
    }
    s = address_user(conf, id, raft_address);
    if (s != NULL) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "raft_address: %s is already the address of node %llu",
                    raft_address, (unsigned long long)s->id);
    }
    if (conf->n >= MEMBERS_MAX) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "the cluster has %u members, the most it can have",
                    conf->n);
    }
    return OK;
}

int member_check_remove(const struct raft_configuration *conf,
                        uint64_t id,
                        char *msg,
                        size_t len)
{
    const struct raft_server *s;
    int rv = check_id(id, msg, len);

    if (rv != OK) {
        return rv;
    }
    s = member_find(conf, id);
    if (s == NULL) {
        return not_member(id, msg, len);
    }
    if (s->role == RAFT_VOTER && member_voters(conf) == 1) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "id: node %llu is the last voter; promote another "
                    "member first",
                    (unsigned long long)id);
    }
    return OK;
}

int member_check_assign(const struct raft_configuration *conf,
                        uint64_t id,
                        const char *role_name,
                        int *role,
                        bool *same,
                        char *msg,
                        size_t len)
{
    const struct raft_server *s;
    int rv = check_id(id, msg, len);

    *same = false;
    if (rv != OK) {
        return rv;
    }
    if (member_role_parse(role_name, RAFT_VOTER, role) != 0) {
        return bad_role(role_name, msg, len);
    }
    s = member_find(conf, id);
    if (s == NULL) {
        return not_member(id, msg, len);
    }
    if (s->role == *role) {
        *same = true;
        return OK;
    }
    if (s->role == RAFT_VOTER && member_voters(conf) == 1) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "id: node %llu is the last voter", (unsigned long long)id);
    }
    return OK;
}

int member_check_transfer(const struct raft_configuration *conf,
                          uint64_t self,
                          uint64_t id,
                          bool *same,
                          char *msg,
                          size_t len)
{
    const struct raft_server *s;
    int rv;

    *same = false;
    if (id == 0) {
        if (member_voters(conf) < 2) {
            return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                        "there is no other voter to hand leadership to");
        }
        return OK;
    }
    if ((rv = check_id(id, msg, len)) != OK) {
        return rv;
    }
    s = member_find(conf, id);
    if (s == NULL) {
        return not_member(id, msg, len);
    }
    if (s->role != RAFT_VOTER) {
        return fail(msg, len, KLAXON__CODE__FAILED_PRECONDITION,
                    "id: node %llu is a %s; only a voter can lead",
                    (unsigned long long)id, member_role_name(s->role));
    }
    *same = id == self;
    return OK;
}
