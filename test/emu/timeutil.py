# SPDX-License-Identifier: ISC
"""Time helpers: UTC now, Graph's time formats, ISO and scenario times ("+1d09:00"),
time zones (Windows or IANA names) and dateTimeTimeZone values, HTTP dates.
"""

import email.utils
import re
import time
from datetime import datetime, timedelta, timezone

from .consts import WINDOWS_TZ


try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None


# ----------------------------------------------------------------------------- time helpers

def utcnow():
    """Naive datetime in UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def fmt_dt7(dt):
    """Graph dateTimeTimeZone.dateTime: 2025-03-04T09:00:00.0000000 (no offset)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d0" % dt.microsecond


def fmt_stamp(dt):
    """DateTimeOffset with 7 fractional digits, e.g. 2017-10-07T04:59:12.9698856Z."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d0Z" % dt.microsecond


def fmt_z(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def store_time(dt, allday):
    return dt.strftime("%Y-%m-%d") if allday else fmt_z(dt)


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*"
    r"(Z|z|[+-]\d{2}:?\d{2})?$")
_REL_RE = re.compile(r"^([+-]\d+)d(?:(\d{1,2}):(\d{2}))?$")


def parse_iso(s):
    """Parse ISO 8601 -> (naive UTC datetime, had_time).  No offset means UTC."""
    m = _ISO_RE.match(s.strip())
    if not m:
        raise ValueError("bad datetime %r" % s)
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                  int((frac or "0").ljust(6, "0")[:6]))
    if off and off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        off = off[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(off[:2]), minutes=int(off[2:]))
    return dt, hh is not None


def parse_scenario_time(s, today=None):
    """Scenario time -> (naive datetime, is_date).  Accepts ISO, YYYY-MM-DD and +Nd[HH:MM]."""
    if isinstance(s, dict):  # Graph dateTimeTimeZone
        return parse_dttz(s), False
    s = str(s).strip()
    m = _REL_RE.match(s)
    if m:
        today = today or utcnow().date()
        d = today + timedelta(days=int(m.group(1)))
        if m.group(2) is None:
            return datetime(d.year, d.month, d.day), True
        return datetime(d.year, d.month, d.day, int(m.group(2)), int(m.group(3))), False
    dt, had_time = parse_iso(s)
    return dt, not had_time


def resolve_tz(name):
    """Time zone name (Windows or IANA) -> tzinfo, or None if unsupported."""
    if not name:
        return None
    n = name.strip().strip('"')
    if n.lower() in ("utc", "etc/utc", "gmt", "etc/gmt", "coordinated universal time", "z"):
        return timezone.utc
    iana = WINDOWS_TZ.get(n.lower(), n)
    if iana == "UTC":
        return timezone.utc
    if ZoneInfo is None:
        return None
    try:
        return ZoneInfo(iana)
    except Exception:
        return None


def parse_dttz(obj):
    """Graph dateTimeTimeZone -> naive UTC datetime (wall time if the zone is unknown)."""
    if not isinstance(obj, dict) or "dateTime" not in obj:
        raise ValueError("dateTimeTimeZone expected")
    dt, _ = parse_iso(str(obj["dateTime"]))
    tz = resolve_tz(obj.get("timeZone") or "UTC")
    if tz is None:
        raise ValueError("unsupported time zone %r" % obj.get("timeZone"))
    if tz is not timezone.utc:
        dt = dt.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def parse_dttz_wall(obj):
    """Wall time in the given zone (for all-day validation)."""
    dt, _ = parse_iso(str(obj["dateTime"]))
    return dt


def http_date(seconds_from_now=0):
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)
