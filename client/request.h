/*
 * The shapes of a call shared by every public function: a write with its
 * request id, a read with its consistency, and the conversion of the
 * answer into a public structure.
 */
#ifndef KLAXON_CLIENT_REQUEST_H
#define KLAXON_CLIENT_REQUEST_H

#include "call.h"
#include "client.h"
#include "klaxon.pb-c.h"

/* Bytes that request_write adds to a request: the request id's tag,
 * length and 16 random bytes. */
#define REQUEST_ID_BYTES 18
#define RANDOM_ID_SIZE 16

/* A random request id (getrandom); KLAXON_EINTERNAL if that fails. */
int request_random_id(klaxon_client *c, uint8_t id[RANDOM_ID_SIZE]);

/*
 * Run the write whose op is set in `req` with a request id that stays the
 * same on every retry: `request_id` (the caller's key) or, when NULL, 16
 * random bytes. On KLAXON_OK *resp (free with
 * klaxon__response__free_unpacked) carries its MutationResult.
 */
int request_write(klaxon_client *c,
                  Klaxon__Request *req,
                  const char *request_id,
                  Klaxon__Response **resp);

/* request_write with a random id, for a write whose result says nothing
 * more than OK. */
int request_write_only(klaxon_client *c, Klaxon__Request *req);

/* Run a read with the mode that `read` asks for. On KLAXON_OK *resp is
 * the answer, of any result. */
int request_read(klaxon_client *c,
                 Klaxon__Request *req,
                 enum klaxon_read read,
                 Klaxon__Response **resp);

/* Makes a new public structure from an answer; NULL when out of memory. */
typedef void *(*request_convert_fn)(const Klaxon__Response *resp);

/* Free `resp`, an answer without the expected result: KLAXON_EPROTO. */
int request_unexpected(klaxon_client *c, Klaxon__Response *resp);

/*
 * Take the answer `resp` (freed here in every case): KLAXON_EPROTO unless
 * its result is `want`, else *out = convert(resp) or KLAXON_ENOMEM. *out
 * is NULL on failure.
 */
int request_convert(klaxon_client *c,
                    Klaxon__Response *resp,
                    Klaxon__Response__ResultCase want,
                    request_convert_fn convert,
                    void **out);

/* request_read, then request_convert. */
int request_fetch(klaxon_client *c,
                  Klaxon__Request *req,
                  enum klaxon_read read,
                  Klaxon__Response__ResultCase want,
                  request_convert_fn convert,
                  void **out);

#endif /* KLAXON_CLIENT_REQUEST_H */
