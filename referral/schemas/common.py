"""Field types shared by the schemas: aware datetimes and the cursors of paged lists.

Every cursor has a pattern in the API document, and every string that matches it is a
position the API can page from: a client (or a fuzzer) cannot make a cursor that fails later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields, validate

from workflow.fields import EARLIEST_YEAR, LATEST_YEAR, Field, FieldType, parse_datetime
from workflow.jsonschema import date_range_pattern, moment_pattern

#: A keyset position: microseconds since 1970 in UTC, a dot, and a record id.
KEYSET_PATTERN = r"^[0-9]{1,16}\.[0-9a-f]{32}$"


def position_pattern(digits: int) -> str:
    """A whole number of at most `digits` digits: a position in an append-only sequence."""
    return f"^(0|[1-9][0-9]{{0,{digits - 1}}})$"


#: positions that fit a 32-bit column (an event's seq) and a 64-bit one (an access-log id)
SEQ_DIGITS, ID_DIGITS = 9, 18
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Any date and time the API can take (years 1900 to 2200), for query arguments.
ANY_MOMENT = moment_pattern(Field("any", FieldType.DATETIME, "any"), datetime.now(UTC).date())


#: Any date the API can take (years 1900 to 2200), for query arguments and bodies.
FIRST_DAY, LAST_DAY = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)
ANY_DATE = f"^(?:{date_range_pattern(FIRST_DAY, LAST_DAY)})$"
OUT_OF_RANGE = f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}"


def plausible_date(**kw: Any) -> fields.Date:
    """A date from 1900 to 2200, as every date the API takes (documented by its pattern)."""
    return fields.Date(
        validate=validate.Range(FIRST_DAY, LAST_DAY, error=OUT_OF_RANGE),
        metadata={"pattern": ANY_DATE, **kw.pop("metadata", {})},
        **kw,
    )


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


def position_cursor(digits: int = SEQ_DIGITS, **kw: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(position_pattern(digits), error="is not a cursor this API issued"),
        metadata={"description": "next_cursor of the previous page"},
        **kw,
    )


def keyset_cursor(**kw: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(KEYSET_PATTERN, error="is not a cursor this API issued"),
        metadata={"description": "next_cursor of the previous page"},
        **kw,
    )


def encode_position(position: int) -> str:
    return str(position)


def decode_position(cursor: str) -> int:
    return int(cursor)


def encode_keyset(at: datetime, key: str) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{key}"


def decode_keyset(cursor: str) -> tuple[datetime, str]:
    micros, key = cursor.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), key
