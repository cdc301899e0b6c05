/*
 * What every fuzz target defines (libFuzzer's interface) and the small
 * helpers they share. A target is one tests/fuzz/fuzz_NAME.c; it runs
 * under libFuzzer (`make fuzz`) and under tests/fuzz/replay.c, which feeds
 * it the files of tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME
 * (`make test`).
 */
#ifndef KLAXON_FUZZ_H
#define KLAXON_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"

/* Once per process, before the first input: quiet the log, set up. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* One input. Returns 0; a crash, a sanitizer report or a leak is a bug. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No log lines (thousands of inputs a second are refused), unless
 * KLAXON_FUZZ_LOG is set: then everything, to see why an input failed. */
static inline void fuzz_quiet_log(void)
{
    log_init(0, getenv("KLAXON_FUZZ_LOG") != NULL
                    ? LOG_DEBUG
                    : (enum log_level)(LOG_ERROR + 1));
}

/* Reads the fuzz input front to back; past its end every read is 0. */
struct fuzz_in
{
    const uint8_t *p;
    size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (in->left == 0) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | fuzz_u8(in);
    }
    return v;
}

#endif /* KLAXON_FUZZ_H */
