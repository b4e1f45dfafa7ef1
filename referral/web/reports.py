"""The /reports page: the indicators for a period and area, each as a chart with its numbers.

Small numbers are always suppressed here (SPEC section 8), as for a `reports` token; the CSV
link downloads the same suppressed figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from referral import db
from referral.errors import Unprocessable
from referral.models.types import utcnow
from referral.services import indicators
from referral.web import bp, charts
from workflow.vocabulary import label

#: how many statistical years the yearly trend shows, the chosen one last
YEARS = 5


def _date_arg(name: str, errors: dict[str, list[str]]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Enter a real date, like 2025-07-31"]
        return None


def _period() -> tuple[Any, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    first, last = _date_arg("from", errors), _date_arg("to", errors)
    area = request.args.get("area") or None
    if area is not None and area not in {a.slug for a in current_user.areas}:
        errors["area"] = ["Choose one of your areas"]  # the form offers only those
        area = None
    session = db.session()
    try:
        report = indicators.report(
            session,
            current_user._get_current_object(),
            period_from=first,
            period_to=last,
            area=area,
            at=None,
            profile=current_app.config["REFERRAL_PROFILE"],
            now=utcnow(),
        )
    except Unprocessable as exc:
        errors.update(exc.extra["errors"])
        report = indicators.report(
            session,
            current_user._get_current_object(),
            period_from=None,
            period_to=None,
            area=area,
            at=None,
            profile=current_app.config["REFERRAL_PROFILE"],
            now=utcnow(),
        )
    return report, errors


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _drawn(count: int) -> int | None:
    """A count as a chart draws it: a suppressed one is not drawn."""
    return None if 1 <= count <= indicators.SMALL else count


def _shown(value: Any) -> str:
    if value is None:
        return "No cases"
    return str(value)


def _indicator_view(body: dict[str, Any], kind: str) -> dict[str, Any]:
    if "breakdown" in body:
        rows = [(label(k.replace(".", " ")), v) for k, v in body["breakdown"].items()]
        image = charts.bars(body["title"], [r[0] for r in rows], [_number(v) for _r, v in rows])
        described = "; ".join(f"{name}: {_shown(v)}" for name, v in rows)
    else:
        rows = [(body["title"], body["value"])]
        image = charts.bars(body["title"], [body["title"]], [_number(body["value"])])
        described = f"{body['title']}: {_shown(body['value'])}"
    unit = {"percent": "%", "median": " days"}.get(kind, "")
    return {
        **body,
        "rows": [(name, _shown(v) + (unit if _number(v) is not None else "")) for name, v in rows],
        "image": image,
        "alt": f"Chart. {described}.",
    }


@bp.route("/reports", methods=["GET"])
@login_required
def reports() -> Any:
    report, errors = _period()
    body = report.to_json(suppressed=True)
    kinds = {i.id: i.kind for i in indicators.INDICATORS}
    shown = [_indicator_view(i, kinds[i["id"]]) for i in body["indicators"]]
    session = db.session()
    months = indicators.monthly(
        session,
        period_from=report.period_from,
        period_to=report.period_to,
        area_ids=report.area_ids,
    )
    month_labels = [m.strftime("%b %Y") for m, _c, _i in months]
    monthly_chart = charts.lines(
        "Concerns received and IRDs held, by month",
        month_labels,
        [
            ("Concerns received", [_drawn(c) for _m, c, _i in months]),
            ("IRDs held", [_drawn(i) for _m, _c, i in months]),
        ],
    )
    first_year = indicators.statistical_year(report.period_to)[0]
    years = [date(first_year.year - n, 8, 1) for n in range(YEARS - 1, -1, -1)]
    yearly = indicators.yearly(session, years=years, area_ids=report.area_ids)
    year_labels = [f"{y.year}-{str(y.year + 1)[2:]}" for y, *_rest in yearly]
    yearly_chart = charts.lines(
        "Concerns, IRDs and registrations, by statistical year",
        year_labels,
        [
            ("Concerns received", [_drawn(row[1]) for row in yearly]),
            ("IRDs held", [_drawn(row[2]) for row in yearly]),
            ("Registrations", [_drawn(row[3]) for row in yearly]),
        ],
    )
    suppress = indicators.suppress_count
    month_rows = zip(month_labels, months, strict=True)
    user = current_user._get_current_object()
    query = {"from": body["from"], "to": body["to"]}
    if request.args.get("area") and "area" not in errors:
        query["area"] = request.args["area"]
    return render_template(
        "reports.html",
        report=body,
        indicators=shown,
        error_list=[{"text": m[0], "href": f"#{k}"} for k, m in errors.items()],
        errors=errors,
        areas=sorted(user.areas, key=lambda a: a.name),
        chosen_area=request.args.get("area", ""),
        monthly_chart=monthly_chart,
        monthly=[(lbl, suppress(c), suppress(i)) for lbl, (_m, c, i) in month_rows],
        yearly_chart=yearly_chart,
        yearly=[
            (lbl, suppress(r[1]), suppress(r[2]), suppress(r[3]))
            for lbl, r in zip(year_labels, yearly, strict=True)
        ],
        csv_url=url_for("web.reports_csv", **query),
    )


@bp.route("/reports.csv", methods=["GET"])
@login_required
def reports_csv() -> Response:
    report, _errors = _period()
    body = report.to_json(suppressed=True)
    text, name = indicators.csv_download(body)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
