"""each action-plan item keeps the sum of its realisation ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('action_plan_item', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('realised_quantity', sa.Integer(), server_default='0', nullable=False)
        )
    op.execute(
        "UPDATE action_plan_item SET realised_quantity = ("
        "SELECT COALESCE(SUM(realisation.quantity), 0) FROM realisation "
        "WHERE realisation.item_id = action_plan_item.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('action_plan_item', schema=None) as batch_op:
        batch_op.drop_column('realised_quantity')
