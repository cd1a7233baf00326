"""A local HTTP server that answers like Twilio's Messages API and records what it receives.

Twilio's paid API is the one thing the suite does not call for real: twilio's own
client builds, authenticates and parses the requests; only the host is this one.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Recorded:
    path: str
    form: dict[str, str]
    basic_user: str


@dataclass
class TwilioRecorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 201


def start_recorder() -> tuple[TwilioRecorder, ThreadingHTTPServer]:
    recorder = TwilioRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            auth = base64.b64decode(self.headers.get("Authorization", "Basic ").split(" ", 1)[1] or b"").decode()
            recorder.requests.append(Recorded(path=self.path, form=form, basic_user=auth.split(":", 1)[0]))
            sid = f"SM{len(recorder.requests):032x}"
            body = {"sid": sid, "status": "queued", "error_code": None, "body": form.get("Body"), "to": form.get("To")}
            if recorder.status >= 400:
                body = {
                    "code": 21610,
                    "message": "Attempt to send to unsubscribed recipient",
                    "status": recorder.status,
                }
            payload = json.dumps(body).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll, so shutdown() at the end of each test returns at once.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return recorder, server
