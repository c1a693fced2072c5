"""JSON Schemas of the proto messages the v1 routes return, read from their descriptors, so the OpenAPI document
types every v1 response exactly as `convert.to_json` writes it and cannot drift from the .proto files.

The rules follow `to_json`: field names as in the .proto; every field without presence (scalars, enums, lists,
maps) is always written, so it is required; message fields and oneof members appear only when set; 64-bit
integers are JSON numbers; enums are their value names; the well-known types have their proto JSON forms."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"

_INTEGER = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_NUMBER = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}

# Proto JSON of the well-known types (https://protobuf.dev/programming-guides/json/).
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$", "examples": ["1.5s"]},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
    "google.rpc.Status": {
        "type": "object",
        "description": "An error: a google.rpc.Code number, a message and typed details.",
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["code", "message", "details"],
    },
}


def ref(descriptor: Descriptor) -> Schema:
    """A $ref to the component schema of a message."""
    return {"$ref": REF_PREFIX + descriptor.full_name}


def component_schemas(*roots: Descriptor) -> dict[str, Schema]:
    """Component schemas (by message full name) of `roots` and every message they reach."""
    out: dict[str, Schema] = {}
    pending = list(roots)
    while pending:
        descriptor = pending.pop()
        if descriptor.full_name in out:
            continue
        out[descriptor.full_name] = _message_schema(descriptor, pending)
    return out


def _message_schema(descriptor: Descriptor, pending: list[Descriptor]) -> Schema:
    if descriptor.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[descriptor.full_name])
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for field in descriptor.fields:
        properties[field.name] = _field_schema(field, pending)
        if not field.has_presence:
            required.append(field.name)
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _field_schema(field: FieldDescriptor, pending: list[Descriptor]) -> Schema:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        value = _single_schema(message.fields_by_name["value"], pending)
        return {"type": "object", "additionalProperties": value}
    single = _single_schema(field, pending)
    return {"type": "array", "items": single} if field.is_repeated else single


def _single_schema(field: FieldDescriptor, pending: list[Descriptor]) -> Schema:
    if field.message_type is not None:
        pending.append(field.message_type)
        return ref(field.message_type)
    if field.enum_type is not None:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    if field.type in _INTEGER:
        return {"type": "integer"}
    if field.type in _NUMBER:
        return {"type": "number"}
    if field.type == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if field.type == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    return {"type": "string"}
