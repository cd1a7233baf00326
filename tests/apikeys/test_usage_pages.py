"""What the key pages show of a key's usage: the 30-day chart, the request log, the networks, the sparklines.

The tables are filled with factory-made rows, as the usage batches would store them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import Actor
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 11, 10, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
LIST = reverse("apikeys:list")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def detail_url(key: ApiKey) -> str:
    return reverse("apikeys:detail", args=[key.pk])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class SvgReader(HTMLParser):
    """The bars of the usage chart and the sparklines of a page, as a browser would see their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str | None]] = []
        self.days: dict[str, dict[str, float]] = {}
        self.polylines: list[dict[str, str | None]] = []
        self._day: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "svg":
            self.svgs.append(attr)
        elif tag == "g" and attr.get("class") == "chart-day":
            self._day = attr["data-day"]
            self.days[self._day or ""] = {}
        elif tag == "rect" and self._day:
            self.days[self._day][attr["class"] or ""] = float(attr["height"] or 0)
        elif tag == "polyline":
            self.polylines.append(attr)

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self._day = None


def read_svgs(html: str) -> SvgReader:
    reader = SvgReader()
    reader.feed(html)
    return reader


def logged_paths(html: str) -> list[str]:
    """The request log's rows, as ``"METHOD path status"``, top to bottom."""
    table = html.split('class="table table-stack table-requests"', 1)
    if len(table) == 1:
        return []
    rows = re.findall(
        r'<span class="http-method">(\w+)</span> ([^<]+)</span>.*?<span class="status-code[^"]*">(\d+)</span>',
        table[1].split("</table>", 1)[0],
        re.S,
    )
    return [f"{method} {path} {status}" for method, path, status in rows]


# --- the 30-day chart


def test_the_chart_draws_each_of_the_last_30_utc_days_successes_and_errors_apart(owner, secret_key, workspace):
    key, _ = secret_key
    factories.make_daily_usage(key, TODAY, successes=200, errors=10)
    factories.make_daily_usage(key, TODAY - timedelta(days=7), successes=150)
    factories.make_daily_usage(key, TODAY - timedelta(days=29), successes=0, errors=3)  # the first day shown
    factories.make_daily_usage(key, TODAY - timedelta(days=30), successes=999)  # one day too old
    other, _ = factories.make_key(workspace)
    factories.make_daily_usage(other, TODAY, successes=5000)  # another key's traffic

    response = logged_in(owner).get(detail_url(key))

    assert response.status_code == 200
    html = response.content.decode()
    svg = read_svgs(html)
    chart = next(s for s in svg.svgs if s.get("class") == "usage-chart")
    assert chart["role"] == "img"
    assert chart["aria-labelledby"] == "usage-chart-title usage-chart-summary"
    assert '<title id="usage-chart-title">Requests per day, last 30 days (UTC), successes and errors</title>' in html
    assert list(svg.days) == [(TODAY - timedelta(days=29 - i)).isoformat() for i in range(30)]
    # The axis goes to 300 (peak 210) over a 180-unit high plot.
    assert svg.days[TODAY.isoformat()] == {"bar-ok": 120.0, "bar-error": 6.0}
    assert svg.days["2025-11-03"] == {"bar-ok": 90.0, "bar-error": 0.0}
    assert svg.days["2025-10-12"] == {"bar-ok": 0.0, "bar-error": 1.8}
    quiet = [day for day, bars in svg.days.items() if bars == {"bar-ok": 0.0, "bar-error": 0.0}]
    assert len(quiet) == 27  # days without traffic are zero bars
    summary = '<p id="usage-chart-summary" class="usage-summary">'
    summary += "363 requests in the last 30 days, 13 errors (3.6 %); busiest day 10 Nov: 210</p>"
    assert summary in html
    assert "<title>10 Nov: 210 requests, 10 errors</title>" in html
    # The same numbers as a table, for screen readers and for copying.
    table = text_of(html.split('class="usage-data"', 1)[1].split("</details>", 1)[0])
    assert "Mon 10 Nov 200 10 210" in table
    assert "Sun 12 Oct 0 3 3" in table
    assert "11 Oct" not in table
    assert "No requests in the last 30 days" not in html


