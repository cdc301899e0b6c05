#!/usr/bin/env python3
"""A local receiver for klaxon's pages: an HTTP endpoint for webhooks and an
SMTP sink for e-mail, both recording what arrives as JSON lines. `make run`
starts it on port 9099 (webhooks) and 2525 (e-mail) so that the pages of
deploy/examples/oncall.yaml show up in its output; the tests use it too.

  page-receiver.py [--out FILE] [--print] [--http-port P] [--smtp-port Q]
              [--host H]
              [--status CODE] [--fail-first N] [--delay-ms D]
              [--reply-bytes N] [--smtp-fail-first N]
              [--tls-cert PEM --tls-key PEM [--smtps-port R]]
              [--auth USER:PASSWORD [--auth-mechs "PLAIN LOGIN"]]

Ports default to 0 (a free port). The first line on stdout, flushed, is
"http=PORT smtp=PORT" (and " smtps=PORT" with --tls-cert); then it serves
until killed.

HTTP: every POST is recorded as
  {"t": arrival unix time, "channel": "webhook", "path": ...,
   "idempotency_key": header or null, "content_type": header or null,
   "user_agent": header or null, "body": parsed JSON or raw text,
   "status": the status answered}
and answered with --status (default 200), or 500 for the first N POSTs
with --fail-first N, after --delay-ms, with a body of --reply-bytes bytes
(default 2). A GET is answered 200 and not recorded.

SMTP: EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT, and with
--tls-cert STARTTLS (plus implicit TLS on the smtps port), with --auth
AUTH PLAIN and LOGIN (required before MAIL then). Every message is
recorded as
  {"t": arrival unix time, "channel": "email", "from": ..., "to": ...,
   "data": the message with dot-stuffing undone, "status": 250 or 451,
   "tls": bool, "auth": user name or null}
where "to" is the recipients joined by ", ". The answer to the end of DATA
comes after --delay-ms; the first N messages are refused with 451 when
--smtp-fail-first N is given.

Each record is appended and flushed on its own, so the file can be read
while the receiver runs. With --print, every record is also summed up as one
line on stdout (time, channel, recipient, subject). Standard library only.
"""

import argparse
import base64
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time


class Recorder:
    def __init__(self, path, echo=False):
        self.path = path
        self.echo = echo
        self.lock = threading.Lock()
        self.counts = {}

    def count(self, channel):
        """How many records of the channel came before this one."""
        with self.lock:
            n = self.counts.get(channel, 0)
            self.counts[channel] = n + 1
            return n

    def write(self, record):
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock:
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
                    f.flush()
            if self.echo:
                print(summary(record), flush=True)


def summary(record):
    """One line for a person watching: when, how, to whom, what."""
    when = time.strftime("%H:%M:%S", time.localtime(record["t"]))
    if record.get("channel") == "email":
        subject = ""
        for line in record.get("data", "").splitlines():
            if line.lower().startswith("subject:"):
                subject = line[8:].strip()
                break
        return "%s email   to %s: %s" % (when, record.get("to"), subject)
    body = record.get("body")
    if isinstance(body, dict):
        return "%s webhook %s: %s (page %s, key %s)" % (
            when, record.get("path"), body.get("text"), body.get("page_id"),
            record.get("idempotency_key"))
    return "%s webhook %s: %s" % (when, record.get("path"), body)


def parse_body(raw):
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def make_http_handler(opts, rec):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def reply(self, status, size):
            body = b"x" * size
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply(200, 2)

        def do_POST(self):
            t = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            n = rec.count("webhook")
            status = 500 if n < opts.fail_first else opts.status
            rec.write({
                "t": t,
                "channel": "webhook",
                "path": self.path,
                "idempotency_key": self.headers.get("Idempotency-Key"),
                "content_type": self.headers.get("Content-Type"),
                "user_agent": self.headers.get("User-Agent"),
                "body": parse_body(raw),
                "status": status,
            })
            if opts.delay_ms > 0:
                time.sleep(opts.delay_ms / 1000.0)
            self.reply(status, opts.reply_bytes)

    return Handler


def strip_path(arg):
    """The address in 'FROM:<a@b> SIZE=10' or 'TO:<a@b>'."""
    arg = arg.split(":", 1)[1] if ":" in arg else arg
    arg = arg.strip()
    if arg.startswith("<") and ">" in arg:
        return arg[1:arg.index(">")]
    return arg.split(" ")[0]


def b64decode(text):
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None


