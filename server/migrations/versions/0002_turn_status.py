"""Record the session status after each turn, so a transcript shows where it ended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("status", sa.String(), nullable=False,
                                   server_default="active"))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("status")
