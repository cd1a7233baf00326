"""Judge a wapiti JSON report: every finding must be listed, with a reason, in the accepted file.

``python security/wapiti_findings.py report.json security/wapiti_accepted.json`` prints each
finding (category, method, path, parameter) and exits 1 when one is not accepted. An accepted
entry names the ``category`` and the ``path`` (``*`` for any) and says why in ``reason``; the
reasons are the "Dynamic scan" section of SECURITY.md.
"""

from __future__ import annotations

import json
import sys
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit


def findings(report: dict) -> list[dict[str, str]]:
    found = []
    for section in ("vulnerabilities", "anomalies"):
        for category, items in (report.get(section) or {}).items():
            for item in items:
                found.append(
                    {
                        "category": category,
                        "method": item.get("method", ""),
                        "path": urlsplit(item.get("path", "")).path or item.get("path", ""),
                        "parameter": item.get("parameter", ""),
                        "info": item.get("info", ""),
                    }
                )
    return found


def accepted_by(finding: dict[str, str], accepted: list[dict[str, str]]) -> dict[str, str] | None:
    for entry in accepted:
        if entry["category"] == finding["category"] and fnmatch(finding["path"], entry.get("path", "*")):
            return entry
    return None


def main(report_path: str, accepted_path: str) -> int:
    report = json.loads(Path(report_path).read_text())
    accepted = json.loads(Path(accepted_path).read_text())["accepted"]
    for entry in accepted:
        if not entry.get("reason"):
            print(f"wapiti_accepted.json: {entry} has no reason", file=sys.stderr)
            return 1
    crawled = report.get("infos", {}).get("crawled_pages_nbr", "?")
    unaccepted = 0
    for finding in findings(report):
        entry = accepted_by(finding, accepted)
        verdict = f"accepted: {entry['reason']}" if entry else "NOT ACCEPTED"
        print(f"{finding['category']}: {finding['method']} {finding['path']} {finding['parameter']} — {verdict}")
        unaccepted += entry is None
    print(f"wapiti: {len(findings(report))} findings, {unaccepted} not accepted ({crawled} pages crawled)")
    return 1 if unaccepted else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