def test_a_key_without_traffic_shows_an_empty_chart(owner, secret_key):
    key, _ = secret_key
    html = logged_in(owner).get(detail_url(key)).content.decode()
    svg = read_svgs(html)
    assert len(svg.days) == 30
    assert all(bars == {"bar-ok": 0.0, "bar-error": 0.0} for bars in svg.days.values())
    assert '<text class="chart-empty"' in html
    assert '<p id="usage-chart-summary" class="usage-summary">No requests in the last 30 days</p>' in html
    assert "Successes" not in html  # no legend for nothing
    assert "No requests recorded yet." in html  # the log and the networks say so too


def test_the_chart_needs_no_inline_style_or_script(owner, secret_key):
    """The CSP forbids inline styles and scripts: the chart is attributes and classes only."""
    key, _ = secret_key
    factories.make_daily_usage(key, TODAY, successes=3, errors=1)
    response = logged_in(owner).get(detail_url(key))
    html = response.content.decode()
    assert "style-src 'self'" in response["Content-Security-Policy"]
    assert " style=" not in html
    assert "<style" not in html
    assert "<script>" not in html


# --- the request log


def test_the_log_shows_the_newest_requests_with_what_failed(owner, secret_key):
    key, _ = secret_key
    factories.make_request_log(
        key,
        created_at=NOW - timedelta(minutes=5),
        method="POST",
        path="/api/v1/contacts",
        status=201,
        ip="198.51.100.24",
        duration_ms=41.6,
    )
    factories.make_request_log(
        key,
        created_at=NOW - timedelta(minutes=1),
        path="/api/v1/contacts/ct_missing",
        status=404,
        error_code="not_found",
        ip="2001:db8::1",
        duration_ms=3.2,
    )
    html = logged_in(owner).get(detail_url(key)).content.decode()
    assert logged_paths(html) == ["GET /api/v1/contacts/ct_missing 404", "POST /api/v1/contacts 201"]
    rows = text_of(html.split("table-requests", 1)[1].split("</table>", 1)[0])
    assert "Nov 10, 15:29:00 GET /api/v1/contacts/ct_missing 404 not_found 2001:db8::1 3 ms" in rows
    assert "Nov 10, 15:25:00 POST /api/v1/contacts 201 — 198.51.100.24 42 ms" in rows


def test_what_a_client_sent_is_shown_as_text(owner, secret_key):
    """The path comes from whoever holds the key: escaped, never markup."""
    key, _ = secret_key
    factories.make_request_log(key, path='/api/v1/contacts/"><img src=x onerror=alert(1)>', status=404)
    html = logged_in(owner).get(detail_url(key)).content.decode()
    assert "<img src=x" not in html
    assert "/api/v1/contacts/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.fixture
def mixed_log(secret_key):
    key, _ = secret_key
    for minutes, status in enumerate([200, 201, 204, 401, 404, 429, 500, 503]):
        factories.make_request_log(
            key, created_at=NOW - timedelta(minutes=minutes), path=f"/api/v1/s{status}", status=status
        )
    return key


@pytest.mark.parametrize(
    ("query", "statuses", "current"),
    [
        ("?status=2xx", ["200", "201", "204"], "2xx"),
        ("?status=4xx", ["401", "404", "429"], "4xx"),
        ("?status=5xx", ["500", "503"], "5xx"),
        ("?status=all", ["200", "201", "204", "401", "404", "429", "500", "503"], "All"),
        ("", ["200", "201", "204", "401", "404", "429", "500", "503"], "All"),
        ("?status=3xx", ["200", "201", "204", "401", "404", "429", "500", "503"], "All"),
        ("?status=%00%27;drop", ["200", "201", "204", "401", "404", "429", "500", "503"], "All"),
        ("?status=2xx&status=5xx", ["500", "503"], "5xx"),  # the last value wins, as Django reads it
    ],
)
def test_the_status_filter_is_plain_links(owner, mixed_log, query, statuses, current):
    response = logged_in(owner).get(detail_url(mixed_log) + query)
    assert response.status_code == 200
    html = response.content.decode()
    assert [row.rsplit(" ", 1)[1] for row in logged_paths(html)] == statuses  # newest first
    chosen = re.findall(r'<a class="filter-link" href="([^"]+)" aria-current="true">([^<]+)</a>', html)
    assert chosen == [(f"?status={current.lower()}#requests", current)]
    for value in ("all", "2xx", "4xx", "5xx"):
        assert f'href="?status={value}#requests"' in html


