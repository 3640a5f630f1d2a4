#!/usr/bin/env python3
"""free-port.py — print a TCP port on 127.0.0.1 that no socket holds, chosen below the kernel's ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), so that no outgoing connection of another test can take it between the
moment a script chooses it and the moment a server binds it. Random, to make two scripts choosing at once unlikely
to clash; each candidate is bound once (without SO_REUSEADDR) to check nothing has it."""
import random
import socket
import sys

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
        ephemeral_low = int(ranges.read().split()[0])
except (OSError, ValueError, IndexError):
    ephemeral_low = 32768

low, high = 20000, ephemeral_low - 1
for _ in range(500 if high > low else 0):
    port = random.randint(low, high)
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        probe.close()
    print(port)
    sys.exit(0)
# No room below the ephemeral range: take one the kernel picks (the old way).
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
print(probe.getsockname()[1])
