"""The `referral` command: a Flask CLI group for the app (db, areas, users, tokens, demo, generate,
audit)."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import TextIO

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from flask_smorest.spec import openapi_cli

from referral import create_app
from referral.config import ConfigError
from workflow import diagram
from workflow.definition import Definition
from workflow.registry import DEFAULT_PROFILE, UnknownProfile, definition, versions


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"referral: configuration error: {exc}", err=True)
        sys.exit(2)


class ReferralGroup(FlaskGroup):
    """Flask's command group, but the app is built only when a command runs in it.

    FlaskGroup builds the app to list and look up commands, and the app refuses to start
    without its configuration; so here `--help` (of every command) and the `workflow`
    commands need none, and a command that needs the app stops with the configuration error.
    The app's own commands (flask-smorest's `openapi`) are added to this group instead.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


@click.group(cls=ReferralGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Interagency referral recording workflow engine."""


main.add_command(openapi_cli)


# -- db ------------------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database migrations (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date."""
    from referral.migrate import upgrade

    upgrade(current_app.config["REFERRAL_DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_group.command("grant-app-role")
@click.argument("role")
def db_grant_app_role(role: str) -> None:
    """Grant ROLE exactly what the app needs (PostgreSQL; run as the owner after `db upgrade`).

    Serve the app as ROLE: it cannot alter tables, drop or disable the audit triggers, or
    change or remove an event or an access-log entry.
    """
    from sqlalchemy.exc import DBAPIError

    from referral.db import database
    from referral.dbgrants import GrantError, grant_app_role

    try:
        with database().engine.begin() as connection:
            statements = grant_app_role(connection, role)
    except GrantError as exc:
        _fail(str(exc))
    except DBAPIError as exc:
        _fail(f"nothing was granted (run this as the owner of the tables): {exc.orig}")
    for statement in statements:
        click.echo(statement)
    click.echo(f"role {role} may now serve the app, and only that")


# -- workflow ------------------------------------------------------------------------------------


@main.group("workflow")
def workflow_group() -> None:
    """The workflow definition (needs no configuration)."""


def _definition(profile: str | None, version: int | None = None) -> Definition:
    """The profile asked for, else REFERRAL_PROFILE as the app reads it, else the default."""
    try:
        return definition(profile or os.environ.get("REFERRAL_PROFILE", DEFAULT_PROFILE), version)
    except UnknownProfile as exc:
        raise click.ClickException(str(exc)) from None


@workflow_group.command("show", with_appcontext=False)
@click.option("--profile", default=None, help="defaults to REFERRAL_PROFILE")
@click.option("--version", "version", type=int, default=None, help="defaults to the latest")
def workflow_show(profile: str | None, version: int | None) -> None:
    """Print the definition as JSON (the document GET /api/v1/workflow serves)."""
    d = _definition(profile, version)
    click.echo(json.dumps({**d.to_json(), "versions": versions(d.profile)}, indent=2))


@workflow_group.command("diagram", with_appcontext=False)
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid", show_default=True
)
@click.option("--profile", default=None, help="defaults to REFERRAL_PROFILE")
def workflow_diagram(fmt: str, profile: str | None) -> None:
    """Draw the lifecycle from the definition."""
    d = _definition(profile)
    sys.stdout.write(diagram.mermaid(d) if fmt == "mermaid" else diagram.svg(d))


# -- areas, users, tokens ------------------------------------------------------------------------


def _fail(message: str) -> None:
    raise click.ClickException(message)


@main.group("areas")
def areas_group() -> None:
    """Local authority areas."""


@areas_group.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--prefix", required=True, help="starts the area's human references, e.g. WD")
def areas_add(slug: str, name: str, prefix: str) -> None:
    """Add an area."""
    from referral.db import unit_of_work
    from referral.services.people import InvalidInput, add_area

    try:
        with unit_of_work() as session:
            add_area(session, slug, name, prefix)
    except InvalidInput as exc:
        _fail(str(exc))
    click.echo(f"area {slug} added (references {prefix}-YYYY-NNNNN)")


@main.group("users")
def users_group() -> None:
    """Users."""


@users_group.command("create")
@click.argument("username")
@click.option("--agency", required=True)
@click.option("--role", required=True)
@click.option("--area", "areas", multiple=True, required=True, help="repeat for several areas")
@click.option("--name", "display_name", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_create(
    username: str,
    agency: str,
    role: str,
    areas: tuple[str, ...],
    display_name: str,
    password_stdin: bool,
) -> None:
    """Create a user (the password is read from standard input, never from the command line)."""
    from referral.db import unit_of_work
    from referral.services.people import InvalidInput, create_user

    if not password_stdin:
        _fail("give --password-stdin and pipe the password in")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with unit_of_work() as session:
            create_user(session, username, agency, role, list(areas), password, display_name)
    except InvalidInput as exc:
        _fail(str(exc))
    click.echo(f"user {username} created ({role}, {agency}; {', '.join(areas)})")


@main.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--scope", type=click.Choice(["read", "reports", "write"]), required=True)
@click.option("--expires-in-days", type=int, default=None)
def tokens_create(username: str, scope: str, expires_in_days: int | None) -> None:
    """Create a token; it is printed once, alone on the last line."""
    from referral.db import unit_of_work
    from referral.models.types import utcnow
    from referral.services.people import InvalidInput, create_token

    try:
        with unit_of_work() as session:
            raw = create_token(session, username, scope, utcnow(), expires_in_days)
    except InvalidInput as exc:
        _fail(str(exc))
    click.echo(f"token for {username}, scope {scope}; store it now, it is not shown again:")
    click.echo(raw)


@tokens_group.command("revoke")
@click.argument("prefix")
def tokens_revoke(prefix: str) -> None:
    """Revoke tokens by their first 12 characters."""
    from referral.db import unit_of_work
    from referral.models.types import utcnow
    from referral.services.people import revoke_tokens

    with unit_of_work() as session:
        count = revoke_tokens(session, prefix, utcnow())
    if not count:
        _fail(f"no live token starts with {prefix!r}")
    click.echo(f"revoked {count} token(s)")


# -- demo and audit ------------------------------------------------------------------------------


@main.command("demo")
def demo() -> None:
    """Load reference data, demo users (passwords printed) and sample referrals."""
    from referral.demo import load_demo

    load_demo(click.echo)


@main.command("generate")
@click.option("--referrals", type=click.IntRange(min=1), required=True, help="how many")
@click.option("--areas", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--years", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=5000, show_default=True)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="every step happens before this day (default: today)",
)
@click.option("--check", is_flag=True, help="check every step with the workflow engine (slower)")
def generate_command(
    referrals: int,
    areas: int,
    years: int,
    seed: int,
    batch: int,
    until: datetime | None,
    check: bool,
) -> None:
    """Fill the database with synthetic referrals for benchmarks (areas gen-area-1..K)."""
    from referral.db import database
    from referral.generate import GenerateError, Options, generate

    options = Options(
        referrals, areas, years, seed, batch, until.date() if until is not None else None, check
    )
    with click.progressbar(length=referrals, label="referrals", file=sys.stderr) as bar:
        try:
            summary = generate(
                database().engine,
                current_app.config["REFERRAL_AUDIT_KEY"].encode(),
                options,
                progress=bar.update,
            )
        except GenerateError as exc:
            _fail(str(exc))
    click.echo(
        f"areas {', '.join(summary.areas)}; users {summary.users[0]} ... {summary.users[-1]} "
        "(make a token with `referral tokens create USERNAME --scope read`)",
        err=True,
    )
    click.echo(
        f"generated {summary.referrals} referrals and {summary.events} events "
        f"in {summary.seconds:.1f} seconds"
    )


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("checkpoint")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="write here (default: standard output); keep it where the database owner cannot write",
)
def audit_checkpoint(output: str | None) -> None:
    """Write a signed summary of every chain's tip, for `audit verify --checkpoint` later."""
    from referral.db import session
    from referral.models.types import utcnow
    from referral.services.audit import checkpoint_text, take_checkpoint

    document = take_checkpoint(session(), utcnow())
    text = checkpoint_text(document)
    if output is None:
        sys.stdout.write(text)
        return
    partial = f"{output}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(partial, output)  # a reader never sees half a checkpoint
    except OSError as exc:
        _fail(f"cannot write the checkpoint to {output}: {exc.strerror}")
    click.echo(f"checkpoint of {document['count']} referral(s) written to {output}", err=True)


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="a checkpoint written earlier: also find truncated chains and deleted referrals",
)
def audit_verify(checkpoint_file: TextIO | None) -> None:
    """Check every chain's keyed hashes and replay every referral's events against its rows.

    Exits 1 if anything was altered or removed (or the checkpoint itself was).
    """
    from referral.db import session
    from referral.services.audit import AuditProblem, Checkpoint, read_checkpoint, verify

    problems: list[AuditProblem] = []
    checkpoint: Checkpoint | None = None
    if checkpoint_file is not None:
        try:
            document = json.load(checkpoint_file)
        except ValueError:
            document = None
        checkpoint, problems = read_checkpoint(document)
    checked, found = verify(session(), checkpoint)
    problems += found
    for p in problems:
        if p.referral_id is None:
            click.echo(f"TAMPERED {p.where}: {p.problem}", err=True)
        else:
            click.echo(f"TAMPERED {p.reference} ({p.referral_id}) {p.where}: {p.problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {checked} events", err=True)
        sys.exit(1)
    against = (
        f"; every referral of the checkpoint of {checkpoint.taken_at} is present, its tip intact"
        if checkpoint is not None
        else ""
    )
    click.echo(
        f"ok: {checked} events verified, every chain intact, every record matches its events"
        + against
    )
