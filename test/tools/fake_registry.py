#!/usr/bin/env python3
"""A registry for the image tests that real ones cannot be made to be: it serves the images of
OCI layouts (distribution-spec GET/HEAD of /v2/, manifests by tag or digest, blobs) and can

  --record FILE     append every request (method, path, headers) to FILE as a JSON line, with
                    the number of blob downloads in flight when it arrived
  --rate BYTES      send blob bodies at this many bytes per second
  --basic USER:PASS ask for HTTP basic auth (401 with a Basic challenge) and check it

Images: each --image NAME=LAYOUT serves repository NAME from an OCI layout directory; its tags
are the index's org.opencontainers.image.ref.name annotations, or "latest" for the first one.
It prints "ready <port>" once it listens (port 0 picks a free one).
"""
import argparse
import base64
import json
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
inflight = 0


def load(images):
    repos = {}
    for spec in images:
        name, layout = spec.split("=", 1)
        index = json.load(open(os.path.join(layout, "index.json")))
        tags = {}
        for i, desc in enumerate(index["manifests"]):
            tag = desc.get("annotations", {}).get("org.opencontainers.image.ref.name")
            if tag is None and i == 0:
                tag = "latest"
            if tag is not None:
                tags[tag] = desc
        repos[name] = (layout, tags)
    return repos


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, blob_inflight):
        if not self.server.options.record:
            return
        self.record_event({"method": self.command, "path": self.path,
                           "headers": dict(self.headers), "inflight": blob_inflight,
                           "time": time.time()})

    def record_event(self, entry):
        if not self.server.options.record:
            return
        with lock:
            with open(self.server.options.record, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def authorized(self):
        basic = self.server.options.basic
        if not basic:
            return True
        header = self.headers.get("Authorization", "")
        if header == "Basic " + base64.b64encode(basic.encode()).decode():
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="fake"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def fail(self, status, code):
        body = json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_blob(self, path, media_type, digest):
        global inflight
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(size))
        self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command == "HEAD":
            return
        rate = self.server.options.rate
        sent = 0
        try:
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(max(1, rate // 10) if rate else 1 << 20)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    sent += len(chunk)
                    if rate:
                        time.sleep(len(chunk) / rate)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            # When the body ended, and whether the client took all of it (or hung up first).
            self.record_event({"event": "body-end", "path": self.path,
                               "complete": sent == size, "time": time.time()})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        global inflight
        parts = self.path.split("?")[0].split("/")
        is_blob = len(parts) >= 4 and parts[-2] == "blobs"
        with lock:
            if is_blob:
                inflight += 1
            now = inflight
        try:
            self.record(now)
            if not self.authorized():
                return
            if self.path.split("?")[0] in ("/v2", "/v2/"):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if len(parts) < 5 or parts[1] != "v2":
                return self.fail(404, "NAME_UNKNOWN")
            name, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
            if name not in self.server.repos:
                return self.fail(404, "NAME_UNKNOWN")
            layout, tags = self.server.repos[name]
            if kind == "manifests" and ref in tags:
                desc = tags[ref]
                ref = desc["digest"]
                media_type = desc["mediaType"]
            elif kind == "manifests":
                media_type = "application/vnd.oci.image.manifest.v1+json"
                for desc in tags.values():
                    if desc["digest"] == ref:
                        media_type = desc["mediaType"]
            else:
                media_type = "application/octet-stream"
            if not ref.startswith("sha256:"):
                return self.fail(404, "MANIFEST_UNKNOWN")
            path = os.path.join(layout, "blobs", "sha256", ref[7:])
            if not os.path.isfile(path):
                return self.fail(404, "BLOB_UNKNOWN" if kind == "blobs" else "MANIFEST_UNKNOWN")
            if kind == "manifests" and media_type == "application/vnd.oci.image.manifest.v1+json":
                doc = json.load(open(path))
                media_type = doc.get("mediaType", media_type)
            self.send_blob(path, media_type, ref)
        finally:
            if is_blob:
                with lock:
                    inflight -= 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--image", action="append", default=[])
    parser.add_argument("--record")
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--basic")
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    server.options = options
    server.repos = load(options.image)
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
