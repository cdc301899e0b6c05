/*
 * The checks of the client API that need no connection and no node: how a
 * frame is cut from the bytes a client sent, and what a request must be
 * before it is proposed. api.c and api_write.c run them on every request;
 * tests/fuzz/fuzz_api.c runs them on arbitrary bytes.
 */
#ifndef KLAXON_API_CHECK_H
#define KLAXON_API_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "klaxon.pb-c.h"

enum api_frame {
    API_FRAME_MORE,      /* not a whole frame yet */
    API_FRAME_REQUEST,   /* *out holds the request */
    API_FRAME_MALFORMED, /* a whole frame that does not decode */
    API_FRAME_TOO_LARGE, /* the header announces more than the maximum */
};

/*
 * Cut the next frame from buf[0..len); a frame over max bytes is
 * TOO_LARGE. *used is the bytes it took (0 for MORE and TOO_LARGE); for
 * REQUEST, *out is the decoded request (free with
 * klaxon__request__free_unpacked).
 */
enum api_frame api_frame_next(const uint8_t *buf,
                              size_t len,
                              uint32_t max,
                              size_t *used,
                              Klaxon__Request **out);

/* The request's protocol version: KLAXON__CODE__OK, or UNSUPPORTED with
 * a message. */
int api_check_protocol(const Klaxon__Request *q, char *msg, size_t len);

/* Whether a request op (klaxon.Request op_case) is a client write: one
 * that api_write_command turns into a replicated command. */
bool api_is_write(int op_case);

/* api_write_command(): the request is a dry run, answered without a
 * command (the configuration parsed and validated). */
#define API_DRY_RUN (-1)

/*
 * The command a write request asks for, validated as it will be applied:
 * KLAXON__CODE__OK with *c filled (pointing into q, sc and *config),
 * API_DRY_RUN with *config, or an error code with a message naming the
 * field. `who` is the caller, the author of a configuration without `by`.
 * *config (an apply's parsed configuration) is the caller's to free with
 * oncall_config_free, whatever the outcome.
 */
int api_write_command(const Klaxon__Request *q,
                      const char *who,
                      Klaxon__Cluster__Command *c,
                      Klaxon__Cluster__SetConfig *sc,
                      Klaxon__OncallConfig **config,
                      char *msg,
                      size_t len);

#endif /* KLAXON_API_CHECK_H */
