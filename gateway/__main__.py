"""python -m gateway: serve the REST gateway and web page on settings.gateway_port."""

from __future__ import annotations

from gateway.server import main

if __name__ == "__main__":
    main()
