"""`python -m services.common.healthcheck ADDRESS [SERVICE]`: asks a server's grpc.health.v1.Health whether
SERVICE ("" = the server as a whole) is SERVING. Exit status 0 when it is, 1 otherwise (as container health
checks expect); the answer or the error goes to stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_TIMEOUT_SECONDS = 3.0


def check(address: str, service: str = "", timeout: float = DEFAULT_TIMEOUT_SECONDS) -> str:
    """The serving status name of `service` at `address` (SERVING, NOT_SERVING, ...), or the gRPC error code."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m services.common.healthcheck", description=__doc__)
    parser.add_argument("address", help="host:port of the gRPC server")
    parser.add_argument("service", nargs="?", default="", help="the service name to ask about (default: server)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds (default 3)")
    args = parser.parse_args(argv)
    status = check(args.address, args.service, args.timeout)
    sys.stderr.write(f"{args.address} {args.service or '(server)'}: {status}\n")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
