"""reviews and contests: a person's decisions on prompts, students' contests, frame hints

Revision ID: 5c1e7a9d2b40
Revises: b9f3b483d4df
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "5c1e7a9d2b40"
down_revision: str | None = "b9f3b483d4df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hint", sa.String(length=300), nullable=True))

    op.create_table(
        "prompt_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prompt_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_prompt_reviews_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_prompt_reviews_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_prompt_reviews_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_reviews")),
    )
    with op.batch_alter_table("prompt_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prompt_reviews_lesson_created", ["lesson_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prompt_reviews_prompt_id"), ["prompt_id"], unique=False
        )

    op.create_table(
        "prompt_contests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prompt_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_prompt_contests_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_prompt_contests_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_prompt_contests_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_contests")),
        sa.UniqueConstraint("prompt_id", name=op.f("uq_prompt_contests_prompt_id")),
    )
    with op.batch_alter_table("prompt_contests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prompt_contests_lesson_id"), ["lesson_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("prompt_contests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prompt_contests_lesson_id"))
    op.drop_table("prompt_contests")
    with op.batch_alter_table("prompt_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prompt_reviews_prompt_id"))
        batch_op.drop_index("ix_prompt_reviews_lesson_created")
    op.drop_table("prompt_reviews")
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("hint")
