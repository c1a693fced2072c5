"""How every store keeps a job, so they keep it in the same shape: the small mutable record as a JSON-ready
dict, and apart from it the input (written once at submit) and the result (once at the end), both in their
protobuf wire form.

Records written before input and result were kept apart carry them inside; they are still read."""

from __future__ import annotations

import base64
import json
import json.encoder as json_encoder
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
        "stages": [
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
        ],
        "current_stage": job.current_stage.value if job.current_stage else None,
        "error": (
            {
                "code": job.error.code,
                "message": job.error.message,
                "stage": job.error.stage.value if job.error.stage else None,
                "reason": job.error.reason,
            }
            if job.error
            else None
        ),
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
    return _compressed_if_smaller(_input_message_bytes(given), COMPRESS_INPUT_OVER_BYTES)


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


def _compressed_if_smaller(raw: bytes, over: int) -> bytes:
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
    return _compressed_if_smaller(result, COMPRESS_RESULT_OVER_BYTES)


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
