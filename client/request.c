#include "request.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int request_random_id(klaxon_client *c, uint8_t id[RANDOM_ID_SIZE])
{
    size_t got = 0;

    while (got < RANDOM_ID_SIZE) {
        ssize_t n = getrandom(id + got, RANDOM_ID_SIZE - got, 0);
        if (n < 0 && errno != EINTR) {
            return client_fail(c, KLAXON_EINTERNAL,
                               "request_id: getrandom failed: %s",
                               strerror(errno));
        }
        got += n > 0 ? (size_t)n : 0;
    }
    return KLAXON_OK;
}

int request_write(klaxon_client *c,
                  Klaxon__Request *req,
                  const char *request_id,
                  Klaxon__Response **resp)
{
    uint8_t id[RANDOM_ID_SIZE];
    int rv;

    *resp = NULL;
    if (request_id != NULL) {
        req->request_id.data = (uint8_t *)request_id;
        req->request_id.len = strlen(request_id);
    } else {
        rv = request_random_id(c, id);
        if (rv != KLAXON_OK) {
            return rv;
        }
        req->request_id.data = id;
        req->request_id.len = sizeof id;
    }
    rv = call_run(c, req, CALL_LEADER, NULL, resp);
    req->request_id.data = NULL;
    req->request_id.len = 0;
    if (rv != KLAXON_OK) {
        return rv;
    }
    if ((*resp)->result_case != KLAXON__RESPONSE__RESULT_MUTATION ||
        (*resp)->mutation == NULL) {
        klaxon__response__free_unpacked(*resp, NULL);
        *resp = NULL;
        return client_fail(c, KLAXON_EPROTO,
                           "node answered a write without its result");
    }
    return KLAXON_OK;
}

int request_write_only(klaxon_client *c, Klaxon__Request *req)
{
    Klaxon__Response *resp;
    int rv = request_write(c, req, NULL, &resp);

    if (rv == KLAXON_OK) {
        klaxon__response__free_unpacked(resp, NULL);
    }
    return rv;
}

int request_read(klaxon_client *c,
                 Klaxon__Request *req,
                 enum klaxon_read read,
                 Klaxon__Response **resp)
{
    *resp = NULL;
    if (read != KLAXON_READ_LINEARIZABLE && read != KLAXON_READ_STALE) {
        return client_fail(c, KLAXON_EINVAL, "read: unknown value %d",
                           (int)read);
    }
    req->stale = read == KLAXON_READ_STALE;
    return call_run(c, req, req->stale ? CALL_STALE : CALL_LEADER, NULL, resp);
}

int request_unexpected(klaxon_client *c, Klaxon__Response *resp)
{
    klaxon__response__free_unpacked(resp, NULL);
    return client_fail(c, KLAXON_EPROTO, "node answered without the result");
}

int request_convert(klaxon_client *c,
                    Klaxon__Response *resp,
                    Klaxon__Response__ResultCase want,
                    request_convert_fn convert,
                    void **out)
{
    bool present = resp->result_case == want && resp->mutation != NULL;

    /* Every result member of the union is a pointer: `mutation` stands
     * for whichever one `want` names. */
    *out = NULL;
    if (!present) {
        return request_unexpected(c, resp);
    }
    *out = convert(resp);
    klaxon__response__free_unpacked(resp, NULL);
    if (*out == NULL) {
        return client_fail(c, KLAXON_ENOMEM, "out of memory");
    }
    return KLAXON_OK;
}

int request_fetch(klaxon_client *c,
                  Klaxon__Request *req,
                  enum klaxon_read read,
                  Klaxon__Response__ResultCase want,
                  request_convert_fn convert,
                  void **out)
{
    Klaxon__Response *resp;
    int rv = request_read(c, req, read, &resp);

    *out = NULL;
    if (rv != KLAXON_OK) {
        return rv;
    }
    return request_convert(c, resp, want, convert, out);
}
