"""Requests that protobuf cannot parse become a field error, not gRPC's UNKNOWN "DecodeError".

Protobuf refuses a whole message when one string field holds bytes that are not UTF-8, and says only that the
message did not parse. `safe_deserializer` wraps a handler's request deserializer: a message that does not parse
becomes an `UndecodableRequest`, which the error-mapping interceptor answers with INVALID_ARGUMENT and a
BadRequest violation naming the field (`invalid_utf8_field` walks the wire format to find it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from services.common import errors

_VARINT, _FIXED64, _LENGTH_DELIMITED, _START_GROUP, _END_GROUP, _FIXED32 = range(6)
# A message nested deeper than this is not walked further (protobuf itself stops at 100).
MAX_DEPTH = 100


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request that did not parse; `error` is the InvalidArgument to answer with."""

    error: errors.InvalidArgument


def safe_deserializer(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """`deserializer`, returning an UndecodableRequest instead of raising DecodeError."""
    if deserializer is None:
        return None
    descriptor: Descriptor | None = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return UndecodableRequest(undecodable_error(descriptor, data))

    return deserialize


def undecodable_error(descriptor: Descriptor | None, data: bytes) -> errors.InvalidArgument:
    """The field error for a request that protobuf refused."""
    path = invalid_utf8_field(descriptor, data) if descriptor is not None else None
    if path is not None:
        return errors.InvalidArgument.for_field(
            path, "is not valid UTF-8: protobuf strings must be UTF-8 text (binary data goes in bytes fields)"
        )
    name = descriptor.full_name if descriptor is not None else "protobuf"
    return errors.InvalidArgument.for_field("request", f"is not a valid {name} message")


def invalid_utf8_field(descriptor: Descriptor, data: bytes, prefix: str = "", depth: int = 0) -> str | None:
    """The path (`a.b[2].c`) of the first string field in `data` whose bytes are not UTF-8, or None (also for
    bytes that are not a well-formed message)."""
    if depth > MAX_DEPTH:
        return None
    seen: dict[int, int] = {}
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            number, wire_type = key >> 3, key & 7
            if wire_type != _LENGTH_DELIMITED:
                pos = _skip(data, pos, wire_type)
                continue
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
            if pos > len(data):
                return None
            field = descriptor.fields_by_number.get(number)
            if field is None:
                continue
            index = seen.get(number, 0)
            seen[number] = index + 1
            path = _path(prefix, field, index)
            if field.type == FieldDescriptor.TYPE_STRING and not _is_utf8(value):
                return path
            if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
                found = invalid_utf8_field(field.message_type, value, path, depth + 1)
                if found is not None:
                    return found
    except ValueError:
        return None
    return None


def _path(prefix: str, field: FieldDescriptor, index: int) -> str:
    name = f"{prefix}.{field.name}" if prefix else field.name
    return f"{name}[{index}]" if field.is_repeated and not _is_map(field) else name


def _is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return message_type is not None and message_type.GetOptions().map_entry


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _skip(data: bytes, pos: int, wire_type: int) -> int:
    if wire_type == _VARINT:
        return _varint(data, pos)[1]
    if wire_type == _FIXED64:
        return pos + 8
    if wire_type == _FIXED32:
        return pos + 4
    raise ValueError(f"wire type {wire_type} is not walked")  # groups: not used by proto3 messages