def make_smtp_handler(opts, rec, tls_ctx, implicit):
    class Handler(socketserver.StreamRequestHandler):
        def setup(self):
            self.tls = False
            self.user = None
            if implicit:
                self.request = tls_ctx.wrap_socket(self.request,
                                                   server_side=True)
                self.tls = True
            super().setup()

        def start_tls(self):
            self.send("220 2.0.0 ready to start TLS")
            self.request = tls_ctx.wrap_socket(self.request, server_side=True)
            self.connection = self.request
            self.rfile = self.request.makefile("rb")
            self.wfile = self.request.makefile("wb")
            self.tls = True

        def send(self, line):
            self.wfile.write(line.encode("utf-8") + b"\r\n")
            self.wfile.flush()

        def read_line(self):
            raw = self.rfile.readline()
            if not raw:
                return None
            return raw.decode("utf-8", errors="replace").rstrip("\r\n")

        def read_data(self):
            lines = []
            while True:
                line = self.rfile.readline()
                if not line:
                    return None
                if line in (b".\r\n", b".\n"):
                    return b"".join(lines)
                if line.startswith(b".."):
                    line = line[1:]
                lines.append(line)

        def message(self, sender, rcpts):
            t = time.time()
            data = self.read_data()
            if data is None:
                return False
            n = rec.count("email")
            status = 451 if n < opts.smtp_fail_first else 250
            rec.write({
                "t": t,
                "channel": "email",
                "from": sender,
                "to": ", ".join(rcpts),
                "data": data.decode("utf-8", errors="replace"),
                "status": status,
                "tls": self.tls,
                "auth": self.user,
            })
            if opts.delay_ms > 0:
                time.sleep(opts.delay_ms / 1000.0)
            if status == 250:
                self.send("250 2.0.0 accepted")
            else:
                self.send("451 4.3.0 try again later")
            return True

        def auth(self, arg):
            parts = arg.split()
            mech = parts[0].upper() if parts else ""
            if mech not in opts.auth_mechs.upper().split():
                self.send("504 5.5.4 mechanism not supported")
                return
            if mech == "PLAIN":
                if len(parts) < 2:
                    self.send("334 ")
                    parts.append(self.read_line() or "")
                plain = b64decode(parts[1]) or ""
                fields = plain.split("\0")
                user, password = (fields[1], fields[2]) if len(
                    fields) == 3 else (None, None)
            else:
                self.send("334 VXNlcm5hbWU6")
                user = b64decode(self.read_line() or "")
                self.send("334 UGFzc3dvcmQ6")
                password = b64decode(self.read_line() or "")
            if "%s:%s" % (user, password) == opts.auth:
                self.user = user
                self.send("235 2.7.0 authenticated")
            else:
                self.send("535 5.7.8 bad credentials")

        def ehlo(self):
            self.send("250-receiver")
            if tls_ctx is not None and not self.tls:
                self.send("250-STARTTLS")
            if opts.auth:
                self.send("250-AUTH " + opts.auth_mechs)
            self.send("250 8BITMIME")

        def command(self, verb, arg, state):
            if verb == "EHLO":
                self.ehlo()
            elif verb == "HELO":
                self.send("250 receiver")
            elif verb == "STARTTLS" and tls_ctx is not None and not self.tls:
                self.start_tls()
                state.update(sender=None, rcpts=[])
            elif verb == "AUTH" and opts.auth:
                self.auth(arg)
            elif verb == "MAIL":
                if opts.auth and self.user is None:
                    self.send("530 5.7.0 authentication required")
                else:
                    state.update(sender=strip_path(arg), rcpts=[])
                    self.send("250 2.1.0 ok")
            elif verb == "RCPT":
                if state["sender"] is None:
                    self.send("503 5.5.1 MAIL first")
                else:
                    state["rcpts"].append(strip_path(arg))
                    self.send("250 2.1.5 ok")
            elif verb == "DATA":
                if not state["rcpts"]:
                    self.send("503 5.5.1 RCPT first")
                    return True
                self.send("354 end with <CRLF>.<CRLF>")
                if not self.message(state["sender"], state["rcpts"]):
                    return False
                state.update(sender=None, rcpts=[])
            elif verb in ("RSET", "NOOP"):
                if verb == "RSET":
                    state.update(sender=None, rcpts=[])
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return False
            else:
                self.send("502 5.5.2 not implemented")
            return True

        def handle(self):
            state = {"sender": None, "rcpts": []}
            try:
                self.send("220 receiver ESMTP")
                while True:
                    line = self.read_line()
                    if line is None:
                        return
                    verb = line.split(" ", 1)[0].upper()
                    if not self.command(verb, line[len(verb):].strip(), state):
                        return
            except (OSError, ssl.SSLError):
                return  # the client went away or refused our certificate

    return Handler


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a failed TLS handshake is part of some tests


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="")
    p.add_argument("--print", action="store_true", dest="echo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--smtp-port", type=int, default=0)
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--reply-bytes", type=int, default=2)
    p.add_argument("--smtp-fail-first", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--smtps-port", type=int, default=0)
    p.add_argument("--auth")
    p.add_argument("--auth-mechs", default="PLAIN LOGIN")
    opts = p.parse_args()

    rec = Recorder(opts.out, opts.echo)
    tls_ctx = None
    if opts.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    web = HTTPServer((opts.host, opts.http_port), make_http_handler(opts, rec))
    smtp = SMTPServer((opts.host, opts.smtp_port),
                      make_smtp_handler(opts, rec, tls_ctx, False))
    servers = [web, smtp]
    ports = "http=%d smtp=%d" % (web.server_address[1],
                                 smtp.server_address[1])
    if tls_ctx is not None:
        smtps = SMTPServer((opts.host, opts.smtps_port),
                           make_smtp_handler(opts, rec, tls_ctx, True))
        servers.append(smtps)
        ports += " smtps=%d" % smtps.server_address[1]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(ports, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
