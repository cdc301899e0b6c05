/*
 * Fuzz target "api": the bytes a client sends on its API connection.
 * Frames are cut as a connection cuts them (api_frame_next: length
 * header, size limit, klaxon.Request decoding); every request is checked
 * as the node checks it before answering or proposing it (protocol
 * version, the command a write asks for, its validation, an apply's YAML).
 * A request that passes is encoded as the Raft command it becomes and
 * decoded back, which must give a command that passes again.
 */
#include <stdlib.h>
#include <string.h>

#include "api_check.h"
#include "frame.h"
#include "fuzz.h"
#include "log.h"
#include "oncall_config.h"
#include "validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_log();
    return 0;
}

/* What passed validation still passes after the trip through the log. */
static void roundtrip(const Klaxon__Cluster__Command *c)
{
    size_t n = klaxon__cluster__command__get_packed_size(c);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    Klaxon__Cluster__Command *back;
    char msg[512];

    if (buf == NULL) {
        return;
    }
    klaxon__cluster__command__pack(c, buf);
    back = klaxon__cluster__command__unpack(NULL, n, buf);
    if (back == NULL ||
        validate_command(back, msg, sizeof msg) != KLAXON__CODE__OK) {
        abort();
    }
    klaxon__cluster__command__free_unpacked(back, NULL);
    free(buf);
}

static void check_request(const Klaxon__Request *q)
{
    Klaxon__Cluster__Command c;
    Klaxon__Cluster__SetConfig sc;
    Klaxon__OncallConfig *config = NULL;
    char msg[512];
    int rv;

    if (api_check_protocol(q, msg, sizeof msg) != KLAXON__CODE__OK) {
        return;
    }
    if (!api_is_write(q->op_case)) {
        return; /* reads and cluster operations: nothing proposed here */
    }
    rv = api_write_command(q, "fuzz-client", &c, &sc, &config, msg, sizeof msg);
    if (rv == KLAXON__CODE__OK) {
        roundtrip(&c);
    }
    oncall_config_free(config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    for (;;) {
        Klaxon__Request *q;
        size_t used;
        enum api_frame f =
            api_frame_next(data + off, size - off, FRAME_MAX, &used, &q);
        if (f == API_FRAME_MORE || f == API_FRAME_TOO_LARGE) {
            break; /* wait for more bytes / close the connection */
        }
        off += used;
        if (f == API_FRAME_REQUEST) {
            check_request(q);
            klaxon__request__free_unpacked(q, NULL);
        }
    }
    return 0;
}
