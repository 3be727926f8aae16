"""A Web Push service for the tests, on loopback: it keeps what the app posts to it and
decrypts each message with the keys it generated for the phone's subscription, as a
browser would (``http_ece``)."""

from __future__ import annotations

import json
import os
import threading
import time
from base64 import urlsafe_b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(raw: bytes) -> str:
    return urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushService:
    """A push service on 127.0.0.1: keeps every message posted to it, answers 201 (or
    the status set for a path), and decrypts messages with the subscriptions' keys."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status: dict[str, int] = {}
        self.delay = 0.0
        self.keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(service.delay)
                headers = {k.lower(): v for k, v in self.headers.items()}
                service.received.append((self.path, headers, body))
                self.send_response(service.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subscription(self, name: str) -> dict:
        """A new subscription for ``/name``, with keys generated as a browser does."""
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.keys[f"/{name}"] = (private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        endpoint = f"http://127.0.0.1:{self.server.server_port}/{name}"
        return {"endpoint": endpoint, "keys": {"p256dh": b64(public), "auth": b64(auth)}}

    def messages(self, name: str | None = None) -> list[dict]:
        """The messages received (for ``/name``), decrypted and parsed."""
        found = []
        for path, headers, body in self.received:
            if name is None or path == f"/{name}":
                assert headers["content-encoding"] == "aes128gcm"
                assert headers["authorization"].startswith("vapid t=")
                private, auth = self.keys[path]
                plain = http_ece.decrypt(body, private_key=private, auth_secret=auth)
                found.append(json.loads(plain))
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()
