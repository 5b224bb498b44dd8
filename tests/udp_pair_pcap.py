#!/usr/bin/python3
# A pcap (raw IPv4) of one UDP datagram 198.18.0.1:5000 -> 198.18.0.2:53 and
# its answer GAP seconds later, for tests/replay.sh's --paced test:
# udp_pair_pcap.py FILE GAP
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp(src, dst, sport, dport, ident):
    payload = b"x" * 12
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(u))
    u = u[:6] + struct.pack("!H", csum(ph + u) or 0xFFFF) + u[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), ident, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + u


out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
for t, pkt in ((1000, udp("198.18.0.1", "198.18.0.2", 5000, 53, 1)), (1000 + float(sys.argv[2]), udp("198.18.0.2", "198.18.0.1", 53, 5000, 2))):
    out.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(pkt), len(pkt)) + pkt)
