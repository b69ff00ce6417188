"""permanent public identifiers of institutions and entries

Every existing institution and entry gets its identifier here, minted as the application
mints them (surveyapp/registry/identifiers.py; copied so this revision never changes).

Revision ID: 0011_public_identifiers
Revises: 0010_vocabulary_versions
Create Date: 2026-12-03 12:47:23.568562

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_public_identifiers'
down_revision = '0010_vocabulary_versions'
branch_labels = None
depends_on = None

SYMBOLS = "0123456789abcdefghjkmnpqrstvwxyz"


def _mint():
    symbols = "".join(secrets.choice(SYMBOLS) for _ in range(7))
    value = 0
    for symbol in symbols:
        value = value * 32 + SYMBOLS.index(symbol)
    return f"{symbols}{98 - (value * 100) % 97:02d}"


def upgrade():
    connection = op.get_bind()
    for table in ("institution", "entry"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('public_id', sa.String(length=9), nullable=True))
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column("public_id", sa.String))
        ids = [row.id for row in connection.execute(sa.select(rows.c.id))]
        minted = set()
        for row_id in ids:
            identifier = _mint()
            while identifier in minted:
                identifier = _mint()
            minted.add(identifier)
            connection.execute(
                rows.update().where(rows.c.id == row_id).values(public_id=identifier)
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('public_id', existing_type=sa.String(length=9), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_public_id'), ['public_id'])


def downgrade():
    for table in ("institution", "entry"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_public_id'), type_='unique')
            batch_op.drop_column('public_id')
