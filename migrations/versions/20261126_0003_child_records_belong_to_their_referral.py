"""child records belong to their referral's area; identities link them without details

A child's details were one row shared by every referral linked to the child, across areas,
so one area could read and change another's record. Each referral now keeps its own child
record; `child_identities` links records of the same child (by CHI number, or a possible
match on name and date of birth) for counting re-referrals, and holds no details.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

CHILD_COLUMNS = (
    "chi_number", "given_name", "family_name", "name_key", "date_of_birth",
    "expected_date_of_delivery", "sex", "address", "school", "created_at",
)


def upgrade() -> None:
    op.create_table(
        'child_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chi_number', sa.String(length=10), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_child_identities')),
        sa.UniqueConstraint('chi_number', name=op.f('uq_child_identities_chi_number')),
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_children_chi_number', type_='unique')
    bind = op.get_bind()
    children = sa.table(
        'children', sa.column('id', sa.Integer()), sa.column('identity_id', sa.Integer()),
        *(sa.column(c) for c in CHILD_COLUMNS),
    )
    identities = sa.table(
        'child_identities', sa.column('id', sa.Integer()), sa.column('chi_number'),
        sa.column('created_at'),
    )
    referrals = sa.table(
        'referrals', sa.column('id'), sa.column('child_id', sa.Integer()),
        sa.column('child_match'),
    )
    # one identity per existing child; then a child record of its own for every referral
    for row in bind.execute(sa.select(children).order_by(children.c.id)).mappings().all():
        identity_id = bind.execute(
            sa.insert(identities)
            .values(chi_number=row["chi_number"], created_at=row["created_at"])
            .returning(identities.c.id)
        ).scalar_one()
        bind.execute(
            sa.update(children).where(children.c.id == row["id"]).values(identity_id=identity_id)
        )
        sharing = bind.execute(
            sa.select(referrals.c.id).where(referrals.c.child_id == row["id"])
            .order_by(referrals.c.id)
        ).scalars().all()
        for referral_id in sharing[1:]:
            copy_id = bind.execute(
                sa.insert(children)
                .values(identity_id=identity_id, **{c: row[c] for c in CHILD_COLUMNS})
                .returning(children.c.id)
            ).scalar_one()
            bind.execute(
                sa.update(referrals).where(referrals.c.id == referral_id).values(child_id=copy_id)
            )
    bind.execute(
        sa.update(referrals).where(referrals.c.child_match == 'possible_duplicate')
        .values(child_match='possible')
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.alter_column('identity_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_children_identity_id_child_identities'), 'child_identities',
            ['identity_id'], ['id'],
        )
        batch_op.create_index(batch_op.f('ix_children_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_children_chi_number'), ['chi_number'], unique=False)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('child_match_areas', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.drop_index('ix_referrals_child_id')
        batch_op.create_unique_constraint(batch_op.f('uq_referrals_child_id'), ['child_id'])
        batch_op.create_check_constraint(
            op.f('ck_referrals_child_match'), "child_match IN ('new', 'chi', 'possible')"
        )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('child_match_areas', server_default=None)


def downgrade() -> None:
    """Back to one child row shared by the referrals of the same child.

    Each identity's records become its first record again. That loses nothing only where the
    records still agree: if any area has corrected its own record of a shared child since,
    the downgrade stops before changing anything and says which identities differ (restore
    from a backup taken before 0003 instead).
    """
    bind = op.get_bind()
    children = sa.table(
        'children', sa.column('id', sa.Integer()), sa.column('identity_id', sa.Integer()),
        *(sa.column(c) for c in CHILD_COLUMNS),
    )
    referrals = sa.table(
        'referrals', sa.column('id'), sa.column('child_id', sa.Integer()),
        sa.column('child_match'),
    )
    details = [c for c in CHILD_COLUMNS if c != "created_at"]
    by_identity: dict[int, list[dict[str, object]]] = {}
    for row in bind.execute(sa.select(children).order_by(children.c.id)).mappings():
        by_identity.setdefault(row["identity_id"], []).append(dict(row))
    differing = sorted(
        identity
        for identity, rows in by_identity.items()
        if any(r[c] != rows[0][c] for r in rows[1:] for c in details)
    )
    if differing:
        raise RuntimeError(
            f"{len(differing)} children's records differ between areas (identities "
            f"{', '.join(map(str, differing[:10]))}): merging them would lose a correction; "
            "restore from a backup taken before 0003"
        )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_referrals_child_match'), type_='check')
        batch_op.drop_constraint(op.f('uq_referrals_child_id'), type_='unique')
        batch_op.create_index('ix_referrals_child_id', ['child_id'], unique=False)
        batch_op.drop_column('child_match_areas')
    for rows in by_identity.values():
        kept, copies = rows[0]["id"], [r["id"] for r in rows[1:]]
        if copies:
            bind.execute(
                sa.update(referrals).where(referrals.c.child_id.in_(copies)).values(child_id=kept)
            )
            bind.execute(sa.delete(children).where(children.c.id.in_(copies)))
    bind.execute(
        sa.update(referrals).where(referrals.c.child_match == 'possible')
        .values(child_match='possible_duplicate')
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_children_chi_number'))
        batch_op.drop_index(batch_op.f('ix_children_identity_id'))
        batch_op.drop_constraint(
            batch_op.f('fk_children_identity_id_child_identities'), type_='foreignkey'
        )
        batch_op.drop_column('identity_id')
        batch_op.create_unique_constraint('uq_children_chi_number', ['chi_number'])
    op.drop_table('child_identities')
