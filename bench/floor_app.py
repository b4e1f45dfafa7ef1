"""The floor for `make bench-api`: a bare Flask + SQLAlchemy app doing the API's request shapes.

No flask-smorest, no marshmallow, no authentication, no validation beyond what it needs to
store a row: it is what the same kinds of request cost with nothing on top, on its own tables
in the same database (a PostgreSQL schema or a SQLite file of its own).

    GET  /floor/items/<id>              read a row by primary key, insert an access-log row
    POST /floor/items                   insert a row and an audit row (body: a new referral's)
    POST /floor/items/<id>/transitions  lock the row, fire one shared bare `transitions` Machine
                                        on a small token, update the row, insert an audit row

Each request is one transaction, committed before the JSON answer. Serve it with
`gunicorn --pythonpath bench 'floor_app:create_app()'` and `FLOOR_DATABASE_URL` set.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from transitions import Machine, MachineError

STATES = ("concern", "ird", "investigation", "jii", "case_conference", "registered", "closed")


class Base(DeclarativeBase):
    pass


class Item(Base):
    """A row as wide as a referral's: about twenty columns, JSON ones among them."""

    __tablename__ = "floor_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    area: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(30))
    summary: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON)
    immediate_risk: Mapped[bool] = mapped_column(Boolean)
    child_spoken_to: Mapped[bool] = mapped_column(Boolean)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    stages: Mapped[dict[str, Any]] = mapped_column(JSON)
    closure_reason: Mapped[str | None] = mapped_column(String(30))
    last_event_seq: Mapped[int] = mapped_column(Integer)


class AuditRow(Base):
    """One change to an item."""

    __tablename__ = "floor_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("floor_items.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class AccessLogRow(Base):
    """One read of an item."""

    __tablename__ = "floor_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("floor_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    what: Mapped[str] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class Token:
    """The only object the shared Machine moves: a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


#: One Machine for every row (model=None), as the product's engine does; never one per row.
MACHINE = Machine(
    model=None,
    states=list(STATES),
    initial="concern",
    auto_transitions=False,
    send_event=True,
)
MACHINE.add_transition("convene_ird", "concern", "ird")
MACHINE.add_transition("add_ird_contribution", "ird", "ird")
MACHINE.add_transition("add_chronology_entry", list(STATES[:-1]), None)  # stays where it is
MACHINE.add_transition("start_investigation", "ird", "investigation")
MACHINE.add_transition("close", list(STATES[:-1]), "closed")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The product's SQLite settings, so both sides wait for the one writer the same way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # every request here writes


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url)


def create_tables(url: str) -> None:
    """Make the floor's tables in an empty database (the bench does this, not the app)."""
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def _problem(status: int, detail: str) -> tuple[Response, int]:
    response = jsonify({"title": "Floor app error", "status": status, "detail": detail})
    response.mimetype = "application/problem+json"
    return response, status


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "reference": item.reference,
        "area": item.area,
        "state": item.state,
        "version": item.version,
        "created_by": item.created_by,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "child": {
            "given_name": item.given_name,
            "family_name": item.family_name,
            "date_of_birth": item.date_of_birth.isoformat() if item.date_of_birth else None,
        },
        "concern": {
            "received_at": item.received_at.isoformat(),
            "source": item.source,
            "summary": item.summary,
            "categories": item.categories,
            "immediate_risk": item.immediate_risk,
            "child_spoken_to": item.child_spoken_to,
        },
        "stages": item.stages,
        "closure_reason": item.closure_reason,
        "last_event_seq": item.last_event_seq,
    }


def _json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def create_app(database_url: str | None = None) -> Flask:
    """The floor app on `database_url` (default: the FLOOR_DATABASE_URL environment variable)."""
    url = database_url or os.environ.get("FLOOR_DATABASE_URL", "")
    if not url:
        raise RuntimeError("set FLOOR_DATABASE_URL (or pass database_url)")
    app = Flask(__name__)
    engine = make_engine(url)
    app.extensions["floor.engine"] = engine  # for whoever ends the app (the bench's test)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @app.get("/floor/healthz")
    def healthz() -> Any:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/floor/items/<item_id>")
    def read_item(item_id: str) -> Any:
        with sessions() as session, session.begin():
            item = session.get(Item, item_id)
            if item is None:
                return _problem(404, "no such item")
            session.add(
                AccessLogRow(
                    item_id=item.id,
                    at=datetime.now(UTC),
                    what="item",
                    remote_addr=request.remote_addr,
                    user_agent=request.user_agent.string[:300] or None,
                )
            )
        return _item_json(item)

    @app.post("/floor/items")
    def create_item() -> Any:
        body = _json_body()
        if body is None:
            return _problem(400, "send a JSON object")
        now = datetime.now(UTC)
        try:
            child, concern = body["child"], body["concern"]
            item_id = uuid.uuid4().hex
            item = Item(
                id=item_id,
                reference=f"FL-{item_id[:12]}",
                area=str(body["area"]),
                state="concern",
                version=1,
                created_by="floor",
                created_at=now,
                updated_at=now,
                received_at=datetime.fromisoformat(concern["received_at"]),
                source=str(concern["source"]),
                summary=str(concern["summary"]),
                categories=list(concern.get("categories") or []),
                immediate_risk=bool(concern["immediate_risk"]),
                child_spoken_to=bool(concern["child_spoken_to"]),
                given_name=str(child["given_name"]),
                family_name=str(child["family_name"]),
                date_of_birth=date.fromisoformat(child["date_of_birth"]),
                stages={},
                last_event_seq=1,
            )
        except (KeyError, TypeError, ValueError) as exc:
            return _problem(422, f"invalid item: {exc!r}")
        with sessions() as session, session.begin():
            session.add(item)
            session.flush()  # the row exists before its audit row refers to it
            session.add(
                AuditRow(
                    item_id=item.id,
                    seq=1,
                    type="created",
                    to_state=item.state,
                    at=now,
                    data=body,
                )
            )
        return _item_json(item), 201, {"Location": f"/floor/items/{item.id}"}

    @app.post("/floor/items/<item_id>/transitions")
    def fire(item_id: str) -> Any:
        body = _json_body()
        if body is None or not isinstance(body.get("trigger"), str):
            return _problem(400, "send a JSON object with a trigger")
        trigger, data = body["trigger"], body.get("data") or {}
        if trigger not in MACHINE.events:
            return _problem(422, f"unknown trigger {trigger}")
        now = datetime.now(UTC)
        with sessions() as session, session.begin():
            item = session.get(Item, item_id, with_for_update=True)
            if item is None:
                return _problem(404, "no such item")
            token = Token(item.state)
            try:
                MACHINE.events[trigger].trigger(token)
            except MachineError as exc:
                return _problem(409, exc.value)
            before = item.state
            item.state = token.state
            item.version += 1
            item.last_event_seq += 1
            item.updated_at = now
            item.stages = {**item.stages, trigger: data}
            session.add(
                AuditRow(
                    item_id=item.id,
                    seq=item.last_event_seq,
                    type="transition",
                    trigger=trigger,
                    from_state=before,
                    to_state=item.state,
                    at=now,
                    data=data,
                )
            )
        return _item_json(item)

    return app