def test_a_filter_without_matches_says_so_and_links_back(owner, secret_key):
    key, _ = secret_key
    factories.make_request_log(key, status=200)
    html = logged_in(owner).get(detail_url(key) + "?status=5xx").content.decode()
    assert logged_paths(html) == []
    assert 'No 5xx requests among the recent ones. <a href="?status=all#requests">Show all</a>' in html


def test_the_log_never_shows_another_keys_requests(owner, secret_key, workspace):
    key, _ = secret_key
    factories.make_request_log(key, path="/api/v1/mine")
    sibling, _ = factories.make_key(workspace)
    factories.make_request_log(sibling, path="/api/v1/sibling", status=500)
    stranger, _ = factories.make_key(factories.make_workspace())
    factories.make_request_log(stranger, path="/api/v1/stranger", status=404)
    factories.make_key_network(stranger, "192.0.2.0/24", first_seen=NOW, last_seen=NOW)
    client = logged_in(owner)
    for query in ("", "?status=4xx", "?status=5xx"):
        html = client.get(detail_url(key) + query).content.decode()
        assert "/api/v1/sibling" not in html
        assert "/api/v1/stranger" not in html
        assert "192.0.2.0/24" not in html
    assert logged_paths(client.get(detail_url(key)).content.decode()) == ["GET /api/v1/mine 200"]


def test_the_log_shows_the_last_100_requests(owner, secret_key):
    key, _ = secret_key
    for n in range(105):
        factories.make_request_log(key, created_at=NOW - timedelta(seconds=105 - n), path=f"/api/v1/contacts/n{n}")
    html = logged_in(owner).get(detail_url(key)).content.decode()
    rows = logged_paths(html)
    assert len(rows) == 100
    assert rows[0] == "GET /api/v1/contacts/n104 200"
    assert rows[-1] == "GET /api/v1/contacts/n5 200"


# --- networks


def test_the_networks_are_listed_last_seen_first(owner, secret_key):
    key, _ = secret_key
    factories.make_key_network(
        key, "203.0.113.0/24", first_seen=NOW - timedelta(days=40), last_seen=NOW - timedelta(days=2), requests=1234
    )
    factories.make_key_network(
        key, "2001:db8:1::/48", first_seen=NOW - timedelta(hours=3), last_seen=NOW - timedelta(minutes=4), requests=7
    )
    html = logged_in(owner).get(detail_url(key)).content.decode()
    section = text_of(html.split('aria-labelledby="networks-heading"', 1)[1].split("</section>", 1)[0])
    assert "2001:db8:1::/48 Nov 10, 2025, 12:30 Nov 10, 2025, 15:26 7" in section
    assert "203.0.113.0/24 Oct 1, 2025, 15:30 Nov 8, 2025, 15:30 1234" in section
    assert section.index("2001:db8:1::/48") < section.index("203.0.113.0/24")


# --- the list's sparklines


