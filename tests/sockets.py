"""Raw HTTP over loopback sockets for the proxy tests (``tests/`` is on sys.path)."""

from __future__ import annotations

import socket

TIMEOUT = 5.0


def send_raw(port: int, data: bytes, wait: float = TIMEOUT) -> bytes:
    """Send bytes as they are; everything the server answers until it closes (or ``wait``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer[9:12])
