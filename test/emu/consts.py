# SPDX-License-Identifier: ISC
"""Constants of the emulator: limits, DEFAULT_CONFIG (the /_emu/config switches, see
REALISM in graph_emulator.py), the identity platform's scope sets, the tool's marker property,
the Windows time-zone names and the AADSTS messages.
"""

GRAPH_PREFIX = "/v1.0"
MAX_BATCH = 20
MAILBOX_CONCURRENCY = 4
MAX_OCCURRENCES = 1000
NOEND_HORIZON_DAYS = 730
LOG_CAP = 200000
SHOWAS_VALUES = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
JSON_CT = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
ZERO_TIME = "0001-01-01T00:00:00Z"

DEFAULT_CONFIG = {
    "token_lifetime": 3600,
    "strict_refresh": False,
    "device_interval": 1,
    "device_pending_polls": 1,
    "device_expires_in": 900,
    "login_user": None,
    "latency_ms": 0,
    "group_delta": True,
    "budget": {},
    "budget_window": 600,
    "max_page": None,
    "page_item_ms": 0.2,                  # service time per item of a page of events (see "Slow pages")
    "page_occurrence_ms": 2.0,            # ... per expanded occurrence of a recurring series
    "gateway_timeout_s": 30,              # a page slower than this answers 504 UnknownError ("" message)
    "client_id": None,
    # --- realism (see REALISM in the module docstring) ---
    "token_size": [1200, 12288],          # JWT access-token length, uniform in [min, max] bytes
    "personal_token_size": [1000, 1600],  # opaque personal-account access-token length
    "personal_token_format": "opaque",    # "opaque" (EwB..., no dots) | "jwt" (tid = consumer tenant)
    "token_scope_format": "short",        # response "scope": "short" (Calendars.ReadWrite) | "uri"
    "consented_scopes_in_token": True,    # tokens carry every consented scope, not just the asked ones
    "admin_consent": [],                  # tenant-wide admin consent, added to the scenario's
    "memberof_cast_needs_advanced": True,  # /me/memberOf/microsoft.graph.group needs advanced query
    "app_name": "timetap-sync",           # the app name in AADSTS65001 descriptions
    # --- switches added 2026-12 (see REALISM; defaults as agreed with the tool's author) ---
    "sparse_occurrences": True,           # delta: bare occurrences + series masters (kinder: False)
    "txn_replay": "error",                # replayed transactionId: error | return_existing | duplicate
    "group_meetings": True,               # group-calendar creates get group + creator as attendees (kinder: False)
    "body_patch_regenerates_link": True,  # PATCH with body on a Teams meeting: True (new joinUrl) | False | "drop"
    "delta_refused": [],                  # calendars whose delta is refused: names, "group:<name|id>", "non_default"
    "select_returns_timestamps": False,   # $select on GET event returns created/lastModifiedDateTime (hard: False)
    "clock_skew_s": 0,                    # the service's clock minus the true time, as its Date header shows
    "link_last": False,                   # delta: the next/delta link after "value" (samples: before it)
    "page_transfer_ms": 0,                # a page's body after its first 16 KB arrives this much later
}

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
CONSUMER_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Delegated Graph permissions that only an administrator can grant (permissions-reference:
# AdminConsentRequired; merill/graph-permissions-explorer "Consent Type: Admin").
ADMIN_ONLY_SCOPES = {
    "group.read.all", "group.readwrite.all", "groupmember.read.all", "groupmember.readwrite.all",
    "directory.read.all", "directory.readwrite.all", "directory.accessasuser.all", "user.read.all",
    "user.readwrite.all", "rolemanagement.read.directory", "member.read.hidden",
}
# Work/school-only delegated permissions: asking for them as a personal account fails (AADSTS70011).
WORK_ONLY_SCOPES = ADMIN_ONLY_SCOPES | {"calendars.read.shared", "calendars.readwrite.shared"}
# Canonical casing the token endpoint answers with, whatever casing was asked for.
CANON_SCOPES = {s.lower(): s for s in (
    "User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Calendars.Read",
    "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared", "Group.Read.All",
    "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Directory.Read.All",
    "Directory.ReadWrite.All", "Directory.AccessAsUser.All", "MailboxSettings.Read",
    "MailboxSettings.ReadWrite", "Mail.Read", "Mail.Send", "RoleManagement.Read.Directory",
    "Member.Read.Hidden")}
# Permissions that let a token read the full group objects in /me/memberOf.
GROUP_READ_SCOPES = ("Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
                     "Directory.Read.All", "Directory.ReadWrite.All")

# The named extended property the tool under test marks its events with (its value:
# "<install>.<profile>:<appointment>"); GET /_emu/ours finds them by it.
TOOL_MARKER = "String {2f6b5ae5-9c1d-4a57-9f2e-5b3d7c1e8a40} Name TimeTapApptId"

# The longest subject Outlook keeps, in characters (see _apply_common).
SUBJECT_MAX = 255

# Windows zone names accepted in Prefer: outlook.timezone / dateTimeTimeZone.timeZone.
WINDOWS_TZ = {
    "utc": "UTC", "coordinated universal time": "UTC", "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik", "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris", "central europe standard time": "Europe/Budapest",
    "central european standard time": "Europe/Warsaw", "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Helsinki", "pacific standard time": "America/Los_Angeles",
    "mountain standard time": "America/Denver", "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York", "tokyo standard time": "Asia/Tokyo",
    "india standard time": "Asia/Kolkata", "aus eastern standard time": "Australia/Sydney",
}

AADSTS = {
    70016: "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    70019: "Verification code expired.",
    70000: "The request was denied because one or more grants are invalid or the user declined the request.",
    70008: "The provided authorization code or refresh token has expired due to inactivity. "
           "Send a new interactive authorization request for this user and resource.",
    700082: "The refresh token has expired due to inactivity.",
    54005: "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
           "or use an existing refresh token.",
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    9002313: "Invalid request. Request is malformed or invalid.",
    900144: "The request body must contain the following parameter: '%s'.",
    70003: "The app requested an unsupported grant type.",
    700016: "Application with identifier '%s' was not found in the directory.",
    50011: "The redirect URI '%s' specified in the request does not match the redirect URIs "
           "configured for the application.",
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a "
           "new location, you must use multi-factor authentication to access the resource.",
    65001: "The user or administrator has not consented to use the application with ID '%s' named '%s'. "
           "Send an interactive authorization request for this user and resource.",
    65004: "User declined to consent to access the app.",
    70011: "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.",
    90094: "The grant requires admin permission.",
    53003: "Access has been blocked by Conditional Access policies.",
    50196: "The server terminated an operation because it encountered a client request loop.",
    90006: "The server encountered an internal error. Please retry.",
}
