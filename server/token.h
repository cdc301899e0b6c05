/*
 * Acknowledgement tokens: single-purpose, signed, expiring capabilities
 * that let the person a page went to acknowledge that incident from the
 * page itself (a link, or a code an SMS/chat gateway sends back through
 * `klaxonctl ack --token`).
 *
 *   token = "k1." base64url(payload) "." base64url(mac)
 *   payload = incident id u64 | expires_ms u64 | page id u64 | user (bytes)
 *   mac = first 16 bytes of HMAC-SHA256(cluster secret, "ack" | payload)
 *
 * The cluster secret is 32 random bytes the first leader proposes through
 * Raft (cluster.SetSecret), so every node verifies every token; it never
 * leaves the nodes. A token binds one incident and one person and is
 * refused after its expiry (judged against the Raft entry's time in apply,
 * so every node agrees).
 */
#ifndef KLAXON_TOKEN_H
#define KLAXON_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 512

struct ack_token
{
    uint64_t incident_id;
    uint64_t expires_ms;
    uint64_t page_id;
    char user[129];
};

/* Make a token into buf (TOKEN_MAX bytes). 0, or -1 if the user is too
 * long. */
int token_make(const uint8_t *secret,
               size_t secret_len,
               const struct ack_token *t,
               char *buf,
               size_t len);

/*
 * Check a token's form and signature (not its expiry). 0 and *out, or -1
 * with a reason ("malformed", "signature does not match").
 */
int token_verify(const uint8_t *secret,
                 size_t secret_len,
                 const char *token,
                 struct ack_token *out,
                 const char **reason);

/* The page idempotency key "klaxon-<cluster id hex>-<page id>". */
void token_page_key(const uint8_t *cluster_id,
                    size_t id_len,
                    uint64_t page_id,
                    char *buf,
                    size_t len);

#endif /* KLAXON_TOKEN_H */
