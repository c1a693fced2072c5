"""Secure by default: a process that other machines can reach must not serve anyone who asks.

Without API keys every caller is the development owner, an admin; with anonymous access allowed, every caller
without a key acts as the development owner. Both are right for a laptop and wrong for a network. So the
scheduler, the gateway and `skillbridge up` refuse to start on an address other than loopback in either mode,
unless SKILLBRIDGE_INSECURE_NO_AUTH is set, and say in one line how to configure keys.
"""

from __future__ import annotations

import ipaddress
import socket

from services.common.process_settings import AuthSettings

KEYS_HINT = "set SKILLBRIDGE_API_KEYS=key=owner[:standard|vip|admin],... (or SKILLBRIDGE_INSECURE_NO_AUTH=1 to serve "
KEYS_HINT += "without authentication on purpose)"


class InsecureBind(Exception):
    """The process would serve unauthenticated callers on a reachable address; the message says what to do."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) reaches this machine only. Names count as loopback only when
    every address they resolve to is a loopback address; an empty host or a wildcard is every interface."""
    name = host.strip().strip("[]")
    if not name:
        return False
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return False
    return bool(resolved) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in resolved)


def open_access(settings: AuthSettings) -> str | None:
    """Why a caller without a valid key would be served (None when keys are required)."""
    if not settings.api_keys.strip():
        return "without API keys (every caller would be an admin)"
    if settings.allow_anonymous:
        return "with anonymous access allowed (callers without a key act as the development owner)"
    return None


def check_exposure(settings: AuthSettings, host: str, port: int, process: str) -> None:
    """Raises InsecureBind when `process` would serve unauthenticated callers on host:port, reachable from
    other machines, without SKILLBRIDGE_INSECURE_NO_AUTH."""
    why = open_access(settings)
    if why is None or settings.insecure_no_auth or is_loopback(host):
        return
    raise InsecureBind(f"{process}: refusing to serve on {host}:{port} {why}: {KEYS_HINT}")


def exit_if_exposed(settings: AuthSettings, host: str, port: int, process: str) -> None:
    """check_exposure for a process entry point: exits with the one-line reason (status 1, no traceback)."""
    try:
        check_exposure(settings, host, port, process)
    except InsecureBind as exc:
        raise SystemExit(f"error: {exc}") from None
