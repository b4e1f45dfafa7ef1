"""The lifecycle page: the diagram and the triggers table, both from the workflow definition."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, url_for
from flask_login import login_required

from referral.web import bp
from workflow.registry import definition
from workflow.vocabulary import label


@bp.route("/workflow", methods=["GET"])
@login_required
def workflow() -> Any:
    active = definition(current_app.config["REFERRAL_PROFILE"])
    states = {s.name: s.label for s in active.states}
    rows = [
        {
            "label": t.label,
            "sources": ", ".join(states.get(s, s) for s in t.sources),
            "dest": states.get(t.dest, t.dest) if t.dest else "Stays where it is",
            "who": t.permission.describe(),
            "approval": f"{label(t.approval.role)} of {label(t.approval.agency).lower()}"
            if t.approval
            else "",
        }
        for t in active.triggers
    ]
    return render_template(
        "workflow.html",
        active=active,
        rows=rows,
        diagram=url_for("workflow.workflow_diagram"),
    )
