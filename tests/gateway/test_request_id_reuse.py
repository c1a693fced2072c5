"""Over REST, a request_id reused with another body is 409 saying the key was used for another request (code
ALREADY_EXISTS); the same body again answers with the first job."""

from __future__ import annotations

import base64

import httpx

from tests.sdk.harness import JOB_DESCRIPTION, RESUME


def noop(payload: bytes, key: str) -> dict[str, object]:
    return {"type": "noop", "noop": {"payload": base64.b64encode(payload).decode()}, "request_id": key}


async def test_same_body_is_the_first_job_another_body_is_409(http: httpx.AsyncClient) -> None:
    first = await http.post("/v1/jobs", json=noop(b"a", "order-1"))
    again = await http.post("/v1/jobs", json=noop(b"a", "order-1"))
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]

    analysis = {
        "type": "course_recommendation",
        "course_recommendation": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION},
        "request_id": "order-1",
    }
    for other in (noop(b"b", "order-1"), noop(b"a", "order-1") | {"priority": 2}, analysis):
        answer = await http.post("/v1/jobs", json=other)
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["code"] == "ALREADY_EXISTS" and "used for another request" in body["detail"]
        assert first.json()["id"] in body["detail"]
