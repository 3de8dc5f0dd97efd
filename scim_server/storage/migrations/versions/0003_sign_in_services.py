"""Sign-in services: claimed and verified domains (replacing verified_domains), SSO
connections, SSO identities keyed by (issuer, subject), and email-domain JIT roles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ttl_seconds", sa.Integer(), nullable=False, server_default="604800")
        )
    # An email without "primary" is not primary=false (RFC 7644 filters see what was sent).
    with op.batch_alter_table("scim_user_values", schema=None) as batch_op:
        batch_op.alter_column("primary", existing_type=sa.Boolean(), nullable=True)
    op.create_table(
        "org_domains",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verification_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_method", sa.String(length=20), nullable=True),
        sa.Column("verified_by", sa.String(length=200), nullable=True),
        sa.Column("jit_enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_org_domains_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_domains")),
        sa.UniqueConstraint("org_id", "domain", name=op.f("uq_org_domains_org_id_domain")),
    )
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.create_index(
            "uq_org_domains_verified",
            ["domain"],
            unique=True,
            sqlite_where=sa.text("verified_at IS NOT NULL"),
            postgresql_where=sa.text("verified_at IS NOT NULL"),
        )

    op.create_table(
        "org_jit_roles",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_org_jit_roles_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_org_jit_roles_role_id_roles")
        ),
        sa.PrimaryKeyConstraint("org_id", "role_id", name=op.f("pk_org_jit_roles")),
    )
    op.create_table(
        "sso_connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("jit_enabled", sa.Boolean(), nullable=False),
        sa.Column("jit_mode", sa.String(length=20), nullable=False),
        sa.Column("default_role_id", sa.String(length=36), nullable=False),
        sa.Column("require_email_verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["default_role_id"], ["roles.id"], name=op.f("fk_sso_connections_default_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_sso_connections_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connections")),
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_connections_org_id"), ["org_id"], unique=False)

    op.create_table(
        "sso_identities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["sso_connections.id"],
            name=op.f("fk_sso_identities_connection_id_sso_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sso_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_identities")),
        sa.UniqueConstraint(
            "connection_id", "user_id", name=op.f("uq_sso_identities_connection_id_user_id")
        ),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_identities_issuer_subject")),
    )
    with op.batch_alter_table("sso_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sso_identities_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verified_domains_org_id"))

    op.drop_table("verified_domains")


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("ttl_seconds")
    op.execute('UPDATE scim_user_values SET "primary" = false WHERE "primary" IS NULL')
    with op.batch_alter_table("scim_user_values", schema=None) as batch_op:
        batch_op.alter_column("primary", existing_type=sa.Boolean(), nullable=False)
    op.create_table(
        "verified_domains",
        sa.Column("domain", sa.VARCHAR(length=253), nullable=False),
        sa.Column("org_id", sa.VARCHAR(length=36), nullable=False),
        sa.Column("verified_at", sa.DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_verified_domains_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_verified_domains")),
    )
    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verified_domains_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("sso_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_identities_user_id"))

    op.drop_table("sso_identities")
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_connections_org_id"))

    op.drop_table("sso_connections")
    op.drop_table("org_jit_roles")
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_org_domains_verified",
            sqlite_where=sa.text("verified_at IS NOT NULL"),
            postgresql_where=sa.text("verified_at IS NOT NULL"),
        )

    op.drop_table("org_domains")
