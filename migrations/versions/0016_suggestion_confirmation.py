"""public suggestions confirmed by an emailed link: submission.email_confirmed_at, a new email kind

Revision ID: 0016_suggestion_confirmation
Revises: 0015_staff_two_factor
Create Date: 2026-12-03 19:56:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_suggestion_confirmation'
down_revision = '0015_staff_two_factor'
branch_labels = None
depends_on = None

OLD_KINDS = ('invitation', 'reminder', 'confirmation', 'changes_requested', 'rejection',
             'review_digest')
NEW_KINDS = OLD_KINDS + ('suggestion_confirmation',)


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values) + 8)


def _swap_enum(table, column, name, old, new):
    """Widen a vocabulary column and replace its CHECK constraint with the new values."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table(table, recreate='always') as batch_op:
            batch_op.alter_column(column, existing_type=_enum(old, name), type_=_enum(new, name),
                                  existing_nullable=False)
        return
    constraint = op.f(f'ck_{table}_{name}')
    op.drop_constraint(constraint, table, type_='check')
    op.alter_column(table, column, type_=sa.String(max(len(v) for v in new) + 8),
                    existing_nullable=False)
    op.create_check_constraint(constraint, table, sa.column(column).in_(new))


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True),
                                      nullable=True))

    _swap_enum('outbox_message', 'kind', 'message_kind', OLD_KINDS, NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM outbox_message WHERE kind = 'suggestion_confirmation'")
    _swap_enum('outbox_message', 'kind', 'message_kind', NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
