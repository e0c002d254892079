"""Text understanding: classifiers, samples, versions, training jobs, FAQs, and the
learner's emotion on turns (issue 7).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_LIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("emotion", sa.String(), nullable=True))
    op.create_table(
        "nlu_classifiers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("algorithm", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("oos_rate", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("gazetteers", sa.JSON(), nullable=False),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_nlu_classifiers_tenant_id", "nlu_classifiers", ["tenant_id"])
    op.create_table(
        "nlu_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("classifier_id", sa.String(), nullable=False),
        sa.Column("split", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("split IN ('train', 'test')", name="split"),
        sa.ForeignKeyConstraint(["classifier_id"], ["nlu_classifiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_nlu_samples_page", "nlu_samples", ["classifier_id", "split", "id"])
    op.create_table(
        "nlu_versions",
        sa.Column("classifier_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model_id", sa.String(), nullable=False),
        sa.Column("algorithm", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("train_samples", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["classifier_id"], ["nlu_classifiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("classifier_id", "version"),
    )
    op.create_table(
        "nlu_jobs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("classifier_id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("algorithm", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("heartbeat_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')",
                           name="status"),
        sa.ForeignKeyConstraint(["classifier_id"], ["nlu_classifiers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_nlu_jobs_classifier_id", "nlu_jobs", ["classifier_id"])
    op.create_index("uq_nlu_jobs_one_live", "nlu_jobs", ["classifier_id"], unique=True,
                    sqlite_where=_LIVE, postgresql_where=_LIVE)
    op.create_table(
        "faqs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_faqs_tenant_id", "faqs", ["tenant_id"])
    op.create_table(
        "faq_pairs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("faq_id", sa.String(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["faq_id"], ["faqs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_faq_pairs_faq_id", "faq_pairs", ["faq_id"])


def downgrade() -> None:
    for index, table in (("ix_faq_pairs_faq_id", "faq_pairs"), ("ix_faqs_tenant_id", "faqs"),
                         ("uq_nlu_jobs_one_live", "nlu_jobs"),
                         ("ix_nlu_jobs_classifier_id", "nlu_jobs"),
                         ("ix_nlu_samples_page", "nlu_samples"),
                         ("ix_nlu_classifiers_tenant_id", "nlu_classifiers")):
        op.drop_index(index, table_name=table)
    for table in ("faq_pairs", "faqs", "nlu_jobs", "nlu_versions", "nlu_samples",
                  "nlu_classifiers"):
        op.drop_table(table)
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("emotion")
