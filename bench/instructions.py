"""Instructions a warm key check adds to a request: counted by valgrind's callgrind, C included. Prints figures.

``bench/opcodes.py`` counts the Python bytecodes a keyed request adds; a bytecode that
calls into C (a hash, a dict lookup, a float's repr, the JSON encoder) counts once
however much it does. This counts the CPU instructions instead: Django's WSGI handler is
called in-process (the production middleware chain, ``bench.settings``), under
``valgrind --tool=callgrind``, once for ``/bench/baseline`` and once for
``GET /api/v1/me`` with a held key, in a process each, the main thread's instructions
(the request's own: the background threads run on timers, so their count follows the
wall time valgrind takes; ``bench/request_log_cost.py`` measures the request log's
hand-off thread). A marker call (``os.getppid``) before and after the measured requests
makes callgrind dump its counts there, so start-up and warm-up are left out.

    .venv/bin/python bench/instructions.py [--requests 1000]

Needs ``valgrind`` (Debian: ``apt-get install valgrind``), PostgreSQL and Redis on
127.0.0.1 (it creates and drops the database ``parley_instructions`` and uses Redis db 9).
Takes about three minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "parley_instructions"
REDIS_DB = "9"
WARM_UP = 300
KEY_VARIABLE = "PARLEY_INSTRUCTIONS_KEY"  # the measured processes' key, handed over in their environment


def configure() -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("API_RATE_LIMIT", "100000000/h")  # rate limiting on, never reached
    # No task worker runs here, and this process must not store the log itself (bench/profile_keys.py).
    os.environ.setdefault("API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS", "86400")


def measured(kind: str, requests: int, plain: str) -> None:
    """In the process under valgrind: warm up on both endpoints, then ``requests`` of ``kind`` between markers."""
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from bench.profile_keys import call

    app = get_wsgi_application()
    keyed = {"Authorization": f"Bearer {plain}"}
    for _ in range(WARM_UP):
        call(app, "/api/v1/me", keyed)
        call(app, "/bench/baseline", {})
    path, headers = ("/api/v1/me", keyed) if kind == "keyed" else ("/bench/baseline", {})
    os.getppid()  # the marker: callgrind dumps what came before
    for _ in range(requests):
        status = call(app, path, headers)
    os.getppid()
    assert status.startswith("200"), status


def start(kind: str, requests: int, plain: str, out: Path) -> subprocess.Popen[bytes]:
    """The process that runs ``requests`` requests of ``kind`` under callgrind (both kinds run at once)."""
    return subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=os_getppid*",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}/{kind}",
            sys.executable,
            __file__,
            "--inner",
            kind,
            "--requests",
            str(requests),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0", KEY_VARIABLE: plain},  # a key never goes on a command line
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measured_instructions(kind: str, out: Path) -> int:
    """The main thread's instructions between the two markers: its part of callgrind's second dump."""
    parts = {}
    for path in out.glob(f"{kind}.*-01"):  # <kind>.<dump>-<thread>: thread 1 is the main thread
        match = re.search(r"^(?:summary|totals): (\d+)", path.read_text(), re.MULTILINE)
        parts[int(path.name.split(".")[-1].split("-")[0])] = int(match.group(1)) if match else 0
    if 2 not in parts:
        raise SystemExit(f"callgrind wrote no second dump for {kind} (dumps: {sorted(parts)})")
    return parts[2]  # 1: start-up and warm-up, 2: the measured requests, 3: the end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--inner", choices=["base", "keyed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure()
    if args.inner:
        measured(args.inner, args.requests, os.environ[KEY_VARIABLE])
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")

    def psql(sql: str) -> None:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)

    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    psql(f"CREATE DATABASE {DATABASE}")
    subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    try:
        import django

        django.setup()
        from django.db import connections

        from tests import factories

        _key, plain = factories.make_key(factories.make_workspace(name="Bench"))
        connections.close_all()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            for process in [start(kind, args.requests, plain, out) for kind in ("base", "keyed")]:
                if process.wait():
                    raise SystemExit("a measured process failed: run it without valgrind to see why")
            base = measured_instructions("base", out) / args.requests
            keyed = measured_instructions("keyed", out) / args.requests
    finally:
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    print(f"CPU instructions per request (callgrind, the main thread, {args.requests} warm requests each):")
    print(f"  /bench/baseline  {base:12,.0f}")
    print(f"  /api/v1/me       {keyed:12,.0f}")
    print(f"  key check adds   {keyed - base:12,.0f}  ({(keyed - base) / base:+.1%} of the baseline)")


if __name__ == "__main__":
    main()
