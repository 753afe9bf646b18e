"""A tiny SMTP server and an HTTP webhook receiver on 127.0.0.1 free ports, for the alert tests.

No aiosmtpd and no smtpd (gone from Python 3.12): a socketserver speaking the few SMTP verbs that
smtplib uses without TLS. Messages received are kept in memory for the test to assert on.
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    port: int
    messages: list[Any] = field(default_factory=list)
    status: int = 200  # what the webhook answers


class _SMTPHandler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
        self.wfile.flush()

    def handle(self) -> None:
        box: Received = self.server.box  # type: ignore[attr-defined]
        self._reply("220 localhost test SMTP")
        sender, recipients = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply("250-localhost")
                self._reply("250 8BITMIME")
            elif verb == "HELO":
                self._reply("250 localhost")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip(), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip())
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message: EmailMessage = email.message_from_bytes(bytes(data), policy=email.policy.default)  # type: ignore[assignment]
                box.messages.append({"from": sender, "to": recipients, "message": message})
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@contextmanager
def smtp_server() -> Iterator[Received]:
    server = _Server(("127.0.0.1", 0), _SMTPHandler)
    server.box = Received(server.server_address[1])  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.box  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        box: Received = self.server.box  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        box.messages.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(box.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:  # keep test output quiet
        return


@contextmanager
def webhook_server() -> Iterator[Received]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
    server.box = Received(server.server_address[1])  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.box  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def smtp_connection(port: int, to: str = "ops@kds.test") -> str:
    """The JSON form of an Airflow connection (for AIRFLOW_CONN_KDS_SMTP)."""
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "to": to, "from_email": "kds@kds.test", "disable_ssl": True, "disable_tls": True, "timeout": 5}})  # fmt: skip


def webhook_connection(port: int) -> str:
    return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http",
                       "extra": {"endpoint": "/hooks/kds", "Authorization": "Bearer test-token"}})  # fmt: skip
