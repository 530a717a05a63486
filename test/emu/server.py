# SPDX-License-Identifier: ISC
"""HTTP plumbing: the request handler (TLS handshake, chunked bodies, the socket-level
faults cut, truncate and oversized), the threading server and the throwaway TLS CA and
certificate (--tls --ca-out).  EMU is the Emulator the handler serves; main() sets it.
"""

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .wire import Request


# ----------------------------------------------------------------------------- HTTP plumbing

EMU = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120

    def version_string(self):
        return "Microsoft-IIS/10.0"

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        # Every response carries Date (RFC 9110 s.6.6.1: an origin server
        # with a clock MUST send it on 2xx-4xx; Graph and the identity
        # platform do, on every answer).  config clock_skew_s moves the
        # service's clock, so that a client's skew check can be tested.
        if timestamp is None:
            timestamp = time.time() + float(EMU.config.get("clock_skew_s") or 0)
        return super().date_time_string(timestamp)

    def setup(self):
        super().setup()
        self._tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self._tls_failed = True

    def handle(self):
        if self._tls_failed:
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def do_GET(self):
        self._serve()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            for _ in range(100000):
                line = self.rfile.readline(65537).strip()
                n = int(line.split(b";")[0] or b"0", 16)
                if n == 0:
                    self.rfile.readline(65537)
                    break
                out += self.rfile.read(n)
                self.rfile.readline(65537)
            return out
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _serve(self):
        body = self._read_body()
        hdrs = {}
        for k, v in self.headers.items():
            lk = k.lower()
            hdrs[lk] = (hdrs[lk] + ", " + v) if lk in hdrs else v
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        req = Request(self.command, self.path, hdrs, body, "%s://%s" % (scheme, host))
        resp = EMU.handle(req)
        self._send(resp)

    def _kill(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp):
        if resp.action == "cut":
            self._kill()
            return
        self.send_response(resp.status)
        names = set()
        for k, v in resp.headers:
            self.send_header(k, v)
            names.add(k.lower())
        if resp.action == "oversized":
            n = resp.extra
            head = b'{"@odata.context":"x","value":[],"padding":"'
            tail = b'"}'
            total = len(head) + n + len(tail)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"A" * 65536
                left = n
                while left > 0:
                    k = min(left, len(chunk))
                    self.wfile.write(chunk[:k])
                    left -= k
                self.wfile.write(tail)
                self.wfile.flush()
            except OSError:
                self.close_connection = True
            return
        body = resp.body if self.command != "HEAD" else b""
        self.send_header("Content-Length", str(len(resp.body)))
        if resp.action == "truncate":
            self.send_header("Connection", "close")
        self.end_headers()
        if resp.action == "truncate":
            try:
                self.wfile.write(body[:len(body) // 2])
            except OSError:
                pass
            self._kill()
            return
        try:
            head = 16384 if resp.transfer_ms and len(body) > 16384 else 0
            if head:
                # page_transfer_ms: the head first, the rest after the time a
                # page takes to cross a real network (loopback has none).
                self.wfile.write(body[:head])
                self.wfile.flush()
                time.sleep(resp.transfer_ms / 1000.0)
            self.wfile.write(body[head:])
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        if resp.entry is not None:
            resp.entry["t_sent"] = time.time()


def make_tls(ca_out, keep=None):
    """Generate a throwaway CA and a server certificate for 127.0.0.1/localhost; with keep, in
    that directory, reused when it has them (an emulator restarted keeps its certificate)."""
    if keep and os.path.exists(os.path.join(keep, "srv.pem")):
        d = keep
    else:
        d = keep or tempfile.mkdtemp(prefix="graph-emu-tls-")
        if keep:
            os.makedirs(keep, exist_ok=True)
        _new_tls(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
    if ca_out:
        with open(os.path.join(d, "ca.pem")) as src, open(ca_out + ".tmp", "w") as dst:
            dst.write(src.read())
        os.replace(ca_out + ".tmp", ca_out)
    return ctx, None if keep else d


def _new_tls(d):
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
        "-subj", "/CN=timetap-sync Graph emulator throwaway CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "7", "-extfile", "ext.cnf")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, socket.timeout)):
            super().handle_error(request, client_address)
