/* Names of result codes and incident statuses. */
#include "klaxon.h"

const char *klaxon_strerror(int code)
{
    static const char *const names[] = {
        [KLAXON_OK] = "success",
        [KLAXON_EINVAL] = "invalid argument",
        [KLAXON_ENOTFOUND] = "not found",
        [KLAXON_ESTATE] = "not allowed in the incident's state",
        [KLAXON_EUNAVAILABLE] = "cluster unavailable",
        [KLAXON_ETIMEOUT] = "timed out",
        [KLAXON_ECONNECT] = "cannot connect",
        [KLAXON_ETLS] = "TLS failure",
        [KLAXON_EPROTO] = "protocol error",
        [KLAXON_ENOMEM] = "out of memory",
        [KLAXON_EINTERNAL] = "internal error on a node",
        [KLAXON_ETOOLARGE] = "too large",
        [KLAXON_EUNSUPPORTED] = "unsupported by the node",
        [KLAXON_ECONFIG] = "bad client configuration",
        [KLAXON_EAUTH] = "certificate refused by the node",
        [KLAXON_EPERM] = "permission denied",
        [KLAXON_EIO] = "file input/output error",
        [KLAXON_ELIMIT] = "over a node limit; retry later",
        [KLAXON_EBUSY] = "pipeline full",
    };

    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0] ||
        names[code] == 0) {
        return "unknown error";
    }
    return names[code];
}

const char *klaxon_status_name(enum klaxon_status status)
{
    switch (status) {
        case KLAXON_TRIGGERED:
            return "triggered";
        case KLAXON_ACKNOWLEDGED:
            return "acknowledged";
        case KLAXON_RESOLVED:
            return "resolved";
        default:
            return "unknown";
    }
}

const char *klaxon_public_status_name(enum klaxon_public_status s)
{
    static const char *const names[] = {"none", "investigating", "identified",
                                        "monitoring", "resolved"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
