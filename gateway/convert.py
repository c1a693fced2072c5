"""Protobuf -> JSON for the v1 routes: proto JSON with field names as in the .proto, every field without
presence written, and 64-bit integers kept as JSON numbers. (The seed routes' shapes are in gateway.seed.)"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def to_json(message: Message) -> dict[str, Any]:
    """Proto JSON with field names as in the .proto and every field present. Proto JSON writes 64-bit integers
    as strings; ours (positions, sequences, counts) are small, so they are turned back into numbers."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    _numbers(message, data)
    return data


def _numbers(message: Message, data: dict[str, Any]) -> None:
    for field in message.DESCRIPTOR.fields:
        name = field.name
        if name not in data:
            continue
        value = data[name]
        if field.type in _INT64:
            data[name] = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.type in _INT64:
                data[name] = {k: int(v) for k, v in value.items()}
            elif value_field.message_type is not None and isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, dict):
                        _numbers(getattr(message, name)[key], item)
        elif field.message_type is not None and field.message_type.full_name.startswith("skillbridge."):
            children = getattr(message, name)
            if isinstance(value, list):
                for child, item in zip(children, value, strict=False):
                    _numbers(child, item)
            elif isinstance(value, dict):
                _numbers(children, value)


def seconds(duration: Any) -> float:
    """A google.protobuf.Duration in seconds."""
    return float(duration.seconds + duration.nanos / 1e9)
