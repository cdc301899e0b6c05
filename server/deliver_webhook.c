/*
 * Webhooks: an HTTP or HTTPS POST through libcurl, one easy handle per
 * attempt in the deliverer's multi handle (curl_uv.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_uv.h"
#include "deliver_int.h"
#include "klaxon.h"
#include "log.h"

#define RESPONSE_CAP (64 * 1024) /* answer bytes read, then dropped */
#define KEY_MAX 256

struct curl_job
{
    CURL *easy;
    struct curl_slist *headers;
    size_t response_len;
    bool capped; /* stopped reading a long answer */
    char errbuf[CURL_ERROR_SIZE];
};

static size_t read_response(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct curl_job *j = data;
    size_t n = size * nmemb;

    (void)ptr;
    j->response_len += n;
    if (j->response_len > RESPONSE_CAP) {
        j->capped = true;
        return 0; /* stops the transfer; the status line is known */
    }
    return n;
}

static void job_free(struct curl_job *j)
{
    curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    free(j);
}

/* --- request ------------------------------------------------------------- */

static int add_headers(struct curl_job *j, const struct delivery *req)
{
    static const char *const fixed[] = {
        "Content-Type: application/json", "User-Agent: klaxon/" KLAXON_VERSION,
        "Expect:", /* no 100-continue round trip */
    };
    char key[KEY_MAX + 32];
    struct curl_slist *l;

    snprintf(key, sizeof key, "Idempotency-Key: %s", req->idempotency_key);
    for (size_t i = 0; i <= sizeof fixed / sizeof fixed[0]; i++) {
        l = curl_slist_append(
            j->headers, i < sizeof fixed / sizeof fixed[0] ? fixed[i] : key);
        if (l == NULL) {
            return -1;
        }
        j->headers = l;
    }
    return 0;
}

static int set_transfer_options(struct curl_job *j, struct delivery *req)
{
    CURL *e = j->easy;
    long timeout =
        req->timeout_ms > LONG_MAX ? LONG_MAX : (long)req->timeout_ms;

    /* Detach a resolver thread still running at the end instead of
     * joining it, which would block the loop (libcurl >= 7.87). */
    (void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    if (curl_easy_setopt(e, CURLOPT_URL, req->address) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, req) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, read_response) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, j) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK) {
        return -1;
    }
    return 0;
}

static int set_request_options(struct curl_job *j, struct delivery *req)
{
    CURL *e = j->easy;

    if (add_headers(j, req) != 0 ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                         req->body != NULL ? req->body : "") != CURLE_OK) {
        return -1;
    }
    return 0;
}

int deliver_webhook_start(struct deliverer *d,
                          struct delivery *req,
                          char *err,
                          size_t errlen)
{
    struct curl_job *j;

    if (strpbrk(req->idempotency_key, "\r\n") != NULL ||
        strlen(req->idempotency_key) > KEY_MAX) {
        snprintf(err, errlen, "webhook: bad idempotency key");
        return -1;
    }
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        snprintf(err, errlen, "webhook: out of memory");
        return -1;
    }
    j->easy = curl_easy_init();
    if (j->easy == NULL) {
        snprintf(err, errlen, "webhook: curl_easy_init failed");
        goto err_after_job;
    }
    if (set_transfer_options(j, req) != 0 || set_request_options(j, req) != 0) {
        snprintf(err, errlen, "webhook %s: cannot set up the request",
                 req->address);
        goto err_after_easy;
    }
    if (curl_uv_add(d, j->easy, err, errlen) != 0) {
        goto err_after_easy;
    }
    req->impl = j;
    return 0;

err_after_easy:
    curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
err_after_job:
    free(j);
    return -1;
}

/* --- outcome ------------------------------------------------------------- */

static void describe_failure(struct curl_job *j,
                             struct delivery *req,
                             CURLcode result)
{
    long os_errno = 0;
    char buf[128];

    if (result == CURLE_OPERATION_TIMEDOUT) {
        snprintf(req->err, sizeof req->err, "timeout after %llu ms",
                 (unsigned long long)req->timeout_ms);
        return;
    }
    if (result == CURLE_COULDNT_CONNECT &&
        curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
        os_errno != 0) {
        snprintf(req->err, sizeof req->err, "connect: %s",
                 strerror_r((int)os_errno, buf, sizeof buf));
        return;
    }
    snprintf(req->err, sizeof req->err, "%s",
             j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(result));
}

/* Any 2xx answer, even when its body was cut short. */
static bool outcome(struct curl_job *j, struct delivery *req, CURLcode result)
{
    long code = 0;

    if (result != CURLE_OK && !(result == CURLE_WRITE_ERROR && j->capped)) {
        describe_failure(j, req, result);
        return false;
    }
    if (curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) {
        snprintf(req->err, sizeof req->err, "no HTTP status");
        return false;
    }
    if (code < 200 || code > 299) {
        snprintf(req->err, sizeof req->err, "HTTP %ld", code);
        return false;
    }
    return true;
}

void deliver_curl_done(struct deliverer *d, CURL *easy, CURLcode result)
{
    char *priv = NULL;
    struct delivery *req;
    struct curl_job *j;
    bool ok;

    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
        priv == NULL) {
        log_error("deliver: finished transfer without its request");
        curl_uv_remove(d, easy);
        curl_easy_cleanup(easy);
        return;
    }
    req = (struct delivery *)(void *)priv;
    j = req->impl;
    ok = outcome(j, req, result);
    curl_uv_remove(d, easy);
    job_free(j);
    req->impl = NULL;
    deliver_finish(req, ok);
}

void deliver_webhook_abort(struct delivery *req)
{
    struct curl_job *j = req->impl;

    curl_uv_remove(req->owner, j->easy);
    job_free(j);
    req->impl = NULL;
}
