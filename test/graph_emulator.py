#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Microsoft Graph v1.0 + Microsoft identity platform emulator for timetap-sync tests.

Python 3 standard library only.  Listens on 127.0.0.1 only.  One process is both the
identity platform (authority root = base URL, e.g. <base>/common/oauth2/v2.0/token) and
Microsoft Graph (root = <base>/v1.0).  A plain-JSON control interface lives under
<base>/_emu/ (no authentication) so tests can configure, inject faults, act "as the user
in Outlook", read the request log and dump the mailbox state.

Start:
    python3 test/graph_emulator.py --listen 127.0.0.1:0 [--tls --ca-out FILE [--tls-keep DIR]]
        [--scenario FILE.json | --generate N] [--latency-ms N] [--state FILE] [--log FILE]
prints exactly one line "listening <base-url>" once ready, then serves until
SIGTERM/SIGINT.

DESIGN
======
Mailbox model.  A mailbox is a user or a Microsoft 365 group (Outlook throttles per
mailbox).  Each has calendars (a group has exactly one); user calendars may sit in
calendar groups.  Events are stored per mailbox in a dict id -> event.  An event is a
single instance or a series master (with a Graph patternedRecurrence: daily, weekly or
absoluteMonthly pattern; endDate, numbered or noEnd range).  Masters are expanded (at
most 1000 occurrences / 2 years) into instances: occurrences, exceptions (per-occurrence
overrides stored in master["exceptions"] keyed by the original start "YYYYMMDDTHHMMSS")
and deleted occurrences (master["deletedOccurrences"]).  Occurrence ids are derived
deterministically from the master id and the original start, so they are stable.  All
ids are long (~150 chars), case-sensitive and contain '/', '+' and '=' (they must be
URL-encoded in paths).  Stored times are strings: "2025-03-04T09:00:00Z" (an instant)
or "2025-03-04" (a floating all-day date).

