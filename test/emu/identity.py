# SPDX-License-Identifier: ISC
"""The Microsoft identity platform (see "Identity" in the DESIGN and REALISM in
graph_emulator.py): the .well-known metadata, /authorize (with the consent prompt), /token
(authorization code, refresh and device-code grants), /devicecode and /devicelogin, consent
(admin and per user), JWT-shaped and opaque access tokens, refresh tokens, id_tokens.
"""

import base64
import hashlib
import hmac
import html
import json
import os
import random
import re
import secrets
import time
import uuid
from urllib.parse import parse_qsl, urlencode

from .consts import (
    AADSTS, ADMIN_ONLY_SCOPES, CANON_SCOPES, CONSUMER_TID, GRAPH_APP_ID, OIDC_SCOPES, WORK_ONLY_SCOPES)
from .timeutil import utcnow
from .ids import b64u, b64u_json, draw_size, new_guid, opaque_token, token_digest, urlsafe_chars
from .wire import OAuthError, Resp, jdump


class IdentityMixin:
    """Authorize, token, device code and consent."""

    # ------------------------------------------------------------------ identity platform
    def identity(self, req, entry, m):
        if req.method == "POST" and m and m.group(2).lower() == "token":
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
            entry["grant_type"] = form.get("grant_type")
        else:
            form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)) if req.body else {}
        if m:  # scope strings are not secret: log what was asked for
            entry["scope"] = (req.query.get("scope") if m.group(2).lower() == "authorize" else form.get("scope"))
        f = self.take_fault(req, self.IDENTITY_KINDS)
        if f:
            kind = f["kind"]
            if kind == "slow":
                time.sleep(float(f.get("delay_ms", 1000)) / 1000.0)
            elif kind == "device":
                pass
            elif kind in ("cut_after_commit", "truncate", "nextlink_loop", "nextlink_loop_fresh"):
                pass
            else:
                r = self.apply_generic_fault(req, f, identity=True)
                if r:
                    return r
        try:
            if "/.well-known/" in req.path:
                t = req.path.split("/")[1]
                b = req.base + "/" + t
                resp = Resp(200, jdump({"authorization_endpoint": b + "/oauth2/v2.0/authorize",
                                        "token_endpoint": b + "/oauth2/v2.0/token",
                                        "device_authorization_endpoint": b + "/oauth2/v2.0/devicecode",
                                        "issuer": req.base + "/" + self.tenant_id + "/v2.0",
                                        "response_types_supported": ["code"],
                                        "code_challenge_methods_supported": ["plain", "S256"]}).encode(),
                            [("Content-Type", "application/json; charset=utf-8")])
            elif req.path.startswith("/devicelogin"):
                resp = self.devicelogin(req, form)
            else:
                ep = m.group(2).lower()
                tenant = m.group(1)
                if ep == "authorize":
                    resp = self.authorize(req, tenant)
                elif req.method != "POST":
                    resp = Resp(405, b"", [("Allow", "POST")])
                elif "application/x-www-form-urlencoded" not in req.headers.get("content-type", ""):
                    raise OAuthError("invalid_request", 900144, "grant_type")
                elif ep == "devicecode":
                    resp = self.devicecode(req, form)
                else:
                    resp = self.token(req, form, f if f and f["kind"] == "device" else None)
        except OAuthError as e:
            resp = self.oauth_error(e)
        if f and f["kind"] in ("cut_after_commit", "truncate"):
            resp = self.post_fault(resp, f)
        elif f:
            resp.fault = f["kind"]
        return resp

    def _check_client(self, client_id, tenant="common"):
        if not client_id:
            raise OAuthError("invalid_request", 900144, "client_id")
        want = self.config.get("client_id")
        if want and client_id != want:
            raise OAuthError("unauthorized_client", 700016, client_id)

    def _login_user(self, hint=None):
        if hint and hint.lower() in self.users:
            return self.users[hint.lower()]["upn"]
        lu = self.config.get("login_user")
        if lu and lu.lower() in self.users:
            return self.users[lu.lower()]["upn"]
        return next(iter(self.users.values()))["upn"] if self.users else "nobody@" + self.tenant

    def devicecode(self, req, form):
        self._check_client(form.get("client_id"))
        if not form.get("scope"):
            raise OAuthError("invalid_request", 900144, "scope")
        with self.lock:
            # device_code shape: "DAQABIQEAAAD..." (length UNCONFIRMED; observed codes are a few hundred chars)
            dc = opaque_token("DAQABIQEAAAD", random.randint(220, 320), dots=0)
            uc = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
            self.device[dc] = {"client_id": form["client_id"], "scope": form["scope"], "user_code": uc,
                               "status": "pending", "polls": 0, "upn": self._login_user(),
                               "expires": time.time() + int(self.config.get("device_expires_in", 900))}
            self.token_counters["device_codes_issued"] += 1
            if len(self.device) > 2000:  # bounded: drop finished / expired codes
                now = time.time()
                for k in [k for k, v in self.device.items() if v["status"] == "redeemed" or v["expires"] < now]:
                    del self.device[k]
            vuri = req.base + "/devicelogin"
            body = {"user_code": uc, "device_code": dc, "verification_uri": vuri,
                    "expires_in": int(self.config.get("device_expires_in", 900)),
                    "interval": int(self.config.get("device_interval", 1)),
                    "message": "To sign in, use a web browser to open the page %s and enter the code %s "
                               "to authenticate." % (vuri, uc)}
        return Resp(200, jdump(body).encode(), [("Content-Type", "application/json; charset=utf-8")])

    def _device_approve(self, d):
        """The user signs in at the device login page and answers the consent prompt."""
        scopes = self._scopes(d["scope"])
        outcome = self._interactive_consent(d["upn"], d["client_id"], scopes)
        if outcome is None:
            d["status"] = "approved"
        else:
            d["status"], d["outcome"] = "refused", outcome

    def devicelogin(self, req, form):
        with self.lock:
            if req.method == "POST":
                uc = form.get("user_code", "").strip().upper()
                for d in self.device.values():
                    if d["user_code"] == uc and d["status"] == "pending":
                        self._device_approve(d)
                        if d["status"] != "approved":
                            err = OAuthError(*d["outcome"])
                            return Resp(200, ("<html><body><h1>%s</h1><p>%s</p></body></html>" % (
                                "Need admin approval" if err.code == 65004 else "Sign-in failed",
                                html.escape(AADSTS[90094] if err.code == 65004 else err.description))).encode(),
                                [("Content-Type", "text/html")])
                        return Resp(200, b"<html><body>You have signed in. You can close this window.</body></html>",
                                    [("Content-Type", "text/html")])
                return Resp(400, b"<html><body>Unknown code.</body></html>", [("Content-Type", "text/html")])
        return Resp(200, b'<html><body><form method="post">Code: <input name="user_code">'
                         b'<input type="submit"></form></body></html>', [("Content-Type", "text/html")])

    @staticmethod
    def _trace_desc(err):
        now = utcnow()
        return "%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
            err.description, new_guid(), new_guid(), now.strftime("%Y-%m-%d %H:%M:%SZ"))

    def authorize(self, req, tenant):
        q = req.query
        redirect = q.get("redirect_uri", "")
        if req.method not in ("GET", "POST"):
            return Resp(405, b"")
        ok = re.match(r"^http://(localhost|127\.0\.0\.1)(:\d{1,5})?(/[^?#]*)?$", redirect)
        client_id = q.get("client_id")
        if not client_id or (self.config.get("client_id") and client_id != self.config["client_id"]):
            err = OAuthError("unauthorized_client", 700016, client_id or "")
            return Resp(400, ("<html><body>%s</body></html>" % html.escape(err.description)).encode(),
                        [("Content-Type", "text/html; charset=utf-8")])
        if not ok:
            err = OAuthError("invalid_request", 50011, redirect)
            return Resp(400, ("<html><body>%s</body></html>" % html.escape(err.description)).encode(),
                        [("Content-Type", "text/html; charset=utf-8")])
        target = redirect if ok.group(3) else redirect + "/"
        state = q.get("state")

        def back(params):
            if state is not None:
                params["state"] = state
            return Resp(302, b"", [("Location", target + "?" + urlencode(params)),
                                   ("Content-Type", "text/html; charset=utf-8")])

        if q.get("response_type") != "code":
            return back({"error": "unsupported_response_type",
                         "error_description": "AADSTS70005: response_type '%s' is not enabled for the client."
                                              % q.get("response_type", "")})
        method = q.get("code_challenge_method", "plain")
        if q.get("code_challenge") and method not in ("S256", "plain"):
            return back({"error": "invalid_request",
                         "error_description": "AADSTS501491: Invalid code_challenge_method."})
        if not q.get("scope"):
            return back({"error": "invalid_request",
                         "error_description": "AADSTS900144: The request body must contain the following parameter: 'scope'."})
        with self.lock:
            upn = self._login_user(q.get("login_hint"))
            scopes = self._scopes(q.get("scope"))
            if q.get("prompt") == "none" and self._uncovered(upn, client_id, scopes):
                err = OAuthError("interaction_required", 65001, (client_id, self.config.get("app_name", "")))
                return back({"error": "interaction_required", "error_description": self._trace_desc(err),
                             "error_uri": "https://login.microsoftonline.com/error?code=65001"})
            outcome = self._interactive_consent(upn, client_id, scopes, q.get("scope"))
            if outcome is not None:
                err = OAuthError(*outcome)
                params = {"error": err.error}
                if err.code == 65004:  # "Need admin approval" -> "Return to the application without granting consent"
                    params["error_subcode"] = "cancel"
                params["error_description"] = self._trace_desc(err)
                params["error_uri"] = "https://login.microsoftonline.com/error?code=%d" % err.code
                return back(params)
            code = opaque_token("1.AR", random.randint(700, 1000))
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect, "scope": q.get("scope", ""),
                                "challenge": q.get("code_challenge"), "method": method,
                                "upn": upn, "exp": time.time() + 600, "used": False}
            self.token_counters["auth_codes_issued"] += 1
            if len(self.codes) > 2000:  # bounded
                now = time.time()
                for k in [k for k, v in self.codes.items() if v["used"] or v["exp"] < now]:
                    del self.codes[k]
        return back({"code": code, "session_state": new_guid()})

    @staticmethod
    def _scopes(s):
        out = []
        for x in (s or "").split():
            x = re.sub(r"^https://graph\.microsoft\.com/", "", x, flags=re.I)
            if x.lower() not in [o.lower() for o in out]:
                out.append(x)
        return out

    @staticmethod
    def _resource_scopes(scopes):
        return [s for s in scopes if s.lower() not in OIDC_SCOPES and s.lower() != ".default"]

    def _admin_consent(self, mb):
        """Tenant-wide admin consent (scenario + config); none for personal accounts."""
        if mb is not None and mb.get("personal"):
            return []
        out = []
        for x in list(self.scn_admin) + list(self.config.get("admin_consent") or []):
            x = re.sub(r"^https://graph\.microsoft\.com/", "", str(x), flags=re.I)
            if x.lower() not in [o.lower() for o in out]:
                out.append(CANON_SCOPES.get(x.lower(), x))
        return out

    def _consented(self, upn, client_id):
        """Canonical names of every resource scope covered by user or admin consent."""
        mb = self.users.get(upn.lower())
        out = list(self.consent.get(upn.lower() + "|" + (client_id or ""), []))
        for x in self.consent.get(upn.lower() + "|*", []):
            if x.lower() not in [o.lower() for o in out]:
                out.append(x)
        for x in self._admin_consent(mb):
            if x.lower() not in [o.lower() for o in out]:
                out.append(x)
        return out

    def _uncovered(self, upn, client_id, scopes):
        have = {x.lower() for x in self._consented(upn, client_id)}
        return [s for s in self._resource_scopes(scopes) if s.lower() not in have]

    def _interactive_consent(self, upn, client_id, scopes, raw=None):
        """An interactive sign-in with a consent prompt.  None (consent recorded) or OAuthError args."""
        mb = self.users.get(upn.lower())
        res = self._resource_scopes(scopes)
        if mb is not None and mb.get("personal") and any(s.lower() in WORK_ONLY_SCOPES for s in res):
            return ("invalid_scope", 70011, raw or " ".join(scopes))
        admin = {x.lower() for x in self._admin_consent(mb)}
        need_admin = [s for s in res if s.lower() in ADMIN_ONLY_SCOPES and s.lower() not in admin]
        if need_admin and not (mb is not None and mb.get("isAdmin")):
            return ("access_denied", 65004)
        key = upn.lower() + "|" + (client_id or "")
        cur = list(self.consent.get(key, []))
        for s in res:
            if s.lower() in admin:  # covered by admin consent: no prompt, no per-user grant
                continue
            c = CANON_SCOPES.get(s.lower(), s)
            if c.lower() not in [o.lower() for o in cur]:
                cur.append(c)
        self.consent[key] = cur
        return None

    def _check_consent(self, upn, client_id, scopes, raw=None):
        """Non-interactive grants: every asked scope must already be consented (AADSTS65001)."""
        mb = self.users.get(upn.lower())
        res = self._resource_scopes(scopes)
        if mb is not None and mb.get("personal") and any(s.lower() in WORK_ONLY_SCOPES for s in res):
            raise OAuthError("invalid_scope", 70011, raw or " ".join(scopes))
        if self._uncovered(upn, client_id, scopes):
            raise OAuthError("invalid_grant", 65001, (client_id, self.config.get("app_name", "")),
                             suberror="consent_required")

    def _mint_jwt(self, claims, target):
        """header.claims.signature of exactly `target` characters when the claims fit (else the
        smallest token).  claims must hold the keys "aio" and "groups"; both are used as padding."""
        sig = b64u(os.urandom(256))  # RS256 over a 2048-bit key: 342 characters
        nonce_len = 43
        for _ in range(4):  # an unpadded base64 length is never 4k+1: nudge the header instead
            h = b64u_json({"typ": "JWT", "nonce": urlsafe_chars(nonce_len), "alg": "RS256",
                           "x5t": self.x5t, "kid": self.x5t})
            m = target - len(h) - len(sig) - 2
            if m % 4 != 1:
                break
            nonce_len += 1
        n = (3 * m) // 4  # JSON bytes whose unpadded base64 is exactly m characters
        claims["aio"], groups_ok = "", isinstance(claims.get("groups"), list)
        if groups_ok:
            claims["groups"] = []
        base = len(json.dumps(claims, separators=(",", ":")))
        min_aio = 40
        if n >= base + min_aio:
            room = n - base - min_aio
            k = min(200, 1 + (room - 38) // 39) if groups_ok and room >= 38 else 0
            if k:
                claims["groups"] = [str(uuid.uuid4()) for _ in range(k)]
            claims["aio"] = urlsafe_chars(n - len(json.dumps(claims, separators=(",", ":"))))
        else:
            claims["aio"] = urlsafe_chars(min_aio)
        return h + "." + b64u_json(claims) + "." + sig

    def _user_ids(self, upn):
        """(mailbox, tenant id, object id) as the identity platform states them."""
        mb = self.users.get(upn.lower())
        if mb is None:
            return None, self.tenant_id, hashlib.md5(upn.encode()).hexdigest()[:8] + "-0000-4000-8000-000000000000"
        if mb.get("personal"):
            cid = re.sub(r"[^0-9a-f]", "", mb["id"].lower()).rjust(16, "0")[-16:]
            return mb, CONSUMER_TID, "00000000-0000-0000-%s-%s" % (cid[:4], cid[4:])
        return mb, self.tenant_id, mb["id"]

    def _mint_access(self, upn, client_id, scp, iat, exp):
        mb, tid, oid = self._user_ids(upn)
        if mb is not None and mb.get("personal") and self.config.get("personal_token_format", "opaque") != "jwt":
            # personal accounts get an opaque "compact ticket" for Graph, not a JWT
            n = draw_size(self.config.get("personal_token_size"), (1000, 1600))
            body = base64.b64encode(os.urandom((n * 3) // 4 + 3)).decode().replace("=", "")
            return "EwB" + body[:max(0, n - 4)] + "="
        name = mb["displayName"] if mb else upn
        first, _, last = name.partition(" ")
        claims = {"aud": GRAPH_APP_ID, "iss": "https://sts.windows.net/%s/" % tid, "iat": iat, "nbf": iat,
                  "exp": exp, "acct": 0, "acr": "1", "aio": "", "amr": ["pwd", "mfa"], "appid": client_id,
                  "appidacr": "0", "family_name": last or first, "given_name": first}
        if not (mb is not None and mb.get("personal")):
            claims["groups"] = []
        claims.update({"idtyp": "user", "ipaddr": "127.0.0.1", "name": name, "oid": oid, "platf": "3",
                       "scp": scp, "sub": b64u(hashlib.sha256((oid + client_id).encode()).digest()),
                       "tid": tid, "unique_name": upn, "upn": upn, "uti": urlsafe_chars(22), "ver": "1.0"})
        return self._mint_jwt(claims, draw_size(self.config.get("token_size"), (1200, 12288)))

    def _issue(self, upn, requested, client_id):
        """Issue an access token (+ refresh token if offline_access was asked); caller holds the lock."""
        life = int(self.config.get("token_lifetime", 3600))
        low = [s.lower() for s in requested]
        res = [CANON_SCOPES.get(s.lower(), s) for s in self._resource_scopes(requested)]
        if self.config.get("consented_scopes_in_token", True):
            for s in self._consented(upn, client_id):  # tokens carry every consented scope of the resource
                if s.lower() not in [r.lower() for r in res]:
                    res.append(s)
        if not any(s.lower() == "user.read" for s in res):
            res.append("User.Read")
        oidc = ["profile", "openid", "email"] if "openid" in low else [x for x in ("profile", "email") if x in low]
        granted = res + ([".default"] if ".default" in low else [])
        now = int(time.time())
        at = self._mint_access(upn, client_id, " ".join(res + oidc), now, now + life)
        self.access[token_digest(at)] = {"upn": upn, "scopes": granted, "exp": time.time() + life,
                                         "client_id": client_id, "revoked": None}
        self.token_counters["access_issued"] += 1
        shown = res if self.config.get("token_scope_format", "short") != "uri" else \
            ["https://graph.microsoft.com/" + s for s in res]
        body = {"token_type": "Bearer", "scope": " ".join(shown + oidc), "expires_in": life,
                "ext_expires_in": life, "access_token": at}
        if "offline_access" in low:
            mb = self.users.get(upn.lower())
            personal = mb is not None and mb.get("personal")
            # personal refresh tokens look like "M.C5..." (UNCONFIRMED); work ones "1.AR..."
            rt = opaque_token("M.C5" if personal else "1.AR", random.randint(1000, 2000), dots=3)
            self.refresh[token_digest(rt)] = {"upn": upn, "scopes": list(requested), "client_id": client_id,
                                              "used": False, "revoked": False, "issued": time.time()}
            self.token_counters["refresh_issued"] += 1
            body["refresh_token"] = rt
        if "openid" in low:
            body["id_token"] = self._id_token(upn, client_id)
        if len(self.access) > 5000:  # bounded: drop expired
            now = time.time()
            for k in [k for k, v in self.access.items() if v["exp"] < now]:
                del self.access[k]
        if len(self.refresh) > 20000:  # bounded: drop the oldest used ones
            for k in sorted((k for k, v in self.refresh.items() if v["used"]),
                            key=lambda k: self.refresh[k]["issued"])[:5000]:
                del self.refresh[k]
        return body

    def _id_token(self, upn, client_id):
        """An id_token shaped like Entra's v2.0 id_token; the signature is not verifiable."""
        mb, tid, oid = self._user_ids(upn)
        now = int(time.time())
        claims = {"aud": client_id, "iss": "https://login.microsoftonline.com/%s/v2.0" % tid,
                  "iat": now, "nbf": now, "exp": now + 3600, "name": mb["displayName"] if mb else upn,
                  "oid": oid, "preferred_username": upn,
                  "sub": b64u(hashlib.sha256((upn + client_id).encode()).digest()),
                  "tid": tid, "uti": urlsafe_chars(22), "ver": "2.0"}
        return b64u_json({"typ": "JWT", "alg": "RS256", "kid": self.x5t}) + "." + b64u_json(claims) + "." + \
            b64u(os.urandom(256))

    def token(self, req, form, device_fault):
        gt = form.get("grant_type")
        if not gt:
            raise OAuthError("invalid_request", 900144, "grant_type")
        self._check_client(form.get("client_id"))
        if form.get("client_secret"):
            raise OAuthError("invalid_request", 9002313)
        with self.lock:
            if gt == "urn:ietf:params:oauth:grant-type:device_code":
                body = self._device_grant(form, device_fault)
            elif gt == "authorization_code":
                body = self._code_grant(form)
            elif gt == "refresh_token":
                body = self._refresh_grant(form)
            else:
                raise OAuthError("unsupported_grant_type", 70003)
            self.save_state()
        return Resp(200, jdump(body).encode(), [("Content-Type", "application/json; charset=utf-8"),
                                                ("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    def _device_grant(self, form, fault):
        dc = form.get("device_code")
        if not dc:
            raise OAuthError("invalid_request", 900144, "device_code")
        d = self.device.get(dc)
        if fault:
            v = fault.get("variant", "slow_down")
            raise OAuthError(v, {"slow_down": 0, "authorization_declined": 70000, "expired_token": 70019,
                                 "bad_verification_code": 70000}.get(v, 70000))
        if not d or d["client_id"] != form.get("client_id"):
            raise OAuthError("bad_verification_code", 70000)
        if d["status"] == "redeemed":
            raise OAuthError("invalid_grant", 54005)
        if d["status"] == "expired" or time.time() > d["expires"]:
            raise OAuthError("expired_token", 70019)
        if d["status"] == "declined":
            raise OAuthError("authorization_declined", 70000)
        if d["status"] == "pending":
            need = self.config.get("device_pending_polls", 1)
            if need is not None and need >= 0 and d["polls"] >= need:
                self._device_approve(d)
            else:
                d["polls"] += 1
                raise OAuthError("authorization_pending", 70016)
        if d["status"] == "refused":  # sticky: every later poll gets the same answer
            out = d["outcome"]
            if out[0] == "access_denied":  # the user could not consent ("Need admin approval")
                raise OAuthError("authorization_declined", 65004)
            raise OAuthError(*out)
        d["status"] = "redeemed"
        scopes = self._scopes(d["scope"])
        self._check_consent(d["upn"], d["client_id"], scopes, d["scope"])
        return self._issue(d["upn"], scopes, d["client_id"])

    def _code_grant(self, form):
        code = form.get("code")
        if not code:
            raise OAuthError("invalid_request", 900144, "code")
        c = self.codes.get(code)
        if not c or c["client_id"] != form.get("client_id"):
            raise OAuthError("invalid_grant", 9002313)
        if c["used"]:
            raise OAuthError("invalid_grant", 54005)
        if time.time() > c["exp"]:
            raise OAuthError("invalid_grant", 70008)
        if form.get("redirect_uri") != c["redirect_uri"]:
            raise OAuthError("invalid_grant", 50011, form.get("redirect_uri", ""))
        if c["challenge"]:
            v = form.get("code_verifier")
            if not v:
                raise OAuthError("invalid_request", 900144, "code_verifier")
            calc = v if c["method"] == "plain" else \
                base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode().rstrip("=")
            if not hmac.compare_digest(calc, c["challenge"]):
                raise OAuthError("invalid_grant", 501481)
        c["used"] = True
        scopes = self._scopes(form.get("scope")) or self._scopes(c["scope"])
        # the refresh token follows offline_access on the /authorize leg (the "original" request)
        if any(s.lower() == "offline_access" for s in self._scopes(c["scope"])) and \
                "offline_access" not in [s.lower() for s in scopes]:
            scopes.append("offline_access")
        self._check_consent(c["upn"], c["client_id"], scopes, form.get("scope") or c["scope"])
        return self._issue(c["upn"], scopes, c["client_id"])

    def _refresh_grant(self, form):
        rt = form.get("refresh_token")
        if not rt:
            raise OAuthError("invalid_request", 900144, "refresh_token")
        r = self.refresh.get(token_digest(rt))
        if not r or r["client_id"] != form.get("client_id"):
            self.token_counters["refresh_rejected"] += 1
            raise OAuthError("invalid_grant", 9002313)
        if r.get("revoked"):
            self.token_counters["refresh_rejected"] += 1
            raise OAuthError("invalid_grant", 50173)
        if r["used"] and self.config.get("strict_refresh"):
            self.token_counters["refresh_rejected"] += 1
            raise OAuthError("invalid_grant", 70008)
        scopes = self._scopes(form.get("scope")) or list(r["scopes"])
        try:
            self._check_consent(r["upn"], r["client_id"], scopes, form.get("scope"))
        except OAuthError:
            self.token_counters["refresh_rejected"] += 1
            raise
        r["used"] = True
        self.token_counters["refresh_used"] += 1
        # no kindness: without offline_access in the asked scope there is no new refresh token
        return self._issue(r["upn"], scopes, r["client_id"])
