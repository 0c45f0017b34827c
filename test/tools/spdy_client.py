#!/usr/bin/env python3
"""A SPDY/3.1 streaming client for hanok's tests, written apart from hanokd's server code: it
speaks to the URL an Exec, Attach or PortForward call answered as the kubelet's clients do
(client-go remotecommand and portforward over moby/spdystream), and prints what came back as
JSON.

  spdy_client.py URL [--protocol P]... [--stdin TEXT] [--stdin-delay S] [--keep-stdin S]
                 [--tty] [--size WxH] [--no-stdout] [--stderr]
  spdy_client.py URL --port-forward PORT --send TEXT
  spdy_client.py URL --port-forward PORT --half-pairs N --bytes B [--timeout S]
  (an https URL: TLS, verified against --ca FILE)

Output: {"status": HTTP status, "protocol": negotiated, "stdout": ..., "stderr": ...,
"error": text of the error stream} (remote command) or {"status", "data", "error"} (port forward).
"""
import argparse
import json
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib

# SPDY/3's zlib dictionary (the draft's section 2.6.10.1), as hex.
DICTIONARY = bytes.fromhex(
    "000000076f7074696f6e73000000046865616400000004706f7374000000037075740000000664656c6574650000"
    "00057472616365000000066163636570740000000e6163636570742d636861727365740000000f6163636570742d"
    "656e636f64696e670000000f6163636570742d6c616e67756167650000000d6163636570742d72616e6765730000"
    "000361676500000005616c6c6f770000000d617574686f72697a6174696f6e0000000d63616368652d636f6e7472"
    "6f6c0000000a636f6e6e656374696f6e0000000c636f6e74656e742d6261736500000010636f6e74656e742d656e"
    "636f64696e6700000010636f6e74656e742d6c616e67756167650000000e636f6e74656e742d6c656e6774680000"
    "0010636f6e74656e742d6c6f636174696f6e0000000b636f6e74656e742d6d64350000000d636f6e74656e742d72"
    "616e67650000000c636f6e74656e742d747970650000000464617465000000046574616700000006657870656374"
    "00000007657870697265730000000466726f6d00000004686f73740000000869662d6d617463680000001169662d"
    "6d6f6469666965642d73696e63650000000d69662d6e6f6e652d6d617463680000000869662d72616e6765000000"
    "1369662d756e6d6f6469666965642d73696e63650000000d6c6173742d6d6f646966696564000000086c6f636174"
    "696f6e0000000c6d61782d666f72776172647300000006707261676d610000001270726f78792d61757468656e74"
    "69636174650000001370726f78792d617574686f72697a6174696f6e0000000572616e6765000000077265666572"
    "65720000000b72657472792d61667465720000000673657276657200000002746500000007747261696c65720000"
    "00117472616e736665722d656e636f64696e6700000007757067726164650000000a757365722d6167656e740000"
    "00047661727900000003766961000000077761726e696e67000000107777772d61757468656e7469636174650000"
    "00066d6574686f64000000036765740000000673746174757300000006323030204f4b0000000776657273696f6e"
    "00000008485454502f312e310000000375726c000000067075626c69630000000a7365742d636f6f6b6965000000"
    "0a6b6565702d616c697665000000066f726967696e31303031303132303132303232303532303633303033303233"
    "30333330343330353330363330373430323430353430363430373430383430393431303431313431323431333431"
    "34343135343136343137353032353034353035323033204e6f6e2d417574686f726974617469766520496e666f72"
    "6d6174696f6e323034204e6f20436f6e74656e74333031204d6f766564205065726d616e656e746c793430302042"
    "6164205265717565737434303120556e617574686f72697a656434303320466f7262696464656e343034204e6f74"
    "20466f756e6435303020496e7465726e616c20536572766572204572726f72353031204e6f7420496d706c656d65"
    "6e746564353033205365727669636520556e617661696c61626c654a616e20466562204d617220417072204d6179"
    "204a756e204a756c204175672053657074204f6374204e6f76204465632030303a30303a3030204d6f6e2c205475"
    "652c205765642c205468752c204672692c205361742c2053756e2c20474d546368756e6b65642c746578742f6874"
    "6d6c2c696d6167652f706e672c696d6167652f6a70672c696d6167652f6769662c6170706c69636174696f6e2f78"
    "6d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c746578742f706c61696e2c746578742f6a61766173"
    "63726970742c7075626c6963707269766174656d61782d6167653d677a69702c6465666c6174652c736463686368"
    "61727365743d7574662d38636861727365743d69736f2d383835392d312c7574662d2c2a2c656e713d302e")

SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY = 1, 2, 3, 6, 7
FIN = 1


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.deflate = zlib.compressobj(zdict=DICTIONARY)
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.lock = threading.Lock()
        self.cond = threading.Condition()
        self.data = {}      # stream id -> bytes received
        self.finished = set()
        self.replied = set()
        self.closed = False
        self.next_id = 1

    def header_block(self, headers):
        plain = struct.pack(">I", len(headers))
        for name, value in headers:
            for field in (name.lower().encode(), value.encode()):
                plain += struct.pack(">I", len(field)) + field
        return self.deflate.compress(plain) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def send(self, frame):
        with self.lock:
            self.sock.sendall(frame)

    def control(self, kind, flags, body):
        return struct.pack(">HHI", 0x8000 | 3, kind, flags << 24 | len(body)) + body

    def open_stream(self, headers, fin=False):
        stream = self.next_id
        self.next_id += 2
        with self.cond:
            self.data[stream] = b""
        body = struct.pack(">IIH", stream, 0, 0) + self.header_block(headers)
        self.send(self.control(SYN_STREAM, FIN if fin else 0, body))
        return stream

    def write(self, stream, payload, fin=False):
        self.send(struct.pack(">II", stream, (FIN if fin else 0) << 24 | len(payload)) + payload)

    def read_exactly(self, size):
        chunks = b""
        while len(chunks) < size:
            got = self.sock.recv(size - len(chunks))
            if not got:
                raise EOFError
            chunks += got
        return chunks

    def reader(self):
        try:
            while True:
                head = self.read_exactly(8)
                first, second = struct.unpack(">II", head)
                flags, length = second >> 24, second & 0xFFFFFF
                payload = self.read_exactly(length) if length else b""
                if first & 0x80000000:
                    kind = first & 0xFFFF
                    if kind == SYN_REPLY:
                        stream = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                        self.inflate.decompress(payload[4:])
                        with self.cond:
                            self.replied.add(stream)
                            if flags & FIN:
                                self.finished.add(stream)
                            self.cond.notify_all()
                    elif kind == RST_STREAM:
                        stream = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                        with self.cond:
                            self.finished.add(stream)
                            self.cond.notify_all()
                    elif kind == GOAWAY:
                        break
                else:
                    stream = first & 0x7FFFFFFF
                    with self.cond:
                        self.data[stream] = self.data.get(stream, b"") + payload
                        if flags & FIN:
                            self.finished.add(stream)
                        self.cond.notify_all()
        except (EOFError, OSError):
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate() and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return predicate()


CA_FILE = None  # --ca: the certificate that must have signed an https server's


def upgrade(url, protocols):
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=CA_FILE)
        try:
            sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        except (ssl.SSLError, OSError) as e:
            return None, {"status": 0, "tls_error": str(e)}
    lines = ["POST %s HTTP/1.1" % parts.path, "Host: %s" % parts.netloc,
             "Connection: Upgrade", "Upgrade: SPDY/3.1"]
    lines += ["X-Stream-Protocol-Version: %s" % p for p in protocols]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        got = sock.recv(1)
        if not got:
            break
        head += got
    status_line, *header_lines = head.decode(errors="replace").split("\r\n")
    status = int(status_line.split(" ")[1]) if " " in status_line else 0
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), value.strip())
    if status != 101:
        sock.settimeout(5)
        body = b""
        try:
            while True:
                got = sock.recv(4096)
                if not got:
                    break
                body += got
        except OSError:
            pass
        return None, {"status": status, "body": body.decode(errors="replace"),
                      "accepted": headers.get("x-accepted-stream-protocol-versions", "")}
    return sock, {"status": status, "protocol": headers.get("x-stream-protocol-version", "")}


