#!/usr/bin/env python3
"""Sources that hang up before their audio: N times, `PUT MOUNT` with the source password, the answer read, closed.

Usage: python3 scripts/soak/put-hangups.py PORT COUNT [MOUNT] [PASSWORD]
Read the server's RSS (`ps -o rss= -p PID`) before and after: every session must be let go (BENCHMARKS.md,
"Sources that hang up before their audio").
"""
import base64
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
mount = sys.argv[3] if len(sys.argv) > 3 else "/t3"
password = sys.argv[4] if len(sys.argv) > 4 else "hackme"
auth = base64.b64encode(f"source:{password}".encode()).decode()
request = f"PUT {mount} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: audio/mpeg\r\n\r\n".encode()
for _ in range(count):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(request)
        connection.recv(100)
