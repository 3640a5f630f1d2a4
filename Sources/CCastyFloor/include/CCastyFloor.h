#ifndef CCASTY_FLOOR_H
#define CCASTY_FLOOR_H

/// The floor a fan-out server cannot go below, for `casty-bench fanout --floor`: a plain C program that
/// accepts listeners on 127.0.0.1:`port` (0: any free port), answers each request with an ICY reply
/// (icy-metaint 8192), and every `interval_ms` sends ONE shared buffer — 8192 bytes of audio and a metadata
/// block `CastySeq='N';CastyTime='ms';` — to every listener with one non-blocking send each. Nothing else: no
/// burst, no skip policy, no titles, no actors. It prints `ready port=P` on standard output, and runs until
/// its standard input closes. Returns non-zero if it cannot listen.
int casty_floor_serve(int port, int interval_ms);

/// The floor with `threads` sending threads (0: as ``casty_floor_serve``), to compare two ways of spreading
/// listeners over threads: with `reuse_port` 0, the calling thread accepts, reads each request and answers it,
/// then hands the socket to the sending thread with the fewest (Casty's way); with `reuse_port` 1, every sending
/// thread has its own `SO_REUSEPORT` listener on the same port, and accepts, answers and sends on its own.
int casty_floor_serve_group(int port, int interval_ms, int threads, int reuse_port);

#endif
