/*
 * Responders' endpoints: GET /v1/incidents, GET /v1/incidents/{id},
 * POST /v1/incidents/{id}/acknowledge|resolve|notes. They need a client
 * certificate of the cluster (its CN is the actor).
 */
#ifndef KLAXON_HTTP_INCIDENTS_H
#define KLAXON_HTTP_INCIDENTS_H

#include "http.h"

void http_incidents_list(struct http_request *rq);
void http_incident_get(struct http_request *rq);
void http_incident_action(struct http_request *rq);

#endif /* KLAXON_HTTP_INCIDENTS_H */
