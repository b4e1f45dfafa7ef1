"""Multi-agency record reading over the API: sample, readers, readings, moderation, results.

The grades below are chosen by hand, and every aggregate is the figure worked out by hand
from them (see the comments), not one the code under test computed.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from tests.conftest import World
from tests.referral.flows import create, is_problem, now
from workflow.record_reading import (
    DEFAULT_TEMPLATE,
    IRD_QUALITY_V1,
    TemplateRegistry,
    template_from_dict,
    template_to_dict,
)

BASE = "/api/v1/reading"
AREA = "west-dunbartonshire"


def period() -> dict[str, str]:
    today = now().date()
    return {
        "from": (today - timedelta(days=2)).isoformat(),
        "to": (today + timedelta(days=2)).isoformat(),
    }


def new_exercise(as_user: Any, **changes: Any) -> Any:
    body = {"title": "IRD records, autumn", "area": AREA, **period(), "sample_size": 2, **changes}
    return as_user("auditor").post(f"{BASE}/exercises", body)


def put(client: Any, world: World, username: str, path: str, body: Any) -> Any:
    return client.put(path, json=body, headers={"Authorization": f"Bearer {world.token(username)}"})


def answers(six: dict[str, int], yes_no: dict[str, str], note: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {q: {"grade": g, "evidence": note} for q, g in six.items()}
    out.update({q: {"answer": a, "evidence": note} for q, a in yes_no.items()})
    return out


YES_ALL = {
    "ird_timely": "yes",
    "core_agencies": "yes",
    "chronology_used": "yes",
    "other_children": "yes",
    "lead_professional": "yes",
}


def grades(info: int, decision: int, views: int, safe: int, plan: int) -> dict[str, int]:
    return {
        "information_recorded": info,
        "decision_rationale": decision,
        "childs_views": views,
        "kept_safe": safe,
        "interim_safety_plan": plan,
    }


def test_the_default_template_is_the_domain_question_set() -> None:
    templates = TemplateRegistry()
    default = templates.get(DEFAULT_TEMPLATE)
    assert len(default.questions) == 10
    scales = [q.scale for q in default.questions]
    assert scales.count("yes_no_partly") == 5
    assert scales.count("six_point") == 5
    assert default.question("kept_safe") is not None
    assert default.question("kept_safe").indicator == "qi_2_1"  # type: ignore[union-attr]


def test_a_second_template_registers_from_a_data_file(
    app: Flask, as_user: Any, tmp_path: Path
) -> None:
    data = template_to_dict(IRD_QUALITY_V1)
    data.update(id="ird-quality-short", version=1, title="Short IRD check")
    data["themes"] = data["themes"][:1]
    (tmp_path / "short.json").write_text(json.dumps(data))
    templates = TemplateRegistry()
    templates.load_directory(tmp_path)
    assert templates.get("ird-quality-short").title == "Short IRD check"
    # a version is never replaced
    again = TemplateRegistry()
    again.register(template_from_dict(data))
    try:
        again.register(template_from_dict(data))
    except ValueError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a template version was replaced")
    # the app reads the directory its setting names
    app.config["REFERRAL_READING_TEMPLATES"] = str(tmp_path)
    try:
        listed = as_user("auditor").get(f"{BASE}/templates").get_json()
    finally:
        app.config.pop("REFERRAL_READING_TEMPLATES")
    assert {t["id"] for t in listed} >= {"ird-quality", "ird-quality-short", "family-feedback"}


def test_same_seed_and_population_give_the_same_sample(as_user: Any) -> None:
    ids = sorted(create(as_user)["id"] for _ in range(5))
    first = new_exercise(as_user, sample_size=3, seed=424242)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["status"] == "open"
    assert body["seed"] == 424242
    assert body["population_size"] == 5
    # the documented draw: random.Random(seed).sample over the population sorted by id
    assert body["sample"] == random.Random(424242).sample(ids, 3)  # noqa: S311
    second = new_exercise(as_user, sample_size=3, seed=424242).get_json()
    assert second["sample"] == body["sample"]
    # with no seed given, one is chosen and recorded
    chosen = new_exercise(as_user, sample_size=3).get_json()
    assert chosen["sample"] == random.Random(chosen["seed"]).sample(ids, 3)  # noqa: S311


def test_population_smaller_than_the_sample_is_422(as_user: Any) -> None:
    create(as_user)
    body = is_problem(new_exercise(as_user, sample_size=2), 422)
    assert "sample_size" in body["errors"]


def test_only_auditors_create_exercises(as_user: Any) -> None:
    create(as_user)
    create(as_user)
    body = {"title": "x", "area": AREA, **period(), "sample_size": 1}
    is_problem(as_user("swsup").post(f"{BASE}/exercises", body), 403)
    is_problem(as_user("auditor", "read").post(f"{BASE}/exercises", body), 403)


def test_readers_must_be_two_agencies_and_not_in_the_records_events(as_user: Any) -> None:
    create(as_user)
    create(as_user)
    exercise = new_exercise(as_user, seed=1).get_json()
    rid = exercise["sample"][0]
    path = f"{BASE}/exercises/{exercise['id']}/assignments"
    auditor = as_user("auditor")
    # pc recorded the concern: pc is in its events
    refused = is_problem(auditor.post(path, {"referral_id": rid, "readers": ["pc", "doc"]}), 422)
    assert "readers.0" in refused["errors"]
    is_problem(auditor.post(path, {"referral_id": rid, "readers": ["sw", "sw2"]}), 422)
    is_problem(auditor.post(path, {"referral_id": "nope", "readers": ["doc", "sw2"]}), 422)
    is_problem(as_user("swsup").post(path, {"referral_id": rid, "readers": ["doc", "sw2"]}), 404)
    assert auditor.post(path, {"referral_id": rid, "readers": ["doc", "sw2"]}).status_code == 201
    # a record has one pair of readers
    is_problem(auditor.post(path, {"referral_id": rid, "readers": ["teacher", "other"]}), 409)


def test_an_exercise_read_graded_moderated_and_counted(
    as_user: Any, client: Any, world: World
) -> None:
    for _ in range(3):
        create(as_user)
    exercise = new_exercise(as_user, seed=2026).get_json()
    xid = exercise["id"]
    a, b = exercise["sample"]
    auditor = as_user("auditor")
    for rid in (a, b):
        response = auditor.post(
            f"{BASE}/exercises/{xid}/assignments", {"referral_id": rid, "readers": ["doc", "sw2"]}
        )
        assert response.status_code == 201, response.get_json()

    # the reader reads the record read-only, and the read is logged as record reading
    record = as_user("doc").get(f"{BASE}/exercises/{xid}/records/{a}")
    assert record.status_code == 200, record.get_json()
    assert record.get_json()["id"] == a
    assert record.get_json()["allowed_triggers"] == []
    log = auditor.get(f"/api/v1/referrals/{a}/access-log").get_json()["items"]
    assert any(e["username"] == "doc" and "record reading" in e["what"] for e in log)
    # someone not assigned does not get it; a reader does not get records not theirs
    is_problem(as_user("teacher").get(f"{BASE}/exercises/{xid}/records/{a}"), 404)
    is_problem(as_user("teacher").get(f"{BASE}/exercises/{xid}"), 404)

    reading = f"{BASE}/exercises/{xid}/records/{{}}/reading"
    # a draft first, then the submission; submitting needs every question answered
    draft = put(
        client, world, "doc", reading.format(a), {"answers": answers(grades(1, 1, 1, 1, 1), {})}
    )
    assert draft.status_code == 200, draft.get_json()
    assert draft.get_json()["status"] == "draft"
    incomplete = put(
        client,
        world,
        "doc",
        reading.format(a),
        {"answers": answers(grades(4, 5, 2, 4, 3), {}), "submitted": True},
    )
    is_problem(incomplete, 422)
    bad = put(client, world, "doc", reading.format(a), {"answers": {"kept_safe": {"grade": 7}}})
    is_problem(bad, 422)

    submissions = [
        # (reader, record, six-point grades, yes/no/partly answers)
        ("doc", a, grades(4, 5, 2, 4, 3), {**YES_ALL, "chronology_used": "no"}),
        ("sw2", a, grades(4, 4, 5, 5, 3), {**YES_ALL, "chronology_used": "partly"}),
        (
            "doc",
            b,
            grades(3, 2, 3, 3, 6),
            {**YES_ALL, "ird_timely": "no", "chronology_used": "partly"},
        ),
        ("sw2", b, grades(5, 3, 3, 4, 5), {**YES_ALL, "ird_timely": "no"}),
    ]
    for reader, rid, six, yes_no in submissions:
        body = {"answers": answers(six, yes_no, f"{reader} read the IRD record"), "submitted": True}
        response = put(client, world, reader, reading.format(rid), body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "submitted"
    # a submitted reading cannot change
    again = put(client, world, "doc", reading.format(a), {"answers": {}, "submitted": False})
    is_problem(again, 409)

    # moderation: A's child's views (2 and 5) and B's information recorded (3 and 5)
    queue = auditor.get(f"{BASE}/exercises/{xid}/moderation").get_json()["items"]
    assert sorted((i["referral_id"], i["question_id"]) for i in queue) == sorted(
        [(a, "childs_views"), (b, "information_recorded")]
    )
    is_problem(as_user("doc").get(f"{BASE}/exercises/{xid}/moderation"), 403)
    not_waiting = {"referral_id": a, "question_id": "kept_safe", "grade": 4, "reason": "x"}
    is_problem(auditor.post(f"{BASE}/exercises/{xid}/moderation", not_waiting), 422)
    agreed = {
        "referral_id": a,
        "question_id": "childs_views",
        "grade": 4,
        "reason": "Views recorded at the IRD, not in the child's words.",
    }
    moderated = auditor.post(f"{BASE}/exercises/{xid}/moderation", agreed)
    assert moderated.status_code == 201, moderated.get_json()
    is_problem(auditor.post(f"{BASE}/exercises/{xid}/moderation", agreed), 409)
    is_problem(as_user("doc").post(f"{BASE}/exercises/{xid}/moderation", agreed), 403)

    # families' feedback: recorded per record, shown only in aggregate
    feedback = f"{BASE}/exercises/{xid}/records/{a}/feedback/"
    child = {
        "invited": True,
        "consented": True,
        "responded": True,
        "answers": {"understood": "yes", "listened_to": "partly"},
    }
    assert put(client, world, "auditor", feedback + "child", child).status_code == 204
    parents = {"invited": True, "consented": False, "responded": False}
    assert put(client, world, "auditor", feedback + "parents_carers", parents).status_code == 204
    is_problem(put(client, world, "doc", feedback + "child", child), 403)

    results = auditor.get(f"{BASE}/exercises/{xid}/results").get_json()
    # record values: A info 4, decision 4.5, views 4 (moderated), safe 4.5, plan 3
    #                B info 4 (3,5), decision 2.5, views 3, safe 3.5, plan 5.5
    q = results["by_question"]
    assert q["information_recorded"] == {"n": 2, "mean": 4.0, "distribution": {"4": 2}}
    assert q["decision_rationale"] == {"n": 2, "mean": 3.5, "distribution": {"4.5": 1, "2.5": 1}}
    assert q["childs_views"] == {"n": 2, "mean": 3.5, "distribution": {"4": 1, "3": 1}}
    assert q["kept_safe"] == {"n": 2, "mean": 4.0, "distribution": {"4.5": 1, "3.5": 1}}
    assert q["interim_safety_plan"] == {"n": 2, "mean": 4.25, "distribution": {"5.5": 1, "3": 1}}
    # yes 1, partly 0.5, no 0: A yes/yes = 1, B no/no = 0
    assert q["ird_timely"] == {
        "n": 2,
        "mean": 0.5,
        "distribution": {"yes": 2, "partly": 0, "no": 2},
    }
    # A no/partly = 0.25, B partly/yes = 0.75
    assert q["chronology_used"] == {
        "n": 2,
        "mean": 0.5,
        "distribution": {"yes": 1, "partly": 2, "no": 1},
    }
    assert q["core_agencies"] == {
        "n": 2,
        "mean": 1.0,
        "distribution": {"yes": 4, "partly": 0, "no": 0},
    }

    none = {"yes": 0, "partly": 0, "no": 0}
    assert results["by_theme"] == {
        "response": {"n": 0, "mean": None, "answers": {"yes": 6, "partly": 0, "no": 2}},
        "information": {"n": 2, "mean": 4.0, "answers": {"yes": 1, "partly": 2, "no": 1}},
        "decisions": {"n": 2, "mean": 3.5, "answers": {"yes": 4, "partly": 0, "no": 0}},
        "child": {"n": 4, "mean": 3.75, "answers": none},  # (4 + 3 + 4.5 + 3.5) / 4
        "safety": {"n": 2, "mean": 4.25, "answers": {"yes": 4, "partly": 0, "no": 0}},
    }
    assert results["by_indicator"] == {
        "timely_response": {"n": 0, "mean": None, "answers": {"yes": 6, "partly": 0, "no": 2}},
        "information_sharing": {"n": 2, "mean": 4.0, "answers": {"yes": 1, "partly": 2, "no": 1}},
        "decision_making": {"n": 2, "mean": 3.5, "answers": {"yes": 4, "partly": 0, "no": 0}},
        "qi_2_1": {"n": 4, "mean": 3.75, "answers": none},
        "safety_planning": {"n": 2, "mean": 4.25, "answers": {"yes": 4, "partly": 0, "no": 0}},
    }
    # each agency's readers' own grades: health 4+5+2+4+3 + 3+2+3+3+6 = 35 over 10
    # social work 4+4+5+5+3 + 5+3+3+4+5 = 41 over 10
    assert results["by_agency"] == {
        "health": {"n": 10, "mean": 3.5, "answers": {"yes": 7, "partly": 1, "no": 2}},
        "social_work": {"n": 10, "mean": 4.1, "answers": {"yes": 8, "partly": 1, "no": 1}},
    }
    # ten six-point record values summing to 20 + 18.5; six of them 4 or more
    assert results["summary"] == {
        "records_sampled": 2,
        "records_read": 2,
        "readings_submitted": 4,
        "moderated": 1,
        "mean_grade": 3.85,
        "good_or_better_pct": 60.0,
    }
    zero = {"yes": 0, "partly": 0, "no": 0}
    assert results["feedback"]["child"] == {
        "records": 2,
        "invited": 1,
        "consented": 1,
        "responded": 1,
        "answers": {
            "understood": {"yes": 1, "partly": 0, "no": 0},
            "listened_to": {"yes": 0, "partly": 1, "no": 0},
            "kept_informed": zero,
            "safer": zero,
        },
    }
    assert results["feedback"]["parents_carers"]["invited"] == 1
    assert results["feedback"]["parents_carers"]["consented"] == 0
    # no per-record feedback anywhere else
    shown = json.dumps(auditor.get(f"{BASE}/exercises/{xid}").get_json())
    assert "feedback" not in shown
    assert "listened_to" not in shown

    as_csv = auditor.get(f"{BASE}/exercises/{xid}/results?format=csv")
    assert as_csv.status_code == 200
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert ["theme", "child", "The child at the centre", "4", "3.75", "0", "0", "0", ""] in rows
    assert ["agency", "social_work", "social_work", "10", "4.1", "8", "1", "1", ""] in rows

    # evidence marked as a strength is kept with its text
    mark = {"referral_id": a, "question_id": "kept_safe", "reader": "doc", "kind": "strength"}
    marked = auditor.post(f"{BASE}/exercises/{xid}/highlights", mark)
    assert marked.status_code == 201, marked.get_json()
    assert marked.get_json()["evidence"] == "doc read the IRD record"

    progress = auditor.get(f"{BASE}/exercises/{xid}").get_json()["progress"]
    assert progress["readings_submitted"] == 4
    assert progress["records_read"] == 2

    # closing: readers lose access to the records at once
    closed = auditor.post(f"{BASE}/exercises/{xid}/close", {})
    assert closed.status_code == 200
    assert closed.get_json()["status"] == "closed"
    is_problem(as_user("doc").get(f"{BASE}/exercises/{xid}/records/{a}"), 403)
    is_problem(as_user("sw2").get(f"{BASE}/exercises/{xid}/records/{b}"), 403)
    is_problem(auditor.post(f"{BASE}/exercises/{xid}/close", {}), 409)
    # but the results stay
    assert auditor.get(f"{BASE}/exercises/{xid}/results").status_code == 200


def test_exercise_events_are_append_only(app: Flask, as_user: Any, db_connection: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    create(as_user)
    exercise = new_exercise(as_user, sample_size=1, seed=3).get_json()
    count = db_connection.execute(
        text("SELECT count(*) FROM reading_events WHERE exercise_id = :x"), {"x": exercise["id"]}
    ).scalar_one()
    assert count == 1
    for statement in ("UPDATE reading_events SET actor = 'x'", "DELETE FROM reading_events"):
        savepoint = db_connection.begin_nested()
        try:
            db_connection.execute(text(statement))
        except DBAPIError:
            savepoint.rollback()
        else:  # pragma: no cover
            savepoint.rollback()
            raise AssertionError(f"{statement} was allowed")
