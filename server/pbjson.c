#include "pbjson.h"

#include <stdint.h>
#include <string.h>

static json_t *scalar(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            return json_integer(*(const int32_t *)p);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            return json_integer(*(const uint32_t *)p);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            return json_integer(*(const int64_t *)p);
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            return json_integer((json_int_t) * (const uint64_t *)p);
        case PROTOBUF_C_TYPE_FLOAT:
            return json_real(*(const float *)p);
        case PROTOBUF_C_TYPE_DOUBLE:
            return json_real(*(const double *)p);
        case PROTOBUF_C_TYPE_BOOL:
            return json_boolean(*(const protobuf_c_boolean *)p);
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                f->descriptor, *(const int *)p);
            return v != NULL ? json_string(v->name)
                             : json_integer(*(const int *)p);
        }
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(char *const *)p;
            return json_string(s != NULL ? s : "");
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
            return m != NULL ? pbjson_message(m) : json_null();
        }
        default:
            return NULL; /* bytes: not shown */
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return 8;
        case PROTOBUF_C_TYPE_BOOL:
            return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_ENUM:
            return sizeof(int);
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_MESSAGE:
            return sizeof(void *);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof(ProtobufCBinaryData);
        default:
            return 4;
    }
}

static json_t *repeated(const ProtobufCFieldDescriptor *f, const char *base)
{
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    const char *arr = *(char *const *)(base + f->offset);
    json_t *out = json_array();

    for (size_t i = 0; out != NULL && i < n; i++) {
        json_t *v = scalar(f, arr + i * elem_size(f));
        if (v != NULL && json_array_append_new(out, v) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *pbjson_message(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    json_t *out = json_object();

    for (unsigned i = 0; out != NULL && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *v;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) {
                continue;
            }
        }
        if (f->type == PROTOBUF_C_TYPE_BYTES) {
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            v = repeated(f, base);
        } else {
            v = scalar(f, base + f->offset);
        }
        if (v == NULL || json_object_set_new(out, f->name, v) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
