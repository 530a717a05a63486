# SPDX-License-Identifier: ISC
"""Identifiers: event, occurrence and container ids (long, case-sensitive, with '/', '+'
and '='; occurrence ids derived from the master id and the original start), changeKeys,
iCalUIds, GUIDs, base64url, opaque token bodies and drawn sizes, extended-property id
comparison.
"""

import base64
import hashlib
import json
import os
import random
import secrets
import uuid


# ----------------------------------------------------------------------------- ids

_B64ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(b):
    return base64.b64encode(b).decode()


def new_event_id():
    """A long, case-sensitive, immutable-looking id containing '/', '+' and '='."""
    body = list(_b64(os.urandom(100)))  # 136 chars, no padding
    body[37] = "+"
    body[71] = "/"
    return "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A" + "".join(body[:-1]) + "AAA="


def occurrence_id(master_id, key):
    h = hashlib.sha256((master_id + "|" + key).encode()).digest()
    return master_id[:96] + "BBEQ" + _b64(h[:6] + key.encode()[:15] + h[6:24]) + "="


def new_container_id():
    return "AAMkAGI2" + _b64(os.urandom(48)).replace("/", "_") + "AAA="


def new_change_key():
    return _b64(os.urandom(16))


def new_ical(key=""):
    base = "040000008200E00074C5B7101A82E00800000000" + os.urandom(16).hex().upper()
    return base if not key else base[:32] + key[:8] + base[40:]


def new_guid():
    return str(uuid.uuid4())


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def b64u_json(obj):
    """base64url of compact ASCII JSON (bytes == characters, so lengths are exact)."""
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def urlsafe_chars(n):
    """n random characters from [A-Za-z0-9_-] (one os.urandom call)."""
    return secrets.token_urlsafe(n)[:n] if n > 0 else ""


def token_digest(tok):
    """Tokens are stored by digest: the state file never holds a usable token."""
    return hashlib.sha256(tok.encode("utf-8", "replace")).hexdigest()


def draw_size(spec, default):
    try:
        lo, hi = int(spec[0]), int(spec[1])
    except (TypeError, ValueError, IndexError, KeyError):
        lo, hi = default
    if hi < lo:
        lo, hi = hi, lo
    return random.randint(max(16, lo), max(16, hi))


def opaque_token(prefix, n, dots=2):
    """An opaque token of exactly n characters from [A-Za-z0-9._-] starting with prefix."""
    body = list(urlsafe_chars(max(0, n - len(prefix))))
    for i in range(dots):
        if len(body) > 40:
            body[(len(body) * (i + 1)) // (dots + 1)] = "."
    return prefix + "".join(body)


def new_ical_for(master_ical, key):
    return master_ical[:32] + key[:8] + master_ical[40:]


def svep_id_eq(a, b):
    """Extended property ids: type and GUID case-insensitive, the Name case-sensitive."""
    def norm(x):
        parts = x.split()
        if len(parts) >= 4 and parts[2].lower() in ("name", "id"):
            return (parts[0].lower(), parts[1].lower(), parts[2].lower(), " ".join(parts[3:]) if parts[2].lower() == "name"
                    else " ".join(parts[3:]).lower())
        return tuple(p.lower() for p in parts)
    return norm(a) == norm(b)
