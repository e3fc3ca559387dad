"""token revocation: a version per user, and signed-out tokens; a report of look-alike emails

Revision ID: 5c1e7a9d2f40
Revises: b9f3b483d4df
Create Date: 2026-12-02 11:45:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.emails import look_alikes

logger = logging.getLogger("storage.migrations")

revision: str = "5c1e7a9d2f40"
down_revision: str | None = "d5e4e42d6356"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite takes it with its default): a batch operation would copy the
    # users table, and dropping the old one fails while courses and enrolments point at it.
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_revoked_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_revoked_tokens")),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_tokens_expires_at"), ["expires_at"], unique=False
        )
    _report_look_alikes()


def _report_look_alikes() -> None:
    """Emails are normalised from now on; those stored before are reported, never changed:
    two accounts that read the same may belong to two people, and only an admin can tell."""
    emails = [row[0] for row in op.get_bind().execute(sa.text("SELECT email FROM users"))]
    for group in look_alikes(emails):
        logger.warning(
            "emails that look alike or are not in their normal form (check these accounts; "
            "disable or rename the ones that should not exist): %s",
            ", ".join(ascii(e) for e in group),
        )


def downgrade() -> None:
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires_at"))
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_version")
