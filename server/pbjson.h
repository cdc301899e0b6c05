/*
 * A protobuf message as JSON, driven by its descriptor: field names as in
 * the .proto, enums as their names, 64-bit integers as JSON integers,
 * repeated fields as arrays, oneofs only when set, bytes left out.
 */
#ifndef KLAXON_PBJSON_H
#define KLAXON_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* A new JSON object, or NULL (out of memory). */
json_t *pbjson_message(const ProtobufCMessage *m);

#endif /* KLAXON_PBJSON_H */
