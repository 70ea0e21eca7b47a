"""Inside a fresh network namespace: bring loopback up, check that no other interface
exists, then run the given command in its place."""

import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

# no traffic is sent to check it: the namespace must hold no interface but loopback
interfaces = sorted(name for _, name in socket.if_nameindex())
if interfaces != ["lo"]:
    sys.exit(f"offline.sh: interfaces {interfaces} are present; refusing to call this an offline run")
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    request = struct.pack("16sH", b"lo", 0)
    flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
    fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))

print(f"offline.sh: network cut (loopback only): {' '.join(sys.argv[1:])}", file=sys.stderr, flush=True)
os.execvp(sys.argv[1], sys.argv[1:])
