/*
 * Framing shared by libklaxon and klaxond: every message on a client
 * connection is a 4-byte big-endian length followed by that many bytes of
 * one encoded protobuf message (klaxon.Request or klaxon.Response).
 */
#ifndef KLAXON_FRAME_H
#define KLAXON_FRAME_H

#include <stdint.h>

/* Protocol version spoken by this build (Request.version). */
#define PROTOCOL_VERSION 1

/* Length of the frame header. */
#define FRAME_HEADER 4

/* Largest frame body either side accepts. */
#define FRAME_MAX (1u << 20)

static inline void frame_put_len(uint8_t *p, uint32_t len)
{
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

static inline uint32_t frame_get_len(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

#endif /* KLAXON_FRAME_H */
