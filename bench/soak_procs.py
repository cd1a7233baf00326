"""The soak's own processes, each started in its own process group and stopped by its PID.

A PostgreSQL cluster (``initdb`` in the run's temporary directory, run as the
``postgres`` OS user on a spare port, 127.0.0.1 and a private socket directory), a
Redis on a spare port, gunicorn (2 workers, ``config/gunicorn.py``) and the task
worker (``manage.py db_worker``, supervised: restarted when it exits, as systemd or
a container runtime would). Nothing here touches 5432, 6379 or a shared database.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the venv's (bench/soak runs it)
LOOPBACK = "127.0.0.1"
SHARED_PORTS = {5432, 6379}
PG_BIN = Path(shutil.which("postgres") or "/usr/local/bin/postgres").resolve().parent


class SetupError(RuntimeError):
    """The soak could not bring up what it needs: reported as such, exit 2."""


def free_port(taken: set[int]) -> int:
    """A port nobody listens on now, never 5432 or 6379, not one handed out already.

    Below the kernel's ephemeral range: no other program's outgoing connection takes
    it between this check and the server's bind.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(15000, max(15001, low))
        if port in SHARED_PORTS or port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise SetupError("no free port on 127.0.0.1")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Children:
    """Every process the soak started, by PID; ``stop_all`` ends them (and their groups)."""

    started: list[Child] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        log: Path | None,
        cwd: Path = ROOT,
        user: str | None = None,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = None,
    ) -> Child:
        out: IO[bytes] | int
        out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115  # the child keeps it
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=stdin,
                stdout=stdout if stdout is not None else out,
                stderr=out,
                start_new_session=True,  # its own group: Ctrl-C reaches the soak only, and we stop it by PID
                user=user,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        child = Child(name, proc, log)
        with self._lock:
            self.started.append(child)
        return child

    @staticmethod
    def signal_group(child: Child, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, sig)  # the group's id is the leader's PID (start_new_session)

    def stop(self, child: Child, sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
        """``sig`` to the child's group, then SIGKILL to the group after ``grace`` seconds."""
        if child.alive():
            self.signal_group(child, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(grace)
        self.signal_group(child, signal.SIGKILL)  # whatever of its group is left (gunicorn workers, backends)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(5)

    def stop_all(self, how: dict[str, tuple[int, float]]) -> list[str]:
        """Stop everything, newest first; returns the names of processes still alive afterwards."""
        with self._lock:
            children = list(reversed(self.started))
        for child in children:
            sig, grace = how.get(child.name.split("#")[0], (signal.SIGTERM, 3.0))
            self.stop(child, sig, grace)
        return [f"{c.name} (pid {c.pid})" for c in children if c.alive()]


def base_env() -> dict[str, str]:
    """A clean environment for the children: no proxies (every address is 127.0.0.1 anyway)."""
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TZ")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Postgres:
    """A throwaway cluster: ``initdb -A trust -U postgres`` in ``root``, run as the postgres OS user."""

    def __init__(self, root: Path, port: int, children: Children) -> None:
        self.dir = root / "pg"
        self.data = self.dir / "data"
        self.sockets = self.dir / "sock"
        self.log = root / "postgres.log"
        self.port = port
        self.children = children
        self.child: Child | None = None
        self.starts = 0

    def init(self) -> None:
        self.dir.mkdir()
        self.sockets.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sockets, "postgres", "postgres")
        self.log.touch()
        shutil.chown(self.log, "postgres", "postgres")
        result = subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
            cwd=self.dir,
            env=base_env(),
            user="postgres",
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode:
            raise SetupError(f"initdb failed: {result.stderr.decode(errors='replace')[-2000:]}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# bench/soak\n"
                f"listen_addresses = '{LOOPBACK}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "max_connections = 100\nshared_buffers = 64MB\n"
            )

    def start(self, timeout: float = 30.0) -> float:
        """Start the server; returns when it answers queries (its time)."""
        self.starts += 1
        self.child = self.children.spawn(
            f"postgres#{self.starts}",
            [str(PG_BIN / "postgres"), "-D", str(self.data)],
            env=base_env(),
            log=self.log,
            cwd=self.dir,
            user="postgres",
        )
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> float:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child is not None and not self.child.alive():
                raise SetupError(f"postgres exited:\n{tail(self.log)}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=1) as conn:
                    conn.execute("SELECT 1")
                return time.time()
            except psycopg.Error:
                time.sleep(0.1)
        raise SetupError(f"postgres did not answer in {timeout:.0f} s:\n{tail(self.log)}")

    def stop_fast(self, timeout: float = 30.0) -> None:
        """``pg_ctl stop -m fast``: SIGINT to the postmaster, which rolls back and disconnects everyone."""
        if self.child is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.child.pid, signal.SIGINT)
        try:
            self.child.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SetupError("postgres did not stop (fast) in time") from exc

    def url(self, db: str) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{db}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), connect_timeout=5, autocommit=True) as conn:
            conn.execute(sql.encode())  # our own fixed statements


