"""IdP dialects, normalised in one named place (docs/idp-dialects.md §0, §2.5, §2.6, §5).

Identity providers depart from RFC 7643/7644 in documented, stable ways. Rather than branch
on them in views or services, the server rewrites each request once, here, into the strict
RFC shape that ``patch.parse_patch`` and the validators accept. Each quirk is one small
function naming the IdP, the source and a sample; ``normalise_patch`` and
``normalise_resource`` run them in order and never mutate their input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from scim_server.scim.errors import ScimError
from scim_server.scim.json_tree import copy_tree
from scim_server.scim.patch import IGNORED_PATHLESS_KEYS
from scim_server.scim.patch import find_key
from scim_server.scim.patch import lookup
from scim_server.scim.paths import Path
from scim_server.scim.paths import is_bare_name
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType

Operation = dict[str, Any]
PatchStep = Callable[[Operation, ResourceType], list[Operation]]
ResourceStep = Callable[[dict[str, Any], ResourceType], dict[str, Any]]

_OP_MEMBERS = ("op", "path", "value")


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def normalise_patch(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Rewrite a PatchOp body from any known IdP dialect into strict RFC 7644 §3.5.2.

    Anything that is not recognisably a PatchOp is returned as a copy, for ``parse_patch``
    to reject with the right error.
    """
    result = copy_tree(body)
    if not isinstance(result, dict):
        return result
    key = find_key(result, "Operations")
    if key is None or not isinstance(result[key], list):
        return result
    operations: list[Any] = result[key]
    for step in PATCH_STEPS:
        operations = [new for op in operations for new in _run(step, op, rtype)]
    result[key] = operations
    return result


