#!/usr/bin/env python3
"""cdp.py PORT EXPRESSION — evaluate EXPRESSION in the first page of a Chromium started with
--remote-debugging-port=PORT, over the DevTools protocol, and print the result (standard library only: the
WebSocket handshake and framing are written out here). cdp.py PORT --screenshot FILE writes the page as it is
now to FILE (PNG)."""
import base64
import json
import os
import socket
import struct
import sys
import urllib.request


def websocket(url):
    assert url.startswith("ws://")
    hostport, path = url[5:].split("/", 1)
    host, port = hostport.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise SystemExit(f"no websocket: {head!r}")
    return sock


def send(sock, text):
    data = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(data) < 126:
        header += bytes([0x80 | len(data)])
    elif len(data) < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise SystemExit("websocket closed")
        data += chunk
    return data


def receive(sock):
    first, second = exact(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack(">H", exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", exact(sock, 8))[0]
    return exact(sock, length).decode("utf-8", "replace")


def main():
    port, expression = sys.argv[1], sys.argv[2]
    pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
    page = next(p for p in pages if p.get("type") == "page")
    sock = websocket(page["webSocketDebuggerUrl"])
    if expression == "--screenshot":
        # The page as it is now, to the PNG file named next.
        send(sock, json.dumps({"id": 1, "method": "Page.captureScreenshot", "params": {"format": "png"}}))
    else:
        send(sock, json.dumps({"id": 1, "method": "Runtime.evaluate",
                               "params": {"expression": expression, "returnByValue": True}}))
    while True:
        message = json.loads(receive(sock))
        if message.get("id") == 1:
            if expression == "--screenshot":
                with open(sys.argv[3], "wb") as out:
                    out.write(base64.b64decode(message["result"]["data"]))
            else:
                print(message["result"]["result"].get("value"))
            return


if __name__ == "__main__":
    main()
