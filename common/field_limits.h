/*
 * Field limits of incident requests, enforced by every node before a
 * command is proposed and again when it is applied.
 */
#ifndef KLAXON_FIELD_LIMITS_H
#define KLAXON_FIELD_LIMITS_H

#define LIMIT_SERVICE 128    /* service name, bytes */
#define LIMIT_SUMMARY 1024   /* trigger summary */
#define LIMIT_SOURCE 255     /* trigger source */
#define LIMIT_DEDUP_KEY 255  /* dedup key */
#define LIMIT_DETAILS 64     /* custom details per trigger */
#define LIMIT_DETAIL_KEY 128 /* custom detail key */
#define LIMIT_DETAIL_VALUE 4096
#define LIMIT_DETAILS_TOTAL 16384 /* all keys and values of one trigger */
#define LIMIT_ACTOR 128           /* "by" of ack/resolve/note */
#define LIMIT_COMPONENTS 16       /* components of a status update */
#define LIMIT_NOTE 4096           /* note text */
#define LIMIT_REQUEST_ID 64       /* client request id, bytes */
#define LIMIT_LIST 1000           /* incidents per list answer */
#define DEFAULT_LIST 100
#define LIMIT_TOKEN 511                /* acknowledgement token */
#define LIMIT_NAME 128                 /* heartbeat monitor name */
#define LIMIT_CONFIG_YAML (900u << 10) /* on-call configuration text */
#define LIMIT_FILE_NAME 255            /* its file name, for messages */
#define LIMIT_MAINTENANCE_MS (366ull * 24 * 3600 * 1000)
#define LIMIT_PAGES 1000 /* pages per answer */

#define SEVERITY_MIN 1
#define SEVERITY_MAX 4

#endif /* KLAXON_FIELD_LIMITS_H */
