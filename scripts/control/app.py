#!/usr/bin/env python3
"""app.py — a small platform application for Casty's control-plane tests (python3 standard library only).

It records every call it gets as one JSON line (method, path, headers) in --log, and answers:
  POST /verify   200 (with x-record: true) when x-streaming-key is one of --keys, 403 otherwise; with
                 --verify-mode garbage|huge|hang it answers nonsense, a 10 MB body, or never answers.
  POST /events   500 for the first --fail-events calls, then 200.
  POST /listener Icecast's listener URL auth: listener_add answers icecast-auth-user: 1 when user:pass is one of
                 --logins; listener_remove is answered 200.
  anything else  404.
"""
import argparse
import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
EVENT_CALLS = [0]


def record(handler, body=b""):
    entry = {"time": time.time(), "method": handler.command, "path": handler.path,
             "headers": {k.lower(): v for k, v in handler.headers.items()}, "body": body.decode("latin-1")}
    with LOCK, open(ARGS.log, "a") as log:
        log.write(json.dumps(entry) + "\n")


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record(self, body)
        if self.path.startswith("/verify"):
            mode = ARGS.verify_mode
            if mode == "garbage":
                self.wfile.write(b"\x00\x01garbage \xff\xfe not http at all\r\n\r\n")
                return
            if mode == "huge":
                self.send_response(200)
                self.send_header("Content-Length", str(10 << 20))
                self.end_headers()
                try:
                    for _ in range(160):
                        self.wfile.write(b"x" * 65536)
                except OSError:
                    pass
                return
            if mode == "hang":
                time.sleep(60)
                return
            key = self.headers.get("x-streaming-key", "")
            if key in ARGS.keys.split(","):
                self.answer(200, b"ok", [("x-record", "true")])
            else:
                self.answer(403, b"no")
        elif self.path.startswith("/listener"):
            form = dict(pair.split("=", 1) for pair in body.decode().split("&") if "=" in pair)
            if form.get("action") == "listener_add" and f"{form.get('user')}:{form.get('pass')}" in ARGS.logins.split(","):
                self.answer(200, b"ok", [("icecast-auth-user", "1")])
            elif form.get("action") == "listener_remove":
                self.answer(200, b"ok")
            else:
                self.answer(200, b"no", [("icecast-auth-message", "not on the list")])
        elif self.path.startswith("/events"):
            with LOCK:
                EVENT_CALLS[0] += 1
                failing = EVENT_CALLS[0] <= ARGS.fail_events
            self.answer(500 if failing else 200, b"later" if failing else b"ok")
        else:
            self.answer(404)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--keys", default="")
    parser.add_argument("--fail-events", type=int, default=0)
    parser.add_argument("--verify-mode", default="normal")
    parser.add_argument("--logins", default="")
    ARGS = parser.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), App)
    print(f"app listening on 127.0.0.1:{ARGS.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
