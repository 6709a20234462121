"""A loopback HTTP server standing in for S3 in the tests (stdlib only).

Usage: http_server.py ROOT LOG
Serves the files of ROOT on 127.0.0.1 and a free port, which it prints on its
first line of stdout. The first path segment chooses the behaviour, the last
one names the file:
  /files/NAME           the file, with ETag and Last-Modified; 304 on a matching
                        If-None-Match (or If-Modified-Since without one);
                        Range "bytes=N-" honoured (206) unless If-Range differs
  /missing/NAME         404
  /forbidden/NAME       403 (what S3 says for a private or absent object)
  /flaky/NAME           500 on the first request for the path, then as /files
  /down/NAME            503 always
  /slow/NAME            headers and a few bytes, then silence for 30 s
  /truncated/NAME       the full Content-Length, half the body, then close
  /truncated-once/NAME  as /truncated the first time, then as /files
Each request is logged to LOG as one line: path, status, Range, If-Range,
If-None-Match, If-Modified-Since (tab-separated, '-' when absent).
"""
import email.utils
import hashlib
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, LOG = sys.argv[1], sys.argv[2]
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the log file says what matters
        pass

    def note(self, status):
        h = self.headers
        fields = [self.path, str(status)] + [
            h.get(k, "-") for k in ("Range", "If-Range", "If-None-Match", "If-Modified-Since")]
        with lock, open(LOG, "a") as f:
            f.write("\t".join(fields) + "\n")

    def plain(self, status, text=b""):
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        mode, name = parts[0], parts[-1]
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            n = counts[self.path]
        path = os.path.join(ROOT, name)
        if mode == "missing" or not os.path.isfile(path):
            return self.plain(404, b"<Error><Code>NoSuchKey</Code></Error>")
        if mode == "forbidden":
            return self.plain(403, b"<Error><Code>AccessDenied</Code></Error>")
        if mode == "down" or (mode == "flaky" and n == 1):
            return self.plain(503 if mode == "down" else 500, b"try again")
        with open(path, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.md5(body).hexdigest()
        mtime = int(os.path.getmtime(path))
        lastmod = email.utils.formatdate(mtime, usegmt=True)
        if mode == "slow":
            self.note(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(30)
            return
        if mode == "truncated" or (mode == "truncated-once" and n == 1):
            self.note(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lastmod)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:
            if inm == etag:
                return self.plain(304)
        elif ims is not None:
            t = email.utils.parsedate_to_datetime(ims).timestamp()
            if mtime <= t:
                return self.plain(304)
        start = 0
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and (
                if_range is None or if_range in (etag, lastmod)):
            start = int(rng[6:-1])
            if start >= len(body):
                return self.plain(416)
        status = 206 if start else 200
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", lastmod)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body)))
        self.end_headers()
        self.wfile.write(body[start:])


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
