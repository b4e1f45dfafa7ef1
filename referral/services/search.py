"""Text search of the referrals list (the web page's `q`): by reference and by child's name.

Case-insensitive on every database: references are stored upper-case and children's names
are kept lower-cased as `name_key` ("given|family"), so a search compares with those and
needs no case-folding function of the database's. What matches:

- a reference that starts with the text ("WD-2026-00042", "wd-2026-000");
- a child whose given name, family name, or given and family names are the text's words,
  whole words, in any case ("amy", "Brown", "Amy Brown", "Mary Ann Brown").

Cost: the referrals are read as the list reads them (by the index of its order and filters,
a page at a time); the children matching the name are found once per search in `children`.
`name_key` begins with the given name, so a family name alone has no index to seek with:
that lookup reads `children` once per search (never the referrals beyond the page).
An index on the family name (a migration) would make it a seek.

The search only narrows the list query: visibility, the other filters and keyset paging stay
as they are.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from referral.errors import Unprocessable
from referral.models import Child, Referral, User
from referral.services.visibility import visible
from workflow.fields import REFERRAL_ID_PATTERN

#: the longest search text the list accepts, and the most words it splits a name into
MAX_TEXT = 100
MAX_WORDS = 10


def words_of(text: str) -> list[str]:
    """The search text as lower-cased words (at most MAX_WORDS)."""
    return text.lower().split()[:MAX_WORDS]


def matches(text: str) -> ColumnElement[bool]:
    """A WHERE clause on `Referral`: its reference or its child's name matches `text`."""
    words = words_of(text[:MAX_TEXT])
    if not words:
        return false()  # nothing typed matches nothing (the list skips a blank search)
    whole = " ".join(words)
    # name_key is "given|family": every way of splitting the words into the two names
    splits = [f"{' '.join(words[:i])}|{' '.join(words[i:])}" for i in range(1, len(words))]
    names = [
        *(Child.name_key == key for key in splits),
        Child.name_key.startswith(f"{whole}|", autoescape=True),  # the given name
        Child.name_key.endswith(f"|{whole}", autoescape=True),  # the family name
    ]
    by_name = Referral.child_id.in_(select(Child.id).where(or_(*names)))
    if len(words) > 1:  # a reference has no spaces
        return by_name
    return or_(Referral.reference.startswith(words[0].upper(), autoescape=True), by_name)


def ids_by_reference(session: Session, user: User, field: str, named: list[str]) -> list[str]:
    """The referrals a form names by reference (as people know them), as the ids the API
    takes: each one `user` can see, in any case; an id is kept as given. A reference that
    names no referral `user` can see is refused as the API refuses an unseen id."""
    wanted = {n.upper() for n in named if not re.fullmatch(REFERRAL_ID_PATTERN, n)}
    found: dict[str, str] = {}
    if wanted:
        query = select(Referral.reference, Referral.id).where(
            Referral.reference.in_(sorted(wanted)), visible(user)
        )
        found = {reference: rid for reference, rid in session.execute(query)}
    unseen = {
        f"{field}.{i}": ["is not a referral you can see"]
        for i, n in enumerate(named)
        if n.upper() in wanted and n.upper() not in found
    }
    if unseen:
        raise Unprocessable(unseen)
    return [found.get(n.upper(), n) for n in named]