class Redis:
    def __init__(self, root: Path, port: int, children: Children) -> None:
        self.dir = root / "redis"
        self.log = root / "redis.log"
        self.port = port
        self.children = children
        self.child: Child | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.dir.mkdir()
        self.child = self.children.spawn(
            "redis",
            [
                *("redis-server", "--bind", LOOPBACK, "--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--daemonize", "no", "--dir", str(self.dir), "--protected-mode", "yes", "--loglevel", "warning"),
            ],
            env=base_env(),
            log=self.log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise SetupError(f"redis-server exited:\n{tail(self.log)}")
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise SetupError("redis-server did not answer PING")


def http_status(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """One GET to 127.0.0.1 (no proxy, no client library): status and body, or (0, b"") without an answer."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def child_pids(parent: int) -> list[int]:
    """The PIDs whose parent is ``parent`` (gunicorn's workers), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return sorted(found)


class Gunicorn:
    def __init__(self, root: Path, port: int, env: dict[str, str], children: Children) -> None:
        self.port = port
        self.env = {**env, "PORT": f"{LOOPBACK}:{port}", "WEB_CONCURRENCY": "2"}
        self.log = root / "gunicorn.log"
        self.children = children
        self.child: Child | None = None

    def start(self, timeout: float = 60.0) -> None:
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        self.child = self.children.spawn(
            "gunicorn",
            [
                gunicorn,
                "-c",
                "config/gunicorn.py",
                "config.wsgi:application",
                "-b",
                f"{LOOPBACK}:{self.port}",
                "-w",
                "2",
            ],
            env=self.env,
            log=self.log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise SetupError(f"gunicorn exited:\n{tail(self.log)}")
            if http_status(self.port, "/healthz")[0] == 200 and len(self.workers()) == 2:
                return
            time.sleep(0.1)
        raise SetupError(f"gunicorn did not answer /healthz in {timeout:.0f} s:\n{tail(self.log)}")

    def workers(self) -> list[int]:
        return child_pids(self.child.pid) if self.child is not None and self.child.alive() else []


@dataclass
class WorkerExit:
    at: float
    code: int | None
    expected: bool  # we killed it


class TaskWorker:
    """``manage.py db_worker``, restarted (after ``backoff`` seconds) whenever it exits, by us or by itself."""

    def __init__(self, root: Path, env: dict[str, str], children: Children, backoff: float = 1.0) -> None:
        self.env = env
        self.log = root / "db_worker.log"
        self.children = children
        self.backoff = backoff
        self.child: Child | None = None
        self.exits: list[WorkerExit] = []
        self.starts = 0
        self._killing = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="soak-worker-supervisor", daemon=True)
        self.on_start: Callable[[float], None] | None = None

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            self.starts += 1
            self.child = self.children.spawn(
                f"db_worker#{self.starts}",
                [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2", "-v", "0"],
                env=self.env,
                log=self.log,
            )
        if self.on_start is not None:
            self.on_start(time.time())

    def _supervise(self) -> None:
        while not self._stop.is_set():
            child = self.child
            if child is not None and child.proc.poll() is not None:
                self.exits.append(WorkerExit(time.time(), child.proc.returncode, self._killing))
                self._killing = False
                if self._stop.wait(self.backoff):
                    return
                self._spawn()
            self._stop.wait(0.05)

    def sigkill(self) -> int | None:
        """SIGKILL the running worker (mid-delivery, if the caller timed it so); returns its PID."""
        child = self.child
        if child is None or not child.alive():
            return None
        self._killing = True
        self.children.signal_group(child, signal.SIGKILL)
        return child.pid

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
