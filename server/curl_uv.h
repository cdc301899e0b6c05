/*
 * The deliverer's libcurl multi handle, driven by its libuv loop through
 * the multi-socket interface: one uv_poll_t per socket libcurl asks to
 * watch, one uv_timer_t for libcurl's timeout (a zero timeout runs from an
 * idle handle, on the next turn of the loop). Finished transfers are handed
 * to deliver_curl_done() (deliver_curl.c) after curl_multi_socket_action() has
 * returned, so that function may remove and clean up the easy handle.
 *
 * Internal to the deliverer (deliver*.c).
 */
#ifndef KLAXON_CURL_UV_H
#define KLAXON_CURL_UV_H

#include <curl/curl.h>

#include "deliver.h"

/* Initialise libcurl once per process, create the multi handle and the
 * timer and idle handles (counted in d->n_handles). d->loop, d->curl_polls
 * must be set. 0, or -1 with a message (nothing to close then). */
int curl_uv_init(struct deliverer *d, char *err, size_t errlen);

/* Start a transfer; CURLOPT_PRIVATE of easy must be its struct delivery.
 * 0, or -1 with a message (easy is then not part of the multi). */
int curl_uv_add(struct deliverer *d, CURL *easy, char *err, size_t errlen);

/* Take a transfer out of the multi (done or aborted). */
void curl_uv_remove(struct deliverer *d, CURL *easy);

/* Every easy handle must have been removed. Clean up the multi handle and
 * close every poll, the timer and the idle handle; deliver_handle_closed()
 * runs once for each of them. */
void curl_uv_close(struct deliverer *d);

/* deliver_curl.c: a transfer ended with result (CURLE_OK: the protocol
 * exchange completed; the caller still judges the answer). */
void deliver_curl_done(struct deliverer *d, CURL *easy, CURLcode result);

/* deliver.c: one of the deliverer's own handles finished closing. */
void deliver_handle_closed(struct deliverer *d);

#endif /* KLAXON_CURL_UV_H */
