"""Load the schema documents in ``schemas/`` into a frozen registry.

The JSON files are the single source of truth for attribute metadata: discovery
(/Schemas, /ResourceTypes, /ServiceProviderConfig), validation, projection
(``returned``), mutability, case-exactness in filters and uniqueness all read this
registry. Names resolve case-insensitively (RFC 7643 §2.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from pathlib import Path
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PRODUCT_USER = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _default_schema_dir() -> Path:
    """The wheel's copy (``scim_server/schemas``, put there by setup.py's build hook) when
    installed, else the repository's ``schemas/``, the single source, in a checkout."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "schemas"
    return installed if installed.is_dir() else package.parent / "schemas"


DEFAULT_SCHEMA_DIR = _default_schema_dir()
# Identity strings: uniqueness and lookups compare them NFC-normalised.
NFC_ATTRIBUTES = frozenset(
    {(CORE_USER, "userName"), (CORE_USER, "emails.value"), (CORE_GROUP, "displayName")}
)
_SCHEMA_FILES = ("User.json", "Group.json", "EnterpriseUser.json", "ScimServerUser.json")
# Spellings of attribute names whose ``returned`` a resource type remembers.
_RETURNED_NAMES = 1024


@dataclass(frozen=True)
class AttributeDef:
    """One attribute (or sub-attribute) of a schema, as RFC 7643 §7 describes it."""

    name: str
    type: str
    schema: str
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[AttributeDef, ...] = ()
    parent: str | None = None
    # Our documented extensions of RFC 7643 §7 (README "Limits"): the longest string a
    # client may send, and the most values of a multi-valued attribute. Served at /Schemas.
    max_length: int | None = None
    max_items: int | None = None

    @cached_property
    def nfc(self) -> bool:
        """An identity string, stored and compared in Unicode NFC (docs/lifecycle.md §5.1
        item 12): two canonically equivalent spellings must be one person or one group."""
        return (self.schema, self.dotted) in NFC_ATTRIBUTES

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    @cached_property
    def dotted(self) -> str:
        """The name as a filter or sort key writes it: ``name.givenName``."""
        return f"{self.parent}.{self.name}" if self.parent else self.name

    def sub(self, name: str) -> AttributeDef | None:
        """Find a sub-attribute by name, case-insensitively."""
        return self._subs.get(name.lower())

    @cached_property
    def _subs(self) -> dict[str, AttributeDef]:
        return _by_lower_name(self.sub_attributes)


@dataclass(frozen=True)
class Schema:
    """A schema document: its URN, its attributes and the document itself for /Schemas."""

    id: str
    name: str
    attributes: tuple[AttributeDef, ...]
    document: dict[str, Any] = field(compare=False, hash=False)

    def attribute(self, name: str) -> AttributeDef | None:
        return self._attributes.get(name.lower())

    @cached_property
    def _attributes(self) -> dict[str, AttributeDef]:
        return _by_lower_name(self.attributes)


def _by_lower_name(attributes: tuple[AttributeDef, ...]) -> dict[str, AttributeDef]:
    """Case-insensitive lookup, built once: validation and paths look names up per value."""
    found: dict[str, AttributeDef] = {}
    for attr in attributes:
        found.setdefault(attr.name.lower(), attr)
    return found


