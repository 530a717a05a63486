#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Self-tests of test/graph_emulator.py (run by `make check`).  TAP output, exit 1 on failure.

Starts the emulator (plain HTTP with --state, once with --tls, once with --generate 10000)
and exercises every endpoint and fault kind; response shapes are checked against the key
names in Microsoft's documentation examples (microsoft-graph-docs-contrib: event-delta.md,
calendar-list-calendarview.md, user-list-calendars.md, calendar-post-events.md,
json-batching.md, errors.md; entra-docs: v2-oauth2-device-code.md, v2-oauth2-auth-code-flow.md).
test_realism* run test/scenarios/realism.json against the REALISM section of the emulator's
docstring (token shapes, consent, memberOf advanced queries, personal accounts, CAE, shared
calendars, request-log fields), each hard default and, where one exists, its kinder switch.
test_switches runs test/scenarios/switches.json against the switches added 2026-12 (sparse
occurrences and series masters in delta, $select on GET event, changeKey-only Outlook changes,
txn_replay, group meetings and mail counters, Teams link regeneration, nextlink_loop_fresh,
delta_refused, mailboxSettings, max_page / oversized), each in both settings.
Python 3 standard library only.
"""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "graph_emulator.py")
DEMO = os.path.join(HERE, "scenarios", "demo.json")
CLIENT_ID = "8f0c3c5e-1d5a-4c1e-9f3e-2b7f0d6a1c11"
SCOPE = "offline_access User.Read Calendars.ReadWrite Group.ReadWrite.All"
SVEP_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name TimeTapApptId"

# ----------------------------------------------------------------------------- TAP

N = 0
FAILED = 0


def ok(cond, desc, detail=None):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, desc))
    else:
        FAILED += 1
        print("not ok %d - %s" % (N, desc))
        if detail is not None:
            for line in str(detail)[:2000].splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return bool(cond)


def comment(text):
    print("# " + text)
    sys.stdout.flush()


# ----------------------------------------------------------------------------- HTTP helpers

class R:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def h(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def hreq(method, url, headers=None, body=None, ctx=None, timeout=30):
    u = urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return R(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class Emu:
    """An emulator process."""

    def __init__(self, *args, ca=None):
        self.args = list(args)
        self.ca = ca
        self.ctx = None
        self.start()

    def start(self, port=0):
        self.proc = subprocess.Popen([sys.executable, EMULATOR, "--listen", "127.0.0.1:%d" % port] + self.args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.line = self.proc.stdout.readline().strip()
        if not self.line.startswith("listening "):
            raise RuntimeError("emulator did not start: %r %s" % (self.line, self.proc.stderr.read()))
        self.base = self.line.split()[1]
        if self.ca:
            self.ctx = ssl.create_default_context(cafile=self.ca)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err

    def url(self, path):
        if path.startswith("http"):
            return path
        if path.startswith("/_emu") or path.startswith("/common") or path.startswith("/organizations"):
            return self.base + path
        return self.base + "/v1.0" + path

    def ctl(self, method, path, obj=None):
        r = hreq(method, self.base + path, body=obj if obj is not None else None, ctx=self.ctx)
        return r.status, (r.json() if r.body else None)

    def g(self, method, path, token, body=None, prefer=None, headers=None, timeout=30):
        hd = {"Authorization": "Bearer " + token} if token else {}
        if prefer:
            hd["Prefer"] = prefer
        hd.update(headers or {})
        return hreq(method, self.url(path), hd, body, ctx=self.ctx, timeout=timeout)

    def form(self, path, fields, tenant="common"):
        from urllib.parse import urlencode
        return hreq("POST", "%s/%s/oauth2/v2.0/%s" % (self.base, tenant, path),
                    {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(fields).encode(), ctx=self.ctx)

    def device_login(self, scope=SCOPE):
        r = self.form("devicecode", {"client_id": CLIENT_ID, "scope": scope})
        dc = r.json()["device_code"]
        for _ in range(5):
            t = self.form("token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                    "client_id": CLIENT_ID, "device_code": dc})
            if t.status == 200:
                return t.json()
        raise RuntimeError("device login failed: %r" % t)

    def state(self):
        return self.ctl("GET", "/_emu/state")[1]

    def requests(self):
        return self.ctl("GET", "/_emu/requests")[1]["requests"]

    def fault(self, **f):
        st, _ = self.ctl("POST", "/_emu/faults", {"faults": [f]})
        assert st == 200


def delta_round(emu, url, token, pagesize=None, max_pages=2000, extra_prefer=None):
    """Follow nextLinks to a deltaLink.  Returns (items, deltaLink, pages, problems)."""
    items, pages, problems = [], 0, []
    prefer = ", ".join(p for p in ["odata.maxpagesize=%d" % pagesize if pagesize else None, extra_prefer] if p) or None
    while pages < max_pages:
        r = emu.g("GET", url, token, prefer=prefer)
        pages += 1
        if r.status != 200:
            problems.append("status %d on %s: %s" % (r.status, url, r.body[:200]))
            return items, None, pages, problems
        j = r.json()
        if "@odata.nextLink" in j and "@odata.deltaLink" in j:
            problems.append("page carries both links")
        if pagesize and len(j["value"]) > pagesize:
            problems.append("page larger than maxpagesize")
        if pagesize and r.h("preference-applied") != "odata.maxpagesize=%d" % pagesize and not extra_prefer:
            problems.append("Preference-Applied %r" % r.h("preference-applied"))
        items += j["value"]
        if "@odata.deltaLink" in j:
            return items, j["@odata.deltaLink"], pages, problems
        url = j["@odata.nextLink"]
    problems.append("no deltaLink after %d pages" % pages)
    return items, None, pages, problems


def window(days_before=8, days_after=30):
    now = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return ((now - timedelta(days=days_before)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (now + timedelta(days=days_after)).strftime("%Y-%m-%dT%H:%M:%SZ"))


def q(i):
    return quote(i, safe="")


EVENT_KEYS = {"@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
              "transactionId", "originalStartTimeZone", "originalEndTimeZone", "iCalUId",
              "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "subject", "bodyPreview",
              "importance", "sensitivity", "isAllDay", "isCancelled", "isOrganizer", "responseRequested",
              "seriesMasterId", "showAs", "type", "webLink", "onlineMeetingUrl", "isOnlineMeeting",
              "onlineMeetingProvider", "allowNewTimeProposals", "isDraft", "hideAttendees", "responseStatus",
              "body", "start", "end", "location", "locations", "recurrence", "attendees", "organizer",
              "onlineMeeting"}
CAL_KEYS = {"id", "name", "color", "changeKey", "canShare", "canViewPrivateItems", "hexColor", "canEdit",
            "allowedOnlineMeetingProviders", "defaultOnlineMeetingProvider", "isTallyingResponses",
            "isRemovable", "owner", "isDefaultCalendar"}
OAUTH_ERR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}
DUP_TXN_MSG = ("Your request can't be completed. The TransactionId specified in the request has already been used "
               "to create a different event.")
DT7 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def graph_error_shape(r, status, code):
    try:
        j = r.json()
        e = j["error"]
        inner = e["innerError"]
        return (r.status == status and e["code"] == code and isinstance(e["message"], str)
                and {"date", "request-id", "client-request-id"} <= set(inner) and r.h("request-id")
                and r.h("client-request-id"))
    except Exception:
        return False


# ----------------------------------------------------------------------------- test groups

def test_identity(emu):
    # device code
    r = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": SCOPE})
    j = r.json()
    ok(r.status == 200 and {"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"} <= set(j)
       and j["expires_in"] == 900 and "verification_uri_complete" not in j, "devicecode response fields", r)
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT_ID, "device_code": j["device_code"]}
    r1 = emu.form("token", poll)
    e = r1.json()
    ok(r1.status == 400 and e["error"] == "authorization_pending" and e["error_codes"] == [70016]
       and e["error_description"].startswith("AADSTS70016:") and OAUTH_ERR_KEYS <= set(e),
       "device poll before approval: authorization_pending AADSTS70016 with documented keys", r1)
    r2 = emu.form("token", poll)
    t = r2.json()
    ok(r2.status == 200 and t["token_type"] == "Bearer" and {"scope", "expires_in", "ext_expires_in", "access_token",
                                                           "refresh_token"} <= set(t),
       "device poll after approval: token response", r2)
    ok(t["access_token"].startswith("eyJ0eX") and t["access_token"].count(".") == 2
       and t["refresh_token"].startswith("1.AR") and 1000 <= len(t["refresh_token"]) <= 2000
       and re.match(r"^[A-Za-z0-9._-]+$", t["refresh_token"]), "access token JWT-shaped, refresh token opaque 1.AR...")
    r3 = emu.form("token", poll)
    ok(r3.status == 400 and r3.json()["error"] in ("invalid_grant", "bad_verification_code"), "device code is single-use")
    no_rt = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": "Calendars.ReadWrite"}).json()
    emu.ctl("POST", "/_emu/device/approve")
    t2 = emu.form("token", dict(poll, device_code=no_rt["device_code"])).json()
    ok("access_token" in t2 and "refresh_token" not in t2 and "id_token" not in t2,
       "no refresh_token without offline_access; control approve works")
    d3 = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": "openid profile offline_access Calendars.Read"}).json()
    emu.ctl("POST", "/_emu/device/approve")
    t3 = emu.form("token", dict(poll, device_code=d3["device_code"])).json()
    try:
        claims = json.loads(base64.urlsafe_b64decode(t3["id_token"].split(".")[1] + "=="))
    except Exception:
        claims = {}
    ok(claims.get("preferred_username") == "ada@contoso.example" and claims.get("aud") == CLIENT_ID,
       "openid scope adds an id_token with preferred_username")
    # decline / expire / device faults
    d = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": SCOPE}).json()
    emu.ctl("POST", "/_emu/device/decline")
    r = emu.form("token", dict(poll, device_code=d["device_code"]))
    ok(r.status == 400 and r.json()["error"] == "authorization_declined", "control decline -> authorization_declined")
    d = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": SCOPE}).json()
    emu.ctl("POST", "/_emu/device/expire")
    r = emu.form("token", dict(poll, device_code=d["device_code"]))
    ok(r.status == 400 and r.json()["error"] == "expired_token" and r.json()["error_codes"] == [70019],
       "control expire -> expired_token AADSTS70019")
    d = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": SCOPE}).json()
    for variant in ("slow_down", "authorization_declined", "expired_token", "bad_verification_code"):
        emu.fault(kind="device", variant=variant, match={"path": "/oauth2/v2.0/token"})
        r = emu.form("token", dict(poll, device_code=d["device_code"]))
        ok(r.status == 400 and r.json()["error"] == variant, "device fault %s" % variant, r)
    r = emu.form("token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT_ID})
    ok(r.status == 400 and r.json()["error"] == "invalid_request" and r.json()["error_codes"] == [900144],
       "missing device_code -> invalid_request AADSTS900144")

    # authorization code + PKCE
    verifier = base64.urlsafe_b64encode(os.urandom(40)).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = "http://localhost:53123"
    a = hreq("GET", emu.base + "/organizations/oauth2/v2.0/authorize?client_id=%s&response_type=code&redirect_uri=%s"
             "&response_mode=query&scope=%s&state=xyz123&code_challenge=%s&code_challenge_method=S256&login_hint=%s"
             % (CLIENT_ID, q(redirect), q(SCOPE), challenge, q("grace@contoso.example")), ctx=emu.ctx)
    loc = a.h("location") or ""
    lq = parse_qs(urlsplit(loc).query)
    ok(a.status == 302 and loc.startswith(redirect + "/?") and lq.get("state") == ["xyz123"] and "code" in lq,
       "authorize auto-approves: 302 to loopback redirect (trailing /) with code and state", a)
    code = lq.get("code", [""])[0]
    red = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "code": code, "redirect_uri": redirect,
           "code_verifier": verifier + "x"}
    r = emu.form("token", red, tenant="organizations")
    ok(r.status == 400 and r.json()["error"] == "invalid_grant" and r.json()["error_codes"] == [501481],
       "PKCE verifier mismatch -> invalid_grant AADSTS501481", r)
    r = emu.form("token", dict(red, code_verifier=verifier, redirect_uri="http://localhost:9/other"), tenant="organizations")
    ok(r.status == 400 and r.json()["error"] == "invalid_grant", "redirect_uri mismatch -> invalid_grant", r)
    r = emu.form("token", dict(red, code_verifier=verifier), tenant="organizations")
    tg = r.json()
    ok(r.status == 200 and "refresh_token" in tg, "code redeemed with the right verifier", r)
    r = emu.form("token", dict(red, code_verifier=verifier), tenant="organizations")
    ok(r.status == 400 and r.json()["error_codes"] == [54005], "authorization code reuse -> AADSTS54005", r)
    me = emu.g("GET", "/me", tg.get("access_token", ""))
    ok(me.status == 200 and me.json().get("userPrincipalName") == "grace@contoso.example",
       "login_hint selects the mailbox user", me)
    bad = hreq("GET", emu.base + "/common/oauth2/v2.0/authorize?client_id=%s&response_type=code&redirect_uri=%s"
               "&scope=openid&code_challenge=%s&code_challenge_method=S256" % (CLIENT_ID, q("https://evil.example/cb"), challenge),
               ctx=emu.ctx)
    ok(bad.status == 400 and "location" not in bad.headers, "non-loopback redirect_uri refused without redirect")
    a2 = hreq("GET", emu.base + "/common/oauth2/v2.0/authorize?client_id=%s&response_type=token&redirect_uri=%s&scope=x&state=s"
              % (CLIENT_ID, q("http://127.0.0.1:5000/cb")), ctx=emu.ctx)
    ok(a2.status == 302 and "error=unsupported_response_type" in (a2.h("location") or "")
       and (a2.h("location") or "").startswith("http://127.0.0.1:5000/cb?"), "bad response_type -> error redirect")

    # refresh rotation
    rt = t["refresh_token"]
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": rt, "scope": SCOPE})
    n1 = r.json()
    ok(r.status == 200 and n1["refresh_token"] != rt and n1["access_token"] != t["access_token"],
       "refresh grant rotates the refresh token", r)
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": rt})
    ok(r.status == 200, "non-strict mode: an old refresh token still works")
    emu.ctl("POST", "/_emu/config", {"strict_refresh": True})
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": n1["refresh_token"]})
    n2 = r.json()
    ok(r.status == 200, "strict mode: a fresh refresh token works once")
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": n1["refresh_token"]})
    ok(r.status == 400 and r.json()["error"] == "invalid_grant" and r.json()["error_codes"] == [70008]
       and OAUTH_ERR_KEYS <= set(r.json()), "strict mode: refresh token reuse -> invalid_grant AADSTS70008", r)
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": n2["refresh_token"]})
    ok(r.status == 200, "strict mode: chain of rotated tokens keeps working")
    emu.ctl("POST", "/_emu/config", {"strict_refresh": False})
    emu.fault(kind="token_error", error="invalid_grant", error_codes=[70008], match={"path": "oauth2/v2.0/token"})
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": r.json()["refresh_token"]})
    ok(r.status == 400 and r.json()["error"] == "invalid_grant" and r.json()["error_codes"] == [70008]
       and r.json()["error_description"].startswith("AADSTS70008:"), "token_error fault", r)
    emu.fault(kind="token_error", error="temporarily_unavailable", error_codes=[90006], status=503,
              match={"path": "oauth2/v2.0/token"})
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": n2["refresh_token"]})
    ok(r.status == 503 and r.json()["error"] == "temporarily_unavailable", "token_error fault with status 503")
    st = emu.state()["tokens"]
    ok(st["refresh_issued"] >= 5 and st["refresh_used"] >= 4, "state dump counts refresh tokens issued/used", st)
    log = emu.requests()
    ok(any(x["grant_type"] == "refresh_token" for x in log) and any(
        x["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" for x in log), "request log records grant_type")
    ok(t["access_token"] not in json.dumps(log) and rt not in json.dumps(log), "request log contains no token values")
    # access token expiry
    emu.ctl("POST", "/_emu/config", {"token_lifetime": 1})
    short = emu.device_login()
    ok(short["expires_in"] == 1, "token_lifetime config drives expires_in")
    time.sleep(1.1)
    r = emu.g("GET", "/me", short["access_token"])
    ok(graph_error_shape(r, 401, "InvalidAuthenticationToken") and "expired" in r.json()["error"]["message"]
       and r.h("www-authenticate", ) and r.h("www-authenticate").startswith("Bearer"), "expired access token -> 401", r)
    emu.ctl("POST", "/_emu/config", {"token_lifetime": 3600})
    return t


def test_directory(emu, tok):
    r = emu.g("GET", "/me", None)
    ok(graph_error_shape(r, 401, "InvalidAuthenticationToken") and r.h("www-authenticate"),
       "no bearer token -> 401 InvalidAuthenticationToken with WWW-Authenticate", r)
    r = emu.g("GET", "/me", "eyJ0eXbogus")
    ok(graph_error_shape(r, 401, "InvalidAuthenticationToken"), "unknown token -> 401")
    r = emu.g("GET", "/me", tok, headers={"client-request-id": "11111111-2222-3333-4444-555555555555"})
    me = r.json()
    ok(r.status == 200 and {"id", "userPrincipalName", "displayName", "mail"} <= set(me)
       and me["userPrincipalName"] == "ada@contoso.example" and r.h("client-request-id") == "11111111-2222-3333-4444-555555555555",
       "/me shape and client-request-id echo", r)
    r = emu.g("GET", "/me/calendars", tok)
    j = r.json()
    ok(r.status == 200 and j["@odata.context"].endswith("/calendars") and len(j["value"]) == 2
       and all(CAL_KEYS <= set(c) for c in j["value"]), "/me/calendars lists all calendars with documented keys", r)
    cals = {c["name"]: c for c in j["value"]}
    ok(cals["Calendar"]["isDefaultCalendar"] and not cals["Clinic rota"]["isDefaultCalendar"]
       and cals["Clinic rota"]["canEdit"], "default flag and canEdit")
    r = emu.g("GET", "/me/calendar", tok)
    ok(r.status == 200 and r.json()["id"] == cals["Calendar"]["id"], "/me/calendar is the default calendar")
    r = emu.g("GET", "/me/calendars/" + q(cals["Clinic rota"]["id"]), tok)
    ok(r.status == 200 and r.json()["name"] == "Clinic rota", "/me/calendars/{id}")
    r = emu.g("GET", "/me/calendarGroups", tok)
    groups = {g["name"]: g for g in r.json()["value"]}
    ok(r.status == 200 and "Other calendars" in groups and {"id", "name", "classId", "changeKey"} <= set(groups["Other calendars"]),
       "/me/calendarGroups", r)
    gid = groups["Other calendars"]["id"]
    r = emu.g("GET", "/me/calendarGroups/%s/calendars" % q(gid), tok)
    ok(r.status == 200 and [c["name"] for c in r.json()["value"]] == ["Clinic rota"], "/me/calendarGroups/{id}/calendars")
    ev = {"ConsistencyLevel": "eventual"}
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group?$filter=groupTypes/any(a:a%20eq%20'Unified')&$count=true", tok,
              headers=ev)
    mg = r.json()["value"]
    ok(r.status == 200 and [g["displayName"] for g in mg] == ["Front Desk Team"] and mg[0]["groupTypes"] == ["Unified"],
       "memberOf with groupTypes filter returns only Microsoft 365 groups", r)
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group?$count=true", tok, headers=ev)
    ok(len(r.json()["value"]) == 2 and r.json()["@odata.count"] == 2, "memberOf without filter returns all groups")
    grp = mg[0]["id"]
    r = emu.g("GET", "/groups/" + grp, tok)
    ok(r.status == 200 and r.json()["displayName"] == "Front Desk Team", "/groups/{id}")
    r = emu.g("GET", "/groups/%s/calendar" % grp, tok)
    ok(r.status == 200 and r.json()["canEdit"] is True, "/groups/{id}/calendar canEdit for members")
    r = emu.g("GET", "/users/ada@contoso.example/calendars", tok)
    ok(r.status == 200 and len(r.json()["value"]) == 2, "/users/{upn}/... addresses the signed-in user")
    r = emu.g("GET", "/me/nonsense", tok)
    ok(r.status == 400 and r.json()["error"]["code"] == "BadRequest", "unknown segment -> 400 BadRequest")
    return cals, gid, grp


def test_views(emu, tok, cals, gid, grp):
    ws, we = window(8, 30)
    r = emu.g("GET", "/me/calendarView", tok)
    ok(graph_error_shape(r, 400, "ErrorInvalidParameter"), "calendarView without window -> 400 ErrorInvalidParameter", r)
    r = emu.g("GET", "/me/calendarView/delta", tok)
    ok(graph_error_shape(r, 400, "ErrorInvalidParameter"), "delta without window -> 400 ErrorInvalidParameter")
    # plain calendarView paging with $top and $skip
    url = "/me/calendar/calendarView?startDateTime=%s&endDateTime=%s&$top=4" % (ws, we)
    allv, pages, links = [], 0, []
    while url and pages < 50:
        r = emu.g("GET", url, tok)
        j = r.json()
        allv += j["value"]
        pages += 1
        url = j.get("@odata.nextLink")
        if url:
            links.append(url)
    ok(pages >= 3 and all("$skip=" in l for l in links) and all(len(x) for x in [allv]), "plain calendarView pages with $top/$skip nextLink")
    ok(all(EVENT_KEYS <= set(e) for e in allv), "calendarView events carry the full documented event property set",
       [sorted(EVENT_KEYS - set(e)) for e in allv][:1])
    types = {e["type"] for e in allv}
    ok("seriesMaster" not in types and {"singleInstance", "occurrence", "exception"} <= types,
       "calendarView expands series into occurrences and exceptions, never the master", types)
    standup = [e for e in allv if e["subject"].startswith("Daily stand-up")]
    ok(len(standup) == 9 and len({e["id"] for e in standup}) == 9 and all(e["seriesMasterId"] and e["originalStart"] for e in standup),
       "stand-up: 10 occurrences minus one deleted, distinct ids, seriesMasterId and originalStart", len(standup))
    exc = [e for e in standup if e["type"] == "exception"]
    ok(len(exc) == 1 and exc[0]["subject"] == "Daily stand-up (moved)" and exc[0]["start"]["dateTime"].endswith("09:30:00.0000000"),
       "changed occurrence is an exception with its own time")
    ok(all(DT7.match(e["start"]["dateTime"]) and e["start"]["timeZone"] == "UTC" for e in allv),
       "start/end dateTime has 7 fractional digits and timeZone UTC")
    oof = [e for e in allv if e["isAllDay"]]
    ok(oof and oof[0]["showAs"] == "oof" and oof[0]["start"]["dateTime"].endswith("T00:00:00.0000000"),
       "all-day out-of-office event midnight-to-midnight")
    showas = {e["showAs"] for e in allv}
    ok({"busy", "free", "tentative", "oof", "workingElsewhere"} <= showas, "demo covers showAs values", showas)
    canc = [e for e in allv if e["isCancelled"]]
    ok(canc and canc[0]["subject"].startswith("Canceled:"), "cancelled meeting stays with isCancelled true")
    ok(all(e["body"]["contentType"] == "html" for e in allv), "body is html by default")
    ids = [e["id"] for e in allv]
    ok(all(len(i) >= 140 for i in ids) and any("/" in i for i in ids) and any("+" in i for i in ids)
       and all(i.endswith("=") for i in ids), "ids are long and need URL encoding")
    # time zone and body preferences
    r = emu.g("GET", "/me/calendarView?startDateTime=%s&endDateTime=%s&$top=100" % (ws, we), tok,
              prefer='outlook.timezone="Pacific Standard Time", outlook.body-content-type="text", IdType="ImmutableId"')
    pv = r.json()["value"]
    pa = r.h("preference-applied") or ""
    ok('outlook.timezone="Pacific Standard Time"' in pa and 'outlook.body-content-type="text"' in pa,
       "Preference-Applied reports timezone and body type", pa)
    byid = {e["id"]: e for e in allv}
    lunch = [e for e in pv if e["subject"] == "Lunch"][0]
    ok(lunch["start"]["timeZone"] == "Pacific Standard Time" and lunch["start"]["dateTime"][11:13] in ("04", "05")
       and lunch["body"]["contentType"] == "text", "outlook.timezone converts times; body text", lunch["start"])
    oofp = [e for e in pv if e["isAllDay"]][0]
    ok(oofp["start"]["dateTime"] == byid[oofp["id"]]["start"]["dateTime"], "all-day events stay floating in other zones")
    r = emu.g("GET", "/me/calendarView?startDateTime=%s&endDateTime=%s&$top=1001" % (ws, we), tok)
    ok(r.status == 400, "$top over 1000 -> 400")
    # delta rounds on every container path
    w = "startDateTime=%s&endDateTime=%s" % (ws, we)
    paths = ["/me/calendarView/delta", "/me/calendar/calendarView/delta",
             "/me/calendars/%s/calendarView/delta" % q(cals["Clinic rota"]["id"]),
             "/me/calendarGroups/%s/calendars/%s/calendarView/delta" % (q(gid), q(cals["Clinic rota"]["id"])),
             "/groups/%s/calendarView/delta" % grp, "/groups/%s/calendar/calendarView/delta" % grp]
    counts = []
    for p in paths:
        items, dl, pages, probs = delta_round(emu, p + "?" + w, tok, pagesize=3)
        counts.append(len(items))
        ok(dl and not probs and len({i["id"] for i in items}) == len(items) and "$deltatoken=" in dl
           and dl.startswith(emu.base + "/v1.0/"), "delta round on %s (%d items, %d pages)" % (p.split("/")[1] + "/.." + p[-30:], len(items), pages), probs)
    ok(counts[0] == counts[1] == len(allv) and counts[2] == counts[3] == 5 and counts[4] == counts[5] == 3,
       "delta item counts match calendarView", counts)
    r = emu.g("GET", "/groups/%s/calendarView?%s" % (grp, w), tok)
    ok(r.status == 200 and len(r.json()["value"]) == 3 and r.json()["@odata.context"].endswith("/calendarView"),
       "group calendarView")
    for bad in ("$select=subject", "$expand=singleValueExtendedProperties($filter=id%20eq%20'x')", "$filter=subject%20eq%20'x'"):
        r = emu.g("GET", "/me/calendarView/delta?%s&%s" % (w, bad), tok)
        ok(r.status == 400, "delta rejects %s" % bad.split("=")[0])
    r = emu.g("GET", "/me/calendarView/delta?$deltatoken=garbage", tok)
    ok(graph_error_shape(r, 400, "InvalidDeltaToken"), "garbage deltatoken -> 400 InvalidDeltaToken")
    r = emu.g("GET", "/me/calendarView/delta?%s" % w, tok)
    j = r.json()
    ok(r.status == 200 and len(j["value"]) == 10 and "@odata.nextLink" in j and j["@odata.context"].endswith("$metadata#Collection(event)"),
       "delta without Prefer pages by 10", len(j["value"]))
    # group delta off, group scopes
    emu.ctl("POST", "/_emu/config", {"group_delta": False})
    r = emu.g("GET", "/groups/%s/calendarView/delta?%s" % (grp, w), tok)
    ok(r.status == 400 and r.json()["error"]["code"] == "BadRequest", "group_delta=false -> 400 on group delta", r)
    emu.ctl("POST", "/_emu/config", {"group_delta": True})
    small = emu.device_login("offline_access Calendars.ReadWrite")
    r = emu.g("GET", "/groups/%s/calendarView?%s" % (grp, w), small["access_token"])
    ok(r.status == 200 and "Group.ReadWrite.All" in small["scope"].split(),
       "a token carries every consented scope (admin-consented Group.ReadWrite.All) even when not asked", small["scope"])
    emu.ctl("POST", "/_emu/config", {"consented_scopes_in_token": False})
    small = emu.device_login("offline_access Calendars.ReadWrite")
    emu.ctl("POST", "/_emu/config", {"consented_scopes_in_token": True})
    r = emu.g("GET", "/groups/%s/calendarView?%s" % (grp, w), small["access_token"])
    ok(graph_error_shape(r, 403, "ErrorAccessDenied") and "Group.ReadWrite.All" not in small["scope"],
       "consented_scopes_in_token=false: group calendar without Group scope -> 403 ErrorAccessDenied")
    return w


def test_incremental(emu, tok, cals, grp, w):
    items, dl, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=5)
    r = emu.g("GET", dl, tok)
    j = r.json()
    ok(r.status == 200 and j["value"] == [] and "@odata.deltaLink" in j, "no changes -> empty page with deltaLink")
    dl = j["@odata.deltaLink"]
    byname = {e["subject"]: e for e in items}
    st = {}
    _, a = emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "Added in Outlook", "start": "+1d15:00", "end": "+1d15:30"}})
    st["added"] = a["id"]
    _, a = emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "Far future", "start": "+200d15:00", "end": "+200d16:00"}})
    st["outside"] = a["id"]
    emu.ctl("POST", "/_emu/outlook", {"op": "edit", "id": byname["Dentist"]["id"], "event": {"subject": "Dentist (moved room)"}})
    emu.ctl("POST", "/_emu/outlook", {"op": "move", "id": byname["Patient records audit"]["id"], "shift_minutes": 60 * 24 * 100})
    emu.ctl("POST", "/_emu/outlook", {"op": "delete", "id": byname["Retrospective"]["id"]})
    emu.ctl("POST", "/_emu/outlook", {"op": "showas", "id": byname["Lunch"]["id"], "showAs": "busy"})
    emu.ctl("POST", "/_emu/outlook", {"op": "cancel", "id": byname["1:1 with Grace"]["id"]})
    occ = sorted([e for e in items if e["type"] == "occurrence"], key=lambda e: e["start"]["dateTime"])
    emu.ctl("POST", "/_emu/outlook", {"op": "delete_occurrence", "id": occ[0]["id"]})
    emu.ctl("POST", "/_emu/outlook", {"op": "edit_occurrence", "id": occ[1]["id"], "event": {"showAs": "free"}})
    body = {"subject": "Created via Graph", "start": {"dateTime": (datetime.utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT10:00:00"), "timeZone": "UTC"},
            "end": {"dateTime": (datetime.utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT11:00:00"), "timeZone": "UTC"}}
    cr = emu.g("POST", "/me/events", tok, body)
    ch, dl2, pages, probs = delta_round(emu, dl, tok, pagesize=2)
    full = {e["id"]: e for e in ch if "@removed" not in e}
    removed = {e["id"] for e in ch if "@removed" in e}
    rem_ok = all(set(e) == {"@odata.type", "id", "@removed"} and e["@removed"] == {"reason": "deleted"}
                 and e["@odata.type"] == "#microsoft.graph.event" for e in ch if "@removed" in e)
    ok(not probs and dl2, "incremental round completes with paging", probs)
    ok(st["added"] in full and cr.json()["id"] in full, "added (Outlook) and created (Graph) events appear in full")
    ok(byname["Dentist"]["id"] in full and full[byname["Dentist"]["id"]]["subject"] == "Dentist (moved room)", "edited event appears")
    ok(byname["Lunch"]["id"] in full and full[byname["Lunch"]["id"]]["showAs"] == "busy", "showAs change appears")
    ok(full.get(byname["1:1 with Grace"]["id"], {}).get("isCancelled") is True, "cancelled meeting appears with isCancelled")
    ok(byname["Retrospective"]["id"] in removed, "deleted event -> @removed")
    ok(byname["Patient records audit"]["id"] in removed, "event moved out of window -> @removed")
    ok(st["outside"] in removed, "out-of-window addition -> @removed")
    ok(occ[0]["id"] in removed and full.get(occ[1]["id"], {}).get("type") == "exception"
       and full[occ[1]["id"]]["showAs"] == "free", "deleted occurrence -> @removed; edited occurrence -> exception")
    ok(rem_ok, "@removed items carry only @odata.type, id and @removed {reason: deleted}")
    ok(len(ch) == len(full) + len(removed) and len(ch) <= 12, "incremental round returns only changes (%d items)" % len(ch))
    r = emu.g("GET", dl2, tok)
    ok(r.status == 200 and r.json()["value"] == [], "next round after changes is empty")
    return dl2


def test_events(emu, tok, cals, gid, grp):
    day = (datetime.utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    ev = {"subject": "TimeTap: Mrs Smith", "showAs": "busy", "transactionId": "tts:appt-42:v1",
          "body": {"contentType": "text", "content": "Booked via TimeTap"}, "categories": ["TimeTap"],
          "start": {"dateTime": day + "T09:00:00", "timeZone": "UTC"}, "end": {"dateTime": day + "T09:30:00", "timeZone": "UTC"},
          "isOnlineMeeting": True, "attendees": [{"emailAddress": {"address": "smith@example.org", "name": "Mrs Smith"}, "type": "required"}],
          "singleValueExtendedProperties": [{"id": SVEP_ID, "value": "appt-42"}]}
    clinic = cals["Clinic rota"]["id"]
    r = emu.g("POST", "/me/calendars/%s/events" % q(clinic), tok, ev, prefer='IdType="ImmutableId"')
    e = r.json()
    ok(r.status == 201 and EVENT_KEYS <= set(e) and e["transactionId"] == "tts:appt-42:v1" and e["@odata.etag"] == 'W/"%s"' % e["changeKey"],
       "POST event -> 201 full event", r)
    ok(e["onlineMeetingProvider"] == "teamsForBusiness" and e["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/"),
       "isOnlineMeeting gives a Teams joinUrl")
    r2 = emu.g("POST", "/me/calendars/%s/events" % q(clinic), tok, ev)
    ok(graph_error_shape(r2, 400, "ErrorDuplicateTransactionId") and r2.json()["error"]["message"] == DUP_TXN_MSG,
       "same transactionId -> 400 ErrorDuplicateTransactionId (txn_replay \"error\", the default), no duplicate", r2)
    st = emu.state()
    ada = st["users"][0]
    n = sum(1 for c in ada["calendars"] for x in c["events"] if x.get("transactionId") == "tts:appt-42:v1")
    ok(n == 1 and ada["counters"]["invitations_sent"] >= 1 and ada["counters"]["tx_dedup_hits"] == 1,
       "state: one stored event, invitation counted, dedup hit counted", ada["counters"])
    stored = [x for c in ada["calendars"] for x in c["events"] if x["id"] == e["id"]][0]
    ok(stored["singleValueExtendedProperties"] == [{"id": SVEP_ID, "value": "appt-42"}] and stored["attendees"],
       "state dump has extended properties and attendees")
    r = emu.g("GET", "/me/events/" + q(e["id"]), tok)
    ok(r.status == 200 and r.json()["id"] == e["id"] and "singleValueExtendedProperties" not in r.json(), "GET /me/events/{id}")
    r = emu.g("GET", "/me/events/%s?$expand=singleValueExtendedProperties($filter=id%%20eq%%20'%s')" % (q(e["id"]), q(SVEP_ID)), tok)
    ok(r.status == 200 and r.json().get("singleValueExtendedProperties") == [{"id": SVEP_ID, "value": "appt-42"}],
       "$expand singleValueExtendedProperties on GET", r)
    flt = "$filter=singleValueExtendedProperties/Any(ep:%%20ep/id%%20eq%%20'%s'%%20and%%20ep/value%%20eq%%20'appt-42')" % q(SVEP_ID)
    for path in ("/me/events", "/me/calendars/%s/events" % q(clinic)):
        r = emu.g("GET", path + "?" + flt, tok)
        ok(r.status == 200 and [x["id"] for x in r.json()["value"]] == [e["id"]], "extended-property $filter on " + path.split("/")[2], r)
    r = emu.g("GET", "/me/calendar/events?" + flt, tok)
    ok(r.status == 200 and r.json()["value"] == [], "extended-property $filter scoped to a calendar")
    r = emu.g("GET", "/me/calendarView?startDateTime=%sT00:00:00Z&endDateTime=%sT23:59:59Z&%s&$expand=singleValueExtendedProperties($filter=id%%20eq%%20'%s')"
              % (day, day, flt, q(SVEP_ID)), tok)
    ok(r.status == 200, "calendarView accepts $filter and $expand on extended properties")
    r = emu.g("PATCH", "/me/calendarGroups/%s/calendars/%s/events/%s" % (q(gid), q(clinic), q(e["id"])), tok,
              {"subject": "TimeTap: Mrs Smith (moved)", "start": {"dateTime": day + "T10:00:00", "timeZone": "UTC"},
               "end": {"dateTime": day + "T10:30:00", "timeZone": "UTC"}})
    p = r.json()
    ok(r.status == 200 and p["changeKey"] != e["changeKey"] and p["subject"].endswith("(moved)")
       and p["start"]["dateTime"].startswith(day + "T10:00"), "PATCH -> 200 with new changeKey", r)
    r = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, {"bogus": 1})
    ok(graph_error_shape(r, 400, "RequestBodyRead"), "unknown property -> 400 RequestBodyRead")
    r = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, b'{"subject":"x"}', headers={"Content-Type": "text/plain"})
    ok(r.status == 400, "non-JSON content type -> 400")
    r = emu.g("DELETE", "/me/calendars/%s/events/%s" % (q(clinic), q(e["id"])), tok)
    ok(r.status == 204 and r.body == b"", "DELETE -> 204")
    r = emu.g("GET", "/me/events/" + q(e["id"]), tok)
    ok(graph_error_shape(r, 404, "ErrorItemNotFound") and r.json()["error"]["message"] == "The specified object was not found in the store.",
       "deleted id -> 404 ErrorItemNotFound")
    r = emu.g("DELETE", "/me/events/" + q(e["id"]), tok)
    ok(r.status == 404, "DELETE again -> 404")
    r = emu.g("GET", "/me/events/" + q(e["id"].lower()), tok)
    ok(r.status == 404, "ids are case-sensitive")
    # every container path
    made = []
    for path in ("/me/events", "/me/calendar/events", "/me/calendars/%s/events" % q(clinic),
                 "/me/calendarGroups/%s/calendars/%s/events" % (q(gid), q(clinic)),
                 "/groups/%s/events" % grp, "/groups/%s/calendar/events" % grp):
        b = dict(ev, transactionId=None, subject="via " + path[:20], isOnlineMeeting=False, attendees=[],
                 singleValueExtendedProperties=[{"id": SVEP_ID, "value": "c-%d" % len(made)}])
        b.pop("transactionId")
        r = emu.g("POST", path, tok, b)
        made.append((path, r.status, r.json().get("id")))
    ok(all(s == 201 for _, s, _ in made), "POST works on all six container paths", made)
    gev = made[4][2]
    for path in ("/groups/%s/events/%s" % (grp, q(gev)), "/groups/%s/calendar/events/%s" % (grp, q(gev))):
        r = emu.g("GET", path, tok)
        ok(r.status == 200 and r.json()["id"] == gev, "GET " + path.split("/")[3] + " event by id")
    r = emu.g("GET", "/groups/%s/events?$filter=singleValueExtendedProperties/Any(ep:%%20ep/id%%20eq%%20'%s'%%20and%%20ep/value%%20eq%%20'C-4')"
              % (grp, q(SVEP_ID)), tok)
    ok(r.status == 200 and [x["id"] for x in r.json()["value"]] == [gev], "group events $filter (value case-insensitive)")
    r = emu.g("PATCH", "/groups/%s/events/%s" % (grp, q(gev)), tok, {"showAs": "tentative"})
    ok(r.status == 200 and r.json()["showAs"] == "tentative", "PATCH group event")
    r = emu.g("DELETE", "/groups/%s/calendar/events/%s" % (grp, q(gev)), tok)
    ok(r.status == 204, "DELETE group event")
    # recurring series via Graph, occurrence edit and delete
    rec = dict(ev, subject="Weekly clinic", transactionId="tts:rec", singleValueExtendedProperties=[],
               recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [datetime.strptime(day, "%Y-%m-%d").strftime("%A").lower()]},
                           "range": {"type": "numbered", "startDate": day, "numberOfOccurrences": 3}})
    r = emu.g("POST", "/me/events", tok, rec)
    m = r.json()
    ok(r.status == 201 and m["type"] == "seriesMaster" and m["recurrence"]["range"]["numberOfOccurrences"] == 3,
       "POST recurring event returns the series master", r)
    r = emu.g("GET", "/me/events/%s/instances?startDateTime=%sT00:00:00Z&endDateTime=2099-01-01T00:00:00Z" % (q(m["id"]), day), tok)
    inst = r.json().get("value", [])
    ok(r.status == 200 and len(inst) == 3 and all(i["seriesMasterId"] == m["id"] for i in inst), "instances of a series")
    r = emu.g("PATCH", "/me/events/" + q(inst[1]["id"]), tok, {"subject": "Weekly clinic (special)"})
    ok(r.status == 200 and r.json()["type"] == "exception", "PATCH an occurrence -> exception")
    r = emu.g("DELETE", "/me/events/" + q(inst[2]["id"]), tok)
    r2 = emu.g("GET", "/me/events/%s/instances?startDateTime=%sT00:00:00Z&endDateTime=2099-01-01T00:00:00Z" % (q(m["id"]), day), tok)
    ok(r.status == 204 and len(r2.json()["value"]) == 2, "DELETE an occurrence")


def test_batch(emu, tok):
    day = (datetime.utcnow() + timedelta(days=5)).strftime("%Y-%m-%d")
    def item(i):
        return {"id": str(i), "method": "POST", "url": "/me/calendar/events", "headers": {"Content-Type": "application/json"},
                "body": {"subject": "batch %d" % i, "transactionId": "tts:batch:%d" % i,
                         "start": {"dateTime": "%sT%02d:00:00" % (day, 8 + i), "timeZone": "UTC"},
                         "end": {"dateTime": "%sT%02d:30:00" % (day, 8 + i), "timeZone": "UTC"}}}
    emu.ctl("DELETE", "/_emu/requests")
    emu.fault(kind="throttle", retry_after="2.5", match={"path": "/me/calendar/events", "in_batch": True}, skip=1)
    reqs = [item(i) for i in range(4)] + [{"id": "get", "method": "GET", "url": "/me/calendars"},
                                          {"id": "nobody-ct", "method": "POST", "url": "/me/events", "body": {"subject": "x"}}]
    r = emu.g("POST", "/$batch", tok, {"requests": reqs})
    j = r.json()
    resp = {x["id"]: x for x in j.get("responses", [])}
    ok(r.status == 200 and set(resp) == {x["id"] for x in reqs} and all({"id", "status"} <= set(x) for x in j["responses"]),
       "$batch returns one response per item", r)
    ok([x["id"] for x in j["responses"]] != [x["id"] for x in reqs], "$batch responses come out of order")
    thr = [x for x in j["responses"] if x["status"] == 429]
    ok(len(thr) == 1 and thr[0]["headers"].get("Retry-After") == "2.5" and thr[0]["body"]["error"]["code"] == "TooManyRequests",
       "throttled batch item: 429 with its own Retry-After", thr)
    ok(sum(1 for x in j["responses"] if x["status"] == 201) == 3 and resp["get"]["status"] == 200
       and len(resp["get"]["body"]["value"]) == 2, "other items succeed")
    ok(resp["nobody-ct"]["status"] == 400, "item with body but no Content-Type -> 400")
    log = emu.requests()
    inb = [x for x in log if x["in_batch"]]
    outer = [x for x in log if x["path"] == "/v1.0/$batch"]
    ok(len(inb) == 5 and outer and all(x["batch_id"] == outer[0]["seq"] for x in inb), "request log marks batch items", inb[:1])
    r = emu.g("POST", "/$batch", tok, {"requests": [item(i) for i in range(21)]})
    ok(graph_error_shape(r, 400, "BadRequest"), "more than 20 requests -> 400")
    r = emu.g("POST", "/$batch", tok, {"requests": [item(1), item(1)]})
    ok(r.status == 400, "duplicate ids -> 400")
    r = emu.g("POST", "/$batch", tok, {"requests": [item(9), dict(item(10), dependsOn=["9"])]})
    ok(r.status == 200 and all(x["status"] == 201 for x in r.json()["responses"]), "dependsOn executes in order")


def test_faults(emu, tok, w):
    me = "/me/calendars"
    emu.fault(kind="status", status=503, retry_after="1.5", match={"method": "GET", "path": "/me/calendars$"})
    r = emu.g("GET", me, tok)
    ok(graph_error_shape(r, 503, "serviceNotAvailable") and r.h("retry-after") == "1.5", "status 503 with decimal Retry-After", r)
    emu.fault(kind="status", status=429, retry_after_date=3, match={"path": "/me/calendars$"})
    r = emu.g("GET", me, tok)
    ok(r.status == 429 and re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", r.h("retry-after") or ""),
       "status 429 with HTTP-date Retry-After", r.h("retry-after"))
    for st in (500, 504):
        emu.fault(kind="status", status=st, match={"path": "/me/calendars$"})
        r = emu.g("GET", me, tok)
        ok(r.status == st and "error" in r.json(), "status %d" % st)
    emu.fault(kind="throttle", match={"path": "/me/calendars$"}, times=2)
    codes = [emu.g("GET", me, tok).status for _ in range(3)]
    ok(codes == [429, 429, 200], "throttle fault with times=2", codes)
    emu.fault(kind="status", status=500, skip=1, match={"path": "/me/calendars$"})
    codes = [emu.g("GET", me, tok).status for _ in range(3)]
    ok(codes == [200, 500, 200], "skip lets K matching requests pass first", codes)
    # delta expiry variants
    _, dl, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=50)
    for variant, status, code in (("syncStateNotFound", 400, "syncStateNotFound"), ("resyncRequired", 400, "resyncRequired"),
                                  ("InvalidDeltaToken", 400, "InvalidDeltaToken")):
        emu.fault(kind="delta_expired", variant=variant, match={"path": r"\$deltatoken="})
        r = emu.g("GET", dl, tok)
        ok(graph_error_shape(r, status, code), "delta_expired %s -> %d %s" % (variant, status, code), r)
    emu.fault(kind="delta_expired", variant="gone", match={"path": r"\$deltatoken="})
    r = emu.g("GET", dl, tok)
    loc = r.h("location") or ""
    ok(r.status == 410 and loc.startswith(emu.base + "/v1.0/me/calendarView/delta?") and loc.endswith("$deltatoken="),
       "delta_expired gone -> 410 with Location (empty $deltatoken)", loc)
    items, dl2, _, probs = delta_round(emu, loc, tok, pagesize=50)
    ok(dl2 and not probs and len(items) > 10, "following the 410 Location runs a full round", probs)
    # slow
    emu.fault(kind="slow", delay_ms=400, match={"path": "/me/calendars$"})
    t0 = time.time()
    r = emu.g("GET", me, tok)
    ok(r.status == 200 and time.time() - t0 >= 0.38, "slow fault delays the response")
    emu.fault(kind="slow", delay_ms=3000, match={"path": "/me/calendars$"})
    try:
        emu.g("GET", me, tok, timeout=0.5)
        ok(False, "slow response past the client timeout")
    except (TimeoutError, OSError):
        ok(True, "slow response past the client timeout")
    # cut after commit / cut
    day = (datetime.utcnow() + timedelta(days=6)).strftime("%Y-%m-%d")
    body = {"subject": "Lost response", "transactionId": "tts:lost", "start": {"dateTime": day + "T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": day + "T10:00:00", "timeZone": "UTC"}}
    emu.fault(kind="cut_after_commit", match={"method": "POST", "path": "/me/calendar/events$"})
    try:
        emu.g("POST", "/me/calendar/events", tok, body)
        got = "response"
    except (http.client.HTTPException, ConnectionError, OSError) as ex:
        got = type(ex).__name__
    subjects = [x["subject"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]]
    ok(got != "response" and "Lost response" in subjects, "cut_after_commit: no response but the event exists", got)
    r = emu.g("POST", "/me/calendar/events", tok, body)
    ok(graph_error_shape(r, 400, "ErrorDuplicateTransactionId"), "retry with the same transactionId -> 400 ErrorDuplicateTransactionId", r)
    subjects = [x["subject"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]]
    ok(subjects.count("Lost response") == 1, "no duplicate after retry")
    emu.fault(kind="cut", match={"method": "POST", "path": "/me/calendar/events$"})
    try:
        emu.g("POST", "/me/calendar/events", tok, dict(body, subject="Never", transactionId="tts:never"))
        got = "response"
    except (http.client.HTTPException, ConnectionError, OSError) as ex:
        got = type(ex).__name__
    subjects = [x["subject"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]]
    ok(got != "response" and "Never" not in subjects, "cut: no response and nothing performed", got)
    # truncated / malformed / oversized
    emu.fault(kind="truncate", match={"path": "/me/calendars$"})
    try:
        emu.g("GET", me, tok)
        got = "full"
    except http.client.IncompleteRead:
        got = "incomplete"
    except (http.client.HTTPException, OSError) as ex:
        got = type(ex).__name__
    ok(got == "incomplete", "truncate: Content-Length says more than is sent", got)
    emu.fault(kind="malformed", match={"path": "/me/calendars$"})
    r = emu.g("GET", me, tok)
    try:
        json.loads(r.body)
        bad = False
    except ValueError:
        bad = True
    ok(r.status == 200 and bad, "malformed: 200 with a non-JSON body")
    emu.fault(kind="oversized", bytes=3 * 1024 * 1024, match={"path": "/me/calendars$"})
    r = emu.g("GET", me, tok)
    ok(r.status == 200 and int(r.h("content-length")) > 3 * 1024 * 1024 and len(r.body) == int(r.h("content-length"))
       and json.loads(r.body)["value"] == [], "oversized: valid JSON of the requested size")
    # nextlink loop
    url = "/me/calendarView/delta?" + w
    r = emu.g("GET", url, tok, prefer="odata.maxpagesize=2")
    nl = r.json()["@odata.nextLink"]
    emu.fault(kind="nextlink_loop", match={"path": r"\$skiptoken="})
    seen = []
    cur = nl
    for _ in range(4):
        j = emu.g("GET", cur, tok, prefer="odata.maxpagesize=2").json()
        seen.append((cur, tuple(x["id"] for x in j["value"])))
        cur = j.get("@odata.nextLink")
    ok(all(s[0] == nl for s in seen) and len({s[1] for s in seen}) == 1, "nextlink_loop: the nextLink points back at the same page")
    emu.ctl("DELETE", "/_emu/faults")
    items, dl, _, probs = delta_round(emu, nl, tok, pagesize=2)
    ok(dl and not probs, "clearing faults ends the loop")
    st, fl = emu.ctl("GET", "/_emu/faults")
    ok(st == 200 and fl["faults"] == [], "GET /_emu/faults lists none after DELETE")
    # faults inside $batch only when matched
    emu.fault(kind="status", status=503, retry_after="1", match={"path": "/me/calendars$", "in_batch": False})
    r = emu.g("POST", "/$batch", tok, {"requests": [{"id": "1", "method": "GET", "url": "/me/calendars"}]})
    ok(r.json()["responses"][0]["status"] == 200, "in_batch=false fault does not hit batch items")
    ok(emu.g("GET", me, tok).status == 503, "... but hits the direct request")


def test_limits(emu, tok):
    for _ in range(100):  # let earlier slow requests (past their client's timeout) drain
        if all(u["counters"]["in_flight"] == 0 for u in emu.state()["users"]):
            break
        time.sleep(0.1)
    emu.fault(kind="slow", delay_ms=1200, times=5, match={"path": "/me/calendars$"})
    results = []

    def one():
        try:
            r = emu.g("GET", "/me/calendars", tok)
            results.append((r.status, r.json()["error"]["code"] if r.status == 429 else None, r.h("retry-after")))
        except Exception as ex:
            results.append((0, str(ex), None))
    th = [threading.Thread(target=one) for _ in range(5)]
    for t in th:
        t.start()
        time.sleep(0.02)
    for t in th:
        t.join()
    emu.ctl("DELETE", "/_emu/faults")
    thr = [x for x in results if x[0] == 429]
    ok(thr and all(x[1] == "ApplicationThrottled" and x[2] == "1" for x in thr) and sum(1 for x in results if x[0] == 200) == 4,
       "5 parallel slow requests to one mailbox -> 429 ApplicationThrottled", results)
    emu.ctl("POST", "/_emu/config", {"login_user": "grace@contoso.example"})
    grace = emu.device_login()
    emu.ctl("POST", "/_emu/config", {"login_user": None})
    ok(emu.g("GET", "/me", grace["access_token"]).json()["userPrincipalName"] == "grace@contoso.example",
       "config login_user selects the device-code user")
    emu.ctl("POST", "/_emu/config", {"budget": {"grace@contoso.example": 3}, "reset_requests": True})
    codes = [emu.g("GET", "/me", grace["access_token"]) for _ in range(4)]
    ok([c.status for c in codes] == [200, 200, 200, 429] and codes[3].json()["error"]["code"] == "TooManyRequests"
       and int(codes[3].h("retry-after")) >= 1, "per-mailbox request budget -> 429 TooManyRequests", [c.status for c in codes])
    ok(emu.g("GET", "/me", tok).status == 200, "budget of one mailbox does not affect another")
    emu.ctl("POST", "/_emu/config", {"budget": {}, "reset_requests": True})
    st, cfg = emu.ctl("GET", "/_emu/config")
    ok(st == 200 and cfg["budget"] == {} and cfg["token_lifetime"] == 3600, "GET /_emu/config")


def test_keepalive(emu, tok):
    u = urlsplit(emu.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    st = []
    for _ in range(3):
        conn.request("GET", "/v1.0/me", headers={"Authorization": "Bearer " + tok})
        r = conn.getresponse()
        r.read()
        st.append((r.status, r.getheader("Content-Length") is not None))
    conn.close()
    ok(st == [(200, True)] * 3, "HTTP/1.1 keep-alive with Content-Length", st)


def test_emuctl(emu):
    ctl = os.path.join(HERE, "emuctl.py")
    out = subprocess.run([sys.executable, ctl, emu.base, "events", "ada@contoso.example"], capture_output=True, text=True)
    lines = out.stdout.splitlines()
    ok(out.returncode == 0 and lines and all(len(l.split("\t")) == 6 for l in lines) and lines == sorted(lines),
       "emuctl events", out.stderr)
    out = subprocess.run([sys.executable, ctl, emu.base, "count", "GET", "/me/calendars$"], capture_output=True, text=True)
    ok(out.returncode == 0 and int(out.stdout) > 0, "emuctl count")
    out = subprocess.run([sys.executable, ctl, emu.base, "events", "group:Front Desk Team"], capture_output=True, text=True)
    ok(out.returncode == 0 and out.stdout and all(l.startswith("group:Front Desk Team\t") for l in out.stdout.splitlines()),
       "emuctl events group:<name>")
    out = subprocess.run([sys.executable, ctl, emu.base, "GET", "/_emu/nothing"], capture_output=True, text=True)
    ok(out.returncode == 1, "emuctl exits 1 on non-2xx")


def test_persistence(emu, tok_resp, w, state_file):
    tok = tok_resp["access_token"]
    _, dl, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=50)
    rt = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                            "refresh_token": tok_resp["refresh_token"]}).json()["refresh_token"]
    _, a = emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "Before restart", "start": "+1d17:00", "end": "+1d17:30"}})
    before = {x["id"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]}
    port = int(emu.base.rsplit(":", 1)[1])
    err = emu.stop()
    ok(os.path.exists(state_file), "state file written", err[-500:])
    emu.start(port)  # same port: stored absolute links stay valid
    after = {x["id"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]}
    ok(before == after, "mailbox survives an emulator restart with --state")
    r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": rt})
    ok(r.status == 200, "refresh token survives the restart")
    tok2 = r.json()["access_token"]
    ok(emu.g("GET", "/me", tok).status == 200, "access token survives the restart")
    emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "After restart", "start": "+1d18:00", "end": "+1d18:30"}})
    ch, dl2, _, probs = delta_round(emu, dl, tok2, pagesize=10)
    subj = sorted(x.get("subject", "") for x in ch)
    ok(not probs and subj == ["After restart", "Before restart"], "deltaLink from before the restart still works", (probs, subj))
    # POST /_emu/restart: the world of a saved state again, in place.
    saved = state_file + ".saved"
    emu.ctl("POST", "/_emu/save", {})
    shutil.copy(state_file, saved)
    keep = {x["id"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]}
    emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "Gone on restart", "start": "+1d19:00", "end": "+1d19:30"}})
    st, _ = emu.ctl("POST", "/_emu/restart", {"from": saved})
    now = {x["id"] for u in emu.state()["users"] for c in u["calendars"] for x in c["events"]}
    ok(st == 200 and now == keep, "POST /_emu/restart remakes the saved world on the same port", st)
    ok(emu.g("GET", "/me", tok2).status == 200, "tokens of the saved state still work after it")
    st, _ = emu.ctl("POST", "/_emu/restart", {"from": saved + ".missing"})
    ok(st == 400, "restart from a missing file is refused", st)


def test_tls(tmp):
    ca = os.path.join(tmp, "ca.pem")
    emu = Emu("--tls", "--ca-out", ca, "--scenario", DEMO, ca=ca)
    try:
        ok(emu.base.startswith("https://127.0.0.1:"), "TLS: listening https")
        ctx = ssl.create_default_context(cafile=ca)
        import urllib.request
        with urllib.request.urlopen(emu.base + "/_emu/config", context=ctx, timeout=10) as r:
            ok(r.status == 200, "TLS: urllib verifies the server against the generated CA")
        try:
            urllib.request.urlopen(emu.base + "/_emu/config", context=ssl.create_default_context(), timeout=10)
            ok(False, "TLS: the system CAs do not trust the throwaway CA")
        except Exception:
            ok(True, "TLS: the system CAs do not trust the throwaway CA")
        t = emu.device_login()
        r = emu.g("GET", "/me", t["access_token"])
        ok(r.status == 200, "TLS: token + /me over https")
        ws, we = window(8, 30)
        items, dl, pages, probs = delta_round(emu, "/me/calendarView/delta?startDateTime=%s&endDateTime=%s" % (ws, we),
                                              t["access_token"], pagesize=4)
        ok(dl and dl.startswith("https://") and not probs and items, "TLS: delta round over https with https links")
        r = emu.form("token", {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": t["refresh_token"]})
        ok(r.status == 200, "TLS: refresh over https")
    finally:
        emu.stop()


def test_perf():
    emu = Emu("--generate", "10000")
    try:
        t = emu.device_login()
        tok = t["access_token"]
        ws, we = window(8, 182)
        cals = emu.g("GET", "/me/calendars", tok).json()["value"]
        grp = emu.g("GET", "/me/memberOf/microsoft.graph.group?$count=true", tok,
                    headers={"ConsistencyLevel": "eventual"}).json()["value"][0]["id"]
        paths = ["/me/calendarView/delta", "/me/calendars/%s/calendarView/delta" % q(cals[1]["id"]),
                 "/groups/%s/calendarView/delta" % grp]
        cpu0 = emu.ctl("GET", "/_emu/cpu")[1]["process_time"]
        total, pages = 0, 0
        w0 = time.time()
        for p in paths:
            items, dl, n, probs = delta_round(emu, p + "?startDateTime=%s&endDateTime=%s" % (ws, we), tok, pagesize=500)
            # Series masters come as well (sparse occurrences): not events of the day.
            total += len([e for e in items if e.get("type") != "seriesMaster"])
            pages += n
        cpu1 = emu.ctl("GET", "/_emu/cpu")[1]["process_time"]
        used = cpu1 - cpu0
        comment("served %d events in pages of 500 using %.2fs emulator CPU (%d pages, %.2fs wall)" % (total, used, pages, time.time() - w0))
        ok(total == 10000, "generated mailbox serves exactly 10000 events", total)
        ok(used < 1.0, "10000 events cost well under 1 s of emulator CPU (%.2fs)" % used)
    finally:
        emu.stop()


# ----------------------------------------------------------------------------- realism (test/scenarios/realism.json)

REALISM = os.path.join(HERE, "scenarios", "realism.json")
ADA, ROOT, PAT = "ada@fabrikam.example", "root@fabrikam.example", "pat@outlook.example"
CONSUMER_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
EVENTUAL = {"ConsistencyLevel": "eventual"}


def jwt_part(tok, i):
    try:
        return json.loads(base64.urlsafe_b64decode(tok.split(".")[i] + "=="))
    except Exception:
        return {}


def dlogin(emu, scope, user=ADA):
    """Device login as `user` (the control interface picks the user and approves)."""
    d = emu.form("devicecode", {"client_id": CLIENT_ID, "scope": scope}).json()
    emu.ctl("POST", "/_emu/device/approve", {"user": user})
    return emu.form("token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT_ID,
                              "device_code": d["device_code"]}), d


def authorize(emu, scope, user=ADA, extra=""):
    a = hreq("GET", emu.base + "/common/oauth2/v2.0/authorize?client_id=%s&response_type=code&redirect_uri=%s"
             "&response_mode=query&scope=%s&state=st8&login_hint=%s%s"
             % (CLIENT_ID, q("http://localhost:5123"), q(scope), q(user), extra), ctx=emu.ctx)
    return a, {k: v[0] for k, v in parse_qs(urlsplit(a.h("location") or "").query).items()}


def refresh(emu, rt, scope=None):
    f = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": rt}
    if scope is not None:
        f["scope"] = scope
    return emu.form("token", f)


def test_realism_tokens(emu):
    emu.ctl("POST", "/_emu/config", {"token_size": [12288, 12288]})
    r, d = dlogin(emu, "offline_access openid profile Calendars.ReadWrite")
    t = r.json()
    at = t.get("access_token", "")
    hd, cl = jwt_part(at, 0), jwt_part(at, 1)
    me = emu.g("GET", "/me", at).json()
    ok(r.status == 200 and len(at) == 12288 and at.count(".") == 2 and hd.get("typ") == "JWT" and hd.get("alg") == "RS256"
       and "nonce" in hd and "kid" in hd, "token_size pinned: a 12288-byte JWT access token (typ/nonce/alg/x5t/kid header)",
       (len(at), hd))
    ok(cl.get("aud") == "00000003-0000-0000-c000-000000000000" and cl.get("iss") == "https://sts.windows.net/%s/" % cl.get("tid")
       and cl.get("oid") == me.get("id") and cl.get("upn") == ADA and "Calendars.ReadWrite" in cl.get("scp", "").split()
       and cl.get("ver") == "1.0" and cl["exp"] - cl["iat"] == t["expires_in"] and cl["nbf"] == cl["iat"],
       "access-token claims shaped like an Entra token for Graph (aud, iss, tid, oid, upn, scp, iat/nbf/exp)",
       {k: v for k, v in cl.items() if k not in ("groups", "aio")})
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    ok(isinstance(cl.get("groups"), list) and 100 <= len(cl["groups"]) <= 200 and all(guid.match(g) for g in cl["groups"]),
       "a big token is padded with a groups claim of GUIDs (at most 200)", len(cl.get("groups") or []))
    it = jwt_part(t.get("id_token", ""), 1)
    ok(it.get("tid") == cl.get("tid") and it.get("oid") == cl.get("oid") and it.get("preferred_username") == ADA
       and it.get("iss") == "https://login.microsoftonline.com/%s/v2.0" % cl.get("tid"),
       "id_token carries tid, oid, preferred_username of the tenant user", it)
    rt = t.get("refresh_token", "")
    ok(rt.startswith("1.AR") and 1000 <= len(rt) <= 2000 and re.match(r"^[A-Za-z0-9._-]+$", rt),
       "refresh token opaque, 1.AR..., 1000..2000 chars of [A-Za-z0-9._-]", len(rt))
    ok(d["device_code"].startswith("DAQABIQEAAAD") and len(d["device_code"]) >= 200, "device code DAQAB..., a few hundred chars")
    emu.ctl("POST", "/_emu/config", {"token_size": [3001, 3001]})
    ok(len(refresh(emu, rt).json()["access_token"]) == 3001, "token_size [3001, 3001] -> exactly 3001 bytes")
    emu.ctl("POST", "/_emu/config", {"token_size": [1200, 12288]})
    sizes = [len(refresh(emu, rt).json()["access_token"]) for _ in range(8)]
    ok(len(set(sizes)) >= 4 and all(1200 <= n <= 12288 for n in sizes), "default token_size: lengths vary in [1200, 12288]", sizes)
    st, _ = emu.ctl("POST", "/_emu/config", {"token_size": [5, 1]})
    ok(st == 400, "token_size must be [min, max]")
    a, lq = authorize(emu, "offline_access Calendars.ReadWrite")
    ok(a.status == 302 and lq.get("code", "").startswith("1.AR") and 700 <= len(lq["code"]) <= 1000,
       "authorization codes 1.AR..., 700..1000 chars", len(lq.get("code", "")))
    log = emu.requests()
    ok(at not in json.dumps(log) and rt not in json.dumps(log) and lq["code"] not in json.dumps(log),
       "request log holds no token or code values")
    st = emu.state()
    ok(at not in json.dumps(st) and rt not in json.dumps(st), "state dump holds no token values")
    return t


def test_realism_scope(emu, t):
    ok(t["scope"] == "Calendars.ReadWrite User.Read profile openid email",
       "token scope: short names, openid/profile/email listed, offline_access not", t["scope"])
    r, _ = dlogin(emu, "offline_access calendars.readwrite https://graph.microsoft.com/user.read")
    ok(r.json().get("scope") == "Calendars.ReadWrite User.Read", "scope names come back in canonical casing", r.json().get("scope"))
    emu.ctl("POST", "/_emu/config", {"token_scope_format": "uri"})
    n = refresh(emu, t["refresh_token"]).json()
    emu.ctl("POST", "/_emu/config", {"token_scope_format": "short"})
    ok(n.get("scope") == "https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/User.Read profile openid email",
       "token_scope_format=uri: https://graph.microsoft.com/ URIs", n.get("scope"))
    r = refresh(emu, t["refresh_token"], "Calendars.ReadWrite User.Read")
    ok(r.status == 200 and "refresh_token" not in r.json() and "access_token" in r.json(),
       "refresh asking a scope without offline_access: no refresh_token", r)
    r = refresh(emu, t["refresh_token"], "offline_access Calendars.ReadWrite")
    ok(r.status == 200 and r.json().get("refresh_token"), "refresh with offline_access: a new refresh_token")
    r = refresh(emu, t["refresh_token"])
    ok(r.status == 200 and r.json().get("refresh_token"), "refresh without scope: the original scopes (offline_access) apply")


def test_realism_consent(emu, t):
    cid = CLIENT_ID
    r, _ = dlogin(emu, "offline_access Calendars.ReadWrite Group.Read.All")
    e = r.json()
    ok(r.status == 400 and e.get("error") == "authorization_declined" and e.get("error_codes") == [65004]
       and e["error_description"].startswith("AADSTS65004:"),
       "device code for an admin-only scope without admin consent -> authorization_declined AADSTS65004", r)
    a, lq = authorize(emu, "offline_access Calendars.ReadWrite Group.ReadWrite.All")
    ok(a.status == 302 and lq.get("error") == "access_denied" and lq.get("error_subcode") == "cancel"
       and lq.get("error_description", "").startswith("AADSTS65004:") and lq.get("state") == "st8"
       and lq.get("error_uri") == "https://login.microsoftonline.com/error?code=65004" and "code" not in lq,
       "authorize for an admin-only scope ('Need admin approval') -> redirect access_denied/cancel AADSTS65004", lq)
    rt = t["refresh_token"]
    for scope, what in (("offline_access Calendars.ReadWrite Mail.Read", "an unconsented scope"),
                        ("offline_access Group.Read.All", "an admin-only scope")):
        r = refresh(emu, rt, scope)
        e = r.json()
        ok(r.status == 400 and e.get("error") == "invalid_grant" and e.get("error_codes") == [65001]
           and e.get("suberror") == "consent_required" and OAUTH_ERR_KEYS <= set(e)
           and e["error_description"].startswith("AADSTS65001: The user or administrator has not consented to use the "
                                                 "application with ID '%s' named 'timetap-sync'." % cid),
           "refresh asking %s -> 400 invalid_grant AADSTS65001 consent_required" % what, e)
    emu.ctl("POST", "/_emu/config", {"admin_consent": ["Group.Read.All"]})
    r = refresh(emu, rt, "offline_access Group.Read.All")
    n = r.json()
    ok(r.status == 200 and "Group.Read.All" in n["scope"].split() and "Group.Read.All" in jwt_part(n["access_token"], 1)["scp"],
       "with admin consent (config admin_consent) the grant works and the token carries the scope", n.get("scope"))
    r, _ = dlogin(emu, "offline_access Group.Read.All")
    ok(r.status == 200, "device login for an admin-consented scope works")
    emu.ctl("POST", "/_emu/config", {"admin_consent": []})
    r, _ = dlogin(emu, "offline_access GroupMember.Read.All", user=ROOT)
    ok(r.status == 200 and "GroupMember.Read.All" in r.json()["scope"], "an administrator consents to admin-only scopes for themself")
    r, _ = dlogin(emu, "offline_access GroupMember.Read.All")
    ok(r.status == 400 and r.json()["error_codes"] == [65004], "... which does not help another user")
    a, lq = authorize(emu, "offline_access Mail.Send", extra="&prompt=none")
    ok(lq.get("error") == "interaction_required" and lq.get("error_description", "").startswith("AADSTS65001:"),
       "prompt=none without consent -> interaction_required", lq)
    st, c = emu.ctl("POST", "/_emu/consent", {"user": ADA, "revoke": ["Calendars.ReadWrite"]})
    r = refresh(emu, rt, "offline_access Calendars.ReadWrite")
    ok(st == 200 and r.status == 400 and r.json()["error_codes"] == [65001],
       "consent withdrawn (POST /_emu/consent revoke) -> refresh fails AADSTS65001", (c, r))
    st, c = emu.ctl("POST", "/_emu/consent", {"user": ADA, "grant": ["Calendars.ReadWrite"]})
    ok(refresh(emu, rt, "offline_access Calendars.ReadWrite").status == 200 and ADA + "|*" in c["users"],
       "consent granted again (any client) -> refresh works")
    emu.fault(kind="token_error", error_codes=[65001], match={"path": "/oauth2/v2.0/token$"})
    e = refresh(emu, rt).json()
    ok(e.get("suberror") == "consent_required" and "with ID '%s' named 'timetap-sync'" % cid in e["error_description"],
       "token_error fault with AADSTS65001: suberror consent_required, the client id in the text", e)
    st, c = emu.ctl("GET", "/_emu/consent")
    ok(st == 200 and "Calendars.ReadWrite" in c["users"][ADA + "|" + cid] and c["admin"] == [], "GET /_emu/consent", c)


def test_realism_memberof(emu):
    small = dlogin(emu, "offline_access Calendars.ReadWrite")[0].json()["access_token"]
    flt = "$filter=groupTypes/any(a:a%20eq%20'Unified')"
    r = emu.g("GET", "/me/memberOf", small)
    v = r.json().get("value", [])
    groups = [x for x in v if x["@odata.type"] == "#microsoft.graph.group"]
    roles = [x for x in v if x["@odata.type"] == "#microsoft.graph.directoryRole"]
    ok(r.status == 200 and len(groups) == 8 and len(roles) == 1, "/me/memberOf with User.Read only: 200, groups and roles", r)
    ok(all(g["displayName"] is None and g["mail"] is None and g["groupTypes"] == [] and g["mailEnabled"] is None
           and g["id"] for g in groups) and roles[0]["displayName"] is None,
       "without a group/directory permission: limited information (only @odata.type and id)", groups[:1])
    for query, hdr, msg in (
            (flt, None, "The specified filter to the reference property query is currently not supported."),
            (flt, EVENTUAL, "The specified filter to the reference property query is currently not supported."),
            (flt + "&$count=true", None, "The specified filter to the reference property query is currently not supported."),
            ("$orderby=displayName", None, "Sorting not supported for current query."),
            ('$search="displayName:team"', None, "Request with $search query parameter only works through MSGraph "
                                                 "with a special request header: 'ConsistencyLevel: eventual'")):
        r = emu.g("GET", "/me/memberOf?" + query, small, headers=hdr)
        ok(graph_error_shape(r, 400, "Request_UnsupportedQuery") and r.json()["error"]["message"] == msg,
           "memberOf %s %s-> 400 Request_UnsupportedQuery" % (query.split("=")[0], "with header only " if hdr else ""), r)
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group", small)
    ok(graph_error_shape(r, 400, "Request_UnsupportedQuery"), "OData cast without advanced query -> 400", r)
    emu.ctl("POST", "/_emu/config", {"memberof_cast_needs_advanced": False})
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group", small)
    emu.ctl("POST", "/_emu/config", {"memberof_cast_needs_advanced": True})
    ok(r.status == 200 and len(r.json()["value"]) == 8, "memberof_cast_needs_advanced=false: a bare cast works")
    r = emu.g("GET", '/me/memberOf?$search="displayName:team"', small, headers=EVENTUAL)
    ok(r.status == 200 and len(r.json()["value"]) == 7 and "@odata.count" not in r.json(),
       "$search needs only the header; $count absent -> no @odata.count", r)
    r = emu.g("GET", "/me/memberOf?$count=true", small)
    ok(r.status == 200 and "@odata.count" not in r.json(), "$count=true without the header is silently ignored")
    # paging with the advanced query, server-side filtering on limited objects
    url = "/me/memberOf/microsoft.graph.group?%s&$count=true&$top=3" % flt
    seen, pages, counts, links = [], 0, set(), []
    while url and pages < 10:
        r = emu.g("GET", url, small, headers=EVENTUAL)
        j = r.json()
        if r.status != 200:
            break
        seen += [x["id"] for x in j["value"]]
        counts.add(j.get("@odata.count"))
        pages += 1
        url = j.get("@odata.nextLink")
        if url:
            links.append(url)
    ok(pages == 3 and len(seen) == 7 == len(set(seen)) and counts == {7} and all("$skiptoken=" in l for l in links),
       "memberOf honours $top and pages by @odata.nextLink ($skiptoken); groupTypes filter works on limited objects",
       (pages, len(seen), counts))
    r = emu.g("GET", links[0], small)
    ok(graph_error_shape(r, 400, "Request_UnsupportedQuery"), "a nextLink followed without ConsistencyLevel -> 400 again")
    r = emu.g("GET", "/me/memberOf/$count", small)
    ok(graph_error_shape(r, 400, "Request_BadRequest"), "$count segment without ConsistencyLevel -> 400")
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group/$count", small, headers=EVENTUAL)
    ok(r.status == 200 and r.body == b"8" and (r.h("content-type") or "").startswith("text/plain"), "$count segment -> text/plain")
    emu.ctl("POST", "/_emu/config", {"admin_consent": ["GroupMember.Read.All"]})
    full = dlogin(emu, "offline_access Calendars.ReadWrite")[0].json()["access_token"]
    emu.ctl("POST", "/_emu/config", {"admin_consent": []})
    r = emu.g("GET", "/me/memberOf/microsoft.graph.group?$count=true&$orderby=displayName&$select=id,displayName,groupTypes",
              full, headers=EVENTUAL)
    v = r.json().get("value", [])
    ok(r.status == 200 and [g["displayName"] for g in v][:2] == ["Badge readers", "Team 1"]
       and set(v[0]) == {"@odata.type", "id", "displayName", "groupTypes"} and v[1]["groupTypes"] == ["Unified"]
       and v[0]["groupTypes"] == [], "with GroupMember.Read.All: full objects, $orderby and $select honoured", v[:2])
    log = [x for x in emu.requests() if "memberOf" in x["path"]]
    ok(log and log[-1]["consistency_level"] == "eventual" and any(x["consistency_level"] is None for x in log)
       and log[-1]["auth_len"] == len("Bearer " + full), "request log: consistency_level and auth_len", log[-1])


def test_realism_personal(emu):
    r, _ = dlogin(emu, "offline_access openid profile Calendars.ReadWrite", user=PAT)
    t = r.json()
    at = t.get("access_token", "")
    ok(r.status == 200 and at.startswith("EwB") and "." not in at and 1000 <= len(at) <= 1600,
       "personal account: opaque access token (EwB..., no dots)", at[:20])
    it = jwt_part(t["id_token"], 1)
    ok(it.get("tid") == CONSUMER_TID and it.get("preferred_username") == PAT and it.get("oid", "").startswith("00000000-0000-0000-")
       and it.get("iss") == "https://login.microsoftonline.com/%s/v2.0" % CONSUMER_TID,
       "personal id_token: tid = consumer tenant 9188040d-...", it)
    ok(t["refresh_token"].startswith("M.C5"), "personal refresh token M.C5...")
    me = emu.g("GET", "/me", at)
    ok(me.status == 200 and re.match(r"^[0-9a-f]{16}$", me.json()["id"]), "personal /me works with the opaque token", me)
    emu.ctl("POST", "/_emu/config", {"personal_token_format": "jwt"})
    j = refresh(emu, t["refresh_token"]).json()
    emu.ctl("POST", "/_emu/config", {"personal_token_format": "opaque"})
    cl = jwt_part(j["access_token"], 1)
    ok(cl.get("tid") == CONSUMER_TID and cl.get("iss") == "https://sts.windows.net/%s/" % CONSUMER_TID and "groups" not in cl,
       "personal_token_format=jwt: a JWT with tid = consumer tenant, no groups", cl.get("tid"))
    r, _ = dlogin(emu, "offline_access Calendars.ReadWrite Group.Read.All", user=PAT)
    ok(r.status == 400 and r.json().get("error") == "invalid_scope" and r.json()["error_codes"] == [70011],
       "personal account asking Group.Read.All -> invalid_scope AADSTS70011", r)
    a, lq = authorize(emu, "offline_access Group.ReadWrite.All", user=PAT)
    ok(lq.get("error") == "invalid_scope" and "AADSTS70011" in lq.get("error_description", ""), "... also on /authorize", lq)
    r = refresh(emu, t["refresh_token"], "offline_access Group.ReadWrite.All")
    ok(r.status == 400 and r.json()["error"] == "invalid_scope", "... and on a refresh grant")
    r = emu.g("GET", "/me/memberOf", at)
    ok(r.status == 404 and "No HTTP resource was found" in r.json()["error"]["message"], "personal /me/memberOf -> 404", r)
    grp = emu.state()["groups"][0]["id"]
    ok(emu.g("GET", "/groups/%s/calendar" % grp, at).status == 403, "personal /groups/{id}/calendar -> 403")
    cals = emu.g("GET", "/me/calendars", at).json()["value"]
    ok(cals[0]["allowedOnlineMeetingProviders"] == ["skypeForConsumer"] and cals[0]["defaultOnlineMeetingProvider"] == "skypeForConsumer",
       "personal calendars offer no Teams (skypeForConsumer)", cals[0])
    day = (datetime.utcnow() + timedelta(days=4)).strftime("%Y-%m-%d")
    r = emu.g("POST", "/me/events", at, {"subject": "Pat call", "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
                                         "start": {"dateTime": day + "T09:00:00", "timeZone": "UTC"},
                                         "end": {"dateTime": day + "T09:30:00", "timeZone": "UTC"}})
    e = r.json()
    ok(r.status == 201 and e["isOnlineMeeting"] is False and e["onlineMeeting"] is None and e["onlineMeetingProvider"] == "unknown",
       "personal: isOnlineMeeting/teamsForBusiness is ignored, no Teams join link", {k: e.get(k) for k in ("isOnlineMeeting", "onlineMeeting")})


def test_realism_cae(emu):
    t = dlogin(emu, "offline_access Calendars.ReadWrite")[0].json()
    tok = t["access_token"]
    emu.fault(kind="unauthorized", match={"path": "/me/calendars$"})
    r = emu.g("GET", "/me/calendars", tok)
    www = r.h("www-authenticate") or ""
    m = re.search(r'claims="([^"]+)"', www)
    try:
        claims = json.loads(base64.b64decode(m.group(1)))
    except Exception:
        claims = {}
    ok(graph_error_shape(r, 401, "InvalidAuthenticationToken") and 'error="insufficient_claims"' in www
       and www.startswith("Bearer ") and 'client_id="00000003-0000-0000-c000-000000000000"' in www
       and claims.get("access_token", {}).get("nbf", {}).get("essential") is True
       and "Continuous access evaluation" in r.json()["error"]["message"],
       "unauthorized fault: 401 with a CAE claims challenge (error=insufficient_claims, base64 claims)", (www, claims))
    ok(emu.g("GET", "/me", tok).status == 401, "the challenged token stays revoked although it has not expired")
    r = emu.g("POST", "/$batch", tok, {"requests": [{"id": "1", "method": "GET", "url": "/me"}]})
    ok(r.status == 401 and "insufficient_claims" in (r.h("www-authenticate") or ""), "a $batch envelope with it -> 401 challenge")
    t2 = refresh(emu, t["refresh_token"]).json()
    ok(emu.g("GET", "/me/calendars", t2["access_token"]).status == 200, "a fresh token (refresh) works again")
    emu.fault(kind="unauthorized", revoke=False, cae_code="LocationConditionEvaluationSatisfied", match={"path": "/me$"})
    r1, r2 = emu.g("GET", "/me", t2["access_token"]), emu.g("GET", "/me", t2["access_token"])
    ok(r1.status == 401 and "LocationConditionEvaluationSatisfied" in r1.json()["error"]["message"] and r2.status == 200,
       "revoke=false: only the matched request is refused")
    emu.fault(kind="unauthorized", match={"path": "/me/calendars$"})
    r = emu.g("POST", "/$batch", t2["access_token"], {"requests": [{"id": "1", "method": "GET", "url": "/me/calendars"}]})
    ok(r.status == 200 and r.json()["responses"][0]["status"] == 200, "unauthorized never hits a $batch item")
    ok(emu.g("GET", "/me/calendars", t2["access_token"]).status == 401, "... but the direct request")
    t3 = refresh(emu, t["refresh_token"]).json()
    st, j = emu.ctl("POST", "/_emu/tokens/cae", {})
    r = emu.g("GET", "/me", t3["access_token"])
    ok(st == 200 and j["revoked"] >= 1 and r.status == 401 and "TokenIssuedBeforeRevocationTimestamp" in r.json()["error"]["message"],
       "POST /_emu/tokens/cae: every current access token gets the challenge", r)
    t4 = refresh(emu, t["refresh_token"]).json()
    emu.ctl("POST", "/_emu/tokens/expire")
    r = emu.g("GET", "/me", t4["access_token"])
    ok(r.status == 401 and "expired" in r.json()["error"]["message"], "POST /_emu/tokens/expire still expires access tokens")
    emu.ctl("DELETE", "/_emu/faults")


def test_realism_shared(emu):
    tok = dlogin(emu, "offline_access Calendars.ReadWrite")[0].json()["access_token"]
    cals = {c["name"]: c for c in emu.g("GET", "/me/calendars", tok).json()["value"]}
    bob, carol = cals["Bob's calendar"], cals["Carol's calendar"]
    ok(bob["owner"] == {"name": "Bob Kahn", "address": "bob@fabrikam.example"} and bob["isDefaultCalendar"] is False
       and bob["canShare"] is False and bob["isRemovable"] is True and bob["canEdit"] is True and carol["canEdit"] is False,
       "a shared calendar in /me/calendars: its owner, not default, canShare false, isRemovable true", bob)
    grp = {g["name"]: g for g in emu.g("GET", "/me/calendarGroups", tok).json()["value"]}["Other calendars"]
    names = [c["name"] for c in emu.g("GET", "/me/calendarGroups/%s/calendars" % q(grp["id"]), tok).json()["value"]]
    ok(names == ["Bob's calendar", "Carol's calendar"], "shared calendars sit in the calendar group the scenario names", names)
    ws, we = window(1, 10)
    v = emu.g("GET", "/me/calendars/%s/calendarView?startDateTime=%s&endDateTime=%s" % (q(bob["id"]), ws, we), tok).json()["value"]
    eid = v[0]["id"]
    ok(len(v) == 1 and v[0]["subject"] == "Bob: dentist", "its calendarView works")
    r = emu.g("GET", "/me/calendars/%s/events/%s" % (q(bob["id"]), q(eid)), tok)
    ok(r.status == 200 and r.json()["id"] == eid, "GET /me/calendars/{id}/events/{eid} works")
    for meth, body in (("GET", None), ("PATCH", {"subject": "x"}), ("DELETE", None)):
        r = emu.g(meth, "/me/events/" + q(eid), tok, body)
        ok(graph_error_shape(r, 404, "ErrorItemNotFound"), "%s /me/events/{eid} of a shared calendar -> 404 ErrorItemNotFound" % meth, r)
    r = emu.g("PATCH", "/me/calendars/%s/events/%s" % (q(bob["id"]), q(eid)), tok, {"subject": "Bob: dentist (moved)"})
    ok(r.status == 200 and r.json()["subject"] == "Bob: dentist (moved)", "PATCH through the calendar path works (canEdit)")
    mine = [e["subject"] for e in emu.g("GET", "/me/events?$top=100", tok).json()["value"]]
    ok("Own meeting" in mine and not any(s.startswith(("Bob", "Carol")) for s in mine), "/me/events lists no shared events", mine)
    day = (datetime.utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    body = {"subject": "x", "start": {"dateTime": day + "T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": day + "T10:00:00", "timeZone": "UTC"}}
    r = emu.g("POST", "/me/calendars/%s/events" % q(carol["id"]), tok, body)
    ok(graph_error_shape(r, 403, "ErrorAccessDenied"), "creating on a shared calendar with canEdit false -> 403 ErrorAccessDenied")
    ce = emu.g("GET", "/me/calendars/%s/events" % q(carol["id"]), tok).json()["value"][0]["id"]
    r1 = emu.g("PATCH", "/me/calendars/%s/events/%s" % (q(carol["id"]), q(ce)), tok, {"subject": "y"})
    r2 = emu.g("DELETE", "/me/calendars/%s/events/%s" % (q(carol["id"]), q(ce)), tok)
    ok(r1.status == 403 and r2.status == 403, "PATCH/DELETE on it -> 403 too")
    r = emu.g("POST", "/me/calendars/%s/events" % q(bob["id"]), tok, body)
    ok(r.status == 201, "creating on a shared calendar with canEdit true works")


def test_realism(tmp):
    emu = Emu("--scenario", REALISM)
    try:
        t = test_realism_tokens(emu)
        test_realism_scope(emu, t)
        test_realism_consent(emu, t)
        test_realism_memberof(emu)
        test_realism_personal(emu)
        test_realism_cae(emu)
        test_realism_shared(emu)
        log = emu.requests()
        tk = [x for x in log if x["grant_type"] == "refresh_token" and x["scope"] == "offline_access Group.Read.All"]
        ok(tk and all(x["consistency_level"] is None for x in tk) and
           all(x["auth_len"] == 0 for x in log if not x["has_auth"]), "request log: scope of token requests, auth_len 0 without auth")
    finally:
        emu.stop()


# ----------------------------------------------------------------------------- switches (test/scenarios/switches.json)

SWITCHES = os.path.join(HERE, "scenarios", "switches.json")
SPARSE_KEYS = {"@odata.type", "@odata.etag", "id", "type", "seriesMasterId", "start", "end"}


def cfg(emu, **kw):
    st, j = emu.ctl("POST", "/_emu/config", kw)
    if st != 200:
        raise RuntimeError("config %r refused: %r" % (kw, j))
    return j


def day(n, hhmm="09:00"):
    return (datetime.utcnow() + timedelta(days=n)).strftime("%Y-%m-%d") + "T" + hhmm + ":00"


def stored(emu, subject):
    """(kind, mailbox, event) of the stored event with that subject."""
    st = emu.state()
    for kind in ("users", "groups"):
        for mb in st[kind]:
            for c in mb["calendars"]:
                for e in c["events"]:
                    if e["subject"] == subject:
                        return kind, mb, e
    return None, None, None


def counters(emu, kind, name):
    for mb in emu.state()[kind]:
        if mb.get("upn") == name or mb.get("displayName") == name:
            return mb["counters"]
    return None


def test_sparse(emu, tok, w):
    _, _, series = stored(emu, "Weekly review")
    mid = series["id"]
    cfg(emu, sparse_occurrences=False)
    items, dl, _, probs = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=3)
    occ = [e for e in items if e.get("seriesMasterId") == mid]
    ok(not probs and len(occ) == 5 and all(e.get("subject", "").startswith("Weekly review") for e in occ)
       and not any(e.get("type") == "seriesMaster" for e in items),
       "sparse_occurrences false (the kinder switch): delta occurrences are full, no series master", probs)
    cfg(emu, sparse_occurrences=True)
    items, dl, _, probs = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=3,
                                      extra_prefer='outlook.timezone="W. Europe Standard Time"')
    byid = {e["id"]: e for e in items}
    occ = [e for e in items if e.get("type") == "occurrence"]
    exc = [e for e in items if e.get("type") == "exception"]
    mas = [e for e in items if e.get("type") == "seriesMaster"]
    ok(not probs and len(occ) == 4 and all(set(e) == SPARSE_KEYS and e["@odata.type"] == "#microsoft.graph.event"
                                           and e["seriesMasterId"] == mid for e in occ),
       "sparse_occurrences true: an occurrence carries only @odata.type, @odata.etag, id, type, seriesMasterId, start, end",
       [sorted(e) for e in occ][:1])
    ok(all(e["start"]["timeZone"] == "W. Europe Standard Time" and DT7.match(e["start"]["dateTime"]) for e in occ),
       "sparse occurrences honour Prefer: outlook.timezone")
    ok(len(exc) == 1 and exc[0]["subject"] == "Weekly review (special)" and EVENT_KEYS <= set(exc[0]),
       "sparse_occurrences true: an exception stays a full object")
    first = datetime.strptime(series["start"], "%Y-%m-%dT%H:%M:%SZ")
    ok(len(mas) == 1 and mas[0]["id"] == mid and mas[0]["recurrence"]["range"]["numberOfOccurrences"] == 6
       and mas[0]["subject"] == "Weekly review" and EVENT_KEYS <= set(mas[0]),
       "the series master is in the full round as a full seriesMaster object with its recurrence", [e.get("type") for e in items])
    ok(mas and mas[0]["start"]["dateTime"][:10] == (first + timedelta(hours=1)).strftime("%Y-%m-%d")
       and mas[0]["start"]["dateTime"][11:16] in ("11:00", "12:00"),
       "the master's start is the first occurrence's, even before the window", mas[0]["start"] if mas else None)
    ok(not any(e.get("subject") == "Far series" for e in items), "a series with no instance in the window has no master in the round")
    emu.fault(kind="omit_masters", match={"path": "calendarView/delta"}, times=1)
    r = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=100")
    ok(r.status == 200 and not any(e.get("type") == "seriesMaster" for e in r.json()["value"])
       and any(e.get("type") == "occurrence" for e in r.json()["value"]),
       "fault omit_masters: the page has its sparse occurrences and no series master")
    ok(byid.get(stored(emu, "Plain")[2]["id"], {}).get("subject") == "Plain", "single instances stay full")
    v = emu.g("GET", "/me/calendarView?%s&$top=100" % w, tok).json()["value"]
    ok(all("subject" in e for e in v) and not any(e["type"] == "seriesMaster" for e in v),
       "plain calendarView is unaffected: full occurrences, no master")
    # The link's place in a delta page (link_last) and the items the log records.
    emu.ctl("DELETE", "/requests")
    r = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=2")
    body = r.body.decode() if isinstance(r.body, bytes) else r.body
    ok(r.status == 200 and 0 < body.find('"@odata.nextLink"') < body.find('"value"'),
       "a delta page names its nextLink before \"value\", as Microsoft's samples do", body[:120])
    log = [q for q in emu.requests() if "delta" in q["path"]]
    ok(log and log[-1]["items"] == 2, "the request log counts the events a page served",
       log[-1]["items"] if log else None)
    cfg(emu, link_last=True)
    r2 = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=2")
    body2 = r2.body.decode() if isinstance(r2.body, bytes) else r2.body
    ok(r2.status == 200 and 0 < body2.find('"value"') < body2.find('"@odata.nextLink"')
       and r2.json()["value"] == r.json()["value"],
       "link_last: the same page with the nextLink after \"value\"", body2[-120:])
    cfg(emu, link_last=False)
    r = emu.g("GET", "/me/events/" + q(occ[0]["id"]), tok)
    ok(r.status == 200 and r.json()["subject"] == "Weekly review", "GET /me/events/{occurrence} is a full object")
    r = emu.g("GET", "/me/events/" + q(mid), tok)
    m = r.json()
    ok(r.status == 200 and m["type"] == "seriesMaster" and m["subject"] == "Weekly review" and m["showAs"] == "busy"
       and m["isAllDay"] is False and m["isCancelled"] is False and m["sensitivity"] == "private"
       and m["changeKey"] and m["lastModifiedDateTime"] and m["@odata.etag"] == 'W/"%s"' % m["changeKey"],
       "GET /me/events/{masterId}: subject, showAs, isAllDay, isCancelled, sensitivity, changeKey, lastModifiedDateTime", r)
    sel = "subject,showAs,isAllDay,isCancelled,sensitivity,changeKey,lastModifiedDateTime"
    r = emu.g("GET", "/me/events/%s?$select=%s" % (q(mid), sel), tok)
    j = r.json()
    ok(r.status == 200 and set(j) == {"@odata.context", "@odata.etag", "id", "subject", "showAs", "isAllDay",
                                      "isCancelled", "sensitivity", "changeKey"}
       and j["@odata.context"].endswith("/events(%s)/$entity" % sel) and j["subject"] == "Weekly review",
       "$select on GET event: only the selected properties (+ @odata.etag, id); lastModifiedDateTime left out", sorted(j))
    cfg(emu, select_returns_timestamps=True)
    j = emu.g("GET", "/me/events/%s?$select=%s" % (q(mid), sel), tok).json()
    cfg(emu, select_returns_timestamps=False)
    ok(j.get("lastModifiedDateTime") == m["lastModifiedDateTime"], "select_returns_timestamps true: it is returned")
    r = emu.g("GET", "/me/events/%s?$select=subject,bogus" % q(mid), tok)
    ok(graph_error_shape(r, 400, "BadRequest") and "bogus" in r.json()["error"]["message"], "$select of an unknown property -> 400")
    # incremental rounds
    r = emu.g("GET", dl, tok)
    ok(r.status == 200 and r.json()["value"] == [], "sparse: no change -> empty round")
    dl = r.json()["@odata.deltaLink"]
    emu.ctl("POST", "/_emu/outlook", {"op": "edit", "id": mid, "event": {"subject": "Weekly review (renamed)"}})
    ch, dl, _, probs = delta_round(emu, dl, tok, pagesize=4)
    ms = [e for e in ch if e["id"] == mid]
    ok(not probs and ms and ms[0]["subject"] == "Weekly review (renamed)" and ms[0]["type"] == "seriesMaster"
       and sum(1 for e in ch if e.get("type") == "occurrence" and set(e) == SPARSE_KEYS) == 4,
       "a changed master comes back (full, with its new subject) with its occurrences (sparse)", [e.get("type") for e in ch])
    _, a = emu.ctl("POST", "/_emu/outlook", {"op": "add", "event": {"subject": "Later series", "start": "+4d07:00",
                   "end": "+4d07:30", "recurrence": {"pattern": {"type": "daily"}, "range": {"type": "numbered",
                                                                                          "numberOfOccurrences": 2}}}})
    ch, dl, _, _ = delta_round(emu, dl, tok)
    ok({e["id"] for e in ch} == {a["id"]} | set(a["occurrences"]), "a new series: master and occurrences in the next round")
    emu.ctl("POST", "/_emu/outlook", {"op": "move", "id": a["id"], "shift_minutes": 60 * 24 * 90})
    ch, dl, _, _ = delta_round(emu, dl, tok)
    ok(any(e["id"] == a["id"] and "@removed" in e for e in ch), "a series moved out of the window: its master is @removed")
    emu.ctl("POST", "/_emu/outlook", {"op": "delete", "id": mid})
    ch, dl, _, _ = delta_round(emu, dl, tok)
    rem = {e["id"] for e in ch if "@removed" in e}
    ok(mid in rem and all(e["id"] in rem for e in occ + exc), "a deleted series: master and every instance @removed")
    cfg(emu, sparse_occurrences=False)


def test_changekey_ops(emu, tok, w):
    _, _, items = None, None, None
    items, dl, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=20)
    plain = stored(emu, "Plain")[2]["id"]
    ext = stored(emu, "External meeting")[2]["id"]
    own = stored(emu, "Own meeting")[2]["id"]
    day3 = day(3)
    mine = emu.g("POST", "/me/events", tok, {"subject": "TimeTap: pushed", "start": {"dateTime": day3[:11] + "15:00:00",
                 "timeZone": "UTC"}, "end": {"dateTime": day3[:11] + "15:30:00", "timeZone": "UTC"},
                 "body": {"contentType": "text", "content": "ours"}, "location": {"displayName": "Clinic"}}).json()["id"]
    _, dl, _, _ = delta_round(emu, dl, tok)
    fields = ("subject", "start", "end", "showAs", "body", "location", "sensitivity")
    for op, extra, check in (
            ("dismiss_reminder", {}, lambda b, a: a["isReminderOn"] is False and
             a["reminderMinutesBeforeStart"] == b["reminderMinutesBeforeStart"]),
            ("categorize", {"categories": ["Red category", "Blue"]}, lambda b, a: a["categories"] == ["Red category", "Blue"]),
            ("respond", {"response": "accepted"}, lambda b, a: a["responseStatus"]["response"] == "accepted")):
        for eid, label in ((ext if op == "respond" else plain, "an Outlook event"), (mine, "our pushed event")):
            b = emu.g("GET", "/me/events/" + q(eid), tok).json()
            time.sleep(0.002)
            st, _ = emu.ctl("POST", "/_emu/outlook", dict({"op": op, "id": eid}, **extra))
            a = emu.g("GET", "/me/events/" + q(eid), tok).json()
            ch, dl, _, _ = delta_round(emu, dl, tok)
            same = all(a[k] == b[k] for k in fields)
            ok(st == 200 and a["changeKey"] != b["changeKey"] and a["lastModifiedDateTime"] > b["lastModifiedDateTime"]
               and same and (check(b, a) or eid == mine and op == "respond") and [e["id"] for e in ch] == [eid],
               "outlook op %s on %s: new changeKey and lastModifiedDateTime, only that changed, in the next delta round"
               % (op, label), (st, [k for k in fields if a[k] != b[k]], len(ch)))
    st, _ = emu.ctl("POST", "/_emu/outlook", {"op": "respond", "id": own, "response": "tentativelyAccepted",
                                              "attendee": "grace@contoso.example"})
    a = emu.g("GET", "/me/events/" + q(own), tok).json()
    ok(st == 200 and a["attendees"][0]["status"]["response"] == "tentativelyAccepted" and a["responseStatus"]["response"] == "organizer",
       "respond on an own meeting: the attendee's answer is recorded, the organizer stays organizer")
    st, _ = emu.ctl("POST", "/_emu/outlook", {"op": "respond", "id": own, "response": "maybe"})
    st2, _ = emu.ctl("POST", "/_emu/outlook", {"op": "categorize", "id": own, "categories": "x"})
    ok(st == 400 and st2 == 400, "respond / categorize with bad values -> 400 from the control API")
    return mine


def test_txn_replay(emu, tok, grp):
    def body(tx, subj="TimeTap: txn"):
        return {"subject": subj, "transactionId": tx, "start": {"dateTime": day(5, "10:00"), "timeZone": "UTC"},
                "end": {"dateTime": day(5, "10:30"), "timeZone": "UTC"}}

    def copies(tx):
        st = emu.state()
        return [e for k in ("users", "groups") for mb in st[k] for c in mb["calendars"] for e in c["events"]
                if e.get("transactionId") == tx]
    c0 = counters(emu, "users", "ada@contoso.example")
    r1 = emu.g("POST", "/me/events", tok, body("tts:r1"))
    r2 = emu.g("POST", "/me/calendar/events", tok, body("tts:r1", "again"))
    ok(r1.status == 201 and graph_error_shape(r2, 400, "ErrorDuplicateTransactionId") and r2.json()["error"]["message"] == DUP_TXN_MSG
       and len(copies("tts:r1")) == 1, "txn_replay error (default): a replay -> 400 ErrorDuplicateTransactionId, one event", r2)
    clinic = [c for c in emu.g("GET", "/me/calendars", tok).json()["value"] if c["name"] == "Clinic rota"][0]["id"]
    r3 = emu.g("POST", "/me/calendars/%s/events" % q(clinic), tok, body("tts:r1"))
    ok(graph_error_shape(r3, 400, "ErrorDuplicateTransactionId"), "... also in another calendar of the same mailbox")
    r = emu.g("POST", "/$batch", tok, {"requests": [
        {"id": "a", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"}, "body": body("tts:r1")},
        {"id": "b", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"}, "body": body("tts:b1")}]})
    res = {x["id"]: x for x in r.json()["responses"]}
    ok(res["a"]["status"] == 400 and res["a"]["body"]["error"]["code"] == "ErrorDuplicateTransactionId" and res["b"]["status"] == 201,
       "... and as a $batch item (the other items succeed)", res)
    r = emu.g("POST", "/groups/%s/events" % grp, tok, body("tts:r1"))
    ok(r.status == 201, "the same transactionId in another mailbox (a group) is a new event")
    c1 = counters(emu, "users", "ada@contoso.example")
    ok(c1["tx_dedup_hits"] - c0["tx_dedup_hits"] == 3, "tx_dedup_hits counts the refused replays", c1)
    emu.g("DELETE", "/me/events/" + q(r1.json()["id"]), tok)
    r = emu.g("POST", "/me/events", tok, body("tts:r1"))
    ok(r.status == 201, "after the event holding it is deleted, its transactionId may be used again")
    cfg(emu, txn_replay="return_existing")
    r4 = emu.g("POST", "/me/events", tok, body("tts:r1", "replayed"))
    ok(r4.status == 201 and r4.json()["id"] == r.json()["id"] and r4.json()["subject"] == "TimeTap: txn"
       and len([e for e in copies("tts:r1")]) == 2, "txn_replay return_existing: 201 with the existing event (no new one)")
    cfg(emu, txn_replay="duplicate")
    r5 = emu.g("POST", "/me/events", tok, body("tts:r1", "second copy"))
    mine = [e for e in copies("tts:r1") if e["subject"] != "TimeTap: txn" or e["id"] != r5.json().get("id")]
    ok(r5.status == 201 and r5.json()["id"] != r.json()["id"] and r5.json()["transactionId"] == "tts:r1"
       and len(copies("tts:r1")) == 3 and counters(emu, "users", "ada@contoso.example")["tx_duplicates"] == 1,
       "txn_replay duplicate: a second event with the same transactionId (the libcurl re-send case)", len(mine))
    cfg(emu, txn_replay="error")
    st, j = emu.ctl("POST", "/_emu/config", {"txn_replay": "ignore"})
    ok(st == 400, "txn_replay takes only error, return_existing, duplicate")
    for e in copies("tts:r1") + copies("tts:b1"):
        k, mb, _ = stored(emu, e["subject"])
        path = "/groups/%s/events/" % mb["id"] if k == "groups" else "/me/events/"
        emu.g("DELETE", path + q(e["id"]), tok)


def test_group_meetings(emu, tok, grp, night):
    def ev(subject, **kw):
        return dict({"subject": subject, "start": {"dateTime": day(6, "10:00"), "timeZone": "UTC"},
                     "end": {"dateTime": day(6, "11:00"), "timeZone": "UTC"}}, **kw)
    cfg(emu, group_meetings=False)
    c0 = counters(emu, "groups", "Front Desk Team")
    r = emu.g("POST", "/groups/%s/events" % grp, tok, ev("Group event, switch off"))
    c1 = counters(emu, "groups", "Front Desk Team")
    ok(r.status == 201 and r.json()["attendees"] == [] and c1["invitations_sent"] == c0["invitations_sent"],
       "group_meetings false (the kinder switch): a group event has no attendees, no mail counted")
    emu.g("DELETE", "/groups/%s/events/%s" % (grp, q(r.json()["id"])), tok)
    cfg(emu, group_meetings=True)
    made = []
    for att in (None, [], [{"emailAddress": {"address": "frontdesk@contoso.example", "name": "Front Desk Team"}}]):
        b = ev("Group meeting") if att is None else ev("Group meeting", attendees=att)
        r = emu.g("POST", "/groups/%s/calendar/events" % grp, tok, b)
        made.append(r.json())
    ok(all([a["emailAddress"]["address"] for a in m["attendees"]] == ["frontdesk@contoso.example", "ada@contoso.example"]
           and m["organizer"]["emailAddress"]["address"] == "frontdesk@contoso.example" and m["isOrganizer"] is True
           and all(a["type"] == "required" and a["status"]["response"] == "none" for a in m["attendees"]) for m in made),
       "group_meetings true: the group and the creator are attendees whatever was asked (none, [], the group)",
       [[a["emailAddress"]["address"] for a in m["attendees"]] for m in made])
    c2 = counters(emu, "groups", "Front Desk Team")
    ok(c2["invitations_sent"] - c1["invitations_sent"] == 6,
       "invitations_sent: 2 per create (grace, subscribed by mail, and ada, the creator; linus is not subscribed)", c2)
    gid = made[0]["id"]
    for patch, upd in (({"subject": "Group meeting (moved)"}, 2), ({"showAs": "free"}, 0), ({"categories": ["X"]}, 0),
                       ({"start": {"dateTime": day(6, "10:30"), "timeZone": "UTC"},
                         "end": {"dateTime": day(6, "11:30"), "timeZone": "UTC"}}, 2),
                       ({"location": {"displayName": "Room 7"}}, 2), ({"body": {"contentType": "text", "content": "x"}}, 2),
                       ({"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}, 2),
                       ({"subject": "Group meeting (moved)"}, 0)):
        before = counters(emu, "groups", "Front Desk Team")["updates_sent"]
        r = emu.g("PATCH", "/groups/%s/events/%s" % (grp, q(gid)), tok, patch)
        after = counters(emu, "groups", "Front Desk Team")["updates_sent"]
        ok(r.status == 200 and after - before == upd, "PATCH %s -> updates_sent +%d" % (",".join(patch), upd), (after - before))
    c3 = counters(emu, "groups", "Front Desk Team")
    for m in made:
        emu.g("DELETE", "/groups/%s/events/%s" % (grp, q(m["id"])), tok)
    c4 = counters(emu, "groups", "Front Desk Team")
    ok(c4["cancellations_sent"] - c3["cancellations_sent"] == 6, "DELETE -> cancellations_sent +2 each", c4)
    n0 = counters(emu, "groups", "Night Shift")
    r = emu.g("POST", "/groups/%s/events" % night, tok, ev("Night meeting"))
    n1 = counters(emu, "groups", "Night Shift")
    ok(r.status == 201 and n1["invitations_sent"] - n0["invitations_sent"] == 2,
       "without subscribedByMail every member is mailed (ada, linus)", n1)
    emu.g("DELETE", "/groups/%s/events/%s" % (night, q(r.json()["id"])), tok)
    u0 = counters(emu, "users", "ada@contoso.example")
    r = emu.g("POST", "/me/events", tok, ev("Own, no attendees"))
    emu.g("PATCH", "/me/events/" + q(r.json()["id"]), tok, {"subject": "Own, no attendees (moved)"})
    emu.g("DELETE", "/me/events/" + q(r.json()["id"]), tok)
    u1 = counters(emu, "users", "ada@contoso.example")
    ok(all(u1[k] == u0[k] for k in ("invitations_sent", "updates_sent", "cancellations_sent")),
       "a user-calendar event without attendees sends nothing (invitations_sent stays as it was)", u1)
    r = emu.g("POST", "/me/events", tok, ev("Own, one attendee", attendees=[{"emailAddress": {"address": "grace@contoso.example"}}]))
    emu.g("PATCH", "/me/events/" + q(r.json()["id"]), tok, {"subject": "Own, one attendee (moved)"})
    emu.g("DELETE", "/me/events/" + q(r.json()["id"]), tok)
    u2 = counters(emu, "users", "ada@contoso.example")
    ok([u2[k] - u1[k] for k in ("invitations_sent", "updates_sent", "cancellations_sent")] == [1, 1, 1],
       "a user-calendar meeting with one attendee: one invitation, one update, one cancellation", u2)
    cfg(emu, group_meetings=False)
    st = emu.state()
    ok(all("updates_sent" in mb["counters"] for k in ("users", "groups") for mb in st[k])
       and [g["subscribedByMail"] for g in st["groups"]] == [["grace@contoso.example"], None],
       "/_emu/state: updates_sent in every mailbox's counters; groups show subscribedByMail")


def test_teams_links(emu, tok):
    b = {"subject": "Video consult", "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
         "start": {"dateTime": day(7, "10:00"), "timeZone": "UTC"}, "end": {"dateTime": day(7, "10:30"), "timeZone": "UTC"}}
    e = emu.g("POST", "/me/events", tok, b).json()
    j1 = (e.get("onlineMeeting") or {}).get("joinUrl") or ""
    ok(e["isOnlineMeeting"] is True and e["onlineMeetingProvider"] == "teamsForBusiness"
       and j1.startswith("https://teams.microsoft.com/l/meetup-join/"), "isOnlineMeeting + teamsForBusiness -> a Teams joinUrl")
    p = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, {"subject": "Video consult (moved)"}).json()
    ok(p["onlineMeeting"]["joinUrl"] == j1, "PATCH without body keeps the joinUrl")
    p = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, {"body": {"contentType": "text", "content": "New notes"}}).json()
    j2 = p["onlineMeeting"]["joinUrl"]
    g = emu.g("GET", "/me/events/" + q(e["id"]), tok).json()
    ok(j2 != j1 and j2.startswith("https://teams.microsoft.com/l/meetup-join/") and p["isOnlineMeeting"] is True
       and g["onlineMeeting"]["joinUrl"] == j2, "body_patch_regenerates_link true (default): PATCH with body -> a new joinUrl")
    cfg(emu, body_patch_regenerates_link=False)
    p = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, {"body": {"contentType": "text", "content": "Newer notes"}}).json()
    ok(p["onlineMeeting"]["joinUrl"] == j2, "body_patch_regenerates_link false: the joinUrl stays")
    cfg(emu, body_patch_regenerates_link="drop")
    p = emu.g("PATCH", "/me/events/" + q(e["id"]), tok, {"body": {"contentType": "text", "content": "x"}, "isOnlineMeeting": True}).json()
    ok(p["isOnlineMeeting"] is False and p["onlineMeeting"] is None and p["onlineMeetingProvider"] == "unknown",
       "body_patch_regenerates_link \"drop\": the meeting loses its Teams link")
    cfg(emu, body_patch_regenerates_link=True)
    plain = emu.g("POST", "/me/events", tok, dict(b, isOnlineMeeting=False, subject="Not online")).json()
    p = emu.g("PATCH", "/me/events/" + q(plain["id"]), tok, {"body": {"contentType": "text", "content": "y"}}).json()
    ok(p["onlineMeeting"] is None and p["isOnlineMeeting"] is False, "a body PATCH on a non-online event creates no link")
    mk = "String {2f6b5ae5-9c1d-4a57-9f2e-5b3d7c1e8a40} Name TimeTapApptId"
    ours_ev = emu.g("POST", "/me/events", tok, dict(b, isOnlineMeeting=False, subject="Ours", transactionId="timetap-t-1",
                    singleValueExtendedProperties=[{"id": mk, "value": "abc.1:42"}])).json()
    _, o = emu.ctl("GET", "/_emu/ours")
    mine = [x for x in o["events"] if x["id"] == ours_ev["id"]]
    ok(len(mine) == 1 and mine[0]["appt"] == "42" and mine[0]["owner"] == "abc.1" and mine[0]["props"] == [mk]
       and not any(x["id"] == e["id"] for x in o["events"]) and any(c["events"] > 0 for c in o["calendars"]),
       "GET /_emu/ours: the tool's events (marker or timetap- transactionId), with appointment and owner, nothing else", mine)
    emu.g("DELETE", "/me/events/" + q(ours_ev["id"]), tok)
    long = "\u65e5" * 250 + "\U0001f642" * 5
    lg = emu.g("POST", "/me/events", tok, dict(b, isOnlineMeeting=False, subject=long)).json()
    ok(lg["subject"] == "\u65e5" * 250 + "\U0001f642" * 2, "a subject over 255 characters (UTF-16 units) is cut to 255, "
       "never halving a surrogate pair", len(lg["subject"]))
    for x in (e, plain, lg):
        emu.g("DELETE", "/me/events/" + q(x["id"]), tok)


def test_fresh_loop(emu, tok, w):
    clean, _, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=2)
    r = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=2")
    first = r.json()["value"]
    nl = r.json()["@odata.nextLink"]
    emu.fault(kind="nextlink_loop_fresh", match={"path": r"\$skiptoken="})
    links, pages, cur = [], [], nl
    for _ in range(6):
        j = emu.g("GET", cur, tok, prefer="odata.maxpagesize=2").json()
        pages.append(tuple(x["id"] for x in j["value"]))
        cur = j.get("@odata.nextLink")
        links.append(cur)
        if not cur:
            break
    ok(len(pages) == 6 and len(set(pages)) == 1 and len(pages[0]) == 2 and all(links) and len(set(links + [nl])) == 7,
       "nextlink_loop_fresh: the same page again and again, each time under a new $skiptoken", (len(set(pages)), len(set(links))))
    ok(all("@odata.deltaLink" not in emu.g("GET", links[-1], tok, prefer="odata.maxpagesize=2").json() for _ in range(2)),
       "... never a deltaLink while the fault is set")
    emu.ctl("DELETE", "/_emu/faults")
    rest, dl, _, probs = delta_round(emu, links[-1], tok, pagesize=2)
    ok(dl and not probs and sorted(x["id"] for x in first + rest) == sorted(x["id"] for x in clean),
       "DELETE /_emu/faults ends the loop: the round completes with exactly the items of a clean round", probs)
    st, _ = emu.ctl("POST", "/_emu/faults", {"faults": [{"kind": "nextlink_loop_fresh", "match": {"path": "calendarView/delta"}}]})
    j = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=50").json()
    j2 = emu.g("GET", j["@odata.nextLink"], tok, prefer="odata.maxpagesize=50").json()
    emu.ctl("DELETE", "/_emu/faults")
    ok(st == 200 and "@odata.nextLink" in j and [x["id"] for x in j2["value"]] == [x["id"] for x in j["value"]]
       and j2["@odata.nextLink"] != j["@odata.nextLink"],
       "a fresh loop on a one-page round: a nextLink instead of the deltaLink, same content")


def test_delta_refused(emu, tok, cals, grp, w):
    clinic = "/me/calendars/%s/calendarView/delta?" % q(cals["Clinic rota"]["id"])
    _, dlc, _, probs = delta_round(emu, clinic + w, tok)
    ok(dlc and not probs, "delta_refused [] (default): delta on a non-default calendar works")
    for spec in (["Clinic rota"], "non_default", ["non_default"]):
        cfg(emu, delta_refused=spec)
        r1 = emu.g("GET", clinic + w, tok)
        r2 = emu.g("GET", dlc, tok)
        r3 = emu.g("GET", "/me/calendarView/delta?" + w, tok)
        r4 = emu.g("GET", "/groups/%s/calendarView/delta?%s" % (grp, w), tok)
        r5 = emu.g("GET", clinic.replace("/delta", "") + w, tok)
        ok(graph_error_shape(r1, 400, "BadRequest") and r1.json()["error"]["message"] ==
           "Unsupported request: Change tracking is not supported against 'microsoft.graph.event'."
           and graph_error_shape(r2, 400, "BadRequest") and r3.status == 200 and r4.status == 200 and r5.status == 200,
           "delta_refused %s: first page and stored deltaLink of Clinic rota -> 400; default, group and plain calendarView fine"
           % json.dumps(spec), (r1, r2.status, r3.status, r4.status, r5.status))
    cfg(emu, delta_refused=["group:Front Desk Team"])
    r = emu.g("GET", "/groups/%s/calendarView/delta?%s" % (grp, w), tok)
    ok(graph_error_shape(r, 400, "BadRequest") and emu.g("GET", clinic + w, tok).status == 200, "delta_refused group:<name> refuses a group calendar")
    cfg(emu, delta_refused=[])
    r = emu.g("GET", dlc, tok)
    st, _ = emu.ctl("POST", "/_emu/config", {"delta_refused": "everything"})
    ok(r.status == 200 and st == 400, "back to []: the stored deltaLink works again; bad values refused")


def test_date_header(emu, tok):
    from email.utils import parsedate_to_datetime

    def skew(r):
        d = r.h("Date")
        return d and (parsedate_to_datetime(d).timestamp() - time.time())
    r = emu.g("GET", "/me/mailboxSettings/timeZone", tok)
    e = emu.g("GET", "/me/events/nonesuch", tok)
    ok(r.h("Date") and abs(skew(r)) < 3 and e.status == 404 and abs(skew(e)) < 3,
       "every answer carries Date, the true time by default (RFC 9110 s.6.6.1)", (r, e, skew(r), skew(e)))
    cfg(emu, clock_skew_s=900)
    r = emu.g("GET", "/me/mailboxSettings/timeZone", tok)
    ok(abs(skew(r) - 900) < 3, "clock_skew_s 900: Date is 15 minutes ahead", r.h("Date"))
    cfg(emu, clock_skew_s=0)
    st, _ = emu.ctl("POST", "/_emu/config", {"clock_skew_s": "soon"})
    ok(st == 400, "clock_skew_s: a number, else refused", st)


def test_mailbox_settings(emu, tok):
    r = emu.g("GET", "/me/mailboxSettings", tok)
    ok(graph_error_shape(r, 403, "ErrorAccessDenied"), "mailboxSettings without MailboxSettings.Read -> 403 ErrorAccessDenied", r)
    t = emu.device_login("offline_access User.Read MailboxSettings.Read")["access_token"]
    r = emu.g("GET", "/me/mailboxSettings", t)
    j = r.json()
    ok(r.status == 200 and j["timeZone"] == "W. Europe Standard Time" and j["@odata.context"].endswith("/mailboxSettings")
       and {"automaticRepliesSetting", "language", "workingHours", "dateFormat", "timeFormat"} <= set(j),
       "GET /me/mailboxSettings with MailboxSettings.Read: the scenario's Windows time zone", r)
    r = emu.g("GET", "/me/mailboxSettings/timeZone", t)
    ok(r.status == 200 and r.json()["value"] == "W. Europe Standard Time" and r.json()["@odata.context"].endswith("/mailboxSettings/timeZone"),
       "GET /me/mailboxSettings/timeZone -> {value}", r)
    r = emu.g("GET", "/me/mailboxSettings/workingHours", t)
    ok(r.status == 200 and r.json()["timeZone"] == {"name": "W. Europe Standard Time"}, "a complex sub-setting comes back as an object")
    ok(emu.g("GET", "/me/mailboxSettings/bogus", t).status == 400 and emu.g("POST", "/me/mailboxSettings", t, {}).status == 405,
       "unknown setting -> 400; POST -> 405")
    emu.ctl("POST", "/_emu/config", {"login_user": "grace@contoso.example"})
    g = emu.device_login("offline_access User.Read MailboxSettings.ReadWrite")["access_token"]
    emu.ctl("POST", "/_emu/config", {"login_user": None})
    r = emu.g("GET", "/users/grace@contoso.example/mailboxSettings/timeZone", g)
    ok(r.status == 200 and r.json()["value"] == "UTC", "a user without \"timeZone\" in the scenario: UTC (MailboxSettings.ReadWrite also works)")
    emu.ctl("POST", "/_emu/outlook", {"op": "time_zone", "timeZone": "Customized Time Zone"})
    r = emu.g("GET", "/me/mailboxSettings/timeZone", t)
    ok(r.status == 200 and r.json()["value"] == "Customized Time Zone", "outlook op time_zone: the zone picked in Outlook is served", r)
    emu.ctl("POST", "/_emu/outlook", {"op": "time_zone", "timeZone": "W. Europe Standard Time"})


def test_page_limits(emu, tok, w):
    clean, _, _, _ = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=50)
    cfg(emu, max_page=3)
    items, dl, pages, probs = delta_round(emu, "/me/calendarView/delta?" + w, tok, pagesize=50, extra_prefer=None)
    r = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=50")
    v = emu.g("GET", "/me/calendarView?%s&$top=50" % w, tok).json()
    cfg(emu, max_page=None)
    ok(dl and pages >= len(clean) // 3 and sorted(x["id"] for x in items) == sorted(x["id"] for x in clean)
       and len(r.json()["value"]) == 3 and r.h("preference-applied") == "odata.maxpagesize=3"
       and len(v["value"]) == 3 and "@odata.nextLink" in v,
       "max_page caps delta and calendarView pages (Preference-Applied says the size used)", (pages, len(clean), r.h("preference-applied")))
    j = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=2").json()
    emu.fault(kind="oversized", match={"path": r"\$skiptoken="})
    u = urlsplit(j["@odata.nextLink"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", u.path + "?" + u.query, headers={"Authorization": "Bearer " + tok})
    resp = conn.getresponse()
    n = int(resp.getheader("Content-Length"))
    head = resp.read(1 << 20)
    conn.close()
    ok(resp.status == 200 and n > 64 * 1024 * 1024 and head.startswith(b'{"@odata.context"'),
       "oversized (default 64 MiB): valid JSON start, Content-Length over 64 MiB; a client may stop reading", n)
    rest, dl, _, probs = delta_round(emu, j["@odata.nextLink"], tok, pagesize=2)
    ok(dl and not probs and rest, "after an oversized page the emulator serves the same link normally")
    # Slow pages: a page's service time grows with its items; past the gateway's limit, 504.
    cfg(emu, page_item_ms=100, gateway_timeout_s=0.5)
    t0 = time.time()
    r = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=50")
    t1 = time.time()
    small = emu.g("GET", "/me/calendarView/delta?" + w, tok, prefer="odata.maxpagesize=2")
    t2 = time.time()
    cfg(emu, page_item_ms=0.2, gateway_timeout_s=30)
    ok(graph_error_shape(r, 504, "UnknownError") and r.json()["error"]["message"] == "" and t1 - t0 >= 0.5
       and small.status == 200 and len(small.json()["value"]) == 2 and 0.2 <= t2 - t1 < 0.5,
       "a page slower than gateway_timeout_s answers 504 UnknownError after that long; a smaller page is served",
       (r.status, round(t1 - t0, 2), small.status, round(t2 - t1, 2)))


def test_switches(tmp):
    emu = Emu("--scenario", SWITCHES)
    try:
        t = emu.device_login()
        tok = t["access_token"]
        w = "startDateTime=%s&endDateTime=%s" % window(8, 30)
        cals = {c["name"]: c for c in emu.g("GET", "/me/calendars", tok).json()["value"]}
        groups = {g["displayName"]: g["id"] for g in emu.state()["groups"]}
        grp, night = groups["Front Desk Team"], groups["Night Shift"]
        cf = emu.ctl("GET", "/_emu/config")[1]
        ok(cf["sparse_occurrences"] is True and cf["txn_replay"] == "error" and cf["group_meetings"] is True
           and cf["body_patch_regenerates_link"] is True and cf["delta_refused"] == [] and cf["select_returns_timestamps"] is False,
           "new config keys and their defaults", {k: cf[k] for k in ("sparse_occurrences", "txn_replay", "group_meetings")})
        test_changekey_ops(emu, tok, w)
        test_txn_replay(emu, tok, grp)
        test_group_meetings(emu, tok, grp, night)
        test_teams_links(emu, tok)
        test_fresh_loop(emu, tok, w)
        test_delta_refused(emu, tok, cals, grp, w)
        test_date_header(emu, tok)
        test_mailbox_settings(emu, tok)
        test_page_limits(emu, tok, w)
        test_sparse(emu, tok, w)  # last: it deletes the series
    finally:
        emu.stop()


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="graph-emu-test-")
    state_file = os.path.join(tmp, "state.json")
    emu = Emu("--scenario", DEMO, "--state", state_file)
    try:
        ok(re.match(r"^listening http://127\.0\.0\.1:\d+$", emu.line) is not None, "prints 'listening <base-url>'")
        # These families check paging, counts and shapes of full objects; sparse
        # occurrences (the default) have their own tests in test_switches.
        emu.ctl("POST", "/_emu/config", {"sparse_occurrences": False})
        t = test_identity(emu)
        tok = t["access_token"]
        cals, gid, grp = test_directory(emu, tok)
        w = test_views(emu, tok, cals, gid, grp)
        test_incremental(emu, tok, cals, grp, w)
        test_events(emu, tok, cals, gid, grp)
        test_batch(emu, tok)
        test_faults(emu, tok, w)
        test_limits(emu, tok)
        test_keepalive(emu, tok)
        test_emuctl(emu)
        fresh = emu.device_login()
        test_persistence(emu, fresh, w, state_file)
    except Exception:
        import traceback
        ok(False, "test run aborted", traceback.format_exc())
    finally:
        emu.stop()
    try:
        test_realism(tmp)
        test_switches(tmp)
        test_tls(tmp)
        test_perf()
    except Exception:
        import traceback
        ok(False, "test run aborted", traceback.format_exc())
    shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % N)
    comment("%d failed, %.1fs" % (FAILED, time.time() - t0))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
