"""A TCP proxy the tests put between a server process and PostgreSQL or Redis, to cut it off for real.

``refuse()`` drops every connection and closes the port (new connections are
refused); ``blackhole()`` drops the connections it holds and then accepts new ones
but forwards nothing, in either direction, throwing away what is sent (a partition:
nothing queued reaches the other side later, and a new connection hangs until the
client's own timeout); ``restore()`` forwards again. An established connection
caught in a real partition is cut by TCP itself (unacknowledged data, keepalives):
on loopback the kernel acknowledges everything, so the proxy cuts it instead. Only
loopback, only the test's own port.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    port: int = 0
    mode: str = "open"
    _listener: socket.socket | None = None
    _pairs: list[tuple[socket.socket, socket.socket]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False

    def start(self) -> FaultProxy:
        self._listen()
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse() or stop()
            if self.mode == "refuse":
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))

    def _pump(self) -> None:
        while not self._stopped:
            with self._lock:
                pairs = list(self._pairs)
            sockets = [s for pair in pairs for s in pair]
            if not sockets:
                threading.Event().wait(0.01)
                continue
            readable, _, _ = select.select(sockets, [], [], 0.05)
            for sock in readable:
                pair = next(p for p in pairs if sock in p)
                other = pair[1] if sock is pair[0] else pair[0]
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._drop(pair)
                elif self.mode == "open":
                    with contextlib.suppress(OSError):
                        other.sendall(data)
                # blackhole: read and thrown away

    def _drop(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.close()

    def _drop_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._drop(pair)

    def refuse(self) -> None:
        self.mode = "refuse"
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._drop_all()

    def blackhole(self) -> None:
        self.mode = "blackhole"
        self._drop_all()

    def restore(self) -> None:
        if self.mode == "blackhole":
            self._drop_all()  # what was held is gone, as after a real partition
        self.mode = "open"
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self._stopped = True
        if self._listener is not None:
            self._listener.close()
        self._drop_all()
