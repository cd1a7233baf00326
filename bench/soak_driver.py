"""The soak's load, a process of its own: virtual users on asyncio + httpx, bounded in count and in time.

    python -m bench.soak_driver CONFIG.json

Mixed traffic to 127.0.0.1 only: key-authenticated reads; contact writes with an
``Idempotency-Key`` each (some resent on purpose with the same key and body, some
twice at once; every 503, 5xx or unanswered write retried with the same key and
backoff; ``idempotency_key_in_use`` retried later); webhook subscriptions made and
deleted; widget sessions and chats; bursts that must meet 429s (a key with a low
limit, one visitor token talking too fast); and one key per fault cycle used all
along (the one the soak revokes while Redis is cut off). It first subscribes the
receiver to ``contact.created``, prints ``READY <time>``, runs for ``seconds``, lets
unresolved writes retry for ``grace`` more seconds, and writes one JSON line per
request to ``records``. Never more than ``max_requests`` requests, never past the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = "127.0.0.1"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # gunicorn gives up on a request after 30 s


class OutOfBudget(Exception):
    """The request cap or the deadline is reached: the virtual user stops."""


@dataclass
class Answer:
    status: int | None  # None: no answer (refused, reset, timed out)
    body: Any = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    record: dict[str, Any] = field(default_factory=dict)  # what was recorded of it

    @property
    def code(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code", ""))
        return ""


@dataclass
class Load:
    config: dict[str, Any]
    client: httpx.AsyncClient
    records: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # acknowledged contact ids, for the reads
    rng: random.Random = field(default_factory=random.Random)
    sent: int = 0
    started: float = 0.0
    load_end: float = 0.0
    hard_end: float = 0.0
    run: str = ""

    @property
    def keys(self) -> dict[str, Any]:
        return dict(self.config["keys"])

    def loading(self) -> bool:
        return time.time() < self.load_end

    async def call(
        self,
        cls: str,
        method: str,
        path: str,
        *,
        key: str | None = None,
        token: str | None = None,
        body: Any = None,
        idem: str | None = None,
        logical: str | None = None,
        route: str | None = None,
        origin: bool = False,
        tag: str | None = None,
    ) -> Answer:
        """One request, recorded; ``OutOfBudget`` once the cap or the deadline is reached."""
        if self.sent >= self.config["max_requests"] or time.time() >= self.hard_end:
            raise OutOfBudget
        self.sent += 1
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys_plain[key]}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if idem is not None:
            headers["Idempotency-Key"] = idem
        if origin:
            headers["Origin"] = self.config["origin"]
        started = time.time()
        answer = Answer(None)
        error = ""
        try:
            response = await self.client.request(method, path, headers=headers, json=body)
            answer = Answer(response.status_code, None, response.headers)
            if response.headers.get("content-type", "").startswith("application/json") and response.content:
                try:
                    answer.body = response.json()
                except ValueError:
                    error = "bad json"
        except httpx.TimeoutException as exc:
            error = f"timeout ({type(exc).__name__})"
        except httpx.TransportError as exc:
            error = type(exc).__name__
        ended = time.time()
        record: dict[str, Any] = {
            "t0": started,
            "t1": ended,
            "cls": cls,
            "m": method,
            "p": route or path,
            "s": answer.status,
            "e": error,
            "k": key,
            "code": answer.code,
        }
        if idem is not None:
            record["i"] = idem
        if logical is not None:
            record["l"] = logical
        if tag is not None:
            record["b"] = tag
        if answer.status is not None:
            if key is not None:  # the server's request id: how the audit finds it in the request log
                record["rid"] = answer.headers.get("X-Request-Id")
            if answer.status in (429, 503):
                record["ra"] = answer.headers.get("Retry-After")
            if answer.headers.get("Idempotent-Replayed") == "true":
                record["rp"] = True
            if isinstance(answer.body, dict) and isinstance(answer.body.get("id"), str):
                record["id"] = answer.body["id"]
        self.records.append(record)
        answer.record = record
        return answer

    @property
    def keys_plain(self) -> dict[str, str]:
        plain = {name: value["plain"] for name, value in self.keys.items() if name != "victims"}
        for i, victim in enumerate(self.keys["victims"]):
            plain[f"victim{i}"] = victim["plain"]
        return plain

    async def pause(self, low: float, high: float) -> None:
        await asyncio.sleep(self.rng.uniform(low, high))

    async def think(self, answer: Answer, low: float, high: float) -> None:
        """The pause before a user's next request; longer after a 503 or no answer (backing off)."""
        if answer.status is None or answer.status >= 500:
            await self.pause(max(low, 0.5), max(high, 1.0))
        else:
            await self.pause(low, high)

    # --- Key-authenticated reads.
    async def reader(self) -> None:
        while self.loading():
            roll = self.rng.random()
            if roll < 0.3:
                answer = await self.call("api.read", "GET", "/api/v1/me", key="reader")
            elif roll < 0.6:
                answer = await self.call(
                    "api.read", "GET", "/api/v1/contacts?limit=10", key="reader", route="/api/v1/contacts"
                )
            elif roll < 0.9 and self.created:
                contact = self.rng.choice(self.created)
                answer = await self.call(
                    "api.read", "GET", f"/api/v1/contacts/{contact}", key="reader", route="/api/v1/contacts/{id}"
                )
                if answer.status == 404:
                    answer.record["missing_read"] = contact  # acknowledged, then not found
            else:
                answer = await self.call("api.read", "GET", "/api/v1/hooks", key="events")
            await self.think(answer, 0.3, 0.6)

    # --- Contact writes, each an Idempotency-Key.
    async def writer(self, vu: int) -> None:
        outstanding: set[asyncio.Task[None]] = set()
        limit = asyncio.Semaphore(4)
        n = 0
        while self.loading():
            n += 1
            await limit.acquire()
            task = asyncio.create_task(self.write_contact(f"w{vu}-{n}", limit))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
            await self.pause(0.35, 0.65)
        if outstanding:
            await asyncio.gather(*outstanding, return_exceptions=True)

    async def write_contact(self, logical: str, limit: asyncio.Semaphore) -> None:
        """One logical write: a new contact under its own Idempotency-Key, however many requests it takes."""
        idem = f"soak-{self.run}-{logical}"
        body = {"email": f"{logical}-{self.run}@soak.example.com", "name": idem}
        twin = None
        try:
            if self.rng.random() < 0.05:  # the same request twice at once: one runs, the other waits or replays
                twin = asyncio.create_task(self.send_until_answered("api.replay", body, idem, logical))
            answer = await self.send_until_answered("api.write", body, idem, logical)
            if answer is not None and answer.status == 201 and self.rng.random() < 0.2:
                await self.pause(0.0, 0.3)
                await self.send_until_answered("api.replay", body, idem, logical)  # a deliberate retry
        except OutOfBudget:
            pass
        finally:
            if twin is not None:
                with contextlib.suppress(OutOfBudget):
                    await twin
            limit.release()

    async def send_until_answered(self, cls: str, body: dict[str, str], idem: str, logical: str) -> Answer | None:
        """POST until a final answer: 503/5xx/no answer → backoff; ``idempotency_key_in_use`` → later."""
        deadline = min(self.hard_end, time.time() + 75)
        delay = 0.2
        while time.time() < deadline:
            answer = await self.call(
                cls, "POST", "/api/v1/contacts", key="writer", body=body, idem=idem, logical=logical
            )
            if answer.status == 201:
                contact = answer.body.get("id") if isinstance(answer.body, dict) else None
                if isinstance(contact, str) and contact not in self.created:
                    self.created.append(contact)
                return answer
            if answer.status == 409 and answer.code == "idempotency_key_in_use":
                await asyncio.sleep(min(1.0 + delay, 3.0))
            elif answer.status is None or answer.status >= 500:
                await asyncio.sleep(delay)
            elif answer.status == 429:
                await asyncio.sleep(float(answer.headers.get("Retry-After") or 1))
            else:
                return answer  # final: 4xx (a 409 conflict here means the write ran twice)
            delay = min(delay * 2, 2.0)
        return None

    # --- Webhook subscriptions: made, listed, deleted.
    async def hooks(self) -> None:
        n = 0
        while self.loading():
            await self.pause(3.0, 6.0)
            n += 1
            idem = f"soak-{self.run}-hook-{n}"
            body = {"target_url": self.config["receiver"] + "/churn", "event": "ticket.created"}
            made = None
            for _ in range(20):
                answer = await self.call("api.hooks", "POST", "/api/v1/hooks", key="events", body=body, idem=idem)
                if answer.status == 201:
                    made = answer.body["id"]
                    break
                if answer.status is not None and answer.status < 500 and answer.code != "idempotency_key_in_use":
                    break
                await asyncio.sleep(0.5)
            await self.call("api.hooks", "GET", "/api/v1/hooks", key="events")
            if made is None:
                continue
            for _ in range(20):
                answer = await self.call(
                    "api.hooks", "DELETE", f"/api/v1/hooks/{made}", key="events", route="/api/v1/hooks/{id}"
                )
                if answer.status in (204, 404):
                    break
                await asyncio.sleep(0.5)

    # --- The widget: sessions and chats.
    async def visitor(self) -> None:
        assistant = self.config["assistant"]
        while self.loading():
            answer = await self.call(
                "widget.session",
                "POST",
                f"/api/widget/{assistant}/session",
                body={},
                origin=True,
                route="/api/widget/{id}/session",
            )
            if answer.status != 201:
                await self.think(answer, 0.3, 0.6)
                continue
            token = answer.body["session_token"]
            for _ in range(self.rng.randint(3, 6)):
                if not self.loading():
                    break
                await self.pause(0.4, 0.8)
                answer = await self.call(
                    "widget.chat",
                    "POST",
                    f"/api/widget/{assistant}/chat",
                    token=token,
                    origin=True,
                    body={"message": self.rng.choice(self.config["questions"])},
                    route="/api/widget/{id}/chat",
                )
                if answer.status is None or answer.status >= 500:
                    await self.think(answer, 0.5, 1.0)

    # --- Bursts that must meet the rate limits, at quiet moments of each fault cycle.
    async def at_each_cycle(self, offset: float) -> AsyncIterator[int]:
        """Yields once per fault cycle, at ``offset`` seconds into it, while the load lasts."""
        cycle = 0
        while True:
            when = self.started + cycle * self.config["cycle"] + offset
            cycle += 1
            if when >= self.load_end:
                return
            await asyncio.sleep(max(0.0, when - time.time()))
            yield cycle

    async def burst(self, cls: str, n: int, method: str, path: str, **kwargs: Any) -> None:
        """``n`` requests at once (one client in a hurry)."""
        await asyncio.gather(*(self.call(cls, method, path, **kwargs) for _ in range(n)))

    async def api_bursts(self) -> None:
        async for cycle in self.at_each_cycle(self.config["bursts"]["api"]):
            # 25 at a key allowed 10 per 10 s: at least 5 refused even across a window's edge.
            await self.burst("api.burst", 25, "GET", "/api/v1/me", key="burst", tag=f"api-{cycle}")

    async def widget_bursts(self) -> None:
        assistant = self.config["assistant"]
        async for cycle in self.at_each_cycle(self.config["bursts"]["widget"]):
            answer = await self.call(
                "widget.burst",
                "POST",
                f"/api/widget/{assistant}/session",
                body={},
                origin=True,
                route="/api/widget/{id}/session",
            )
            if answer.status == 201:
                # 25 chats on one visitor token allowed 10 a minute: at least 5 refused.
                await self.burst(
                    "widget.burst",
                    25,
                    "POST",
                    f"/api/widget/{assistant}/chat",
                    token=answer.body["session_token"],
                    origin=True,
                    body={"message": "Hello?"},
                    route="/api/widget/{id}/chat",
                    tag=f"widget-{cycle}",
                )

    # --- The keys the soak revokes: used all along, before and after.
    async def victim(self, i: int) -> None:
        while self.loading():
            await self.call("api.victim", "GET", "/api/v1/me", key=f"victim{i}")
            await asyncio.sleep(0.25)

    async def subscribe(self) -> dict[str, Any]:
        """The subscription the audit counts: ``contact.created`` to the receiver, made before any write."""
        body = {"target_url": self.config["receiver"], "event": "contact.created"}
        idem = f"soak-{self.run}-main-hook"
        for _ in range(30):
            answer = await self.call("api.hooks", "POST", "/api/v1/hooks", key="events", body=body, idem=idem)
            if answer.status == 201 and isinstance(answer.body, dict):
                return answer.body
            await asyncio.sleep(0.5)
        raise SystemExit(f"could not subscribe the receiver: {answer.status} {answer.body}")