def normalise_resource(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Rewrite a create (POST) or replace (PUT) body into the schema's shape and casing."""
    result = copy_tree(body)
    if not isinstance(result, dict):
        return result
    for step in RESOURCE_STEPS:
        result = step(result, rtype)
    return result


def _run(step: PatchStep, op: Any, rtype: ResourceType) -> list[Any]:
    return step(op, rtype) if isinstance(op, dict) else [op]


# ---------------------------------------------------------------------------
# PATCH quirks
# ---------------------------------------------------------------------------


def lower_case_op_names(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra's default client capitalises ops; structural names are case-insensitive.

    Entra (docs/idp-dialects.md §0 #5, §2.5; Microsoft: "Don't require a case-sensitive match on
    structural elements ... PATCH op values"): ``{"op":"Replace","path":"active","value":"False"}``
    becomes ``{"op":"replace",...}``; ``"Op"``/``"Path"``/``"Value"`` keys become lower case.
    """
    out: Operation = {}
    for key, value in op.items():
        lowered = key.lower() if isinstance(key, str) else key
        out[lowered if lowered in _OP_MEMBERS else key] = value
    if isinstance(out.get("op"), str):
        out["op"] = out["op"].lower()
    return [out]


def drop_read_only_pathless_keys(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Okta's group rename carries the read-only ``id`` inside a path-less value.

    Okta (docs/idp-dialects.md §1.6, §5; RFC 7644 §3.3 read-only values "SHALL be ignored"):
    ``{"op":"replace","value":{"id":"abf4dd94-…","displayName":"Test SCIMv2"}}`` becomes
    ``{"op":"replace","value":{"displayName":"Test SCIMv2"}}``; ``schemas`` and ``meta`` too.
    """
    value = op.get("value")
    if op.get("path") is not None or not isinstance(value, dict):
        return [op]
    kept = {k: v for k, v in value.items() if str(k).lower() not in IGNORED_PATHLESS_KEYS}
    return [{**op, "value": kept}]


def split_pathless_attribute_paths(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra puts attribute paths as keys of a path-less replace value.

    Entra with ``aadOptscim062020`` and the SCIM Validator (docs/idp-dialects.md §0 #6, §2.5):
    ``{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}``
    becomes a path-less replace of ``displayName`` followed by one replace per path key.
    """
    value = op.get("value")
    if op.get("path") is not None or op.get("op") not in ("add", "replace"):
        return [op]
    if not isinstance(value, dict):
        return [op]
    plain = {k: v for k, v in value.items() if not _is_attribute_path(k, rtype)}
    paths = [
        {"op": op["op"], "path": k, "value": v}
        for k, v in value.items()
        if _is_attribute_path(k, rtype) and not (op["op"] == "add" and v is None)
    ]
    if len(plain) == len(value):
        return [op]
    return ([{**op, "value": plain}] if plain else []) + paths


def _is_attribute_path(key: Any, rtype: ResourceType) -> bool:
    """``name.givenName``, ``emails[type eq "work"].value`` or ``urn:…:User:employeeNumber``."""
    if not isinstance(key, str):
        return False
    urn, rest = rtype.split_urn(key)
    if urn is not None:
        return bool(rest)
    return "." in key or "[" in key


def qualify_manager_path(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra's tutorial names the enterprise manager without its schema URN.

    Entra (docs/idp-dialects.md §2.6, tutorial Example 5):
    ``{"op":"Add","path":"manager","value":[{"$ref":"…","value":"00aa…"}]}``: the path
    becomes ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`` (RFC 7644
    §3.10 resolves unqualified names against the core schema only).
    """
    path = op.get("path")
    if not isinstance(path, str) or not _has_enterprise_manager(rtype):
        return [op]
    text = path.strip()
    if text.lower() == "manager" or text.lower().startswith("manager."):
        return [{**op, "path": f"{ENTERPRISE_USER}:{text}"}]
    return [op]


def wrap_manager_value(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra sends the enterprise manager as a bare id, a list, or ``{"value": ""}`` to clear.

    Entra (docs/idp-dialects.md §2.6, §5; Captain-P-Goldfish/SCIM-SDK#686, directory-scimple#1242):
    ``{"op":"add","path":"urn:…:enterprise:2.0:User:manager","value":"2c2f6fb8-…"}`` gets
    ``"value":{"value":"2c2f6fb8-…"}``; a list value gives its first element; a replace with
    ``""`` or ``{"value":""}`` (the SCIM Validator's removal) becomes a remove, as does
    ``manager.value`` set to ``""``. A remove's stray value is dropped.
    """
    if op.get("path") is None:
        return [_wrap_pathless_manager(op, rtype)]
    path = _resolve(op.get("path"), rtype)
    if path is None or not _is_manager(path):
        return [op]
    if op.get("op") == "remove":
        return [{k: v for k, v in op.items() if k != "value"}]
    if op.get("op") not in ("add", "replace") or op.get("value") is None:
        return [op]
    remove = {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"}
    if path.sub_attribute is not None:
        clearing = path.sub_attribute.name == "value" and op["value"] == ""
        return [remove] if clearing else [op]
    value = manager_value(op["value"])
    return [remove] if value is None else [{**op, "value": value}]


def _wrap_pathless_manager(op: Operation, rtype: ResourceType) -> Operation:
    """``{"urn:…:enterprise:2.0:User": {"manager": "id"}}`` in a path-less value."""
    value = op.get("value")
    if not isinstance(value, dict) or not _has_enterprise_manager(rtype):
        return op
    key = next((k for k in value if _is_enterprise_key(k, rtype)), None)
    extension = value.get(key) if key is not None else None
    manager_key = find_key(extension, "manager") if isinstance(extension, dict) else None
    if extension is None or manager_key is None:
        return op
    wrapped = {**extension, manager_key: manager_value(extension[manager_key])}
    return {**op, "value": {**value, key: wrapped}}


def _is_enterprise_key(key: Any, rtype: ResourceType) -> bool:
    schema = rtype.schema(key) if isinstance(key, str) else None
    return schema is not None and schema.id == ENTERPRISE_USER


def manager_value(raw: Any) -> Any:
    """The complex manager for any shape Entra sends; None means "no manager" (RFC 7643 §4.3)."""
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if isinstance(raw, str):
        return {"value": raw} if raw else None
    if isinstance(raw, dict):
        filled = [v for v in raw.values() if v not in (None, "")]
        return raw if filled else None
    return raw


def expand_member_value_removal(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra's legacy member removal names the members in ``value``: remove only those.

    Entra default client and JumpCloud (docs/idp-dialects.md §0 #8, §2.5, §3.2, §5):
    ``{"op":"Remove","path":"members","value":[{"value":"id1"},{"value":"id2"}]}`` becomes
    ``members[value eq "id1"]`` and ``members[value eq "id2"]`` removals. Read literally,
    "remove members" empties the group (apache/directory-scimple#436); this never does. Any
    multi-valued complex attribute with a ``value`` sub-attribute is treated alike.
    """
    items = op.get("value")
    if op.get("op") != "remove" or not isinstance(items, list):
        return [op]
    path = _resolve(op.get("path"), rtype)
    if path is None or path.value_filter is not None or path.sub_attribute is not None:
        return [op]
    if not (path.attribute.multi_valued and path.attribute.sub("value")):
        return [op]
    ids = [_value_id(item) for item in items]
    if any(value_id is None for value_id in ids):
        return [op]
    base = str(op["path"]).strip()
    return [
        {"op": "remove", "path": f"{base}[value eq {json.dumps(value_id)}]"}
        for value_id in dict.fromkeys(ids)
    ]


def _value_id(item: Any) -> str | None:
    value = lookup(item, "value") if isinstance(item, dict) else item
    return value if isinstance(value, str) and value else None


def wrap_single_multi_valued_value(op: Operation, rtype: ResourceType) -> list[Operation]:
    """A single object for a multi-valued attribute means a one-value list.

    Seen from Entra-style clients (docs/idp-dialects.md §2.5 member adds):
    ``{"op":"add","path":"emails","value":{"value":"x@example.com"}}`` gets
    ``"value":[{"value":"x@example.com"}]``. With a value filter the object is one value
    already (``emails[type eq "work"]``, RFC 7644 §3.5.2.3) and is left alone.
    """
    if op.get("op") not in ("add", "replace") or not isinstance(op.get("value"), dict):
        return [op]
    path = _resolve(op.get("path"), rtype)
    if path is None or path.value_filter is not None or path.sub_attribute is not None:
        return [op]
    if not path.attribute.multi_valued:
        return [op]
    return [{**op, "value": [op["value"]]}]


def coerce_string_booleans(op: Operation, rtype: ResourceType) -> list[Operation]:
    """Entra sends booleans as strings, "True"/"False" (any case), for boolean attributes.

    Entra default client and SCIM Validator (docs/idp-dialects.md §0 #5, §5; AzureAD/
    SCIMReferenceCode#21): ``{"op":"Replace","path":"active","value":"False"}`` gets
    ``"value":false``; ``"primary":"True"`` inside email values and ``{"active":"false"}``
    inside path-less values likewise. Other strings are left for validation to reject.
    """
    if op.get("op") not in ("add", "replace") or "value" not in op:
        return [op]
    if op.get("path") is None:
        return [{**op, "value": _coerce_pathless(op["value"], rtype)}]
    path = _resolve(op["path"], rtype)
    if path is None:
        return [op]
    return [{**op, "value": _coerce(path.sub_attribute or path.attribute, op["value"])}]


PATCH_STEPS: tuple[PatchStep, ...] = (
    lower_case_op_names,
    drop_read_only_pathless_keys,
    split_pathless_attribute_paths,
    qualify_manager_path,
    wrap_manager_value,
    expand_member_value_removal,
    wrap_single_multi_valued_value,
    coerce_string_booleans,
)


# ---------------------------------------------------------------------------
# Create and replace quirks
# ---------------------------------------------------------------------------


# SCIM 1.1 schema URNs (the drafts before RFC 7643) and their RFC 7643 names.
SCIM_1_CORE = "urn:scim:schemas:core:1.0"
SCIM_1_ENTERPRISE = "urn:scim:schemas:extension:enterprise:1.0"


def translate_scim_1_urns(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """OneLogin's SCIM JSON templates name the SCIM 1.1 schemas against a 2.0 base URL.

    OneLogin (docs/idp-dialects.md §3.1; samples ``onelogin-create-user-core-1-0``,
    ``onelogin-create-user-enterprise-1-0``): ``"schemas": ["urn:scim:schemas:core:1.0"]``
    means the resource type's core schema, the key ``urn:scim:schemas:extension:enterprise:1.0``
    means the enterprise extension, and its ``manager.managerId`` (the SCIM 1.1 name) is
    ``manager.value``. Bodies that name no SCIM 1.1 URN are returned unchanged.
    """
    key = find_key(body, "schemas")
    schemas = body.get(key) if key is not None else None
    renamed = {SCIM_1_CORE: rtype.core.id}
    if rtype.schema(ENTERPRISE_USER) is not None:
        renamed[SCIM_1_ENTERPRISE] = ENTERPRISE_USER
    result = {_renamed_urn(k, renamed): v for k, v in body.items()}
    if isinstance(schemas, list):
        result[str(key)] = list(dict.fromkeys(_renamed_urn(s, renamed) for s in schemas))
    extension = result.get(ENTERPRISE_USER)
    if SCIM_1_ENTERPRISE in {str(k).lower() for k in body} and isinstance(extension, dict):
        result[ENTERPRISE_USER] = {**extension, **_scim_1_manager(extension)}
    return result


def _renamed_urn(name: Any, renamed: dict[str, str]) -> Any:
    return renamed.get(name.lower(), name) if isinstance(name, str) else name


def _scim_1_manager(extension: dict[str, Any]) -> dict[str, Any]:
    manager = extension.get("manager")
    if not isinstance(manager, dict) or "managerId" not in manager:
        return {}
    rest = {k: v for k, v in manager.items() if k != "managerId"}
    return {"manager": {**rest, "value": manager["managerId"]}}


def move_urn_qualified_keys(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Attributes named by full URN at the top level belong under their extension object.

    Entra and the SCIM Validator (docs/idp-dialects.md §2.5 shapes, RFC 7644 §3.10):
    ``{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7"}``
    becomes ``{"urn:…:enterprise:2.0:User":{"employeeNumber":"7"}}`` (core-URN names move to
    the top level); the extension is added to ``schemas`` when missing.
    """
    result: dict[str, Any] = {}
    moved: list[str] = []
    for key, value in body.items():
        urn, rest = rtype.split_urn(key) if isinstance(key, str) else (None, "")
        if urn is None:
            result[key] = value
        elif not rest:
            _merge_into(result, urn, value)
        else:
            _place(result, urn, rest, value, rtype)
            moved.append(urn)
    for urn in dict.fromkeys(moved):
        if urn != rtype.core.id:
            _list_schema(result, urn)
    return result


def _merge_into(target: dict[str, Any], key: str, value: Any) -> None:
    current = target.get(key)
    if isinstance(current, dict) and isinstance(value, dict):
        target[key] = {**current, **value}
    else:
        target[key] = value


def _place(body: dict[str, Any], urn: str, rest: str, value: Any, rtype: ResourceType) -> None:
    core = urn == rtype.core.id
    if not core and not isinstance(body.get(urn), dict):
        body[urn] = {}
    target: dict[str, Any] = body if core else body[urn]
    name, _, sub = rest.partition(".")
    if not sub:
        target[name] = value
    elif isinstance(target.setdefault(name, {}), dict):
        target[name][sub] = value


def _list_schema(body: dict[str, Any], urn: str) -> None:
    key = find_key(body, "schemas")
    schemas = body.get(key) if key is not None else None
    if isinstance(schemas, list) and not any(str(s).lower() == urn.lower() for s in schemas):
        body[str(key)] = [*schemas, urn]


def canonicalise_attribute_names(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Attribute names are case-insensitive; store them in the schema's casing.

    Entra (docs/idp-dialects.md §2.1, docs/architecture.md §1; RFC 7643 §2.1):
    ``{"UserName":"bjensen","Name":{"GivenName":"B"}}`` becomes
    ``{"userName":"bjensen","name":{"givenName":"B"}}``. Unknown keys stay as sent, for the
    validator to reject.
    """
    result: dict[str, Any] = {}
    for key, value in body.items():
        schema = rtype.schema(key) if isinstance(key, str) else None
        if isinstance(key, str) and key.lower() == "schemas":
            result["schemas"] = value
        elif schema is not None and schema.id != rtype.core.id and isinstance(value, dict):
            result[schema.id] = _canonical_object(value, _in_schema(rtype, schema.id))
        else:
            attr = rtype.attribute(key) if isinstance(key, str) else None
            result[attr.name if attr else key] = _canonical_value(attr, value) if attr else value
    return result


def _canonical_object(
    obj: dict[str, Any], resolve: Callable[[str], AttributeDef | None]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in obj.items():
        attr = resolve(key) if isinstance(key, str) else None
        result[attr.name if attr else key] = _canonical_value(attr, value) if attr else value
    return result


def _canonical_value(attr: AttributeDef, value: Any) -> Any:
    if not attr.is_complex:
        return value
    if isinstance(value, list):
        return [_canonical_value(attr, item) if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return _canonical_object(value, attr.sub)
    return value


def drop_read_only_attributes(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Read-only values in a create or replace body are ignored (RFC 7644 §3.3, §3.5.1).

    Okta sends ``groups: []`` and echoes ``id`` and ``meta`` in PUT; Entra sends
    ``meta: {"resourceType": "User"}`` (docs/idp-dialects.md §0 #13): all dropped, with read-only
    sub-attributes such as ``members[].display`` and ``manager.displayName`` and the
    read-only product extension. Runs after ``canonicalise_attribute_names``.
    """
    result: dict[str, Any] = {}
    for key, value in body.items():
        schema = rtype.schema(key) if isinstance(key, str) else None
        if schema is not None and schema.id != rtype.core.id and isinstance(value, dict):
            kept = _writable_object(value, _in_schema(rtype, schema.id))
            if kept or not value:
                result[key] = kept
            continue
        attr = rtype.attribute(key) if isinstance(key, str) else None
        if attr is None or not attr.read_only:
            result[key] = _writable_value(attr, value) if attr else value
    return result


def _writable_object(
    obj: dict[str, Any], resolve: Callable[[str], AttributeDef | None]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in obj.items():
        attr = resolve(key) if isinstance(key, str) else None
        if attr is None or not attr.read_only:
            result[key] = _writable_value(attr, value) if attr else value
    return result


def _writable_value(attr: AttributeDef, value: Any) -> Any:
    if not attr.is_complex:
        return value
    if isinstance(value, list):
        return [_writable_value(attr, item) if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return _writable_object(value, attr.sub)
    return value


def wrap_single_multi_valued_objects(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """A single object for a multi-valued attribute in a create or replace body is a list.

    OneLogin's enterprise SCIM JSON template (docs/idp-dialects.md §3.1; sample
    ``onelogin-create-user-enterprise-1-0``) sends ``"emails": {"value": …, "primary": true}``;
    it becomes ``"emails": [{…}]``, as ``wrap_single_multi_valued_value`` does for PATCH.
    Core attributes only: no extension we serve has a multi-valued attribute. Runs after
    ``canonicalise_attribute_names``.
    """
    result: dict[str, Any] = {}
    for key, value in body.items():
        attr = rtype.attribute(key) if isinstance(key, str) else None
        wrap = attr is not None and attr.multi_valued and isinstance(value, dict)
        result[key] = [value] if wrap else value
    return result


def wrap_manager_string(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Entra's create bodies carry the enterprise manager as a bare id.

    Entra (docs/idp-dialects.md §2.6, apache/directory-scimple#1242): ``"manager":"myuser"`` under
    the enterprise URN becomes ``"manager":{"value":"myuser"}``; ``""`` or ``{"value":""}``
    means no manager and is dropped. Runs after ``canonicalise_attribute_names``.
    """
    extension = body.get(ENTERPRISE_USER)
    if not _has_enterprise_manager(rtype) or not isinstance(extension, dict):
        return body
    if "manager" not in extension:
        return body
    value = manager_value(extension["manager"])
    rest = {k: v for k, v in extension.items() if k != "manager"}
    return {**body, ENTERPRISE_USER: rest if value is None else {**rest, "manager": value}}


def coerce_string_booleans_in_body(body: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Entra sends ``"active":"True"`` and ``"primary":"True"`` in create bodies too.

    Entra (docs/idp-dialects.md §0 #5, §5): every boolean attribute, including sub-attributes and
    extension attributes, takes "true"/"false" in any case as the boolean.
    """
    coerced: dict[str, Any] = _coerce_pathless(body, rtype)
    return coerced


RESOURCE_STEPS: tuple[ResourceStep, ...] = (
    translate_scim_1_urns,
    move_urn_qualified_keys,
    canonicalise_attribute_names,
    wrap_single_multi_valued_objects,
    drop_read_only_attributes,
    wrap_manager_string,
    coerce_string_booleans_in_body,
)


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _resolve(text: Any, rtype: ResourceType) -> Path | None:
    """The path, or None when it does not resolve (``parse_patch`` reports that later)."""
    if not isinstance(text, str):
        return None
    try:
        return parse_path(text, rtype)
    except ScimError:
        return None


def _in_schema(rtype: ResourceType, urn: str) -> Callable[[str], AttributeDef | None]:
    return lambda name: rtype.attribute(name, urn)


def _has_enterprise_manager(rtype: ResourceType) -> bool:
    """The resource type has the enterprise ``manager``, and no core attribute of that name."""
    enterprise = rtype.attribute("manager", ENTERPRISE_USER)
    return enterprise is not None and rtype.attribute("manager") is None


def _is_manager(path: Path) -> bool:
    return path.schema == ENTERPRISE_USER and path.attribute.name == "manager"


def _coerce_pathless(value: Any, rtype: ResourceType) -> Any:
    """Coerce string booleans in an object of attributes (path-less value or whole body)."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        urn, rest = rtype.split_urn(key) if isinstance(key, str) else (None, "")
        if urn is not None and not rest and isinstance(item, dict):
            result[key] = {k: _coerce_at(k, v, rtype, urn) for k, v in item.items()}
        else:
            result[key] = _coerce_at(key, item, rtype, None)
    return result


def _coerce_at(key: Any, value: Any, rtype: ResourceType, urn: str | None) -> Any:
    """``key`` as an attribute of the schema ``urn`` (core when None): a bare name is looked
    up, anything else (``name.givenName``, ``emails[…]``) resolved as a path."""
    if isinstance(key, str) and is_bare_name(key):
        attr = rtype.attribute(key, urn)
        return _coerce(attr, value) if attr else value
    path = _resolve(f"{urn}:{key}" if urn else key, rtype)
    return _coerce(path.sub_attribute or path.attribute, value) if path else value


def _coerce(attr: AttributeDef, value: Any) -> Any:
    if attr.is_complex:
        if isinstance(value, list):
            return [_coerce(attr, item) for item in value]
        if isinstance(value, dict):
            return {k: _coerce(sub, v) if (sub := attr.sub(k)) else v for k, v in value.items()}
        return value
    if attr.type != "boolean":
        return value
    if isinstance(value, list):
        return [_to_boolean(item) for item in value]
    return _to_boolean(value)


def _to_boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value
