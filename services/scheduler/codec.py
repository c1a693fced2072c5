"""How every store keeps a job, so they keep it in the same shape: the small mutable record as a JSON-ready
dict, and apart from it the input (written once at submit) and the result (once at the end), both in their
protobuf wire form.

Records written before input and result were kept apart carry them inside; they are still read."""

from __future__ import annotations

import base64
import json
import json.encoder as json_encoder
import math
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from skillbridge.scheduler.v1 import job_pb2

from services.scheduler.model import (
    DEFAULT_THRESHOLD,
    INPUT_TYPES,
    CourseInput,
    JobError,
    JobInput,
    JobRecord,
    JobState,
    JobType,
    NoopInput,
    RankInput,
    Stage,
    StageRecord,
    StageState,
)


def record_to_dict(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner": job.owner,
        "type": job.type.value,
        "state": job.state.value,
        "priority": job.priority,
        "create_time": job.create_time,
        "request_id": job.request_id,
        **({"request_digest": job.request_digest} if job.request_digest else {}),
        "queue_seq": job.queue_seq,
        "attempt": job.attempt,
        "fence": job.fence,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "expire_time": job.expire_time,
        "lease_owner": job.lease_owner,
        "lease_until": job.lease_until,
        "stages": _stage_dicts(job),
        "current_stage": job.current_stage.value if job.current_stage else None,
        "error": _error_dict(job),
        "last_sequence": job.last_sequence,
        "fair_round": job.fair_round,
        "not_before": job.not_before,
        "depends_on": job.depends_on,
        "max_running": job.max_running,
        "traceparent": job.traceparent,
        "cache_key": job.cache_key,
        "cached_from": job.cached_from,
        "waiting_for_service": job.waiting_for_service,
    }


def _stage_dicts(job: JobRecord) -> list[dict[str, Any]]:
    return [
        {
            "stage": r.stage.value,
            "state": r.state.value,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "summary": r.summary,
            "metrics": r.metrics,
            "progress": r.progress,
        }
        for r in job.stages
    ]


def _error_dict(job: JobRecord) -> dict[str, Any] | None:
    if not job.error:
        return None
    return {
        "code": job.error.code,
        "message": job.error.message,
        "stage": job.error.stage.value if job.error.stage else None,
        "reason": job.error.reason,
    }


def record_from_dict(
    data: dict[str, Any], input_data: bytes | None = None, result_data: bytes | None = None
) -> JobRecord:
    """The record, with its input and result when given (or, in a record of an earlier version, inside it)."""
    error = data.get("error")
    job_type = JobType(data["type"])
    if input_data is not None:
        job_input = input_from_bytes(job_type, input_data)
    elif "input" in data:
        job_input = _legacy_input(job_type, data["input"] or {})
    else:
        job_input = INPUT_TYPES[job_type]()  # read without it: an empty placeholder
    result = result_from_stored(result_data) if result_data is not None else None
    if result is None and isinstance(data.get("result"), dict):
        result = _legacy_result(job_type, data["result"])
    return JobRecord(
        id=data["id"],
        owner=data["owner"],
        type=job_type,
        state=JobState(data["state"]),
        priority=data["priority"],
        input=job_input,
        create_time=data["create_time"],
        request_id=data.get("request_id", ""),
        request_digest=data.get("request_digest", ""),
        queue_seq=data.get("queue_seq", 0),
        attempt=data.get("attempt", 0),
        fence=data.get("fence", 0),
        start_time=data.get("start_time"),
        end_time=data.get("end_time"),
        expire_time=data.get("expire_time"),
        lease_owner=data.get("lease_owner", ""),
        lease_until=data.get("lease_until"),
        stages=[
            StageRecord(
                stage=Stage(s["stage"]),
                state=StageState(s["state"]),
                start_time=s.get("start_time"),
                end_time=s.get("end_time"),
                summary=s.get("summary", ""),
                metrics=s.get("metrics", {}),
                progress=s.get("progress", 0.0),
            )
            for s in data.get("stages", [])
        ],
        current_stage=Stage(data["current_stage"]) if data.get("current_stage") else None,
        result=result,
        error=(
            JobError(
                code=error["code"],
                message=error["message"],
                stage=Stage(error["stage"]) if error.get("stage") else None,
                reason=error.get("reason", ""),
            )
            if error
            else None
        ),
        last_sequence=data.get("last_sequence", 0),
        fair_round=data.get("fair_round", 0),
        not_before=data.get("not_before"),
        depends_on=list(data.get("depends_on", [])),
        max_running=data.get("max_running", 0),
        traceparent=data.get("traceparent", ""),
        cache_key=data.get("cache_key", ""),
        cached_from=data.get("cached_from", ""),
        waiting_for_service=data.get("waiting_for_service", ""),
    )


