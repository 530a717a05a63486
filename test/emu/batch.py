# SPDX-License-Identifier: ISC
"""JSON $batch (POST /v1.0/$batch): at most 20 steps, each with a unique id; every item runs
as a request of its own (its own fault matching, throttling and log entry, in_batch), four at a
time, or one after the other when any item has dependsOn (a failed dependency answers 424
FailedDependency); the answers come back in shuffled order.
"""

import base64
import json
import random
import re
import threading

from .consts import GRAPH_PREFIX, MAX_BATCH
from .wire import GraphError, Request, jdump


class BatchMixin:
    """$batch."""

    # batch --------------------------------------------------------------------
    def batch(self, req, entry):
        if req.method != "POST":
            raise GraphError(405, "BadRequest", "The $batch endpoint accepts POST only.")
        try:
            body = json.loads(req.body.decode("utf-8"))
            reqs = body["requests"]
            assert isinstance(reqs, list)
        except Exception:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(reqs) > MAX_BATCH:
            raise GraphError(400, "BadRequest", "Number of batch request steps exceeds the maximum of 20.")
        ids = [str(r.get("id")) for r in reqs if isinstance(r, dict)]
        if len(ids) != len(reqs) or any(i in ("", "None") for i in ids):
            raise GraphError(400, "BadRequest", "Invalid batch payload format: every request needs an id.")
        if len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request contains duplicate ids.")
        results = {}
        sequential = any(r.get("dependsOn") for r in reqs)

        def run(item):
            iid = str(item["id"])
            for dep in item.get("dependsOn") or []:
                st = results.get(str(dep), {}).get("status", 424)
                if not (200 <= st < 300):
                    results[iid] = {"id": iid, "status": 424, "body": {"error": {"code": "FailedDependency",
                                    "message": "The request could not be executed because a dependent request failed."}}}
                    return
            url = item.get("url") or ""
            if not isinstance(url, str) or re.match(r"^[a-z]+://", url, re.I) or not item.get("method"):
                results[iid] = {"id": iid, "status": 400, "body": {"error": {"code": "BadRequest",
                                "message": "Invalid request: a relative url and a method are required."}}}
                return
            hdrs = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            data = b""
            if "body" in item:
                if "content-type" not in hdrs:
                    results[iid] = {"id": iid, "status": 400, "body": {"error": {"code": "BadRequest",
                                    "message": "Content-Type header must be specified when a body is present."}}}
                    return
                b = item["body"]
                data = b.encode() if isinstance(b, str) else jdump(b).encode()
            if "authorization" not in hdrs and req.headers.get("authorization"):
                hdrs["authorization"] = req.headers["authorization"]
            target = GRAPH_PREFIX + (url if url.startswith("/") else "/" + url)
            sub = Request(item["method"], target, hdrs, data, req.base, in_batch=True, batch_id=entry["seq"])
            r = self.handle(sub)
            out = {"id": iid, "status": r.status,
                   "headers": {k: v for k, v in r.headers if k.lower() in ("content-type", "retry-after", "location",
                                                                           "preference-applied", "etag")}}
            if r.body:
                try:
                    out["body"] = json.loads(r.body)
                except ValueError:
                    out["body"] = base64.b64encode(r.body).decode()
            results[iid] = out

        if sequential:
            for item in reqs:
                run(item)
        else:
            queue = list(reqs)
            qlock = threading.Lock()

            def worker():
                for _ in range(len(reqs)):
                    with qlock:
                        if not queue:
                            return
                        item = queue.pop(0)
                    run(item)
            threads = [threading.Thread(target=worker) for _ in range(min(4, len(reqs)))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        order = [results[i] for i in ids]
        if len(order) > 1:
            shuffled = order[:]
            random.shuffle(shuffled)
            if [r["id"] for r in shuffled] == ids:
                shuffled.reverse()
            order = shuffled
        return self.graph_json(req, 200, {"responses": order})
