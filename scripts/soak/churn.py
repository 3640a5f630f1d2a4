#!/usr/bin/env python3
"""churn.py PORT COUNT — open, use and close COUNT connections to a Casty port, one after another.

Each round is one of four kinds, in turn: a listener that asks for the stream with titles and leaves after its
first bytes, a /status.json request, a request refused with 501 (an unknown method), and a peer that connects
and hangs up without a word. Prints one line: rounds done and rounds per second. Standard library only.
"""
import socket
import sys
import time

REQUESTS = [
    b"GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\nUser-Agent: churn\r\n\r\n",
    b"GET /status.json HTTP/1.0\r\n\r\n",
    b"DELETE / HTTP/1.0\r\n\r\n",
    b"",
]


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    started = time.monotonic()
    for round_ in range(count):
        request = REQUESTS[round_ % len(REQUESTS)]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as peer:
            if request:
                peer.sendall(request)
                peer.recv(4096)
    elapsed = time.monotonic() - started
    print(f"churned {count} connections in {elapsed:.1f} s ({count / elapsed:.0f}/s)")


if __name__ == "__main__":
    main()
