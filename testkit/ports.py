"""Ports on 127.0.0.1 for servers the tests and benchmarks start."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (for a process that binds it itself, a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 at ``port`` (0: one the OS chooses), to hand to uvicorn.

    SO_REUSEADDR lets a server be started again on the port it just left."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
