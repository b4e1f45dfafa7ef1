"""Reference vocabularies: agencies, roles, concern categories and sources, areas."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from referral import db
from referral.auth import current_principal
from referral.models import Area
from referral.schemas.service import ReferenceOut
from workflow.vocabulary import reference_vocabularies

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Vocabularies")


@blp.route("/reference")
@blp.response(200, ReferenceOut)
def reference() -> dict[str, Any]:
    """Every vocabulary the API accepts, and this deployment's areas."""
    current_principal()
    areas = db.session().scalars(select(Area).order_by(Area.slug))
    return {
        **reference_vocabularies(),
        "areas": [{"slug": a.slug, "name": a.name, "prefix": a.reference_prefix} for a in areas],
    }
