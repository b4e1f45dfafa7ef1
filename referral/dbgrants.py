"""Least privilege on PostgreSQL: grant the role the app serves as exactly what it needs."""

from __future__ import annotations

from sqlalchemy.engine import Connection

#: the audit tables: the app adds rows and reads them, never changes or removes one
APPEND_ONLY = frozenset({"events", "feed", "access_log", "admin_events", "reading_events"})
#: read by the readiness probe and by authentication; only the owner writes them (`db upgrade`,
#: and the credentials trigger, which runs as its owner: migration 0013)
READ_ONLY = frozenset({"alembic_version", "credentials_stamp"})
#: the only rows the app deletes: failed-authentication counters whose window has passed
DELETES_FROM = frozenset({"auth_failure_counters"})


class GrantError(RuntimeError):
    """The grants cannot be made safely (wrong database, missing role, or a role too mighty)."""


def privileges_for(table: str) -> str:
    if table in APPEND_ONLY:
        return "SELECT, INSERT"
    if table in READ_ONLY:
        return "SELECT"
    if table in DELETES_FROM:
        return "SELECT, INSERT, UPDATE, DELETE"
    return "SELECT, INSERT, UPDATE"


def grant_app_role(connection: Connection, role: str) -> list[str]:
    """Make `role`'s privileges on the current schema exactly the app's; return the statements.

    Run as the owner after every `db upgrade`: it covers every table then in the schema,
    and first revokes whatever `role` held there, so running it again is safe.
    """
    if connection.dialect.name != "postgresql":
        raise GrantError(
            "grant-app-role needs PostgreSQL: SQLite has no roles, so whoever can write the "
            "database file can change anything in it"
        )
    found = connection.exec_driver_sql(
        "SELECT rolsuper, rolbypassrls, rolname = current_user FROM pg_roles WHERE rolname = %s",
        (role,),
    ).first()
    if found is None:
        raise GrantError(
            f"there is no role {role!r}: create it first (CREATE ROLE ... LOGIN PASSWORD ...)"
        )
    superuser, bypasses_rls, is_me = found
    if is_me:
        raise GrantError(f"{role!r} is the role running this command: serve as another role")
    if superuser or bypasses_rls:
        raise GrantError(f"{role!r} is a superuser (or bypasses row security): no grant binds it")
    schema, database = connection.exec_driver_sql(
        "SELECT current_schema(), current_database()"
    ).one()
    owned = connection.exec_driver_sql(
        "SELECT count(*) FROM pg_tables "
        "WHERE schemaname = %s AND pg_has_role(%s, tableowner, 'MEMBER')",
        (schema, role),
    ).scalar_one()
    if owned:
        raise GrantError(
            f"{role!r} owns tables in {schema} (or is a member of their owner): "
            "an owner can drop their triggers"
        )
    tables = [
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
        )
    ]
    quote = connection.dialect.identifier_preparer.quote
    grantee, in_schema = quote(role), quote(schema)
    statements = [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {grantee}",
        f"GRANT USAGE ON SCHEMA {in_schema} TO {grantee}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {in_schema} FROM {grantee}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {in_schema} FROM {grantee}",
        *(
            f"GRANT {privileges_for(t)} ON TABLE {in_schema}.{quote(t)} TO {grantee}"
            for t in tables
        ),
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {in_schema} TO {grantee}",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements
