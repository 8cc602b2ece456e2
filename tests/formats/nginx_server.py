"""Run Debian's real nginx as a retrying reverse proxy in front of two tiny HTTP servers.

``proxy_next_upstream error timeout http_503 non_idempotent`` makes nginx retry a request
(POSTs too) on the next upstream when one answers 503. One upstream always answers 503; the
other answers 200 (after ``?sleep=S`` seconds, to let a client give up and produce a 499).
nginx's own failures: ``/dead/`` goes to a group whose only server is marked ``down`` (nginx
logs the group name ``dead`` and 502: no live upstreams), ``/refused/`` to a group whose first
server is a closed port (a refused connection, logged 502) before the 200 upstream.
nginx's own timeout: ``/timeout/`` goes to a group whose first server answers only after 1.5 s,
past a ``proxy_read_timeout`` of 0.5 s (nginx logs 504 for it and retries the 200 upstream),
``/timeout-only/`` to that slow server alone (the caller gets nginx's 504); ``/app504/`` to an
app that answers 504 itself at once. Every request is also written in nginx's default
``combined`` format to ``combined.log``, and in the documented format without
``$upstream_header_time`` to ``no_header.log``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

NGINX = "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else shutil.which("nginx")

LOG_FORMAT = (
    "'$remote_addr - $remote_user [$time_local] \"$request\" '\n"
    '    \'$status $body_bytes_sent "$http_referer" "$http_user_agent" \'\n'
    '    \'"$upstream_addr" "$upstream_status" "$upstream_response_time" \'\n'
    "    '$request_time $msec \"$http_x_fal_request_id\" $request_id '\n"
    "    '\"$upstream_header_time\"'"
)
NO_HEADER_FORMAT = LOG_FORMAT.rsplit(" '\n", 1)[0] + "'"
"""The documented format before ``$upstream_header_time`` was added to it."""

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fastcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    log_format analyzer {log_format};
    log_format no_header {no_header_format};
    upstream runners {{
        server 127.0.0.1:{bad} max_fails=0;
        server 127.0.0.1:{good} max_fails=0;
    }}
    upstream dead {{
        server 127.0.0.1:{closed} down;
    }}
    upstream refusing {{
        server 127.0.0.1:{closed} max_fails=0;
        server 127.0.0.1:{good} max_fails=0;
    }}
    upstream slow_first {{
        server 127.0.0.1:{slow} max_fails=0;
        server 127.0.0.1:{good} max_fails=0;
    }}
    server {{
        listen 127.0.0.1:{port};
        access_log {prefix}/access.log analyzer;
        access_log {prefix}/combined.log combined;
        access_log {prefix}/no_header.log no_header;
        location /timeout/ {{
            proxy_pass http://slow_first/;
            proxy_read_timeout 500ms;
            proxy_next_upstream error timeout non_idempotent;
        }}
        location /timeout-only/ {{
            proxy_pass http://127.0.0.1:{slow}/;
            proxy_read_timeout 500ms;
        }}
        location /app504/ {{
            proxy_pass http://127.0.0.1:{app504}/;
        }}
        location /dead/ {{
            proxy_pass http://dead/;
        }}
        location /refused/ {{
            proxy_pass http://refusing/;
            proxy_next_upstream error timeout non_idempotent;
        }}
        location / {{
            proxy_pass http://runners;
            proxy_next_upstream error timeout http_503 non_idempotent;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""


class _Upstream(BaseHTTPRequestHandler):
    status = 200
    delay = 0.0
    """Seconds every answer waits (the slow server), besides ``?sleep=S``."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        sleep = parse_qs(urlparse(self.path).query).get("sleep", ["0"])[0]
        time.sleep(float(sleep) + self.delay)
        body = b'{"ok": true}' if self.status == 200 else b'{"detail": "unavailable"}'
        try:
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # nginx gave up on us (client went away)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(status: int, delay: float = 0.0) -> ThreadingHTTPServer:
    handler = type(f"Upstream{status}", (_Upstream,), {"status": status, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxy:
    """The running proxy: its URL, the upstream addresses and the access log it writes."""

    url: str
    bad: str
    good: str
    access_log: Path
    closed: str = ""
    """A port nothing listens on: connections to it are refused."""
    slow: str = ""
    """The server that answers only after nginx's ``proxy_read_timeout``."""
    app504: str = ""
    """The app that answers 504 itself."""

    @property
    def combined_log(self) -> Path:
        """The same requests in nginx's default ``combined`` format."""
        return self.access_log.with_name("combined.log")

    @property
    def no_header_log(self) -> Path:
        """The same requests in the documented format without ``$upstream_header_time``."""
        return self.access_log.with_name("no_header.log")


def nginx_available() -> bool:
    return NGINX is not None


@contextmanager
def nginx_proxy(prefix: Path) -> Iterator[Proxy]:
    """Start nginx (non-daemon, own prefix, free ports); always stop it and the upstreams."""
    bad, good = _serve(503), _serve(200)
    slow, app504 = _serve(200, delay=1.5), _serve(504)
    upstreams = (bad, good, slow, app504)
    port, closed = _free_port(), _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        CONFIG.format(
            prefix=prefix,
            bad=bad.server_address[1],
            good=good.server_address[1],
            port=port,
            closed=closed,
            slow=slow.server_address[1],
            app504=app504.server_address[1],
            log_format=LOG_FORMAT,
            no_header_format=NO_HEADER_FORMAT,
        )
    )
    assert NGINX is not None, "nginx is not installed"
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"nginx exited {proc.returncode}: {out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.05)
        yield Proxy(
            f"http://127.0.0.1:{port}",
            f"127.0.0.1:{bad.server_address[1]}",
            f"127.0.0.1:{good.server_address[1]}",
            prefix / "access.log",
            f"127.0.0.1:{closed}",
            f"127.0.0.1:{slow.server_address[1]}",
            f"127.0.0.1:{app504.server_address[1]}",
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
        for server in upstreams:
            server.shutdown()
            server.server_close()


def post(url: str, request_id: str | None, timeout: float = 5.0) -> int:
    """POST a small JSON body (with ``X-Fal-Request-Id`` when given); the HTTP status.

    A client that gives up first (``timeout``) raises ``OSError``: nginx logs 499 for it."""
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["X-Fal-Request-Id"] = request_id
    req = urllib.request.Request(url, data=b'{"prompt": "x"}', headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_for_lines(path: Path, count: int) -> None:
    """Wait (at most 5 s) until nginx has written ``count`` lines to ``path``."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
