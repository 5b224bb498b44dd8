#!/usr/bin/python3
# A crafted IPv4 TCP segment from the namespace it runs in (ip netns exec), for
# tests/diagnose.sh: send_tcp.py SRC DST SPORT DPORT FLAGS [COUNT] [badsum].
# FLAGS as a number (0x03: SYN+FIN); badsum: a wrong checksum. Only for
# ctlab's own addresses (198.18.0.0/15).
import ipaddress
import socket
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
sport, dport, flags = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5], 0)
count = int(sys.argv[6]) if len(sys.argv) > 6 else 1
badsum = len(sys.argv) > 7 and sys.argv[7] == "badsum"
lab = ipaddress.ip_network("198.18.0.0/15")
if ipaddress.ip_address(src) not in lab or ipaddress.ip_address(dst) not in lab:
    sys.exit("send_tcp.py: only addresses in 198.18.0.0/15")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(count):
    tcp = struct.pack("!HHIIBBHHH", sport + i, dport, 1000, 0, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    sum_ = checksum(pseudo + tcp) ^ (0x1234 if badsum else 0)
    sock.sendto(tcp[:16] + struct.pack("!H", sum_) + tcp[18:], (dst, 0))
