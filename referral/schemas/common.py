"""Field types shared by the schemas: aware datetimes, CHI numbers, opaque cursors."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError, fields

from workflow.fields import parse_datetime


class AwareDateTime(fields.Field):  # type: ignore[type-arg]
    """ISO 8601 with an offset, as the SPEC requires; naive values are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return parse_datetime(value)
        except (ValueError, TypeError) as exc:
            message = str(exc) if "must" in str(exc) else "is not a valid date and time"
            raise ValidationError(message) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if value is not None else None


def chi_problem(value: str) -> str | None:
    """Why `value` is not a valid CHI number (10 digits, DDMMYY prefix, modulus-11 check digit)."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return "must be 10 digits"
    day, month, year = int(value[0:2]), int(value[2:4]), int(value[4:6])
    valid_date = False
    for century in (1900, 2000):
        try:
            date(century + year, month, day)
            valid_date = True
        except ValueError:
            continue
    if not valid_date:
        return "must start with a valid date of birth (DDMMYY)"
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(value[9]):
        return "has a wrong check digit"
    return None


def validate_chi(value: str) -> None:
    problem = chi_problem(value)
    if problem:
        raise ValidationError(f"CHI number {problem}")


def encode_cursor(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("is not a cursor this API issued") from exc
    if not isinstance(parts, list) or len(parts) != size:
        raise ValidationError("is not a cursor this API issued")
    return parts


def check_time_id_cursor(cursor: str) -> None:
    """A cursor of (aware timestamp, id) as `encode_cursor` writes it for keyset paging."""
    try:
        at, key = decode_cursor(cursor, 2)
        if not isinstance(at, str) or not isinstance(key, str):
            raise ValueError(at)
        parse_datetime(at)  # aware and within range
    except (ValidationError, ValueError) as exc:
        raise ValidationError(["is not a cursor this API issued"], "cursor") from exc


def check_sequence_cursor(cursor: str) -> int:
    """A cursor holding one position in a sequence (event seq, log id)."""
    (after,) = decode_cursor(cursor, 1)
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
        raise ValidationError(["is not a cursor this API issued"], "cursor")
    return after
