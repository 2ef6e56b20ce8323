"""Writes a web-server-style log of mixed lines, for measuring `--extract`.

Lines, in a fixed pseudo-random mix (seeded, so every run writes the same bytes):
Apache/nginx combined access lines (the client address first), nginx lines with an
X-Forwarded-For chain (two addresses, one in quotes at the end), sshd authentication
failures (the address in the middle), JSON lines with a "client_ip" field, and lines with
no address (timestamps and version numbers that look like dotted numbers but are not
addresses). About 20% of the addresses are IPv6.

Use: python3 make-log.py OUT SIZE_MB
"""
import random
import sys

out, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261204)


def v4():
    return "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def v6():
    return "2%03x:%x:%x::%x" % (rng.randrange(0x1000), rng.randrange(0x10000), rng.randrange(0x10000), rng.randrange(1, 0x10000))


def addr():
    return v6() if rng.random() < 0.2 else v4()


PATHS = ["/", "/index.html", "/api/v1/items?id=42", "/static/app.3.2.1.js", "/login", "/favicon.ico"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
          "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]


def line():
    r = rng.random()
    t = "04/Dec/2026:%02d:%02d:%02d +0000" % (rng.randrange(24), rng.randrange(60), rng.randrange(60))
    if r < 0.45:
        return '%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"\n' % (
            addr(), t, rng.choice(PATHS), rng.choice((200, 304, 404)), rng.randrange(100000), rng.choice(AGENTS))
    if r < 0.60:
        return '%s - - [%s] "POST /api HTTP/2.0" 200 512 "-" "%s" "%s, %s"\n' % (
            addr(), t, rng.choice(AGENTS), addr(), addr())
    if r < 0.75:
        return "Dec  4 %02d:%02d:%02d host sshd[%d]: Failed password for invalid user admin from %s port %d ssh2\n" % (
            rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(99999), addr(), rng.randrange(1024, 65536))
    if r < 0.92:
        return '{"ts":"2026-12-04T%02d:%02d:%02dZ","level":"info","client_ip":"%s","status":200,"bytes":%d}\n' % (
            rng.randrange(24), rng.randrange(60), rng.randrange(60), addr(), rng.randrange(100000))
    return "Dec  4 %02d:%02d:%02d host kernel: [%d.%06d] eth0: link up, version 1.2.3.4567 build 10.0.19045\n" % (
        rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(100000), rng.randrange(1000000))


target = size_mb << 20
written = 0
with open(out, "w") as f:
    while written < target:
        block = "".join(line() for _ in range(10000))
        f.write(block)
        written += len(block)
