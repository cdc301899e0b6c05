#include "token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define PREFIX "k1."
#define MAC_LEN 16
#define PAYLOAD_FIXED 24
#define PAYLOAD_MAX (PAYLOAD_FIXED + 128)

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = b64[(acc << (6 - bits)) & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64, c) : NULL;
    return p != NULL ? (int)(p - b64) : -1;
}

/* Decode n characters; -1 on a bad character or too much output. */
static long b64_decode(const char *in, size_t n, uint8_t *out, size_t max)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == max) {
                return -1;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

static int mac(const uint8_t *secret,
               size_t secret_len,
               const uint8_t *payload,
               size_t n,
               uint8_t out[MAC_LEN])
{
    uint8_t msg[3 + PAYLOAD_MAX];
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned full_len = 0;

    memcpy(msg, "ack", 3);
    memcpy(msg + 3, payload, n);
    if (HMAC(EVP_sha256(), secret, (int)secret_len, msg, 3 + n, full,
             &full_len) == NULL ||
        full_len < MAC_LEN) {
        return -1;
    }
    memcpy(out, full, MAC_LEN);
    return 0;
}

int token_make(const uint8_t *secret,
               size_t secret_len,
               const struct ack_token *t,
               char *buf,
               size_t len)
{
    uint8_t payload[PAYLOAD_MAX];
    uint8_t m[MAC_LEN];
    size_t ulen = strlen(t->user);
    size_t n = PAYLOAD_FIXED + ulen;
    size_t o;

    if (ulen > sizeof t->user - 1 || len < TOKEN_MAX) {
        return -1;
    }
    store_put_be64(payload, t->incident_id);
    store_put_be64(payload + 8, t->expires_ms);
    store_put_be64(payload + 16, t->page_id);
    memcpy(payload + PAYLOAD_FIXED, t->user, ulen);
    if (mac(secret, secret_len, payload, n, m) != 0) {
        return -1;
    }
    memcpy(buf, PREFIX, sizeof PREFIX - 1);
    o = sizeof PREFIX - 1;
    o += b64_encode(payload, n, buf + o);
    buf[o++] = '.';
    b64_encode(m, MAC_LEN, buf + o);
    return 0;
}

static int refuse(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
    return -1;
}

int token_verify(const uint8_t *secret,
                 size_t secret_len,
                 const char *token,
                 struct ack_token *out,
                 const char **reason)
{
    uint8_t payload[PAYLOAD_MAX];
    uint8_t got[MAC_LEN + 1];
    uint8_t want[MAC_LEN];
    const char *body;
    const char *dot;
    long n;

    if (strlen(token) >= TOKEN_MAX || strncmp(token, PREFIX, 3) != 0) {
        return refuse(reason, "malformed");
    }
    body = token + 3;
    dot = strchr(body, '.');
    if (dot == NULL) {
        return refuse(reason, "malformed");
    }
    n = b64_decode(body, (size_t)(dot - body), payload, sizeof payload);
    if (n < PAYLOAD_FIXED + 1 ||
        b64_decode(dot + 1, strlen(dot + 1), got, sizeof got) != MAC_LEN) {
        return refuse(reason, "malformed");
    }
    if (mac(secret, secret_len, payload, (size_t)n, want) != 0 ||
        CRYPTO_memcmp(got, want, MAC_LEN) != 0) {
        return refuse(reason, "signature does not match");
    }
    memset(out, 0, sizeof *out);
    out->incident_id = store_get_be64(payload);
    out->expires_ms = store_get_be64(payload + 8);
    out->page_id = store_get_be64(payload + 16);
    memcpy(out->user, payload + PAYLOAD_FIXED, (size_t)n - PAYLOAD_FIXED);
    return 0;
}

void token_page_key(const uint8_t *cluster_id,
                    size_t id_len,
                    uint64_t page_id,
                    char *buf,
                    size_t len)
{
    char hex[2 * 16 + 1] = "";
    for (size_t i = 0; i < id_len && i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", cluster_id[i]);
    }
    snprintf(buf, len, "klaxon-%s-%llu", hex, (unsigned long long)page_id);
}