async def drive(config: dict[str, Any]) -> int:
    base = config["base"]
    if urlsplit(base).hostname != LOOPBACK or urlsplit(config["receiver"]).hostname != LOOPBACK:
        raise SystemExit("the soak sends traffic to 127.0.0.1 only")
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits, trust_env=False) as client:
        load = Load(config=config, client=client, rng=random.Random(config.get("seed", 20)), run=uuid.uuid4().hex[:8])
        load.started = time.time()
        load.load_end = load.hard_end = load.started + 60  # subscribing has a minute
        hook = await load.subscribe()
        with open(config["hook_file"], "w") as out:
            json.dump({"id": hook["id"], "secret": hook["secret"]}, out)
        load.started = time.time()
        load.load_end = load.started + config["seconds"]
        load.hard_end = load.load_end + config["grace"]
        print(f"READY {load.started}", flush=True)
        users = [
            *(load.reader() for _ in range(config["readers"])),
            *(load.writer(i) for i in range(config["writers"])),
            *(load.visitor() for _ in range(config["visitors"])),
            load.hooks(),
            load.api_bursts(),
            load.widget_bursts(),
            *(load.victim(i) for i in range(len(config["keys"]["victims"]))),
        ]

        async def bounded(user: Any) -> None:
            with contextlib.suppress(OutOfBudget):
                await user

        try:
            await asyncio.wait_for(
                asyncio.gather(*(bounded(u) for u in users)), timeout=load.hard_end - time.time() + 15
            )
        except TimeoutError:
            print("driver: deadline reached with requests in flight", file=sys.stderr)
        with open(config["records"], "w") as out:
            for record in load.records:
                out.write(json.dumps(record) + "\n")
        print(f"DONE {len(load.records)}", flush=True)
    return 0


def main() -> None:
    with open(sys.argv[1]) as config_file:
        config = json.load(config_file)
    sys.exit(asyncio.run(drive(config)))


if __name__ == "__main__":
    main()
