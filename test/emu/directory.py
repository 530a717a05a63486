# SPDX-License-Identifier: ISC
"""Directory objects and mailbox settings: /me/memberOf (groups and directory roles,
limited information without a Group/Directory scope, advanced queries with ConsistencyLevel
eventual, $count, $top paging) and /me/mailboxSettings (see REALISM in graph_emulator.py).
"""

import hashlib
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from .consts import GROUP_READ_SCOPES
from .timeutil import fmt_dt7
from .ids import new_guid
from .wire import GraphError, Resp
from .mailbox import WEEKDAYS


class DirectoryMixin:
    """memberOf and mailboxSettings."""

    # memberOf ---------------------------------------------------------------
    GROUP_PROPS = ("deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
                   "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
                   "mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
                   "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
                   "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
                   "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
                   "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility",
                   "onPremisesProvisioningErrors", "serviceProvisioningErrors")
    GROUP_LISTS = ("creationOptions", "groupTypes", "proxyAddresses", "resourceBehaviorOptions",
                   "resourceProvisioningOptions", "onPremisesProvisioningErrors", "serviceProvisioningErrors")

    def group_dict(self, g, full=True):
        """A directory group object; full=False: "limited information" (only type and id, the rest null/[])."""
        d = {"@odata.type": "#microsoft.graph.group", "id": g["id"]}
        for k in self.GROUP_PROPS:
            d[k] = [] if k in self.GROUP_LISTS else None
        if full:
            unified = "Unified" in g["groupTypes"]
            nick = g["mail"].split("@")[0]
            d.update({"createdDateTime": "2024-01-15T09:00:00Z", "description": g.get("description", ""),
                      "displayName": g["displayName"], "groupTypes": list(g["groupTypes"]),
                      "isAssignableToRole": None, "mail": g["mail"] if g["mailEnabled"] else None,
                      "mailEnabled": g["mailEnabled"], "mailNickname": nick,
                      "proxyAddresses": ["SMTP:" + g["mail"]] if g["mailEnabled"] else [],
                      "renewedDateTime": "2024-01-15T09:00:00Z", "securityEnabled": g["securityEnabled"],
                      "securityIdentifier": "S-1-12-1-" + "-".join(str(int(g["id"].replace("-", "")[i:i + 8], 16))
                                                                  for i in range(0, 32, 8))
                      if re.match(r"^[0-9a-f-]{36}$", g["id"]) else None,
                      "visibility": "Private" if unified else None,
                      "resourceProvisioningOptions": ["Team"] if unified else []})
        return d

    @staticmethod
    def role_dict(r, full=True):
        return {"@odata.type": "#microsoft.graph.directoryRole", "id": r["id"], "deletedDateTime": None,
                "description": r.get("description") if full else None,
                "displayName": r["displayName"] if full else None,
                "roleTemplateId": r.get("roleTemplateId") if full else None}

    def _memberof_filter(self, flt):
        """A small $filter evaluator for groups: clauses joined by 'and'."""
        preds = []
        for clause in re.split(r"\s+and\s+", flt.strip(), flags=re.I):
            c = clause.strip()
            neg = False
            m = re.match(r"^not\s*\(?\s*(.*?)\s*\)?$", c, re.I)
            if m and m.group(1).lower().startswith("grouptypes/any"):
                neg, c = True, m.group(1)
            m = re.match(r"^groupTypes/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'([^']*)'\s*\)$", c, re.I)
            if m:
                want = m.group(2)
                preds.append(lambda o, w=want, n=neg: (any(t.lower() == w.lower() for t in o.get("groupTypes") or [])) != n
                             if o["@odata.type"].endswith(".group") else False)
                continue
            m = re.match(r"^(securityEnabled|mailEnabled)\s+eq\s+(true|false)$", c, re.I)
            if m:
                prop = "securityEnabled" if m.group(1).lower().startswith("s") else "mailEnabled"
                preds.append(lambda o, p=prop, v=m.group(2).lower() == "true": o.get("_" + p) == v)
                continue
            m = re.match(r"^startswith\(\s*displayName\s*,\s*'([^']*)'\s*\)$", c, re.I)
            if m:
                preds.append(lambda o, v=m.group(1).lower(): (o.get("_displayName") or "").lower().startswith(v))
                continue
            m = re.match(r"^(displayName|id|mail)\s+eq\s+'([^']*)'$", c, re.I)
            if m:
                prop = {"displayname": "_displayName", "id": "id", "mail": "_mail"}[m.group(1).lower()]
                preds.append(lambda o, p=prop, v=m.group(2).lower(): (o.get(p) or "").lower() == v)
                continue
            pm = re.match(r"^\W*(\w+)", c)
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause "
                             "specified for property '%s' of resource 'Group'." % (pm.group(1) if pm else c))
        return lambda o: all(p(o) for p in preds)

    def member_of(self, req, tok, user, rest):
        """GET /me/memberOf[/microsoft.graph.group|directoryRole][/$count]."""
        self._only(req.method, "GET")
        if user.get("personal"):  # not supported for personal accounts (user-list-memberof-permissions)
            raise GraphError(404, "", "No HTTP resource was found that matches the request URI "
                             "'https://outlook.office365.com:444/profile/v1.0/users('CID:%s')/profile/memberOf"
                             "?api-version=AGSV1-internal'." % user["id"])
        segs = [x.lower() for x in rest[1:]]
        count_seg = bool(segs) and segs[-1] == "$count"
        if count_seg:
            segs = segs[:-1]
        cast = segs[0] if segs else None
        if len(segs) > 1 or cast not in (None, "microsoft.graph.group", "microsoft.graph.directoryrole"):
            raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[-1])
        q = req.qlower
        eventual = (req.headers.get("consistencylevel") or "").strip().lower() == "eventual"
        counted = q.get("$count", "").lower() == "true"
        advanced = eventual and counted
        if count_seg and not eventual:
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        if q.get("$filter") and not advanced:
            raise GraphError(400, "Request_UnsupportedQuery",
                             "The specified filter to the reference property query is currently not supported.")
        if q.get("$orderby") and not advanced:
            raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
        if q.get("$search") and not eventual:
            raise GraphError(400, "Request_UnsupportedQuery", "Request with $search query parameter only works "
                             "through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
        if cast and not count_seg and not advanced and self.config.get("memberof_cast_needs_advanced", True):
            # UNCONFIRMED wording; the documented rule is the header table of user-list-memberof.md
            raise GraphError(400, "Request_UnsupportedQuery", "OData cast is not supported because the required "
                             "parameters might be missing. Try adding $count=true query parameter and "
                             "ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries "
                             "for more information")
        full_groups = self._has(tok, *GROUP_READ_SCOPES)
        full_roles = self._has(tok, "Directory.Read.All", "Directory.ReadWrite.All", "RoleManagement.Read.Directory")
        objs = []
        if cast in (None, "microsoft.graph.group"):
            for g in self.groups.values():
                if user["upn"].lower() in g["members"]:
                    o = self.group_dict(g, full_groups)
                    # the server filters on the real values, whatever the caller may read
                    o.update({"_displayName": g["displayName"], "_mail": g["mail"], "groupTypes_": g["groupTypes"],
                              "_securityEnabled": g["securityEnabled"], "_mailEnabled": g["mailEnabled"]})
                    objs.append(o)
        if cast in (None, "microsoft.graph.directoryrole"):
            for r in user.get("directoryRoles") or []:
                o = self.role_dict(r, full_roles)
                o.update({"_displayName": r["displayName"]})
                objs.append(o)
        if q.get("$filter"):
            pred = self._memberof_filter(q["$filter"])
            objs = [o for o in objs if pred(dict(o, groupTypes=o.get("groupTypes_", o.get("groupTypes"))))]
        if q.get("$search"):
            terms = re.findall(r'"?(\w+):([^"]*)"?', q["$search"])
            for prop, val in terms:
                if prop.lower() == "displayname":
                    objs = [o for o in objs if val.lower() in (o.get("_displayName") or "").lower()]
        if q.get("$orderby"):
            ob = q["$orderby"].strip()
            if not re.match(r"^displayName(\s+asc)?$", ob, re.I):
                raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
            objs.sort(key=lambda o: ((o.get("_displayName") or "").lower(), o["id"]))
        else:
            objs.sort(key=lambda o: o["id"])
        total = len(objs)
        if count_seg:
            return Resp(200, str(total).encode(), [("Content-Type", "text/plain"), ("request-id", new_guid())])
        try:
            top = int(q.get("$top", "100"))
        except ValueError:
            raise GraphError(400, "Request_BadRequest", "Invalid page size specified: '%s'. Must be between 1 and 999 "
                             "inclusive." % q.get("$top"))
        if not 1 <= top <= 999:
            raise GraphError(400, "Request_BadRequest", "Invalid page size specified: '%d'. Must be between 1 and 999 "
                             "inclusive." % top)
        if self.config.get("max_page"):
            top = min(top, int(self.config["max_page"]))
        start = 0
        if q.get("$skiptoken"):
            st = self.unsign(q["$skiptoken"].replace("RFNwdAIAAQAAAB", "", 1))
            if not st or st.get("k") != "mo" or st.get("u") != user["upn"].lower():
                raise GraphError(400, "Directory_ExpiredPageToken", "The specified page token value has expired "
                                 "and can no longer be included in your request.")
            start = int(st.get("o", 0))
        page = objs[start:start + top]
        sel = [x.strip() for x in q.get("$select", "").split(",") if x.strip()]
        vals = []
        for o in page:
            v = {k: val for k, val in o.items() if not k.startswith("_") and not k.endswith("_")}
            if sel:
                v = {k: val for k, val in v.items() if k in ("@odata.type", "id") or k in sel}
            vals.append(v)
        ctx = req.base + "/v1.0/$metadata#" + ({"microsoft.graph.group": "groups",
                                                 "microsoft.graph.directoryrole": "directoryRoles"}.get(cast, "directoryObjects"))
        if sel:
            ctx += "(%s)" % ",".join(sel)
        out = {"@odata.context": ctx}
        if eventual and counted:
            out["@odata.count"] = total
        if start + top < total:
            tokn = "RFNwdAIAAQAAAB" + self.sign({"k": "mo", "u": user["upn"].lower(), "o": start + top})
            kept = [(k, v) for k, v in parse_qsl(req.query_string, keep_blank_values=True) if k.lower() != "$skiptoken"]
            out["@odata.nextLink"] = req.base + req.path + "?" + urlencode(kept + [("$skiptoken", tokn)], safe="$:',()/")
        out["value"] = vals
        return self.graph_json(req, 200, out)

    def mailbox_settings(self, req, tok, user, rest):
        """GET /me/mailboxSettings[/prop]: MailboxSettings.Read or .ReadWrite (user-get-mailboxsettings.md;
        User.Read is not enough: 403 ErrorAccessDenied as in microsoft-graph-docs #3289)."""
        if not self._has(tok, "MailboxSettings.Read", "MailboxSettings.ReadWrite"):
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        self._only(req.method, "GET")
        tz = user.get("timeZone") or "UTC"
        ms = {"archiveFolder": "AAMkAGI2" + hashlib.sha256(user["id"].encode()).hexdigest()[:40].upper() + "AAA=",
              "timeZone": tz, "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
              "dateFormat": "M/d/yyyy", "timeFormat": "h:mm tt", "userPurpose": "user",
              "automaticRepliesSetting": {
                  "status": "disabled", "externalAudience": "all", "internalReplyMessage": "",
                  "externalReplyMessage": "",
                  "scheduledStartDateTime": {"dateTime": fmt_dt7(datetime(2026, 1, 1)), "timeZone": "UTC"},
                  "scheduledEndDateTime": {"dateTime": fmt_dt7(datetime(2026, 1, 2)), "timeZone": "UTC"}},
              "language": {"locale": "en-US", "displayName": "English (United States)"},
              "workingHours": {"daysOfWeek": WEEKDAYS[:5], "startTime": "08:00:00.0000000",
                               "endTime": "17:00:00.0000000", "timeZone": {"name": tz}}}
        ctx = req.base + "/v1.0/$metadata#users('%s')/mailboxSettings" % user["id"]
        if not rest:
            return self.graph_json(req, 200, dict({"@odata.context": ctx}, **ms))
        names = {k.lower(): k for k in ms}
        k = names.get(rest[0].lower())
        if k is None or len(rest) > 1:
            raise GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % rest[-1])
        v = ms[k]
        if isinstance(v, dict):
            return self.graph_json(req, 200, dict({"@odata.context": ctx + "/" + k}, **v))
        return self.graph_json(req, 200, {"@odata.context": ctx + "/" + k, "value": v})
