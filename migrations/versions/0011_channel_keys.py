"""channel keys for integrations (WeChat, app, 市长信箱, website, Open311) and the cases each submitted

The 系统管理员 manages them (permission channel.manage); the channel `open311` joins the dictionary.

Revision ID: 0011_channel_keys
Revises: 0010_case_location
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_channel_keys'
down_revision = '0010_case_location'
branch_labels = None
depends_on = None

ADDED = (("channel.manage", "管理渠道密钥", "sysadmin"),)
CHANNEL = ("open311", "Open311", 9)


def upgrade() -> None:
    op.create_table(
        'channel_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=60), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_key')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_channel_key_key_hash')),
        sa.UniqueConstraint('name', name=op.f('uq_channel_key_name')),
    )
    op.create_table(
        'channel_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_channel_submission_case_id_case'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['key_id'], ['channel_key.id'], name=op.f('fk_channel_submission_key_id_channel_key')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_submission')),
        sa.UniqueConstraint('case_id', name=op.f('uq_channel_submission_case_id')),
        sa.UniqueConstraint('token', name=op.f('uq_channel_submission_token')),
    )
    with op.batch_alter_table('channel_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_submission_key_id'), ['key_id'], unique=False)
    bind = op.get_bind()
    for code, name, role in ADDED:  # idempotent: 0001 seeds the catalogue from app.domain.roles
        if bind.execute(sa.text("SELECT 1 FROM permission WHERE code = :c"), {"c": code}).first() is None:
            bind.execute(sa.text("INSERT INTO permission (code, name) VALUES (:c, :n)"), {"c": code, "n": name})
        if bind.execute(sa.text("SELECT 1 FROM role_permission WHERE role_code = :r AND permission_code = :p"),
                        {"r": role, "p": code}).first() is None:
            bind.execute(sa.text("INSERT INTO role_permission (role_code, permission_code) VALUES (:r, :p)"),
                         {"r": role, "p": code})
    code, label, sort = CHANNEL
    known = bind.execute(sa.text("SELECT 1 FROM dictionary_entry WHERE kind = 'channel' AND code = :c"), {"c": code})
    has_channels = bind.execute(sa.text("SELECT 1 FROM dictionary_entry WHERE kind = 'channel'")).first()
    if known.first() is None and has_channels is not None:  # an empty install gets it from the seed
        bind.execute(sa.text("INSERT INTO dictionary_entry (kind, code, label, sort, active) "
                             "VALUES ('channel', :c, :l, :s, :a)"), {"c": code, "l": label, "s": sort, "a": True})


def downgrade() -> None:
    bind = op.get_bind()
    for code, _, _ in ADDED:
        bind.execute(sa.text("DELETE FROM role_permission WHERE permission_code = :p"), {"p": code})
        bind.execute(sa.text("DELETE FROM permission WHERE code = :c"), {"c": code})
    with op.batch_alter_table('channel_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_submission_key_id'))
    op.drop_table('channel_submission')
    op.drop_table('channel_key')
