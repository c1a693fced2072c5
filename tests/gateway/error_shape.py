"""The one error shape every gateway error answer has, checked the way a client would read it."""

from __future__ import annotations

from typing import Any

import httpx

ERROR_KEYS = {"detail", "code", "field_violations", "retry_after_seconds", "reason"}


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer has `status` and the error shape (and `code`, when given); returns its body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body: dict[str, Any] = answer.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"].isupper()
    assert all(set(v) == {"field", "description"} for v in body["field_violations"])
    assert body["retry_after_seconds"] is None or body["retry_after_seconds"] > 0
    assert body["reason"] is None or (isinstance(body["reason"], str) and body["reason"].isupper())
    if code is not None:
        assert body["code"] == code, body
    return body


def violated_fields(answer: httpx.Response) -> list[str]:
    return [v["field"] for v in answer.json()["field_violations"]]
