"""The soak's TCP relay in front of its own Redis: how "Redis cut off" is done for real.

The idea of ``tests/faults.py`` (bench does not import tests): ``refuse()`` closes the
held connections and the port (new connections are refused); ``blackhole()`` drops
the held connections and then accepts new ones but forwards nothing, in either
direction (a partition: a client waits for its own timeout); ``restore()`` forwards
again. On loopback the kernel acknowledges everything, so an established connection
would never notice a partition: the relay cuts the connections it holds instead, as
TCP would after unacknowledged data. One thread, one selector; only 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time

LOOPBACK = "127.0.0.1"


class Relay:
    def __init__(self, upstream_port: int, port: int) -> None:
        self.upstream = (LOOPBACK, upstream_port)
        self.port = port
        self.mode = "open"
        self.connections = 0  # accepted and forwarded, over the whole run
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._peer: dict[socket.socket, socket.socket] = {}
        self._commands: list[tuple[str, threading.Event]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-relay", daemon=True)

    def start(self) -> Relay:
        self._listen()
        self._thread.start()
        return self

    # Called from other threads: queued, applied by the relay's own thread, waited for.
    def _command(self, name: str) -> None:
        applied = threading.Event()
        with self._lock:
            self._commands.append((name, applied))
        if not applied.wait(5):
            raise RuntimeError(f"the relay did not apply {name!r} within 5 s")

    def refuse(self) -> None:
        self._command("refuse")

    def blackhole(self) -> None:
        self._command("blackhole")

    def restore(self) -> None:
        self._command("restore")

    def stop(self) -> None:
        self._stopped.set()
        self._done.wait(5)

    # The relay's thread.
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, self.port))
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _drop(self, sock: socket.socket) -> None:
        other = self._peer.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self._peer.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            with contextlib.suppress(OSError):
                s.close()

    def _drop_all(self) -> None:
        for sock in list(self._peer):
            self._drop(sock)

    def _apply(self, name: str) -> None:
        if name == "refuse":
            self.mode = "refuse"
            self._close_listener()
            self._drop_all()
        elif name == "blackhole":
            self.mode = "blackhole"
            self._drop_all()
        elif name == "restore":
            if self.mode == "blackhole":
                self._drop_all()  # what was held is gone, as after a real partition
            self.mode = "open"
            if self._listener is None:
                self._listen()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        if self.mode == "refuse":
            client.close()
            return
        try:
            server = socket.create_connection(self.upstream, timeout=1)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peer[client], self._peer[server] = server, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(server, selectors.EVENT_READ)
        self.connections += 1

    def _forward(self, sock: socket.socket) -> None:
        other = self._peer.get(sock)
        if other is None:
            return
        try:
            data = sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        if self.mode != "open":
            return  # blackhole: read and thrown away
        try:
            other.setblocking(True)  # loopback, small replies: a blocking send returns at once
            other.settimeout(2)
            other.sendall(data)
            other.setblocking(False)
        except OSError:
            self._drop(sock)

    def _loop(self) -> None:
        try:
            while not self._stopped.is_set():
                with self._lock:
                    commands, self._commands = self._commands, []
                for name, applied in commands:
                    self._apply(name)
                    applied.set()
                if not self._selector.get_map():
                    time.sleep(0.01)
                    continue
                for key, _ in self._selector.select(timeout=0.02):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept()
                    elif sock in self._peer:
                        self._forward(sock)
        finally:
            self._close_listener()
            self._drop_all()
            self._selector.close()
            self._done.set()
