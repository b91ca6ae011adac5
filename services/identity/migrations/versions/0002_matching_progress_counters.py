"""matching progress counters and item indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ('sent', 'done', 'matched', 'partial', 'not_found', 'invalid', 'skipped')


def upgrade() -> None:
    with op.batch_alter_table('matching_job', schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('matching_item', schema=None) as batch_op:
        batch_op.drop_index('ix_matching_item_state')
        batch_op.create_index('ix_matching_item_state', ['job_id', 'state', 'person_id'], unique=False)
        batch_op.create_index('ix_matching_item_batch', ['batch_id'], unique=False)

    # Jobs written before the counters existed: count their items once.
    counts = {
        'sent': "state = 'sent'",
        'done': "state = 'done'",
        **{name: f"state = 'done' AND outcome = '{name}'" for name in COUNTERS[2:]},
    }
    for name, condition in counts.items():
        op.execute(
            f"UPDATE matching_job SET {name} = (SELECT count(*) FROM matching_item"
            f" WHERE matching_item.job_id = matching_job.id AND {condition})"
        )


def downgrade() -> None:
    with op.batch_alter_table('matching_item', schema=None) as batch_op:
        batch_op.drop_index('ix_matching_item_batch')
        batch_op.drop_index('ix_matching_item_state')
        batch_op.create_index('ix_matching_item_state', ['job_id', 'state'], unique=False)

    with op.batch_alter_table('matching_job', schema=None) as batch_op:
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
