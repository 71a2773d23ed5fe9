#!/usr/bin/env python3
"""Conformance harness helper: runs INSIDE the test network namespace (ip netns exec).

It makes real kernel socket calls for the scenario executor and, when asked, relays
Ethernet frames between the harness and a TAP device in the namespace.

Protocol: one JSON object per line.
  stdin  {"id": N, "op": "socket", ...}        -> stdout {"id": N, "ret": R, "errno": "EXXX"|null, ...}
  stdin  {"op": "tap_open", "name": "tap0"}     -> stdout {"ev": "tap_ready"} then {"ev": "rx", "hex": ...} per frame
  stdin  {"op": "tx", "hex": "..."}             (no reply; writes one frame to the TAP)
Every socket call runs in its own thread, so a blocking call (accept, connect, read,
write, close with linger) never blocks the control loop; its reply comes when it returns.
"""
import errno as errno_mod
import fcntl
import json
import os
import socket
import struct
import sys
import threading

out_lock = threading.Lock()
socks = {}  # handle (the real fd) -> socket object
written = {}  # handle -> bytes written so far (payload pattern offset)
read_off = {}  # handle -> bytes read so far

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def emit(obj):
    line = json.dumps(obj, separators=(",", ":"))
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def pattern(offset, n):
    # Byte k of a stream is (k * 7 + 13) & 255: checkable at any offset.
    return bytes(((offset + i) * 7 + 13) & 255 for i in range(n))


LEVELS = {"SOL_SOCKET": socket.SOL_SOCKET, "IPPROTO_TCP": socket.IPPROTO_TCP, "IPPROTO_IP": socket.IPPROTO_IP}
OPTS = {
    "SO_REUSEADDR": socket.SO_REUSEADDR,
    "SO_REUSEPORT": getattr(socket, "SO_REUSEPORT", 15),
    "SO_KEEPALIVE": socket.SO_KEEPALIVE,
    "SO_LINGER": socket.SO_LINGER,
    "SO_RCVBUF": socket.SO_RCVBUF,
    "SO_SNDBUF": socket.SO_SNDBUF,
    "SO_ERROR": socket.SO_ERROR,
    "SO_TYPE": socket.SO_TYPE,
    "TCP_NODELAY": socket.TCP_NODELAY,
    "TCP_MAXSEG": socket.TCP_MAXSEG,
    "TCP_KEEPIDLE": socket.TCP_KEEPIDLE,
    "TCP_KEEPINTVL": socket.TCP_KEEPINTVL,
    "TCP_KEEPCNT": socket.TCP_KEEPCNT,
    "TCP_CONGESTION": getattr(socket, "TCP_CONGESTION", 13),
    "TCP_QUICKACK": getattr(socket, "TCP_QUICKACK", 12),
    "TCP_CORK": getattr(socket, "TCP_CORK", 3),
}
HOW = {"SHUT_RD": socket.SHUT_RD, "SHUT_WR": socket.SHUT_WR, "SHUT_RDWR": socket.SHUT_RDWR}


def get(h):
    s = socks.get(h)
    if s is None:
        raise OSError(errno_mod.EBADF, "bad handle")
    return s


def do_call(req):
    op = req["op"]
    if op == "socket":
        t = socket.SOCK_STREAM if req["type"] == "stream" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, t, 0)
        h = s.fileno()
        socks[h] = s
        written[h] = 0
        read_off[h] = 0
        return {"ret": h}
    s = get(req["h"])
    h = req["h"]
    if op == "bind":
        s.bind((req["addr"], req["port"]))
        return {"ret": 0}
    if op == "listen":
        s.listen(req["backlog"])
        return {"ret": 0}
    if op == "accept":
        c, _ = s.accept()
        nh = c.fileno()
        socks[nh] = c
        written[nh] = 0
        read_off[nh] = 0
        return {"ret": nh}
    if op == "connect":
        e = s.connect_ex((req["addr"], req["port"]))
        if e != 0:
            raise OSError(e, os.strerror(e))
        return {"ret": 0}
    if op == "write":
        data = pattern(written[h], req["len"])
        n = s.send(data)
        written[h] += n
        return {"ret": n}
    if op == "sendto":
        n = s.sendto(pattern(0, req["len"]), (req["addr"], req["port"]))
        return {"ret": n}
    if op == "read":
        data = s.recv(req["len"])
        off = read_off[h]
        read_off[h] += len(data)
        return {"ret": len(data), "data": data.hex(), "offset": off}
    if op == "shutdown":
        s.shutdown(HOW[req["how"]])
        return {"ret": 0}
    if op == "close":
        # close() must really close the fd now (even with a blocking read pending in
        # another thread), so use os.close on a detached fd.
        fd = s.detach()
        del socks[h]
        os.close(fd)
        return {"ret": 0}
    if op == "setsockopt":
        level = LEVELS[req["level"]]
        name = OPTS[req["name"]]
        v = req["value"]
        if isinstance(v, dict):
            s.setsockopt(level, name, struct.pack("ii", v["onoff"], v["linger"]))
        elif isinstance(v, str):
            s.setsockopt(level, name, v.encode())
        else:
            s.setsockopt(level, name, v)
        return {"ret": 0}
    if op == "getsockopt":
        v = s.getsockopt(LEVELS[req["level"]], OPTS[req["name"]])
        return {"ret": 0, "value": v}
    if op == "fcntl":
        if req["cmd"] == "F_SETFL":
            fcntl.fcntl(s.fileno(), fcntl.F_SETFL, req["flags"])
            return {"ret": 0}
        return {"ret": fcntl.fcntl(s.fileno(), fcntl.F_GETFL)}
    raise OSError(errno_mod.ENOSYS, "unknown op " + op)


def run_call(req):
    try:
        res = do_call(req)
        res["errno"] = None
    except OSError as e:
        code = e.errno if e.errno is not None else errno_mod.EIO
        res = {"ret": -1, "errno": errno_mod.errorcode.get(code, "E?%d" % code)}
    except Exception as e:  # a harness bug, not a kernel answer
        res = {"ret": -1, "errno": "EHARNESS", "msg": repr(e)}
    res["id"] = req["id"]
    emit(res)


tap_fd = None


def tap_reader(fd):
    while True:
        try:
            frame = os.read(fd, 65536)
        except OSError:
            return
        if not frame:
            return
        emit({"ev": "rx", "hex": frame.hex()})


def tap_open(name):
    global tap_fd
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    tap_fd = fd
    threading.Thread(target=tap_reader, args=(fd,), daemon=True).start()
    emit({"ev": "tap_ready"})


def main():
    emit({"ev": "hello", "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        op = req.get("op")
        if op == "tx":
            try:
                os.write(tap_fd, bytes.fromhex(req["hex"]))
            except OSError as e:
                emit({"ev": "tx_error", "errno": errno_mod.errorcode.get(e.errno, "?")})
        elif op == "tap_open":
            try:
                tap_open(req["name"])
            except OSError as e:
                emit({"ev": "tap_error", "errno": errno_mod.errorcode.get(e.errno, "?"), "msg": str(e)})
        else:
            threading.Thread(target=run_call, args=(req,), daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    main()