def remote_command(args):
    sock, result = upgrade(args.url, args.protocol or ["v4.channel.k8s.io"])
    if sock is None:
        return result
    conn = Connection(sock)
    threading.Thread(target=conn.reader, daemon=True).start()
    version = result["protocol"]
    streams = {"error": conn.open_stream([("streamType", "error")])}
    if args.stdin is not None:
        streams["stdin"] = conn.open_stream([("streamType", "stdin")])
    if not args.no_stdout:
        streams["stdout"] = conn.open_stream([("streamType", "stdout")])
    if args.stderr and not args.tty:
        streams["stderr"] = conn.open_stream([("streamType", "stderr")])
    if args.tty and version in ("v3.channel.k8s.io", "v4.channel.k8s.io"):
        streams["resize"] = conn.open_stream([("streamType", "resize")])
    if not conn.wait(lambda: all(s in conn.replied for s in streams.values()), 30):
        result["replies"] = "missing"
    if "resize" in streams and args.size:
        width, height = (int(x) for x in args.size.split("x"))
        conn.write(streams["resize"], json.dumps({"Width": width, "Height": height}).encode())
    if "stdin" in streams:
        time.sleep(args.stdin_delay)
        if args.stdin:
            conn.write(streams["stdin"], args.stdin.encode())
        time.sleep(args.keep_stdin)
        conn.write(streams["stdin"], b"", fin=True)
    outputs = [streams[k] for k in ("stdout", "stderr", "error") if k in streams]
    conn.wait(lambda: all(s in conn.finished for s in outputs), args.timeout)
    for name in ("stdout", "stderr", "error"):
        if name in streams:
            result[name] = conn.data.get(streams[name], b"").decode(errors="replace")
    result["finished"] = all(s in conn.finished for s in outputs)
    sock.close()
    return result


def port_forward(args):
    sock, result = upgrade(args.url, ["portforward.k8s.io"])
    if sock is None:
        return result
    conn = Connection(sock)
    threading.Thread(target=conn.reader, daemon=True).start()
    base = [("port", str(args.port_forward)), ("requestID", "0")]
    error = conn.open_stream([("streamType", "error")] + base)
    data = conn.open_stream([("streamType", "data")] + base)
    conn.wait(lambda: error in conn.replied and data in conn.replied, 30)
    conn.write(data, args.send.encode(), fin=True)
    conn.wait(lambda: data in conn.finished and error in conn.finished, args.timeout)
    result["data"] = conn.data.get(data, b"").decode(errors="replace")
    result["error"] = conn.data.get(error, b"").decode(errors="replace")
    sock.close()
    return result


def half_pairs(args):
    """Opens --half-pairs data streams of port forwarding whose error streams never come, and
    sends --bytes on each: prints how many the server reset, and when the last one was."""
    sock, result = upgrade(args.url, ["portforward.k8s.io"])
    if sock is None:
        return result
    sock.settimeout(None)
    conn = Connection(sock)
    threading.Thread(target=conn.reader, daemon=True).start()
    streams = [conn.open_stream([("streamType", "data"), ("port", str(args.port_forward)),
                                 ("requestID", str(i))]) for i in range(args.half_pairs)]
    conn.wait(lambda: all(s in conn.replied or s in conn.finished for s in streams), 30)
    start = time.monotonic()
    sent = [0]

    def sender():
        chunk = b"x" * 65536
        try:
            for stream in streams:
                for _ in range(max(1, args.bytes // len(chunk))):
                    if stream in conn.finished:
                        break
                    conn.write(stream, chunk)
                    sent[0] += len(chunk)
        except OSError:
            pass

    threading.Thread(target=sender, daemon=True).start()
    conn.wait(lambda: all(s in conn.finished for s in streams), args.timeout)
    result["reset"] = sum(1 for s in streams if s in conn.finished)
    result["seconds"] = time.monotonic() - start
    result["sent"] = sent[0]
    sock.close()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--protocol", action="append")
    parser.add_argument("--stdin")
    parser.add_argument("--stdin-delay", type=float, default=0)
    parser.add_argument("--keep-stdin", type=float, default=0)
    parser.add_argument("--tty", action="store_true")
    parser.add_argument("--size")
    parser.add_argument("--no-stdout", action="store_true")
    parser.add_argument("--stderr", action="store_true")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--port-forward", type=int)
    parser.add_argument("--send", default="")
    parser.add_argument("--ca")
    parser.add_argument("--half-pairs", type=int, default=0)
    parser.add_argument("--bytes", type=int, default=0)
    args = parser.parse_args()
    global CA_FILE
    CA_FILE = args.ca
    if args.half_pairs:
        result = half_pairs(args)
    elif args.port_forward:
        result = port_forward(args)
    else:
        result = remote_command(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