# One encoder for every record and event: json.dumps with its own separators builds a new encoder per call.
# Records are trees of plain values, so the check for circular references is left out.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
# ...and JSONEncoder.encode still builds its C encoder on every call, which cost as much as encoding a small
# event: the C encoder is built once here, with the same settings (None where the C module is missing).
_C_MAKE_ENCODER: Any = getattr(json_encoder, "c_make_encoder", None)  # not in the typeshed stubs
_C_ENCODE = (
    None
    if _C_MAKE_ENCODER is None
    else _C_MAKE_ENCODER(
        None,  # no circular-reference markers (check_circular=False)
        _ENCODER.default,
        json_encoder.encode_basestring_ascii,  # ensure_ascii, as the JSONEncoder above
        None,  # no indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
)


def dumps(data: Any) -> str:
    if _C_ENCODE is None or isinstance(data, str):
        return _ENCODER.encode(data)
    return "".join(_C_ENCODE(data, 0))


# record_json's text, around the values: the keys of record_to_dict in its order, as dumps writes them.
_RECORD_HEAD = '{"id":%s,"owner":%s,"type":%s,"state":%s,"priority":%d,"create_time":%s,"request_id":%s,'
_RECORD_DIGEST = '"request_digest":%s,'
_RECORD_TAIL = (
    '"queue_seq":%d,"attempt":%d,"fence":%d,"start_time":%s,"end_time":%s,"expire_time":%s,"lease_owner":%s,'
    '"lease_until":%s,"stages":%s,"current_stage":%s,"error":%s,"last_sequence":%d,"fair_round":%d,'
    '"not_before":%s,"depends_on":%s,"max_running":%d,"traceparent":%s,"cache_key":%s,"cached_from":%s,'
    '"waiting_for_service":%s}'
)
_quote = json_encoder.encode_basestring_ascii


def _number(value: float) -> str:
    """A time as dumps writes it (NaN and the infinities as JSON's extension, as allow_nan does)."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return int.__repr__(value)


def record_json(job: JobRecord) -> str:
    """dumps(record_to_dict(job)), the same text, written into a template: the encoder listed the dict's 30
    entries as pairs and quoted every key again for every record, which made the record's text the largest cost
    of a batch submit after the store's own writes (a new job's record 7.9 -> 3.5 us, timeit). The template
    follows record_to_dict: a field added there is added here (test_wire_forms compares the two on varied
    records)."""
    head = _RECORD_HEAD % (
        _quote(job.id),
        _quote(job.owner),
        _quote(job.type.value),
        _quote(job.state.value),
        job.priority,
        "null" if job.create_time is None else _number(job.create_time),
        _quote(job.request_id),
    )
    if job.request_digest:
        head += _RECORD_DIGEST % _quote(job.request_digest)
    return head + _RECORD_TAIL % (
        job.queue_seq,
        job.attempt,
        job.fence,
        "null" if job.start_time is None else _number(job.start_time),
        "null" if job.end_time is None else _number(job.end_time),
        "null" if job.expire_time is None else _number(job.expire_time),
        _quote(job.lease_owner),
        "null" if job.lease_until is None else _number(job.lease_until),
        dumps(_stage_dicts(job)) if job.stages else "[]",
        "null" if job.current_stage is None else _quote(job.current_stage.value),
        dumps(_error_dict(job)) if job.error else "null",
        job.last_sequence,
        job.fair_round,
        "null" if job.not_before is None else _number(job.not_before),
        dumps(job.depends_on) if job.depends_on else "[]",
        job.max_running,
        _quote(job.traceparent),
        _quote(job.cache_key),
        _quote(job.cached_from),
        _quote(job.waiting_for_service),
    )


def loads(text: str | bytes) -> Any:
    return json.loads(text)


# --- input and result, apart from the record ------------------------------------------------------------------


# Inputs above this many bytes are compressed when it helps (texts are often repetitive).
COMPRESS_INPUT_OVER_BYTES = 200
# A zlib stream starts with this byte; no input message does (it would be field 15, which none has).
ZLIB_FIRST_BYTE = b"\x78"


def input_to_bytes(given: JobInput) -> bytes:
    """The input's wire form: the request's own input message (so a noop payload stays raw bytes), compressed
    when that is smaller."""
    return compressed_if_smaller(_input_message_bytes(given), COMPRESS_INPUT_OVER_BYTES)


# Inputs up to this many bytes are deflated with a smaller hash table (memory level 5, not zlib's default 8):
# setting up the default's 256 KB of state cost more than compressing a 1 KB input. The window stays 32 KB, so
# the stream still starts with ZLIB_FIRST_BYTE; on inputs this short the bytes come out the same as the default's.
SMALL_DEFLATE_BYTES = 4096
SMALL_DEFLATE_MEM_LEVEL = 5


def _deflate(raw: bytes) -> bytes:
    if len(raw) > SMALL_DEFLATE_BYTES:
        return zlib.compress(raw)
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, zlib.MAX_WBITS, SMALL_DEFLATE_MEM_LEVEL)
    return packer.compress(raw) + packer.flush()


def compressed_if_smaller(raw: bytes, over: int) -> bytes:
    """`raw` zlib-compressed when longer than `over` bytes and the compressed form is shorter; else `raw`."""
    if len(raw) > over:
        packed = _deflate(raw)
        if len(packed) < len(raw):
            return packed
    return raw


def _input_message_bytes(given: JobInput) -> bytes:
    if isinstance(given, CourseInput):
        message: Message = job_pb2.CourseRecommendationInput(
            resume_text=given.resume_text, job_description_text=given.job_description_text, threshold=given.threshold
        )
    elif isinstance(given, NoopInput):
        message = job_pb2.NoopInput(payload=given.payload)
    else:
        message = job_pb2.RankAnalysesInput()
    return bytes(message.SerializeToString())


def input_from_bytes(job_type: JobType, data: bytes) -> JobInput:
    if data[:1] == ZLIB_FIRST_BYTE:
        data = zlib.decompress(data)
    if job_type is JobType.COURSE_RECOMMENDATION:
        cr = job_pb2.CourseRecommendationInput.FromString(data)
        threshold = cr.threshold if cr.HasField("threshold") else DEFAULT_THRESHOLD
        return CourseInput(cr.resume_text, cr.job_description_text, threshold)
    if job_type is JobType.NOOP:
        return NoopInput(job_pb2.NoopInput.FromString(data).payload)
    return RankInput()


# Results larger than a database page are stored compressed when that is smaller: an analysis lists every entity of
# both texts and quotes a sentence for each skill, so its result is about as large as its texts. Below a page it
# would save no page write. No result message starts with the zlib byte either (field 15: none has one).
COMPRESS_RESULT_OVER_BYTES = 4096


def result_to_stored(result: bytes) -> bytes:
    """The result as stored: its wire form, compressed when large and that is smaller."""
    return compressed_if_smaller(result, COMPRESS_RESULT_OVER_BYTES)


def result_from_stored(data: bytes) -> bytes:
    """The result's wire form again (served as it was written, never re-encoded)."""
    return zlib.decompress(data) if data[:1] == ZLIB_FIRST_BYTE else data


def _legacy_input(job_type: JobType, data: dict[str, Any]) -> JobInput:
    if job_type is JobType.COURSE_RECOMMENDATION:
        return CourseInput(
            # Records from before 0 was a threshold of its own stored 0 for "the default".
            data.get("resume_text", ""),
            data.get("job_description_text", ""),
            float(data.get("threshold") or DEFAULT_THRESHOLD),
        )
    if job_type is JobType.NOOP:
        return NoopInput(base64.b64decode(data.get("payload", "")))
    return RankInput()


LEGACY_RESULTS: dict[JobType, type[Message]] = {
    JobType.COURSE_RECOMMENDATION: job_pb2.CourseRecommendationResult,
    JobType.RANK_ANALYSES: job_pb2.RankAnalysesResult,
}


def _legacy_result(job_type: JobType, data: dict[str, Any]) -> bytes:
    if job_type is JobType.NOOP:
        return bytes(job_pb2.NoopInput(payload=base64.b64decode(data.get("payload", ""))).SerializeToString())
    message = LEGACY_RESULTS[job_type]()
    json_format.ParseDict(data, message, ignore_unknown_fields=True)
    return bytes(message.SerializeToString())
