"""Initial schema: the lifecycle data model, and the four built-in roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("exclusive_membership", sa.Boolean(), nullable=False),
        sa.Column("seat_limit", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_normalized", sa.String(length=320), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_normalized", name=op.f("uq_users_email_normalized")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_api_tokens_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_org_id"), ["org_id"], unique=False)

    op.create_table(
        "directories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disconnected_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_directories_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directories")),
        sa.UniqueConstraint("org_id", name=op.f("uq_directories_org_id")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=True),
        sa.Column("target_type", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("membership_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_events_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_membership_id"), ["membership_id"], unique=False
        )
        batch_op.create_index("ix_events_org_cursor", ["org_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_user_id"), ["user_id"], unique=False)

    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_roles_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_roles_org_id_name")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("sso_connection_id", sa.String(length=36), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("access_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_sessions_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sessions_sso_connection_id"), ["sso_connection_id"], unique=False
        )
        batch_op.create_index("ix_sessions_user_org", ["user_id", "org_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_sites_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_sites_org_id_name")),
    )
    op.create_table(
        "verified_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_verified_domains_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_verified_domains")),
    )
    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verified_domains_org_id"), ["org_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("directory_state", sa.String(length=20), nullable=False),
        sa.Column("admin_override", sa.String(length=20), nullable=False),
        sa.Column("override_by", sa.String(length=200), nullable=True),
        sa.Column("override_at", sa.DateTime(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column("link_state", sa.String(length=20), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=True),
        sa.Column(
            "scope",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("access_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_memberships_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_memberships_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("org_id", "user_id", name=op.f("uq_memberships_org_id_user_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "scim_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("directory_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_scim_groups_directory_id_directories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_groups")),
    )
    with op.batch_alter_table("scim_groups", schema=None) as batch_op:
        batch_op.create_index(
            "uq_scim_groups_external_id", ["directory_id", "external_id"], unique=True
        )
    # Expression indexes: autogenerate cannot compare them, so they are written by hand.
    op.create_index(
        "uq_scim_groups_display_name",
        "scim_groups",
        ["directory_id", sa.text("lower(display_name)")],
        unique=True,
    )

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=10), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["scim_groups.id"],
            name=op.f("fk_group_members_group_id_scim_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_member_id"), ["member_id"], unique=False)

    op.create_table(
        "scim_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("directory_id", sa.String(length=36), nullable=False),
        sa.Column("membership_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_scim_users_directory_id_directories"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_scim_users_membership_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_users")),
    )
    with op.batch_alter_table("scim_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scim_users_external_id", ["directory_id", "external_id"], unique=False
        )
        batch_op.create_index(
            "ix_scim_users_live_listing",
            ["directory_id", "id"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_scim_users_membership_id"), ["membership_id"], unique=False
        )
        batch_op.create_index(
            "uq_scim_users_live_external_id",
            ["directory_id", "external_id"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "uq_scim_users_live_membership",
            ["membership_id"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
    op.create_index(
        "ix_scim_users_user_name",
        "scim_users",
        ["directory_id", sa.text("lower(user_name)")],
        unique=False,
    )
    op.create_index(
        "uq_scim_users_live_user_name",
        "scim_users",
        ["directory_id", sa.text("lower(user_name)")],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "site_assignments",
        sa.Column("membership_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_site_assignments_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_assignments_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("membership_id", "site_id", name=op.f("pk_site_assignments")),
    )
    with op.batch_alter_table("site_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_assignments_site_id"), ["site_id"], unique=False)

    op.create_table(
        "scim_user_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("scim_user_id", sa.String(length=36), nullable=False),
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("value_lower", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column(
            "element",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["scim_user_id"],
            ["scim_users.id"],
            name=op.f("fk_scim_user_values_scim_user_id_scim_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_user_values")),
    )
    with op.batch_alter_table("scim_user_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scim_user_values_lookup", ["attribute", "value_lower"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scim_user_values_scim_user_id"), ["scim_user_id"], unique=False
        )

    roles = sa.table(
        "roles",
        sa.column("id", sa.String),
        sa.column("org_id", sa.String),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("privileged", sa.Boolean),
    )
    op.bulk_insert(
        roles,
        [
            {
                "id": f"builtin-{name}",
                "org_id": None,
                "name": name,
                "builtin": True,
                "privileged": name in ("owner", "admin"),
            }
            for name in ("owner", "admin", "member", "viewer")
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("scim_user_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scim_user_values_scim_user_id"))
        batch_op.drop_index("ix_scim_user_values_lookup")

    op.drop_table("scim_user_values")
    with op.batch_alter_table("site_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_assignments_site_id"))

    op.drop_table("site_assignments")
    with op.batch_alter_table("scim_users", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_scim_users_live_membership",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "uq_scim_users_live_external_id",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_scim_users_membership_id"))
        batch_op.drop_index(
            "ix_scim_users_live_listing",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_scim_users_external_id")

    op.drop_index("uq_scim_users_live_user_name", table_name="scim_users")
    op.drop_index("ix_scim_users_user_name", table_name="scim_users")
    op.drop_table("scim_users")
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_member_id"))

    op.drop_table("group_members")
    with op.batch_alter_table("scim_groups", schema=None) as batch_op:
        batch_op.drop_index("uq_scim_groups_external_id")

    op.drop_index("uq_scim_groups_display_name", table_name="scim_groups")
    op.drop_table("scim_groups")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verified_domains_org_id"))

    op.drop_table("verified_domains")
    op.drop_table("sites")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_org")
        batch_op.drop_index(batch_op.f("ix_sessions_sso_connection_id"))

    op.drop_table("sessions")
    op.drop_table("roles")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_user_id"))
        batch_op.drop_index("ix_events_org_cursor")
        batch_op.drop_index(batch_op.f("ix_events_membership_id"))

    op.drop_table("events")
    op.drop_table("directories")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_org_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("organizations")
