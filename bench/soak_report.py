"""The soak's audit: from the driver's records, the faults' log, the database and the receiver, the verdict.

Definitions (the final line's counts):
- **5xx**: answers ≥ 500, except 503s of requests that overlap a PostgreSQL outage
  window (from the stop to 5 s after the restarted server answers: SPEC §10's recovery).
- **lost**: a contact acknowledged with a 201 (first answer or replay) absent from the database.
- **duplicated**: a logical write (one Idempotency-Key) that ran twice: two contact ids
  among its 2xx answers, two 201s without ``Idempotent-Replayed``, a 409 ``conflict``
  (its own unique email already taken: by itself), or two rows named after its key.
- **accepted-after-revoke**: a 2xx with a revoked key on a request started more than
  2 s after the revoke committed.
- **webhook events missing**: a contact (acknowledged, or present in the database) whose
  ``contact.created`` the receiver never answered.
Latency percentiles leave out every request that overlaps a fault window.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.soak_receiver import Received, signature_ok

REVOKE_GRACE = 2.0  # seconds after the commit during which a 2xx with the key is tolerated
CLASSES = [
    "api.read",
    "api.write",
    "api.replay",
    "api.hooks",
    "api.burst",
    "api.victim",
    "widget.session",
    "widget.chat",
    "widget.burst",
]


@dataclass
class Fault:
    name: str
    start: float
    end: float  # the fault itself is over
    window_end: float  # requests overlapping [start, window_end] are "in the fault window"
    observed: list[str] = field(default_factory=list)
    injected: bool = True  # as specified (False: say why in observed)
    details: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def overlaps(record: dict[str, Any], windows: list[tuple[float, float]]) -> bool:
    return any(record["t0"] <= end and record["t1"] >= start for start, end in windows)


@dataclass
class Verdict:
    requests: int = 0
    errors_5xx: int = 0
    lost: int = 0
    duplicated: int = 0
    accepted_after_revoke: int = 0
    webhooks_missing: int = 0
    other_failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def final_line(self) -> str:
        return (
            f"soak: {self.requests} requests, {self.errors_5xx} 5xx, {self.lost} lost, {self.duplicated} duplicated, "
            f"{self.accepted_after_revoke} accepted-after-revoke, {self.webhooks_missing} webhook events missing"
        )

    @property
    def ok(self) -> bool:
        counts = (self.errors_5xx, self.lost, self.duplicated, self.accepted_after_revoke, self.webhooks_missing)
        return not any(counts) and not self.other_failures


def _s(value: float) -> str:
    return "never" if math.isnan(value) else f"{value:+.2f}s"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return out


def judge(
    *,
    records: list[dict[str, Any]],
    faults: list[Fault],
    database: dict[str, Any],
    received: list[Received],
    hook_secret: str,
    t0: float,
) -> Verdict:
    verdict = Verdict(requests=len(records))
    pg_windows = [(f.start, f.window_end) for f in faults if f.name == "postgres restart"]
    all_windows = [(f.start, f.window_end) for f in faults]

    # --- Per endpoint class.
    rows = []
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_class[record["cls"]].append(record)
    for cls in [*CLASSES, *sorted(set(by_class) - set(CLASSES))]:
        group = by_class.get(cls, [])
        if not group:
            continue
        statuses = Counter(r["s"] for r in group)
        ok = sum(n for s, n in statuses.items() if s is not None and 200 <= s < 300)
        c4 = sum(n for s, n in statuses.items() if s is not None and 400 <= s < 500 and s != 429)
        c5 = sum(n for s, n in statuses.items() if s is not None and s >= 500 and s != 503)
        quiet = [r["t1"] - r["t0"] for r in group if r["s"] is not None and not overlaps(r, all_windows)]
        rows.append(
            [
                cls,
                str(len(group)),
                str(ok),
                str(c4),
                str(statuses.get(429, 0)),
                str(statuses.get(503, 0)),
                str(c5),
                str(statuses.get(None, 0)),
                str(len(quiet)),
                _ms(percentile(quiet, 50)),
                _ms(percentile(quiet, 95)),
                _ms(percentile(quiet, 99)),
            ]
        )
    header = ["class", "requests", "2xx", "4xx", "429", "503", "5xx-other", "no-answer", "quiet", "p50ms"]
    header += ["p95ms", "p99ms"]
    verdict.lines += _table(rows, header)
    verdict.lines.append(
        "  (4xx excludes 429; 'quiet' = answered requests outside every fault window, the latency sample)"
    )
    codes: Counter[str] = Counter(
        f"{r['cls']} {r['s']} {r['code'] or '-'}" for r in records if r["s"] is not None and 400 <= r["s"] < 500
    )
    verdict.lines.append(
        "  4xx/429 by class and code: " + ", ".join(f"{what} x{n}" for what, n in sorted(codes.items()))
    )

    # --- 5xx outside the PostgreSQL outage (and any 5xx but 503 inside it).
    bad_5xx = [
        r for r in records if r["s"] is not None and r["s"] >= 500 and not (r["s"] == 503 and overlaps(r, pg_windows))
    ]
    verdict.errors_5xx = len(bad_5xx)
    for r in bad_5xx[:5]:
        verdict.lines.append(f"  5xx: {r['s']} {r['m']} {r['p']} at +{r['t0'] - t0:.2f}s ({r['code'] or 'no code'})")
    unanswered = [r for r in records if r["s"] is None and not overlaps(r, all_windows)]
    if unanswered:
        verdict.other_failures.append(f"{len(unanswered)} requests without an answer outside every fault window")
        for r in unanswered[:5]:
            verdict.lines.append(f"  no answer: {r['m']} {r['p']} at +{r['t0'] - t0:.2f}s: {r['e']}")
    no_retry_after = [r for r in records if r["s"] in (429, 503) and not r.get("ra")]
    if no_retry_after:
        verdict.other_failures.append(f"{len(no_retry_after)} 429/503 answers without Retry-After")
    # A 429 where no limit should be near (only bursts go past one), and a Retry-After that is no
    # whole number of seconds, are failures: django-ratelimit fails closed (429, time_left -1) when
    # a count goes missing between its add and incr, which core/cache.py now prevents.
    stray = Counter(r["cls"] for r in records if r["s"] == 429 and not r.get("b"))
    odd = [r for r in records if r["s"] in (429, 503) and r.get("ra") and not str(r["ra"]).isdigit()]
    if stray:
        verdict.other_failures.append(
            "429s outside the bursts: " + ", ".join(f"{cls} x{n}" for cls, n in sorted(stray.items()))
        )
    if odd:
        values = ", ".join(sorted({str(r["ra"]) for r in odd}))
        verdict.other_failures.append(f"{len(odd)} Retry-After values not a whole number of seconds ({values})")

    # --- Writes: lost, duplicated, unresolved.
    db_ids = {c["id"] for c in database["contacts"]}
    names = Counter(c["name"] for c in database["contacts"])
    writes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["cls"] in ("api.write", "api.replay") and "l" in record:
            writes[record["l"]].append(record)
    acked: set[str] = set()
    duplicated: list[str] = []
    unresolved: list[str] = []
    replays: Counter[str] = Counter()
    for logical, attempts in writes.items():
        oks = [r for r in attempts if r["s"] == 201 and r.get("id")]
        ids = {r["id"] for r in oks}
        acked |= ids
        originals = [r for r in oks if not r.get("rp")]
        conflicts = [r for r in attempts if r["s"] == 409 and r["code"] == "conflict"]
        idem = attempts[0].get("i", "")
        if len(ids) > 1 or len(originals) > 1 or conflicts or names.get(idem, 0) > 1:
            duplicated.append(logical)
        if not oks:
            unresolved.append(logical)
        replays.update(
            "replayed"
            if r.get("rp")
            else "409 in_use (retried)"
            if r["code"] == "idempotency_key_in_use"
            else "201 first run (its twin replayed)"
            if r["s"] == 201
            else "no answer (retried)"
            if r["s"] is None
            else f"{r['s']} (retried)"
            if r["s"] >= 500
            else f"{r['s']} {r['code']}"
            for r in attempts
            if r["cls"] == "api.replay"
        )
    lost = sorted(acked - db_ids)
    verdict.lost, verdict.duplicated = len(lost), len(duplicated)
    read_404 = {r["missing_read"] for r in records if r.get("missing_read")}
    if read_404:
        verdict.other_failures.append(f"{len(read_404)} acknowledged contacts read back as 404")
    unresolved_present = sum(1 for logical in unresolved if names.get(writes[logical][0].get("i", ""), 0))
    verdict.lines.append("")
    verdict.lines.append(
        f"writes: {len(writes)} logical contact writes, {len(acked)} acknowledged (201), {len(db_ids)} contacts "
        f"in the database; deliberate resends (same key and body): "
        + (", ".join(f"{n} {what}" for what, n in replays.most_common()) or "none")
    )
    verdict.lines.append(
        f"  unresolved (never acknowledged before the driver's deadline): {len(unresolved)}, of which "
        f"{unresolved_present} committed anyway; unanswered idempotency claims left: {database['claims_unanswered']}"
    )
    for logical in (lost + duplicated)[:5]:
        verdict.lines.append(f"  lost/duplicated: {logical}")

    # --- Revoked keys.
    for fault in faults:
        if "victim" not in fault.details:
            continue
        index, committed = fault.details["victim"], fault.details["committed"]
        mine = [r for r in records if r["k"] == f"victim{index}"]
        late = [r for r in mine if r["s"] is not None and 200 <= r["s"] < 300 and r["t0"] > committed + REVOKE_GRACE]
        verdict.accepted_after_revoke += len(late)
        last_ok = max((r["t0"] for r in mine if r["s"] is not None and 200 <= r["s"] < 300), default=math.nan)
        refused = [r["t0"] for r in mine if r["s"] == 401 and r["code"] == "api_key_revoked" and r["t0"] >= committed]
        first_refused = min(refused, default=math.nan)
        fault.observed.append(
            f"key #{index}: last 2xx with it started {_s(last_ok - committed)} from the commit, first 401 "
            f"api_key_revoked {_s(first_refused - committed)}; {len(refused)} refused after, {len(late)} "
            f"accepted more than {REVOKE_GRACE:.0f}s after"
        )

    # --- Webhooks.
    main_hook = [item for item in received if item.path == "/hook"]
    answered = [item for item in main_hook if item.answered]
    bad_signature = [item for item in main_hook if not signature_ok(hook_secret, item)]
    ids_per_contact: dict[str, set[str]] = defaultdict(set)
    for item in answered:
        ids_per_contact[str(item.data().get("data", {}).get("id"))].add(item.webhook_id)
    delivered = set(ids_per_contact)
    expected = acked | db_ids
    missing = sorted(expected - delivered)
    verdict.webhooks_missing = len(missing)
    two_ids = [c for c, ids in ids_per_contact.items() if len(ids) > 1]
    redelivered = len(answered) - len({item.webhook_id for item in answered})
    verdict.lines.append(
        f"webhooks: {len(expected)} contacts expected, {len(delivered)} delivered and answered; "
        f"{len(main_hook)} deliveries received ({redelivered} repeated webhook-ids, at least once), "
        f"{len(bad_signature)} bad signatures, {len(two_ids)} contacts with two event ids"
    )
    if bad_signature:
        verdict.other_failures.append(f"{len(bad_signature)} webhook deliveries with a bad signature")
    if two_ids:
        verdict.other_failures.append(f"{len(two_ids)} contacts announced by two different events")
    for contact in missing[:5]:
        verdict.lines.append(f"  missing: {contact}: deliveries {database['deliveries'].get(contact, 'none')}")

    # --- Rate limits held: each burst that ran while Redis was up met 429s (while it is cut off,
    # limits are counted per process, SPEC §10, and a burst may pass: not judged).
    redis_windows = [(f.start, f.window_end) for f in faults if f.name.startswith("Redis")]
    bursts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("b"):
            bursts[record["b"]].append(record)
    judged = {tag: group for tag, group in bursts.items() if not any(overlaps(r, redis_windows) for r in group)}
    limited = [tag for tag, group in judged.items() if any(r["s"] == 429 for r in group)]
    verdict.lines.append(
        f"bursts: {len(bursts)}, {len(judged)} of them while Redis was up, {len(limited)} of those met 429s "
        f"({sum(r['s'] == 429 for g in bursts.values() for r in g)} 429s in all)"
    )
    for tag in sorted(set(judged) - set(limited)):
        verdict.other_failures.append(f"burst {tag}: no 429 (the rate limit did not hold)")

    # --- The request log (apikeys.usage): every keyed answer stored once, whatever the faults.
    # A SIGKILLed gunicorn worker takes its unsent buffer with it (at most one hand-off
    # interval, 0.5 s): answers within a second before such a kill may be missing. A 503 may
    # or may not be logged (the database went away before or after the key was identified).
    kills = [f.start for f in faults if f.name == "gunicorn worker SIGKILL"]
    stored = Counter(database.get("request_log", []))
    keyed = [rec for rec in records if rec.get("rid") and rec["s"] is not None and rec["s"] != 503]
    unlogged = [rec for rec in keyed if rec["rid"] not in stored]
    excused = [rec for rec in unlogged if any(kill - 1.0 <= rec["t1"] <= kill + 0.1 for kill in kills)]
    twice = sum(n - 1 for n in stored.values() if n > 1)
    verdict.lines.append(
        f"request log: {len(keyed)} keyed answers, {len(keyed) - len(unlogged)} of them stored, "
        f"{len(unlogged)} missing ({len(excused)} answered in the second before a worker was SIGKILLed), "
        f"{twice} stored twice; {sum(stored.values())} rows in all"
    )
    if len(unlogged) > len(excused):
        verdict.other_failures.append(f"request log: {len(unlogged) - len(excused)} keyed answers never stored")
        for rec in [m for m in unlogged if m not in excused][:5]:
            verdict.lines.append(f"  not stored: {rec['m']} {rec['p']} {rec['s']} at +{rec['t1'] - t0:.2f}s")
    if twice:
        verdict.other_failures.append(f"request log: {twice} entries stored twice")

    # --- Faults.
    verdict.lines.append("")
    verdict.lines.append(
        "faults (at: seconds into the load; window: from the fault to the end of its recovery allowance)"
    )
    for i, fault in enumerate(faults, 1):
        verdict.lines.append(
            f"{i:>2}. {fault.name}: at +{fault.start - t0:.1f}s, lasted {fault.end - fault.start:.1f}s, "
            f"window {fault.window_end - fault.start:.1f}s"
        )
        verdict.lines += [f"      {line}" for line in fault.observed]
        if not fault.injected:
            verdict.other_failures.append(f"fault {i} ({fault.name}) was not injected as specified")
    if verdict.other_failures:
        verdict.lines.append("")
        verdict.lines += [f"FAILED: {failure}" for failure in verdict.other_failures]
    return verdict