@dataclass(frozen=True)
class ResourceType:
    """A resource type: its core schema, its extensions and the common attributes."""

    name: str
    endpoint: str
    core: Schema
    extensions: tuple[Schema, ...]
    common: tuple[AttributeDef, ...]
    document: dict[str, Any] = field(compare=False, hash=False)

    @property
    def max_resource_bytes(self) -> int | None:
        """The largest stored document (compact JSON, UTF-8) of this type: our extension
        ``maxResourceBytes`` of the ResourceType document (README "Limits")."""
        value = self.document.get("maxResourceBytes")
        return int(value) if value is not None else None

    @cached_property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.core.id, *(ext.id for ext in self.extensions))

    def schema(self, urn: str) -> Schema | None:
        """Find the core or an extension schema by URN, case-insensitively."""
        return self._schemas.get(urn.lower())

    @cached_property
    def _schemas(self) -> dict[str, Schema]:
        found: dict[str, Schema] = {}
        for schema in (self.core, *self.extensions):
            found.setdefault(schema.id.lower(), schema)
        return found

    @cached_property
    def _common(self) -> dict[str, AttributeDef]:
        return _by_lower_name(self.common)

    @cached_property
    def _prefixes(self) -> tuple[tuple[str, str], ...]:
        """(lower-cased URN, URN), longest first, for ``split_urn``."""
        ordered = sorted((self.core, *self.extensions), key=lambda s: -len(s.id))
        return tuple((schema.id.lower(), schema.id) for schema in ordered)

    def attribute(self, name: str, urn: str | None = None) -> AttributeDef | None:
        """Find a top-level attribute; without ``urn`` the core schema and common attributes."""
        if urn is not None and urn.lower() != self.core.id.lower():
            ext = self.schema(urn)
            return ext.attribute(name) if ext else None
        return self._common.get(name.lower()) or self.core.attribute(name)

    def returned(self, name: str, urn: str | None = None) -> str | None:
        """The ``returned`` of a top-level attribute (None for an unknown name), looked up
        once per spelling: every response is cut by it, attribute by attribute."""
        key = (name, urn)
        if key in self._returned:
            return self._returned[key]
        attr = self.attribute(name, urn)
        found = attr.returned if attr is not None else None
        if len(self._returned) < _RETURNED_NAMES:  # names come from documents: bounded
            self._returned[key] = found
        return found

    @cached_property
    def _returned(self) -> dict[tuple[str, str | None], str | None]:
        return {}

    def split_urn(self, path: str) -> tuple[str | None, str]:
        """Split ``urn:…:User:name.givenName`` into (schema URN, ``name.givenName``).

        RFC 7644 §3.10: an attribute may be named by its schema URN, a colon and the name.
        """
        lowered = path.lower()
        for prefix, urn in self._prefixes:
            if lowered == prefix:
                return urn, ""
            if lowered.startswith(prefix + ":"):
                return urn, path[len(prefix) + 1 :]
        return None, path


@dataclass(frozen=True)
class SchemaRegistry:
    """Everything loaded from ``schemas/``."""

    schemas: dict[str, Schema]
    resource_types: dict[str, ResourceType]
    service_provider_config: dict[str, Any]

    @property
    def user(self) -> ResourceType:
        return self.resource_types["User"]

    @property
    def group(self) -> ResourceType:
        return self.resource_types["Group"]


def _attribute(raw: dict[str, Any], schema: str, parent: str | None = None) -> AttributeDef:
    name = raw["name"]
    subs = tuple(_attribute(s, schema, name) for s in raw.get("subAttributes", ()))
    return AttributeDef(
        name=name,
        type=raw["type"],
        schema=schema,
        multi_valued=raw.get("multiValued", False),
        required=raw.get("required", False),
        case_exact=raw.get("caseExact", False),
        mutability=raw.get("mutability", "readWrite"),
        returned=raw.get("returned", "default"),
        uniqueness=raw.get("uniqueness", "none"),
        canonical_values=tuple(raw.get("canonicalValues") or ()),
        reference_types=tuple(raw.get("referenceTypes") or ()),
        sub_attributes=subs,
        parent=parent,
        max_length=raw.get("maxLength"),
        max_items=raw.get("maxItems"),
    )


def _read(directory: Path, name: str) -> Any:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def load_registry(directory: Path | None = None) -> SchemaRegistry:
    """Read and freeze the schema documents; called once per app."""
    directory = directory or DEFAULT_SCHEMA_DIR
    schemas: dict[str, Schema] = {}
    for filename in _SCHEMA_FILES:
        doc = _read(directory, filename)
        attrs = tuple(_attribute(a, doc["id"]) for a in doc["attributes"])
        schemas[doc["id"]] = Schema(doc["id"], doc["name"], attrs, doc)
    common = tuple(
        _attribute(a, "common") for a in _read(directory, "common-attributes.json")["attributes"]
    )
    resource_types = {}
    for doc in _read(directory, "ResourceTypes.json"):
        extensions = tuple(schemas[e["schema"]] for e in doc.get("schemaExtensions", ()))
        resource_types[doc["name"]] = ResourceType(
            doc["name"], doc["endpoint"], schemas[doc["schema"]], extensions, common, doc
        )
    spc = _read(directory, "ServiceProviderConfig.json")
    return SchemaRegistry(schemas, resource_types, spc)