Change log for delta.  A global sequence number is bumped on every mutation and stamped
on the event (ev["seq"]; instance-level stamps for exceptions / deleted occurrences via
ev["seriesSeq"] and the exception's "seq").  Deleted things (events, occurrences, ids
that vanished when a series was re-expanded) become tombstones [seq, id, calendarId] in
the mailbox.  A delta round has a snapshot "upto" seq taken on its first page; the
deltaLink carries since=upto.  An incremental round returns every instance whose stamp
is > since: in-window ones as full events, out-of-window ones (moved out, or changes
outside) as {"@odata.type":"#microsoft.graph.event","id":..,"@removed":{"reason":"deleted"}},
plus tombstones > since as @removed.  With config sparse_occurrences the round also carries the
series masters (full objects; in a full round when an instance is in the window, in an incremental
one when the master's seq > since, @removed once none is) and plain occurrences come sparse.

Identity.  Access tokens are JWT-shaped (personal accounts: opaque), refresh tokens and codes
opaque; all are stored by SHA-256 digest only.  Consent is modelled: tenant-wide admin consent
(scenario + config "admin_consent") and per-user consent recorded by interactive sign-ins; grants
for unconsented scopes fail as Entra does.  See REALISM.

Tokens.  $skiptoken/$deltatoken are base64url(JSON{mailbox, calendar, window start/end,
since, upto, cursor}) + an HMAC (secret persisted with --state, so deltaLinks survive a
restart).  Items of a round are sorted by id and a page returns ids > cursor, so
concurrent changes never make a round skip an item (they are reported again next round:
"replays").  Sorted item lists are cached per (calendar, window, since, calendar version, masters),
and every instance's JSON is pre-serialised per (time zone, body type) variant and kept
until the event changes, so large rounds cost little CPU.

Fault engine.  POST /_emu/faults appends fault specs {match:{method,path,in_batch}, times,
skip, kind, ...}.  For every non-control request (including each $batch item, whose path
is "/v1.0"+url) the first matching fault is applied; "path" is a Python regex searched in
path+"?"+query (both raw and percent-decoded).  Kinds: status, throttle, delta_expired,
token_error, slow, cut_after_commit, cut, truncate, malformed, oversized, nextlink_loop,
nextlink_loop_fresh, device, unauthorized.  Socket-level kinds (cut*, truncate, malformed,
oversized) and unauthorized never match $batch items (the envelope carries the connection and
the token).
nextlink_loop remembers the URL so following the looping nextLink loops forever
(until DELETE /_emu/faults); nextlink_loop_fresh puts a loop id into the signed $skiptoken (plus a
nonce, so every link differs) and serves the page at the same cursor while that id is live.

Meeting mail.  Nothing is mailed; counters record what would be.  recipients(ev) = the attendees'
addresses minus the organizer / the mailbox itself, a Microsoft 365 group standing for its members
that get its mail (scenario "subscribedByMail", default all members).  Graph writes by the
organizer count: create -> invitations_sent += |recipients|; PATCH -> new recipients
invitations, dropped ones cancellations, and, if subject/start/end/isAllDay/location/body/
isOnlineMeeting/recurrence changed, updates_sent += |kept recipients|; DELETE or /cancel ->
cancellations_sent.  /_emu/outlook changes never count (the user's own doing).

TransactionIds.  mb["tx"] maps transactionId -> the event holding it, per mailbox, across its
calendars; rebuilt from the stored events on --state load, so a transactionId counts as used for
as long as an event carrying it exists (after that event is deleted it may be used again).

Concurrency / budget.  More than 4 requests in flight for one mailbox -> 429
ApplicationThrottled with Retry-After: 1.  config.budget {upn|groupId: N} limits
requests per mailbox per budget_window seconds (default 600) -> 429 TooManyRequests.

Thread safety.  ThreadingHTTPServer; one RLock (Emulator.lock) guards the whole mailbox /
token / fault state; sleeps (latency, slow faults) happen outside the lock.

MODULES
=======
This file is the entry point (command line, main()) and holds class Emulator, which
combines one mixin class per area and keeps the shared state (__init__, _reset_world).
Every name the single-file emulator had is still importable from here.  The package
test/emu/ holds the parts:
  consts.py     limits, DEFAULT_CONFIG, scope sets, Windows zones, AADSTS messages
  timeutil.py   UTC/ISO/scenario times, time zones, HTTP dates
  ids.py        event/occurrence/container ids, changeKeys, iCalUIds, opaque tokens
  wire.py       GraphError, OAuthError, Resp, Request, Prefer, JSON, HTML <-> text
  mailbox.py    MailboxMixin: mailbox model, recurrence expansion, instances, event store,
                meeting mail (recipients), occurrence edits, rendering
  scenario.py   ScenarioMixin: scenario loading, --generate, GET /_emu/ours, --state
  delta.py      DeltaMixin: list caches, $skiptoken/$deltatoken signing, calendarView and
                /events reads and paging, calendarView delta rounds
  dispatch.py   DispatchMixin: request log, answer helpers, handle() (the dispatch)
  faults.py     FaultMixin: the fault engine
  identity.py   IdentityMixin: the identity platform (authorize, token, device code, consent)
  graph.py      GraphMixin: Graph auth and CAE, concurrency/budget, routing, calendars
  directory.py  DirectoryMixin: /me/memberOf, /me/mailboxSettings
  writes.py     WritesMixin: event create and PATCH
  batch.py      BatchMixin: $batch
  control.py    ControlMixin: the /_emu/ control API, POST /_emu/outlook
  server.py     Handler, Server, TLS (make_tls)

SCENARIO FORMAT (JSON)
======================
{
  "tenant": "contoso.example",                      (optional)
  "admin_consent": ["Group.ReadWrite.All"],         (optional: scopes an admin granted for everyone)
  "users": [ {
      "upn": "ada@contoso.example", "displayName": "Ada Lovelace", "id": "<guid, optional>",
      "personal": false,          (true: a personal Microsoft account; its id is a 16-hex CID)
      "admin": false,             (true: may consent to admin-only scopes for themself)
      "directoryRoles": ["Global Reader"],           (optional: shown in /me/memberOf)
      "timeZone": "UTC",          (Windows zone name for /me/mailboxSettings, e.g. "W. Europe Standard Time")
      "calendars": [ {"name": "Calendar", "default": true},
                     {"name": "Clinic rota", "calendarGroup": "Other calendars", "canEdit": true},
                     {"name": "Bob's calendar", "owner": "bob@contoso.example", "ownerName": "Bob",
                      "canEdit": false, "calendarGroup": "Other calendars"} ],   (shared with ada)
      "events": [ EVENT, ... ] } ],
  "groups": [ { "id": "<guid, optional>", "displayName": "Front Desk Team",
                "mail": "frontdesk@contoso.example", "members": ["ada@contoso.example"],
                "groupTypes": ["Unified"] ([] = a security group), "securityEnabled": .., "mailEnabled": ..,
                "subscribedByMail": [upn, ...] (members that get the group's event mail; default: all),
                "events": [ EVENT, ... ] } ]
}
A user without "calendars" gets one default calendar "Calendar"; the calendar group of
the default calendar is "My Calendars".  A calendar with "owner" is shared by that owner:
never default, canShare false, isRemovable true, canEdit from the scenario (default false).
EVENT = { "calendar": "<calendar name, default: the default calendar>",
  "subject": "...", "start": T, "end": T, "isAllDay": false, "showAs": "busy",
  "isCancelled": false, "categories": [], "body": "text", "location": "Room 1",
  "organizer": "bob@contoso.example" (default: the mailbox owner => isOrganizer true),
  "attendees": ["x@y"], "isOnlineMeeting": false, "transactionId": null,
  "singleValueExtendedProperties": [{"id": "...", "value": "..."}],
  "recurrence": {"pattern": {"type": "daily"|"weekly"|"absoluteMonthly", "interval": 1,
                             "daysOfWeek": ["monday"], "dayOfMonth": 1},
                 "range": {"type": "numbered"|"endDate"|"noEnd",
                           "numberOfOccurrences": 5, "endDate": "YYYY-MM-DD" | "+7d"}},
  "exceptions": [ {"occurrence": 2 (0-based index) | "originalStart": T,
                   "subject": .., "start": T, "end": T, "showAs": ..} ],
  "deletedOccurrences": [ 3 (index) | T (original start) ] }
T = "2026-11-26T09:00:00Z" (UTC instant) | "2026-11-26" (all-day floating date) |
    relative "+1d09:00" (today UTC + 1 day at 09:00 UTC), "-2d" (a date, for all-day).

CONTROL API (plain JSON over HTTP under <base>/_emu/, no auth, not logged)
==========================================================================
GET|POST /_emu/config      current config / merge {key: value}: token_lifetime (s, 3600),
        strict_refresh (false), device_interval (1), device_pending_polls (1; null = only by
        control), device_expires_in (900), login_user (UPN), latency_ms (0), group_delta (true),
        budget {upn|groupId|groupName: N}, budget_window (600 s), max_page (cap on page size),
        client_id (if set, the only accepted client_id), reset_requests (true: zero counters),
        token_size ([1200, 12288]: JWT access-token length in bytes, uniform; pin with [n, n]),
        personal_token_size ([1000, 1600]), personal_token_format ("opaque" | "jwt"),
        token_scope_format ("short" | "uri"), consented_scopes_in_token (true),
        admin_consent ([]: added to the scenario's), memberof_cast_needs_advanced (true),
        app_name ("timetap-sync", named in AADSTS65001).
        Added 2026-12 (see REALISM): sparse_occurrences (true; false is the kinder switch) | txn_replay ("error" |
        "return_existing" | "duplicate") | group_meetings (true) | body_patch_regenerates_link (true |
        false | "drop") | delta_refused ([] | ["<calendar name>", "group:<name|id>", "non_default"] |
        "non_default") | select_returns_timestamps (false) | page_item_ms (0.2), page_occurrence_ms (2.0),
        gateway_timeout_s (30; 0: never) (see "Slow pages").  clock_skew_s (0): the service's
        clock minus the true time, as every response's Date header shows it (RFC 9110 s.6.6.1:
        an origin server with a clock sends Date on every 2xx-4xx answer).  link_last (false): a
        delta page's @odata.nextLink/@odata.deltaLink after "value" instead of before it, where
        Microsoft's samples show it (delta-query-events.md, event-delta.md: the link comes first);
        the JSON is the same object either way, so a client that reads the link before the page
        ends only gains from the documented order (make bench measures both).  page_transfer_ms
        (0): a page of events (calendarView, delta, instances) sends its first 16 KB, then the rest
        this many ms later, as a page of ~1 MB takes 80-160 ms to cross a 50-100 Mbit/s link;
        the request log's t_sent is when the last byte went.
GET|POST|DELETE /_emu/faults   list / append {"faults":[FAULT...]} / clear (also ends loops).
        FAULT = {"kind": K, "match": {"method": "GET", "path": "<regex on path?query>",
                 "in_batch": true|false}, "times": 1, "skip": 0, ...kind options}
        status: status, code, message, retry_after ("1.5" or an HTTP-date string),
                retry_after_date (seconds from now -> HTTP-date), location, headers {}
        throttle: retry_after (default "1") -> 429 TooManyRequests
        delta_expired: variant syncStateNotFound|resyncRequired|InvalidDeltaToken (400) | gone (410
                + Location = request URL with startDateTime/endDateTime and an empty $deltatoken)
        token_error: error (invalid_grant), error_codes ([70008]), status (400), description, suberror
        device: variant slow_down|authorization_declined|expired_token|bad_verification_code
        unauthorized: CAE claims challenge: 401 InvalidAuthenticationToken + WWW-Authenticate
                Bearer ..., error="insufficient_claims", claims="<base64 JSON>"; cae_code
                ("TokenCreatedWithOutdatedPolicies"), claims ({...} to send instead), revoke (true:
                the presented access token stays revoked, every later use gets the challenge)
        slow: delay_ms (1000)          cut: close without performing
        cut_after_commit: perform, then close without answering
        truncate: full Content-Length, half the body   malformed: 200 + non-JSON body
        oversized: bytes (64 MiB) of valid JSON, streamed
        nextlink_loop: this page's nextLink is the request URL itself, forever
        nextlink_loop_fresh: (delta) from this page on, the same page again and again, each time with a
                new $skiptoken in @odata.nextLink and never a deltaLink, until DELETE /_emu/faults
        broken_item: the page is served with one item's "id" replaced by a number (index: which
                item, default 0)
        bad_utf8_item: the page is served with one item's subject holding bytes that are not
                UTF-8 (index as for broken_item); "form": "surrogate" makes it the escape of
                a lone UTF-16 surrogate ("\\udc80") instead, which is valid UTF-8 but no text
        omit_masters: (delta) the page is served without its series masters: a round whose sparse
                occurrences come without their master (as for a store that never saw it)
POST /_emu/outlook   {"user": upn, "op": add|edit|move|delete|showas|cancel|delete_occurrence|
        edit_occurrence|dismiss_reminder|categorize|respond|time_zone, "calendar": id|name|"group:<gid>",
        "id": event or occurrence id, "index"/"original_start" (occurrence of the series "id"),
        "event": EVENT fields, "shift_minutes": N, "showAs": v, "categories": [..] (categorize),
        "response": none|accepted|tentativelyAccepted|declined|notResponded|organizer (respond; default
        accepted), "attendee": address (respond: whose answer; default: the owner's own answer to a
        meeting organised by someone else, or every attendee's on the owner's meeting), "timeZone":
        the mailbox's zone as Outlook names it (time_zone)} -> {"id": ...}
        ("occurrences": [...] for a new series).  dismiss_reminder (isReminderOn false), categorize and
        respond act on the event (on the whole series for an occurrence id) and change only that plus
        changeKey, lastModifiedDateTime and the delta sequence.  move shifts a series' range too.
GET|DELETE /_emu/requests  request log {"requests":[{seq, method, path, query, status, mailbox,
        in_batch, batch_id, prefer[], has_auth, auth_len (length of the Authorization value, 0 if
        none), consistency_level (ConsistencyLevel header or null), grant_type, scope (scope asked
        on /token, /devicecode, /authorize, else null), client_request_id, fault, t_start,
        t_end, items (the events a page of calendarView or delta served, else null), t_sent (when
        its last byte was written)}]} (no token values) / clear
GET /_emu/ours[?marker=PROP]  {"events":[{calendar, mailbox, id, appt, owner, markers, props, subject,
        start, end, showAs, sensitivity, isOnlineMeeting, joinUrl, body, transactionId, attendees}],
        "calendars":[{calendar, mailbox, events (all of them)}]}: the events the tool under test pushed (its
        marker property, or a transactionId "timetap-..."), for every test to ask in one place
GET /_emu/state      {"users":[{upn,id,personal,admin,directoryRoles,timeZone,calendars:[{id,name,group,
        owner,events:[stored events]}],counters}], "groups":[{...,subscribedByMail,...}],
        "tokens":{refresh_issued, refresh_used, ...}, "consent":{"admin":[...],"users":{"upn|client_id":
        [...]}}, "seq"}.  counters: requests, throttled_concurrency, throttled_budget,
        invitations_sent, updates_sent, cancellations_sent (see "Meeting mail"), tx_dedup_hits (replays
        refused or answered with the existing event), tx_duplicates (second events made in txn_replay
        "duplicate"), events_created, events_updated, events_deleted, in_flight
POST /_emu/device/approve|decline|expire   all pending device codes ({"user": upn} to pick the user;
        approve runs the consent prompt: admin-only scopes without admin consent are refused)
POST /_emu/tokens/expire (all access tokens, server-side: 401 "expired")
POST /_emu/tokens/revoke (all refresh tokens, AADSTS50173)
POST /_emu/tokens/cae {"cae_code": "TokenIssuedBeforeRevocationTimestamp"}  every unexpired access
        token gets the CAE claims challenge from now on (a policy change / session revocation)
GET|POST /_emu/consent   {"admin": [...], "users": {"upn|client_id": [...]}} / change it:
        {"user": upn, "client_id": (optional; without: every client of that user and "upn|*"),
         "grant": [scopes], "revoke": [scopes] | ["*"], "admin_grant": [...], "admin_revoke": [...]}
POST /_emu/reset {"scenario": {...}} | {"generate": N [, "single": true]}   new mailbox
    (tokens kept; "single" puts all N events in the default calendar), clears log/faults
GET /_emu/cpu {"process_time": s}    POST /_emu/save (write --state now)
POST /_emu/restart {"from": FILE}     the emulator a new process on --state FILE would be
    (same command line), made in place on the same port; the old one stops saving at once

To keep stored nextLink/deltaLink URLs valid across an emulator restart, restart it with
--state and the same port (--listen 127.0.0.1:PORT), or POST /_emu/restart.

REALISM (the hard behaviour is the default; sources looked up in the stored public corpora)
=======
- Access tokens are JWTs: base64url(header).base64url(claims).base64url(RS256 signature),
  header {typ, nonce, alg, x5t, kid}, claims of a v1.0 Graph token (aud 00000003-..., iss
  https://sts.windows.net/<tid>/, iat/nbf/exp, appid, oid, upn, unique_name, scp, tid, ver 1.0,
  ...) and a "groups" claim of GUIDs (at most 200) plus "aio" as padding.  The length is drawn
  from config token_size; the smallest token the claims allow is ~1.5 KB (a draw below it gives
  that).  Sources: graph-api.md s.11.1 (microsoft-graph-docs #5846: length unspecified;
  Azure/azure-managed-grafana #62: 10-11 KB with group claims); a decoded Graph token in the
  code corpus ("scp": "User.Read profile openid email"); entra-docs access-token claims.
- Personal accounts get an OPAQUE Graph access token ("EwB...", no dots, ~1.1-1.6 KB), not a
  JWT: microsoft-graph-explorer-v4 #1936 / PR #2254 ("The access token for an MSA is not a JWT
  token"), msgraph-sdk-powershell #2386/#2388, danosb/onenote-mcp #4 ("opaque compact ticket
  that starts with EwB"), msgraph-metadata #541 (shorter, not JWT).  Switch:
  personal_token_format "jwt" (then its tid is the consumer tenant).
- Refresh tokens: opaque, 1000-2000 chars of [A-Za-z0-9._-], "1.AR..." (personal: "M.C5...",
  UNCONFIRMED).  Authorization codes 700-1000 chars "1.AR..."; device codes "DAQABIQEAAAD..."
  220-320 chars (lengths UNCONFIRMED); user codes 9 characters.
- Token response "scope": short Graph names in canonical casing, plus "profile openid email"
  when openid was asked, never offline_access: entra-docs v2-oauth2-device-code.md example
  ("scope": "User.Read profile openid email" for a request of user.read openid profile) and a
  logged real response in the code corpus.  The auth-code doc example shows the URI form
  ("https://graph.microsoft.com/mail.read"); a client test suite in the corpus accepts both:
  config token_scope_format "uri".
- A token carries every scope consented for the resource, not only the asked ones
  (microsoft-graph-docs #9952: scp larger than requested; msgraph-sdk-powershell #1056: "always
  has the previously consent scopes").  Switch: consented_scopes_in_token false.
- refresh_token only if offline_access was asked (entra-docs v2-oauth2-auth-code-flow.md: "Only
  provided if offline_access scope was requested"); for a refresh grant with a scope parameter
  that is the scope asked now (no longer added by the emulator); without one, the original.
- Admin-only permissions: Group.Read.All, Group.ReadWrite.All, GroupMember.Read(Write).All,
  Directory.Read(Write).All, User.Read.All, ... (graph-docs permissions-reference
  AdminConsentRequired; merill/graph-permissions-explorer GroupMember.Read.All "Consent Type:
  Admin"; graph-api.md s.4.4).  They come only from admin consent (scenario/config
  "admin_consent"); a scenario user with "admin": true may consent for themself.
- Grants for unconsented scopes: 400 {"error":"invalid_grant", "error_codes":[65001],
  "suberror":"consent_required", error_description "AADSTS65001: The user or administrator has
  not consented to use the application with ID '<client>' named '<app>'. Send an interactive
  authorization request for this user and resource."}: O365/python-o365 #323 and
  MicrosoftDocs/azure-docs #39189 (full JSON), stevenmaguire/oauth2-microsoft #31,
  PrefectHQ/fastmcp #2468 (on refresh).  Also when consent was withdrawn (POST /_emu/consent).
- "Need admin approval" (AADSTS90094, entra-docs application-sign-in-unexpected-user-consent-
  error.md) for a non-admin asking an admin-only scope: /authorize redirects back with
  error=access_denied&error_subcode=cancel&error_description=AADSTS65004: User declined to
  consent to access the app.&error_uri=...&state (shape: MicrosoftDocs/azure-docs #114009;
  error_subcode=cancel: MSAL test data in the code corpus).  That the page's "return without
  consent" produces exactly this is UNCONFIRMED.  Device code: the poll answers
  authorization_declined with AADSTS65004 (UNCONFIRMED; no source found), on every later poll.
- prompt=none with missing consent: redirect error=interaction_required (AADSTS65001 text):
  entra-docs v2-oauth2-auth-code-flow.md (prompt=none); the code pairing is UNCONFIRMED.
- Personal accounts asking work-only scopes (Group.*, Directory.*, *.Shared): invalid_scope
  AADSTS70011 "The provided value for the input parameter 'scope' is not valid. The scope '...'
  does not exist." on /authorize, device poll and token grants: shape from
  MicrosoftDocs/azure-docs #37071 and AzureAD/microsoft-authentication-library-for-js #2852 (MSA
  + unsupported scope); that Group.* gives exactly this is UNCONFIRMED.  Admin consent of the
  work tenant never applies to them.
- id_token (openid): tid, oid, preferred_username, iss https://login.microsoftonline.com/<tid>/v2.0;
  personal: tid 9188040d-6c67-4c5b-b112-36a304b66dad and oid 00000000-0000-0000-<cid>
  (entra-docs v2-protocols-oidc / graph-api.md s.7.1; a logged MSAL client_info in the corpus:
  uid 00000000-0000-0000-..., utid 9188040d-...).  Personal /me id = 16-hex CID (UNCONFIRMED).
- /me/memberOf needs only User.Read (graph-docs includes/permissions/user-list-memberof-
  permissions.md); objects the token may not read come back "with limited information"
  (api-reference/includes/limited-info.md, permissions-overview): @odata.type and id, every
  other property null and collections [] (the Microsoft support article "Microsoft Graph API
  memberOf returns null values for some properties" shows "groupTypes": [] and displayName
  null).  Full objects with any of Group.Read.All, Group.ReadWrite.All, GroupMember.Read.All,
  GroupMember.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All.  The server filters on
  the real values either way.  Directory roles (scenario "directoryRoles") and security groups
  appear unless cast/filtered away.
- memberOf advanced queries (user-list-memberof.md request headers: ConsistencyLevel eventual
  and $count "required when using the $search, $filter, $orderby, or OData cast";
  concepts/aad-advanced-queries.md): 400 Request_UnsupportedQuery with "The specified filter to
  the reference property query is currently not supported." ($filter: msgraph-sdk-java #1841,
  microsoft-graph-docs-contrib #8757, #4074, #3972), "Sorting not supported for current query."
  ($orderby: microsoft-graph-docs-contrib #4187, #3145), "Request with $search query parameter
  only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
  ($search needs only the header: aad-advanced-queries.md "with the exception of $search");
  cast: message UNCONFIRMED (wording of the aad-advanced-queries endsWith example); many
  clients call the bare cast without the header, so whether the live service refuses it is
  UNCONFIRMED: switch memberof_cast_needs_advanced false.  $count=true without the header is
  silently ignored; /$count without it: 400 Request_BadRequest "$count is not currently
  supported." (aad-advanced-queries.md).  With both: "@odata.count".  $top (default 100, 1..999)
  and @odata.nextLink with $skiptoken; each page needs the header again.  Unknown $filter
  clauses: "Unsupported or invalid query filter clause specified for property ..." (same doc).
- Personal accounts and /me/memberOf: "Not supported" (permissions include); the live answer
  is 404 "No HTTP resource was found that matches the request URI 'https://outlook.office365.com:
  444/profile/v1.0/users('CID:...')/profile/memberOf?api-version=AGSV1-internal'."
  (microsoft-graph-explorer-v4 #1134).  /groups/...: their tokens can carry no Group scope, so
  403 ErrorAccessDenied (exact live answer UNCONFIRMED).
- Personal calendars: an event created with isOnlineMeeting true / onlineMeetingProvider
  teamsForBusiness comes back with isOnlineMeeting false, onlineMeeting null, provider unknown;
  calendars offer allowedOnlineMeetingProviders ["skypeForConsumer"] (elie222/inbox-zero #3442:
  "silently ignored on consumer calendars", "skypeForConsumer at most"; enum values unknown,
  skypeForBusiness, skypeForConsumer, teamsForBusiness - there is no teamsForConsumer in v1.0).
  defaultOnlineMeetingProvider "skypeForConsumer" is UNCONFIRMED; an older report
  (microsoft-graph-explorer-v4 #970, 2021) got a Skype link instead.
- Continuous access evaluation: a 401 InvalidAuthenticationToken on an unexpired token with
  WWW-Authenticate: Bearer realm="", authorization_uri=".../common/oauth2/authorize",
  client_id="00000003-...", error="insufficient_claims", claims="<base64 of
  {"access_token":{"nbf":{"essential":true,"value":"<time>"}}}>" (entra-docs
  app-resilience-continuous-access-evaluation.md, azure-docs claims-challenge.md; the '='
  padding breaks naive parsers: OfficeDev/Office-Add-in-samples PR #1033); message "Continuous
  access evaluation resulted in challenge with result: InteractionRequired and code:
  TokenCreatedWithOutdatedPolicies" (msgraph-sdk-java #2355, FriedrichWeinmann/EntraAuth #47,
  Yvand/EntraCP #356).  The token stays revoked.  Fault kind "unauthorized", POST
  /_emu/tokens/cae.  The live service sends these only to CAE-capable clients (xms_cc cp1);
  the emulator sends them to everyone.
- Calendars shared by others: in /me/calendars with the owner in "owner", not default,
  canShare false, isRemovable true; their events only through /me/calendars/{id}/events/{eid}
  and calendarView; /me/events/{eid} -> 404 ErrorItemNotFound "The specified object was not
  found in the store." (microsoft-graph-docs #6765, also -contrib #6050/#6077); the sharee's
  copy has its own ids (microsoft-graph-docs #6723).  Create/PATCH/DELETE with canEdit false
  -> 403 ErrorAccessDenied (now also DELETE on any calendar with canEdit false).  #8373 and
  #12519 named in the brief: #12519 is about onlineMeetingProvider turning into
  skypeForBusiness, not shared calendars; #8373 could not be found (UNCONFIRMED).
- Sparse occurrences (config sparse_occurrences, default true; false is the kinder switch).
  In calendarView delta pages only, a plain occurrence is {"@odata.type":"#microsoft.graph.event",
  "@odata.etag", "id", "type":"occurrence", "seriesMasterId", "start", "end"} and nothing else
  (microsoft-graph-docs #1716 (2017 sample), #7632, #22197, microsoft-graph-docs-contrib #34 (2023
  sample); graph-api.md s.11.2); exceptions, single instances, plain calendarView and /events/{id}
  stay full (same issues: "/calendarView and /events/{id} return full events").  The etag is the
  master's changeKey (EWS: the changeKey is the same for the master and its occurrences,
  OccurrenceItemIdType.ChangeKey docs; for Graph UNCONFIRMED).  The series master itself is in the
  round, full, type seriesMaster with its recurrence and the first occurrence's start/end, also when
  that lies before the window (ridafkih/keeper.sh PR #409: "the series master itself, which Graph
  lists with the first occurrence's start/end"; PR #410: masters whose first occurrence predates the
  window); OpenWhispr/openwhispr PR #1665 / #1835 backfill from GET .../events/{masterId}.  When a
  master comes back in an incremental round (any change to the series or an instance) and that it
  is @removed when moved out of the window follow the emulator's delta model (UNCONFIRMED).
- $select on GET .../events/{id}: only the selected properties plus @odata.etag and id, context
  .../events(a,b)/$entity; an unknown name -> 400 BadRequest "Parsing OData Select and Expand
  failed: Could not find a property named '...' on type 'microsoft.graph.event'." (wording
  UNCONFIRMED).  createdDateTime and lastModifiedDateTime "do not support $select"
  (group-list-calendarview.md note; msgraph-sdk-dotnet #1655: lastModifiedDateTime empty with
  $select): left out even when selected; switch select_returns_timestamps true.  That this holds for
  a single GET (the note is on calendarView) is UNCONFIRMED.
- changeKey changes on every change (resources/event.md: "Every time the event is changed, ChangeKey
  changes as well"; graph-api.md s.11.7): /_emu/outlook dismiss_reminder, categorize and respond
  change nothing the tool owns but give a new changeKey, lastModifiedDateTime and a delta entry (for a
  series: every instance, microsoft-graph-docs-contrib #6290).
- Replayed transactionId (config txn_replay, default "error"): 400 {"error":{"code":
  "ErrorDuplicateTransactionId","message":"Your request can't be completed. The TransactionId
  specified in the request has already been used to create a different event."}} (alcionai/corso
  #2490, message also quoted in a code comment in the code corpus; 400 checked by C# client code in
  the corpus; graph-api.md s.11.4 says "sometimes 409": UNCONFIRMED, not modelled).  Per mailbox,
  across calendars; also as a $batch item.  How long the service remembers a transactionId is
  undocumented (graph-api.md s.4.1): here as long as an event carrying it exists (UNCONFIRMED either
  way).  Whether a replay of an identical body gets the same answer ("to create a different event")
  is UNCONFIRMED.  "return_existing" = the old kind behaviour (201 + the existing event);
  "duplicate" = no de-duplication at all (graph-api.md s.11.12, a libcurl re-send).
- Group-calendar events are meetings (config group_meetings, default true;
  false is the kinder switch): a POST to a Microsoft 365 group calendar gets the group and the creating user as
  attendees (type required, response none), whatever attendees were sent (microsoft-graph-docs #315:
  "consistent if I leave the attendee list undefined, or pass an empty list, or explicitly specify
  just the group", "no option to not add the creator"; group-list-calendarview.md example: the group
  as organizer, group + Megan as attendees).  Outlook auto-accepts for groups (resources/event.md).
  Who is mailed: members subscribed to the group's mail get its events (group-subscribebymail.md:
  "email notifications ... about new posts, events, and files"; group.md autoSubscribeNewMembers,
  default false) - scenario "subscribedByMail", default every member (the hard case); the creator as
  an attendee is counted too (UNCONFIRMED).  Nothing in a request suppresses the mail:
  responseRequested false "do nothing" (microsoft-graph-docs #7483), no option exists
  (msgraph-sdk-dotnet #1549, a feature request), isDraft cannot be set ("when one creates an event
  using a POST /events operation, the event gets sent", microsoft-graph-docs PR #7246 review;
  #15047); so none is modelled.  Reminders are not supported for group events (event.md) and change
  no mail.  The opposite report (attendees not mailed, microsoft-graph-docs #14869) is not modelled.
- Teams links: isOnlineMeeting true + onlineMeetingProvider teamsForBusiness -> onlineMeeting.joinUrl
  https://teams.microsoft.com/l/meetup-join/...; a PATCH that includes "body" on an online meeting
  gets a NEW joinUrl (config body_patch_regenerates_link, default true; microsoft-graph-docs #18896,
  microsoft-graph-docs-contrib #311: "without body parameters then meeting join url remains same");
  "drop": the link is lost instead (microsoft-graph-docs #16336 "Join meeting link is disappearing",
  msgraph-sdk-dotnet #2895); false: kept.
- nextLink loops with fresh tokens (fault nextlink_loop_fresh): msgraph-sdk-dotnet #3082 / #3070 as
  named in graph-api.md s.11.8 could not be found in the corpus (UNCONFIRMED); related: calendarView
  delta answering nextLink pages "repeated many times" as "normal behavior" (msgraph-sdk-java #493),
  "Delta API returning next link which is returning same items again and again"
  (OneDrive/onedrive-api-docs #1431), same-nextLink loops (microsoft-graph-docs #4897, #6754).
- Delta refused (config delta_refused, default []): 400 {"error":{"code":"BadRequest","message":
  "Unsupported request: Change tracking is not supported against 'microsoft.graph.event'."}} on
  the first page and on a stored deltaLink / skiptoken (msgraph-metadata #608 for
  /me/calendar/events/delta; the code BadRequest and the trailing period from live answers for other
  types logged in the code corpus).  That calendarView delta on a non-default calendar answers this
  exactly is UNCONFIRMED (v1.0 documents delta only for the primary calendar, graph-api.md s.10.2;
  microsoft-graph-docs #5194, #3449); microsoft-graph-docs #4996 could not be found.
- Slow pages: a page of events takes page_item_ms per item and page_occurrence_ms per expanded
  occurrence to serve (after latency_ms); one slower than gateway_timeout_s answers, after that
  long, 504 {"error":{"code":"UnknownError","message":""}} (calendarView/delta with recurring
  meetings: microsoft-graph-docs #3657 / -contrib #7574, #6499; 503 for wide windows:
  msgraph-sdk-dotnet #1568; a ~980-event calendar taking 31 s: t4t5/caldir #55).  The figures and
  the 30 s gateway are UNCONFIRMED: nobody published Outlook's service times.
- Long subjects: a subject longer than 255 characters is cut to 255 without an error (Outlook's
  PidTagSubject limit, phw198/OutlookGoogleCalendarSync #2202; EWS truncates at 255,
  nylas/exchangelib #68); counted in UTF-16 units (UNCONFIRMED).
- Mailbox settings: GET /me/mailboxSettings and /me/mailboxSettings/{timeZone|workingHours|...}
  need MailboxSettings.Read or MailboxSettings.ReadWrite (user-get-mailboxsettings.md permission
  table, delegated work and personal); User.Read / Calendars.* alone -> 403 ErrorAccessDenied "Access
  is denied. Check credentials and try again." (shape: microsoft-graph-docs #3289 /
  microsoft-graph-docs-contrib #7656).  timeZone is the Windows name by default (same page); a
  primitive comes back as {"@odata.context": ".../mailboxSettings/timeZone", "value": ...} (the
  userPurpose example); scenario user key "timeZone", default "UTC".
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import sys
import threading

# The emulator is run as a script by the tests; keep its package's modules from
# leaving __pycache__ directories in the source tree.
sys.dont_write_bytecode = True

from emu.consts import (AADSTS, ADMIN_ONLY_SCOPES, CANON_SCOPES, CONSUMER_TID, DEFAULT_CONFIG, GRAPH_APP_ID,
    GRAPH_PREFIX, GROUP_READ_SCOPES, JSON_CT, LOG_CAP, MAILBOX_CONCURRENCY, MAX_BATCH, MAX_OCCURRENCES,
    NOEND_HORIZON_DAYS, OIDC_SCOPES, SHOWAS_VALUES, SUBJECT_MAX, TOOL_MARKER, WINDOWS_TZ, WORK_ONLY_SCOPES,
    ZERO_TIME)
from emu.timeutil import (fmt_dt7, fmt_stamp, fmt_z, http_date, _ISO_RE, parse_dttz, parse_dttz_wall,
    parse_iso, parse_scenario_time, _REL_RE, resolve_tz, store_time, utcnow, ZoneInfo)
from emu.ids import (_b64, _B64ALPHA, b64u, b64u_json, draw_size, new_change_key, new_container_id,
    new_event_id, new_guid, new_ical, new_ical_for, occurrence_id, opaque_token, svep_id_eq, token_digest,
    urlsafe_chars)
from emu.wire import GraphError, html_to_text, jdump, OAuthError, parse_prefer, Request, Resp, text_to_html
from emu.mailbox import Inst, MailboxMixin, recurrence_dates, WEEKDAYS
from emu.scenario import ScenarioMixin
from emu.delta import DeltaMixin, _KeyView
from emu.dispatch import DispatchMixin
from emu.faults import FaultMixin
from emu.identity import IdentityMixin
from emu.graph import GraphMixin
from emu.directory import DirectoryMixin
from emu.writes import WritesMixin
from emu.batch import BatchMixin
from emu.control import ControlMixin
from emu.server import Handler, make_tls, Server
from emu import server as emu_server


# ----------------------------------------------------------------------------- the emulator

class Emulator(MailboxMixin, ScenarioMixin, DeltaMixin, DispatchMixin, FaultMixin, IdentityMixin,
               GraphMixin, DirectoryMixin, WritesMixin, BatchMixin, ControlMixin):
    """The emulator's shared state (mailboxes, tokens, faults, log); the behaviour is in the
    mixins (see MODULES in the module docstring)."""

    def __init__(self, state_path=None, log_path=None):
        self.lock = threading.RLock()
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.state_path = state_path
        self.lazy_state = False    # --lazy-state: save only on exit and /_emu/save
        self.restart_hook = None   # main(): POST /_emu/restart makes a new one
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        self.faults = []
        self.loop_urls = set()
        self.fresh_loops = set()   # nextlink_loop_fresh loop ids still looping
        self.requests = []
        self.req_seq = 0
        self._reset_world()

    # ------------------------------------------------------------------ world state
    def _reset_world(self, keep_tokens=False):
        self.users = {}      # upn lower -> mailbox
        self.groups = {}     # group id -> mailbox
        self.cache = {}      # delta/calendarView list cache
        self.scn_admin = []  # the scenario's "admin_consent"
        if keep_tokens:
            return
        self.seq = 1
        self.secret = secrets.token_hex(16)
        self.tenant = "contoso.example"
        self.tenant_id = new_guid()
        self.access = {}     # token_digest(access token) -> {upn, scopes, exp, client_id, revoked}
        self.refresh = {}    # token_digest(refresh token) -> {upn, scopes, client_id, used, revoked}
        self.consent = {}    # "upn lower|client_id" -> [scopes the user consented to]
        self.x5t = b64u(hashlib.sha256(self.secret.encode()).digest()[:20])
        self.codes = {}      # authorization code -> {...}
        self.device = {}     # device_code -> {...}
        self.token_counters = {"access_issued": 0, "refresh_issued": 0, "refresh_used": 0,
                               "refresh_rejected": 0, "auth_codes_issued": 0, "device_codes_issued": 0}
        self.cache = {}      # delta/calendarView list cache


# EMU (the Emulator the HTTP handler serves) lives in emu/server.py; main() sets it there too.
EMU = None


def main(argv=None):
    global EMU
    ap = argparse.ArgumentParser(description="Microsoft Graph + identity platform emulator")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca-out")
    ap.add_argument("--tls-keep", help="keep the CA and certificate in this directory, reused when there")
    ap.add_argument("--scenario")
    ap.add_argument("--generate", type=int)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--lazy-state", action="store_true",
                    help="save --state only on exit and POST /_emu/save (big mailboxes)")
    ap.add_argument("--state")
    ap.add_argument("--log")
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        ap.error("--listen must be on 127.0.0.1")
    def start(state_from=None):
        """The emulator as this command line makes it (state_from: load
        that saved state, for POST /_emu/restart); the handler serves it."""
        global EMU
        emu = Emulator(state_path=args.state, log_path=args.log)
        emu.restart_hook = start
        load = state_from or args.state
        if load and os.path.exists(load) and os.path.getsize(load) > 0:
            emu.load_state(load)
        elif args.scenario:
            with open(args.scenario) as f:
                emu.load_scenario(json.load(f))
        elif args.generate is not None:
            emu.generate(args.generate)
        else:
            here = os.path.dirname(os.path.abspath(__file__))
            demo = os.path.join(here, "scenarios", "demo.json")
            with open(demo) as f:
                emu.load_scenario(json.load(f))
        if args.latency_ms:
            emu.config["latency_ms"] = args.latency_ms
        emu.lazy_state = args.lazy_state
        emu.warm()
        emu.save_state(force=True)
        EMU = emu_server.EMU = emu
        return emu

    start()
    srv = Server(("127.0.0.1", int(port or 0)), Handler)
    tmpdir = None
    if args.tls:
        ctx, tmpdir = make_tls(args.ca_out, args.tls_keep)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    scheme = "https" if args.tls else "http"

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("listening %s://127.0.0.1:%d\n" % (scheme, srv.server_address[1]))
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        EMU.save_state(force=True)
        if tmpdir:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
