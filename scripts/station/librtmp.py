#!/usr/bin/env python3
"""librtmp.py URL FLV — publishes an FLV file over RTMP in real time through librtmp (Debian's librtmp1).

librtmp is the RTMP library OBS Studio's RTMP output is built on (OBS ships a fork of it): the handshake, the
connect / releaseStream / FCPublish / createStream / publish sequence and the FLV-tag-to-message packing are
librtmp's, not ffmpeg's and not Casty's. Loaded with ctypes; exits 0 when every tag was sent, 1 on a refusal.
"""
import ctypes
import ctypes.util
import struct
import sys
import time


def tags(data):
    """Yields (timestamp ms, bytes of the tag with its trailing previous-tag-size) from an FLV file."""
    if data[:3] != b"FLV":
        raise SystemExit("librtmp.py: not an FLV file")
    offset = struct.unpack(">I", data[5:9])[0] + 4
    while offset + 11 <= len(data):
        size = int.from_bytes(data[offset + 1:offset + 4], "big")
        stamp = int.from_bytes(data[offset + 4:offset + 7], "big") | (data[offset + 7] << 24)
        end = offset + 11 + size + 4
        if end > len(data):
            break
        yield stamp, data[offset:end]
        offset = end


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    url, path = sys.argv[1], sys.argv[2]
    lib = ctypes.CDLL(ctypes.util.find_library("rtmp") or "librtmp.so.1")
    lib.RTMP_Alloc.restype = ctypes.c_void_p
    for name in ("RTMP_Init", "RTMP_EnableWrite", "RTMP_Close", "RTMP_Free"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.RTMP_SetupURL.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.RTMP_Connect.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.RTMP_ConnectStream.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.RTMP_Write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.RTMP_IsConnected.argtypes = [ctypes.c_void_p]
    lib.RTMP_LogSetLevel(1)  # errors only

    rtmp = lib.RTMP_Alloc()
    lib.RTMP_Init(rtmp)
    keep = ctypes.create_string_buffer(url.encode())  # librtmp keeps pointers into the URL
    if not lib.RTMP_SetupURL(rtmp, keep):
        print("librtmp.py: librtmp cannot read the URL", url, file=sys.stderr)
        return 1
    lib.RTMP_EnableWrite(rtmp)
    if not lib.RTMP_Connect(rtmp, None) or not lib.RTMP_ConnectStream(rtmp, 0):
        print("librtmp.py: connect or publish refused", file=sys.stderr)
        return 1
    data = open(path, "rb").read()
    start = time.monotonic()
    sent = 0
    for stamp, tag in tags(data):
        delay = start + stamp / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if lib.RTMP_Write(rtmp, tag, len(tag)) <= 0 or not lib.RTMP_IsConnected(rtmp):
            print(f"librtmp.py: the server closed after {sent} tags", file=sys.stderr)
            return 1
        sent += 1
    print(f"librtmp.py: sent {sent} tags")
    lib.RTMP_Close(rtmp)
    lib.RTMP_Free(rtmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
