"""Server interceptors shared by every service: error mapping and structured access logs.

grpc.aio interceptors see a handler, not the call, so we wrap the handler's behaviour: domain errors become
a google.rpc.Status with details, unknown exceptions are logged once and become INTERNAL with no traceback
sent to the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.common import errors
from services.common.grpc_errors import abort_with, internal_status, to_status_proto
from services.common.logs import job_id_var, trace_id_var

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]


def _job_id_of(request: Any) -> str:
    for name in ("job_id", "id"):
        value = getattr(request, name, "")
        if isinstance(value, str) and value:
            return value
    return ""


def _trace_id_of(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "traceparent" and isinstance(value, str):
            parts = value.split("-")
            if len(parts) >= 2:
                return parts[1]
    return ""


async def _handle_exception(exc: BaseException, context: Context, method: str) -> None:
    if isinstance(exc, errors.SkillBridgeError):
        log.info("rpc %s failed: %s %s", method, exc.reason, exc.message)
        await abort_with(context, to_status_proto(exc))
    else:
        log.exception("rpc %s raised an unexpected error", method)
        await abort_with(context, internal_status())


def _wrap_unary(method: str, behavior: Callable[[Any, Context], Awaitable[Any]] | Any) -> Any:
    async def wrapped(request: Any, context: Context) -> Any:
        job_token = job_id_var.set(_job_id_of(request))
        trace_token = trace_id_var.set(_trace_id_of(context))
        started = time.perf_counter()
        try:
            return await behavior(request, context)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception as exc:
            await _handle_exception(exc, context, method)
        finally:
            log.debug("rpc %s took %.2f ms", method, (time.perf_counter() - started) * 1000)
            job_id_var.reset(job_token)
            trace_id_var.reset(trace_token)

    return wrapped


def _wrap_stream(method: str, behavior: Callable[[Any, Context], AsyncIterator[Any]] | Any) -> Any:
    async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
        job_token = job_id_var.set(_job_id_of(request))
        trace_token = trace_id_var.set(_trace_id_of(context))
        try:
            async for item in behavior(request, context):
                yield item
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception as exc:
            await _handle_exception(exc, context, method)
        finally:
            job_id_var.reset(job_token)
            trace_id_var.reset(trace_token)

    return wrapped


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Maps domain errors to rich gRPC statuses and sets the logging context for each call."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
