"""A fault-injecting TCP proxy on 127.0.0.1 in front of a real endpoint (tests only).

    proxy = FaultProxy(target_port); proxy.start()
    proxy.mode = "pass"   # forward bytes both ways
    proxy.mode = "5xx"    # answer every request with 503 Service Unavailable, forward nothing
    proxy.mode = "drop"   # accept, then reset the connection without a byte
    proxy.stop()

It speaks no HTTP beyond writing that one 503 response; everything else is bytes.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

BODY_503 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
    b"<Message>injected</Message></Error>\n"
)
RESPONSE_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
    + f"Content-Length: {len(BODY_503)}\r\nConnection: close\r\n\r\n".encode()
    + BODY_503
)


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.mode = "pass"
        self.connections = 0
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._stopped = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._server.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        mode = self.mode
        with contextlib.closing(client):
            if mode == "drop":  # RST: the client sees "connection reset by peer"
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if mode == "5xx":
                with contextlib.suppress(OSError):
                    client.settimeout(5)
                    client.recv(65536)  # the request head (enough for rclone to wait on us)
                    client.sendall(RESPONSE_503)
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                return
            with contextlib.closing(upstream):
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(30)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
