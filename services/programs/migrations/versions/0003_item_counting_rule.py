"""what a held session adds to an action-plan item (decision 0010)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('action_plan_item_view', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counts', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('action_plan_item_view', schema=None) as batch_op:
        batch_op.drop_column('counts')
