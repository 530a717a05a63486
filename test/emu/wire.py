# SPDX-License-Identifier: ISC
"""Requests, answers and errors: GraphError (a Graph error answer), OAuthError (an
identity-platform error answer), Resp, Request (one direct request or $batch item),
Prefer header parsing, compact JSON, HTML <-> text for bodies.
"""

import html
import json
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from .consts import AADSTS


# ----------------------------------------------------------------------------- errors

class GraphError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or []


class OAuthError(Exception):
    def __init__(self, error, code, detail=None, status=400, suberror=None):
        super().__init__(error)
        self.error, self.code, self.status, self.suberror = error, code, status, suberror
        text = AADSTS.get(code, "Error.")
        if "%s" in text:
            args = detail if isinstance(detail, tuple) else (detail or "",)
            n = text.count("%s")
            text = text % tuple((list(args) + [""] * n)[:n])
        if not code:
            text = "The client is polling too frequently and should slow down." if error == "slow_down" else error
        self.description = "AADSTS%d: %s" % (code, text) if code else text


class Resp:
    __slots__ = ("status", "headers", "body", "action", "extra", "fault", "entry", "transfer_ms")

    def __init__(self, status=200, body=b"", headers=None, action=None, extra=None):
        self.status, self.body = status, body
        self.headers = headers or []
        self.action, self.extra, self.fault = action, extra, None
        self.entry = None	# its request-log entry: the server notes t_sent there
        self.transfer_ms = 0	# page_transfer_ms: the time the body takes to arrive


class Request:
    """A request as seen by the dispatcher (direct or a $batch item)."""

    def __init__(self, method, target, headers, body, base, in_batch=False, batch_id=None):
        self.method = method.upper()
        parts = urlsplit(target)
        self.path = parts.path or "/"
        self.query_string = parts.query
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.qlower = {k.lower(): v for k, v in self.query.items()}
        self.headers = headers  # dict lower-name -> value (Prefer values joined by ',')
        self.body = body or b""
        self.base = base
        self.in_batch, self.batch_id = in_batch, batch_id
        self.prefs = parse_prefer(headers.get("prefer", ""))

    def match_text(self):
        q = ("?" + self.query_string) if self.query_string else ""
        raw = self.path + q
        return raw, unquote(raw)

    def url(self):
        return self.base + self.path + (("?" + self.query_string) if self.query_string else "")


def parse_prefer(value):
    prefs = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        prefs[k.strip().lower()] = v.strip().strip('"')
    return prefs


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def html_to_text(s):
    s = re.sub(r"(?is)<(script|style|head).*?</\1>", "", s)
    s = re.sub(r"(?s)<[^>]*>", "", s)
    return html.unescape(s).strip()


def text_to_html(s):
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "</head><body>" + html.escape(s).replace("\n", "<br>") + "</body></html>")
