"""face templates, the identity result of checks, and the identity policy of existing courses

Revision ID: 5e1d7c2a9f04
Revises: b9f3b483d4df
Create Date: 2026-12-02 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "5e1d7c2a9f04"
down_revision: str | None = "5c1e7a9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_courses = sa.table("courses", sa.column("id", sa.Uuid()), sa.column("policy", sa.JSON()))


def upgrade() -> None:
    op.create_table(
        "face_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "exempt",
                name="templatestate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=True),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("consent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("picture", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_face_templates_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_face_templates_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_templates")),
        sa.UniqueConstraint("student_id", name=op.f("uq_face_templates_student_id")),
    )
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("identity_distance", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("identity_model", sa.String(length=80), nullable=True))

    # Courses made before identity existed keep it off: their students never consented to a
    # comparison. New courses default to "sampled" (server.schemas.PolicyIn).
    conn = op.get_bind()
    for course_id, policy in conn.execute(sa.select(_courses.c.id, _courses.c.policy)).all():
        if "identity" not in policy:
            updated = {**policy, "identity": "off", "identity_probability": 0.34}
            conn.execute(_courses.update().where(_courses.c.id == course_id).values(policy=updated))


def downgrade() -> None:
    conn = op.get_bind()
    for course_id, policy in conn.execute(sa.select(_courses.c.id, _courses.c.policy)).all():
        kept = {k: v for k, v in policy.items() if k not in ("identity", "identity_probability")}
        conn.execute(_courses.update().where(_courses.c.id == course_id).values(policy=kept))
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("identity_model")
        batch_op.drop_column("identity_distance")
        batch_op.drop_column("identity")
    op.drop_table("face_templates")
