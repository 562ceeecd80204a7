"""Local fakes of outside services at the HTTP boundary (webhook receivers, Mailjet's send
API): a ThreadingHTTPServer on 127.0.0.1 that records every real request and answers what
the test programs. Usable from tests and benchmarks."""

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float
    ok: bool = True

    def json(self):
        return json.loads(self.body)


@dataclass
class FakeServer:
    """`answer(received) -> (status, body)` decides each reply; `status` is the default."""

    status: int = 200
    delay: float = 0.0
    answer: object = None
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    on_request: object = None

    def start(self, path: str = "/hook", port: int = 0) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                if fake.on_request:
                    fake.on_request(received)
                if fake.delay:
                    time.sleep(fake.delay)
                status, reply = fake.answer(received) if fake.answer else (fake.status, b"")
                fake.requests.append(received)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def webhook_ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


class FakeMailjet(FakeServer):
    """Mailjet's v3.1 send API: answers `status` (200 with per-recipient results, or the
    error given) and decodes what arrived into plain messages."""

    def __init__(self, fail_first: int = 0):
        super().__init__(answer=self._answer)
        self.fail_first = fail_first
        self.messages: list[dict] = []
        self.failures = 0

    def start(self, path: str = "/v3.1/") -> "FakeMailjet":
        super().start(path)
        return self

    def _answer(self, received: Received):
        if self.failures < self.fail_first:
            self.failures += 1
            return 500, b'{"ErrorMessage": "Internal Server Error"}'
        payload = received.json()
        globals_ = payload.get("Globals", {})
        results = []
        for number, message in enumerate(payload["Messages"]):
            merged = {**globals_, **message}
            self.messages.append(
                {
                    "to": [to["Email"] for to in merged.get("To", [])],
                    "subject": merged.get("Subject", ""),
                    "text": merged.get("TextPart", ""),
                    "html": merged.get("HTMLPart", ""),
                    "attachments": [
                        {
                            "filename": a.get("Filename"),
                            "content_type": a.get("ContentType"),
                            "content": base64.b64decode(a.get("Base64Content", "")),
                        }
                        for a in merged.get("Attachments", [])
                    ],
                }
            )
            results.append(
                {
                    "Status": "success",
                    "To": [
                        {
                            "Email": to["Email"],
                            "MessageUUID": f"u{number}",
                            "MessageID": 1000 + number,
                            "MessageHref": "",
                        }
                        for to in merged.get("To", [])
                    ],
                }
            )
        return 200, json.dumps({"Messages": results}).encode()