def test_each_active_key_has_a_7_day_sparkline(owner, workspace):
    busy, _ = factories.make_key(workspace, name="Busy")
    quiet, _ = factories.make_key(workspace, name="Quiet")
    factories.make_daily_usage(busy, TODAY, successes=8, errors=2)
    factories.make_daily_usage(busy, TODAY - timedelta(days=6), successes=5)
    factories.make_daily_usage(busy, TODAY - timedelta(days=7), successes=900)  # eight days ago
    retired, _ = factories.make_key(workspace, name="Retired")
    factories.make_daily_usage(retired, TODAY, successes=3)
    api_key_revoke(key=retired, actor=Actor.for_user(owner))

    html = logged_in(owner).get(LIST).content.decode()

    svg = read_svgs(html)
    sparks = {s["aria-label"]: s for s in svg.svgs if s.get("class") == "sparkline"}
    assert set(sparks) == {"15 requests in the last 7 days", "0 requests in the last 7 days"}
    assert all(s["role"] == "img" for s in sparks.values())
    quiet_line, busy_line = svg.polylines  # newest key first: Quiet was made after Busy
    assert busy_line["class"] == "spark-line"
    assert busy_line["points"] == "3,14 18,25 33,25 48,25 63,25 78,25 93,3"
    assert quiet_line["class"] == "spark-line spark-flat"
    assert quiet_line["points"] == "3,25 18,25 33,25 48,25 63,25 78,25 93,25"
    assert "<title>15 requests in the last 7 days</title>" in html
    rows = {key.name: row for row in html.split("<tr>") for key in (busy, quiet, retired) if f">{key.name}</a>" in row}
    assert 'aria-label="15 requests in the last 7 days"' in rows["Busy"]
    assert "15 in 7 days" in text_of(rows["Busy"])
    assert 'aria-label="0 requests in the last 7 days"' in rows["Quiet"]
    assert "0 in 7 days" in text_of(rows["Quiet"])
    assert "sparkline" not in rows["Retired"]  # revoked and expired keys have none


def test_the_list_queries_do_not_grow_with_its_keys(owner, workspace):
    """The sparklines of all the page's keys come from one query."""
    client = logged_in(owner)

    def queries_of_the_list() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    first, _ = factories.make_key(workspace)
    factories.make_daily_usage(first, TODAY, successes=1)
    queries_of_the_list()  # the first request of a session does more (its caches fill)
    with_one = queries_of_the_list()
    for _ in range(6):
        key, _ = factories.make_key(workspace)
        for back in range(7):
            factories.make_daily_usage(key, TODAY - timedelta(days=back), successes=back, errors=1)
    with_seven = queries_of_the_list()
    assert len(with_seven) == len(with_one)
    assert len([sql for sql in with_seven if "apikeys_apikeydailyusage" in sql]) == 1


def test_the_detail_page_queries_do_not_grow_with_the_traffic(owner, secret_key):
    key, _ = secret_key
    client = logged_in(owner)
    client.get(detail_url(key))  # the first request of a session does more (its caches fill)
    with CaptureQueriesContext(connection) as quiet:
        client.get(detail_url(key))
    for n in range(30):
        factories.make_request_log(key, path=f"/api/v1/p{n}", status=200 + n % 3 * 100)
        factories.make_daily_usage(key, TODAY - timedelta(days=n), successes=n)
        factories.make_key_network(key, f"10.0.{n}.0/24", first_seen=NOW, last_seen=NOW)
    with CaptureQueriesContext(connection) as busy:
        client.get(detail_url(key))
    assert len(busy) == len(quiet)


# --- who sees it


@pytest.mark.parametrize("role", ["member", "guest"])
def test_members_and_guests_see_no_usage(request, secret_key, role):
    key, _ = secret_key
    factories.make_request_log(key, path="/api/v1/secret-path")
    response = logged_in(request.getfixturevalue(role)).get(detail_url(key))
    assert response.status_code == 403
    assert "/api/v1/secret-path" not in response.content.decode()


def test_another_workspaces_key_usage_is_404(owner):
    other, _ = factories.make_key(factories.make_workspace())
    factories.make_request_log(other, path="/api/v1/theirs")
    for query in ("", "?status=2xx"):
        response = logged_in(owner).get(detail_url(other) + query)
        assert response.status_code == 404
        assert "/api/v1/theirs" not in response.content.decode()
