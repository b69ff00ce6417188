"""returned mail: what the return mailbox held and what was done

Revision ID: 0017_returned_mail
Revises: 0016_suggestion_confirmation
Create Date: 2026-12-04 15:33:52.736240

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_returned_mail'
down_revision = '0016_suggestion_confirmation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('returned_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=300), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('kind', sa.Enum('hard_bounce', 'soft_bounce', 'unsubscribe', 'other', name='returned_kind', native_enum=False, create_constraint=True, length=19), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_returned_mail_contact_id_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returned_mail')),
    sa.UniqueConstraint('message_key', 'recipient', name='uq_returned_mail_message')
    )
    with op.batch_alter_table('returned_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returned_mail_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_returned_mail_recipient_kind', ['recipient', 'kind'], unique=False)



def downgrade():
    with op.batch_alter_table('returned_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_returned_mail_recipient_kind')
        batch_op.drop_index(batch_op.f('ix_returned_mail_contact_id'))

    op.drop_table('returned_mail')
