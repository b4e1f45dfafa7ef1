"""Record-reading pages: an auditor creates and assigns, two readers grade, the auditor
moderates and reads the results and the printable summary (SPEC sections 7 and 8)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.referral.flows import create, now
from tests.web.pages import hidden_fields, outline, sign_in
from workflow.record_reading import IRD_QUALITY_V1, SIX_POINT


def _open(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    page = response.get_data(as_text=True)
    shape = outline(page)
    assert shape.h1s == 1, path
    assert shape.skip_links == 1, path
    return page


def _post(client: FlaskClient, path: str, page: str, fields: dict[str, str]) -> Any:
    return client.post(path, data={"csrf_token": hidden_fields(page)["csrf_token"], **fields})


def _reader_fields(grade: int, views: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for q in IRD_QUALITY_V1.questions:
        if q.scale == SIX_POINT:
            fields[f"answers-{q.id}-grade"] = str(views if q.id == "childs_views" else grade)
        else:
            fields[f"answers-{q.id}-answer"] = "yes"
        fields[f"answers-{q.id}-evidence"] = f"Seen in the IRD record ({q.id})."
    return fields


def test_an_exercise_through_the_pages(app: Flask, client: FlaskClient, as_user: Any) -> None:
    for _ in range(2):
        create(as_user)
    sign_in(client, "auditor")
    listing = _open(client, "/reading")
    assert "Record reading" in listing  # the navigation shows it to auditors
    form = _open(client, "/reading/new")
    today = now().date()
    created = _post(
        client,
        "/reading/new",
        form,
        {
            "title": "Autumn IRD records",
            "area": "west-dunbartonshire",
            "from": (today - timedelta(days=3)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat(),
            "sample_size": "1",
            "seed": "99",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    exercise_path = created.headers["Location"]
    page = _open(client, exercise_path)
    assert "random seed 99" in page
    rid = re.search(r'<option value="([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    # the same agency twice is refused with an error summary
    refused = _post(
        client,
        exercise_path + "/assign",
        page,
        {"referral_id": rid, "reader_1": "sw", "reader_2": "sw2"},
    )
    assert refused.status_code == 422
    assert "There is a problem" in refused.get_data(as_text=True)
    assigned = _post(
        client,
        exercise_path + "/assign",
        page,
        {"referral_id": rid, "reader_1": "doc", "reader_2": "sw2"},
    )
    assert assigned.status_code == 302

    readers = {}
    for username, grade, views in (("doc", 4, 2), ("sw2", 4, 5)):
        reader = app.test_client()
        sign_in(reader, username)
        assert "Record reading" in _open(reader, "/")
        record_path = f"{exercise_path}/records/{rid}"
        form_page = _open(reader, record_path)
        assert "The record (read-only)" in form_page
        assert "Was the IRD convened timeously" in form_page
        draft = _post(
            reader, record_path, form_page, {"action": "draft", **_reader_fields(grade, views)}
        )
        assert draft.status_code == 302
        incomplete = _post(reader, record_path, form_page, {"action": "submit"})
        assert incomplete.status_code == 422
        done = _post(
            reader, record_path, form_page, {"action": "submit", **_reader_fields(grade, views)}
        )
        assert done.status_code == 302
        assert "cannot change" in _open(reader, record_path)
        readers[username] = reader
    # someone who is neither auditor nor assigned does not see the exercise
    stranger = app.test_client()
    sign_in(stranger, "teacher")
    assert stranger.get(exercise_path).status_code == 404

    moderation = _open(client, exercise_path + "/moderation")
    assert "Choose a grade" in moderation
    agreed = _post(
        client,
        exercise_path + "/moderation",
        moderation,
        {"referral_id": rid, "question_id": "childs_views", "grade": "3", "reason": "Agreed."},
    )
    assert agreed.status_code == 302
    marked = _post(
        client,
        exercise_path + "/highlights",
        moderation,
        {"referral_id": rid, "question_id": "childs_views", "reader": "doc", "kind": "strength"},
    )
    assert marked.status_code == 302

    # the child's feedback, recorded by the auditor; a reader may not
    feedback_path = f"{exercise_path}/records/{rid}/feedback/child"
    assert readers["doc"].get(feedback_path).status_code == 403
    assert client.get(f"{exercise_path}/records/{rid}/feedback/neighbour").status_code == 404
    feedback = _open(client, feedback_path)
    assert "Did people listen to what you had to say?" in feedback
    unconsented = _post(
        client, feedback_path, feedback, {"invited": "yes", "consented": "no", "responded": "yes"}
    )
    assert unconsented.status_code == 422
    assert "only someone who consented can respond" in unconsented.get_data(as_text=True)
    given = _post(
        client,
        feedback_path,
        feedback,
        {
            "invited": "yes",
            "consented": "yes",
            "responded": "yes",
            "answers-understood": "yes",
            "answers-listened_to": "partly",
        },
    )
    assert given.status_code == 302
    assert 'value="partly" checked' in _open(client, feedback_path)

    results = _open(client, exercise_path + "/results")
    assert "Children: 1 invited, 1 consented, 1 responded (of 1 records)" in results
    # four six-point questions at 4 (both readers) and the moderated 3: mean 19 / 5 = 3.8
    assert "mean grade 3.8;" in results
    assert "80.0% of grades good or better" in results
    assert 'src="data:image/svg+xml;base64,' in results
    summary = _open(client, exercise_path + "/summary")
    assert "Self-evaluation summary" in summary
    assert "Seen in the IRD record (childs_views)." in summary  # the strength marked
    assert "Health: 1; Social work: 1" in summary

    closed = _post(client, exercise_path + "/close", page, {})
    assert closed.status_code == 302
    assert readers["doc"].get(f"{exercise_path}/records/{rid}").status_code == 403


def test_only_auditors_create_exercises_on_the_pages(client: FlaskClient) -> None:
    sign_in(client, "swsup")
    assert client.get("/reading/new").status_code == 403
    assert "Record reading" not in client.get("/").get_data(as_text=True)
