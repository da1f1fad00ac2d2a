"""A tiny local Messages API over plain HTTP: answers whatever a test queues, records requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeMessages:
    def __init__(self) -> None:
        self.replies: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        self.url = ""

    def reply(self, status: int, body: dict) -> None:
        self.replies.append((status, body))

    def tool_answer(self, tool_input: object, *, name: str = "record_decision") -> None:
        self.reply(
            200, message([{"type": "tool_use", "id": "toolu_1", "name": name, "input": tool_input}])
        )


def message(content: list[dict], *, tokens: tuple[int, int] = (120, 30)) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }


@contextmanager
def fake_messages_server() -> Iterator[FakeMessages]:
    fake = FakeMessages()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            fake.requests.append(
                {"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            status, body = fake.replies.pop(0) if fake.replies else (500, {"type": "error"})
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
