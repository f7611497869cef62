"""Free loopback ports, picked at run time.

Other programs on the test machines hold common ports (5060, 5061, 4444...), so every lab server
asks the kernel for a free port instead of using a fixed one. Asking is racy (the port is free when
we release it, someone may take it before the server binds it): callers retry a start on bind
failure with fresh ports, which is why these helpers are cheap and stateless.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def _bound_port(kind: socket.SocketKind, port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return sock


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that is free right now for `kind` (SOCK_STREAM or SOCK_DGRAM)."""
    with _bound_port(kind) as sock:
        port: int = sock.getsockname()[1]
        return port


def free_udp_tcp_port(attempts: int = 50) -> int:
    """A port free for both UDP and TCP, so a SIP listener can use one number for both like 5060.

    The kernel picks a TCP port; we keep it only if the same UDP port is free as well.
    """
    for _ in range(attempts):
        with _bound_port(socket.SOCK_STREAM) as tcp:
            port: int = tcp.getsockname()[1]
            try:
                udp = _bound_port(socket.SOCK_DGRAM, port)
            except OSError:
                continue
            udp.close()
            return port
    raise OSError("no port free for both UDP and TCP on 127.0.0.1")
