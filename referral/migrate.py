"""Alembic, driven from the app's configuration: upgrade, current and head revisions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

# Alembic is imported where it is used: it takes a fifth of a command's start-up to import,
# and most commands, and the served app until its first readiness check, never need it.

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if database_url:
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run the migrations, then build what only this release's code can (at head)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)
    if revision == "head":
        fill_stage_documents(database_url)


def fill_stage_documents(database_url: str, batch: int = 200) -> int:
    """Give each referral without one its read document, from its tables; how many."""
    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from referral.db import make_engine
    from referral.models import Referral
    from referral.services.projection import document
    from referral.services.referrals import load_stages

    engine = make_engine(database_url)
    filled = 0
    try:
        with Session(engine) as session:
            while True:
                ids = session.scalars(
                    select(Referral.id).where(Referral.stages_doc.is_(None)).limit(batch)
                ).all()
                if not ids:
                    return filled
                for referral_id in ids:
                    # not through the ORM: the referral did not change, so its version (the
                    # ETag clients hold) stays as it was
                    session.execute(
                        update(Referral)
                        .where(Referral.id == referral_id)
                        .values(stages_doc=document(load_stages(session, referral_id)))
                        .execution_options(synchronize_session=False)
                    )
                session.commit()
                filled += len(ids)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def database_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
