# SPDX-License-Identifier: ISC
"""The entry point of every request: the request log (GET /_emu/requests), the
Graph and identity-platform answer helpers, and the dispatch to the control interface,
the identity platform or Graph.
"""

import re
import sys
import time

from .consts import GRAPH_PREFIX, JSON_CT, LOG_CAP
from .timeutil import utcnow
from .ids import new_guid
from .wire import GraphError, Resp, jdump


class DispatchMixin:
    """Request log, answer helpers and dispatch."""

    # ------------------------------------------------------------------ request log
    def log_start(self, req):
        with self.lock:
            self.req_seq += 1
            entry = {"seq": self.req_seq, "method": req.method, "path": req.path, "query": req.query_string,
                     "status": None, "mailbox": None, "in_batch": req.in_batch, "batch_id": req.batch_id,
                     "prefer": [p.strip() for p in req.headers.get("prefer", "").split(",") if p.strip()],
                     "has_auth": bool(req.headers.get("authorization")), "grant_type": None,
                     "auth_len": len(req.headers.get("authorization") or ""),
                     "consistency_level": req.headers.get("consistencylevel"), "scope": None,
                     "client_request_id": req.headers.get("client-request-id"),
                     "fault": None, "t_start": time.time(), "t_end": None, "items": None,
                     "t_sent": None}
            self.requests.append(entry)
            if len(self.requests) > LOG_CAP:
                del self.requests[:LOG_CAP // 10]
            return entry

    # ------------------------------------------------------------------ response helpers
    def graph_error(self, req, status, code, message, headers=None):
        crid = req.headers.get("client-request-id") or new_guid()
        rid = new_guid()
        body = {"error": {"code": code, "message": message,
                          "innerError": {"date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
                                         "request-id": rid, "client-request-id": crid}}}
        hdrs = [("Content-Type", JSON_CT), ("request-id", rid), ("client-request-id", crid)] + list(headers or [])
        return Resp(status, jdump(body).encode(), hdrs)

    def graph_json(self, req, status, obj, extra_headers=None, text=None):
        crid = req.headers.get("client-request-id") or new_guid()
        hdrs = [("Content-Type", JSON_CT), ("request-id", new_guid()), ("client-request-id", crid),
                ("OData-Version", "4.0")] + list(extra_headers or [])
        body = text.encode() if text is not None else (jdump(obj).encode() if obj is not None else b"")
        return Resp(status, body, hdrs)

    def oauth_error(self, err):
        now = utcnow()
        trace, corr = new_guid(), new_guid()
        body = {"error": err.error,
                "error_description": "%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
                    err.description, trace, corr, now.strftime("%Y-%m-%d %H:%M:%SZ")),
                "error_codes": [err.code] if err.code else [],
                "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"), "trace_id": trace, "correlation_id": corr,
                "error_uri": "https://login.microsoftonline.com/error?code=%d" % err.code if err.code else
                             "https://login.microsoftonline.com/error"}
        if getattr(err, "suberror", None):
            body["suberror"] = err.suberror
        return Resp(err.status, jdump(body).encode(), [("Content-Type", "application/json; charset=utf-8"),
                                                       ("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    # ------------------------------------------------------------------ entry point
    def handle(self, req):
        """Dispatch one request (direct or $batch item) and return a Resp."""
        if req.path.startswith("/_emu/") or req.path == "/_emu":
            try:
                return self.control(req)
            except GraphError as e:
                return self.graph_error(req, e.status, e.code, e.message)
            except (ValueError, KeyError, TypeError) as e:
                return Resp(400, jdump({"error": {"code": "BadRequest", "message": "control: %s" % e}}).encode(),
                            [("Content-Type", "application/json")])
        entry = self.log_start(req)
        try:
            resp = self._handle_logged(req, entry)
        except Exception as e:  # never let the emulator die on a request
            import traceback
            traceback.print_exc(file=sys.stderr)
            resp = self.graph_error(req, 500, "generalException", "Emulator internal error: %s" % e)
        with self.lock:
            entry["status"] = resp.status
            entry["t_end"] = time.time()
            entry["items"] = getattr(req, "items", None)
            resp.entry = entry
            if entry["items"] is not None and not req.in_batch:
                resp.transfer_ms = float(self.config.get("page_transfer_ms") or 0)
            if resp.fault:
                entry["fault"] = resp.fault
        if self.log_file:
            self.log_file.write("%s %s %s%s -> %s%s\n" % (time.strftime("%H:%M:%S"), req.method, req.path,
                                ("?" + req.query_string) if req.query_string else "", resp.status,
                                " [%s]" % resp.fault if resp.fault else ""))
        return resp

    def _handle_logged(self, req, entry):
        lat = self.config.get("latency_ms") or 0
        m = re.match(r"^/([^/]+)/oauth2/v2\.0/(devicecode|token|authorize)/?$", req.path, re.I)
        if m or req.path.startswith("/devicelogin") or "/.well-known/" in req.path:
            if lat:
                time.sleep(lat / 1000.0)
            return self.identity(req, entry, m)
        if req.path == GRAPH_PREFIX or req.path.startswith(GRAPH_PREFIX + "/"):
            return self.graph(req, entry, lat)
        return self.graph_error(req, 404, "UnknownError", "No such endpoint: %s" % req.path)
