#!/usr/bin/python3
"""One QMP command to QEMU over its Unix socket (tests/qemu/e2e.sh).

Usage: qmp.py SOCKET '{"execute": "device_del", "arguments": {"id": "rng1"}}'
Prints the command's reply (one JSON line); exit 1 on an error reply or after
10 s without one. Events that arrive meanwhile are skipped.
"""
import json
import socket
import sys


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(sys.argv[1])
    f = sock.makefile("rw")

    def reply():
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                return msg

    json.loads(f.readline())  # the greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    reply()
    f.write(sys.argv[2] + "\n")
    f.flush()
    msg = reply()
    print(json.dumps(msg))
    return 1 if "error" in msg else 0


if __name__ == "__main__":
    sys.exit(main())
