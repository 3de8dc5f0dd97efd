"""Validate create/replace bodies with marshmallow schemas built from the registry.

The input has already been normalised by ``compat`` (canonical key case, IdP shapes).
Read-only attributes are dropped first (RFC 7644 §3.3: "SHALL be ignored"); what is left
must match the schema exactly: unknown attributes are ``invalidSyntax``, wrong types and
missing required values ``invalidValue``, each naming the attribute.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from typing import Any

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow.validate import Length

from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType

_UNKNOWN = "Unknown field."


def _iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _length(attr: AttributeDef) -> list[Length]:
    """The schema's ``maxLength`` (README "Limits"): checked here, before any database,
    so a long value is a 400 naming the attribute and the limit, never a 500."""
    if attr.max_length is None:
        return []
    return [Length(max=attr.max_length, error="Longer than the limit of {max} characters.")]


def _scalar(attr: AttributeDef) -> fields.Field[Any]:
    kind = attr.type
    if kind == "boolean":
        return fields.Boolean(truthy={True}, falsy={False}, allow_none=True)
    if kind == "integer":
        return fields.Integer(strict=True, allow_none=True)
    if kind == "decimal":
        return fields.Float(allow_none=True)
    if kind == "dateTime":
        return fields.String(allow_none=True, validate=_check_datetime)
    return fields.String(allow_none=True, validate=_length(attr))


def _check_datetime(value: str) -> None:
    if not _iso_datetime(value):
        raise ValidationError("Not an xsd:dateTime such as 2024-05-01T12:00:00Z.")


def _field(attr: AttributeDef) -> fields.Field[Any]:
    if attr.is_complex:
        inner: fields.Field[Any] = fields.Nested(
            _schema_class(attr.sub_attributes, attr.name), allow_none=True, unknown=RAISE
        )
    else:
        inner = _scalar(attr)
    if attr.multi_valued:
        items = (
            [Length(max=attr.max_items, error="More than the limit of {max} values.")]
            if attr.max_items is not None
            else []
        )
        return fields.List(inner, allow_none=True, validate=items)
    return inner


def _schema_class(attrs: tuple[AttributeDef, ...], name: str) -> type[Schema]:
    declared = {a.name: _field(a) for a in attrs if not a.read_only}
    return Schema.from_dict(declared, name=f"Scim_{name}")


class ResourceValidator:
    """Validates one resource type's bodies; built once per registry."""

    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype
        declared: dict[str, fields.Field[Any]] = {}
        for attr in (*rtype.common, *rtype.core.attributes):
            if not attr.read_only:
                declared[attr.name] = _field(attr)
        # marshmallow reads dots in a field name as nesting, and URNs hold "2.0": extensions
        # load under a plain name (data_key is the URN) and are renamed back afterwards.
        self.extension_names: dict[str, str] = {}
        for index, ext in enumerate(rtype.extensions):
            if all(a.read_only for a in ext.attributes):
                continue
            name = f"extension{index}"
            self.extension_names[name] = ext.id
            declared[name] = fields.Nested(
                _schema_class(ext.attributes, ext.name),
                data_key=ext.id,
                allow_none=True,
                unknown=RAISE,
            )
        declared["schemas"] = fields.List(fields.String(), required=True)
        self.schema = Schema.from_dict(declared, name=f"Scim{rtype.name}")()

    def validate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Return the body with read-only and null values removed; raise on anything wrong."""
        cleaned = nfc_identity(self._drop_read_only(body), self.rtype)
        try:
            loaded: dict[str, Any] = self.schema.load(cleaned, unknown=RAISE)
        except ValidationError as error:
            raise _to_scim_error(error.messages) from None
        for name, urn in self.extension_names.items():
            if name in loaded:
                loaded[urn] = loaded.pop(name)
        for attr in self.rtype.core.attributes:
            if attr.required and _is_empty(loaded.get(attr.name)):
                raise InvalidValueError(f"'{attr.name}' is required.")
            _check_single_primary(attr, loaded.get(attr.name))
        cleaned_doc: dict[str, Any] = _drop_nulls(loaded)
        _check_size(cleaned_doc, self.rtype)
        return cleaned_doc

    def _drop_read_only(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            attr = self.rtype.attribute(key)
            if attr is not None and attr.read_only:
                continue
            schema = self.rtype.schema(key)
            if schema is not None and schema.id != self.rtype.core.id:
                if all(a.read_only for a in schema.attributes):
                    continue
                if isinstance(value, dict):
                    value = {
                        k: v
                        for k, v in value.items()
                        if not ((a := schema.attribute(k)) and a.read_only)
                    }
            out[key] = value
        return out


def nfc_identity(doc: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """NFC the identity strings (``AttributeDef.nfc``) before anything checks or stores
    them, so NFC and NFD spellings of one name are one person (issue: renée twice).

    Runs before the length check: NFC can lengthen a few characters, and the limit must
    hold for what is stored. Values of the wrong type are left for validation to refuse.
    """
    out = dict(doc)
    for attr in rtype.core.attributes:
        value = out.get(attr.name)
        if attr.nfc and isinstance(value, str):
            out[attr.name] = unicodedata.normalize("NFC", value)
        subs = [sub for sub in attr.sub_attributes if sub.nfc]
        if subs and isinstance(value, list):
            out[attr.name] = [_nfc_element(v, subs) for v in value]
    return out


def _nfc_element(element: Any, subs: list[AttributeDef]) -> Any:
    if not isinstance(element, dict):
        return element
    return {
        k: unicodedata.normalize("NFC", v)
        if isinstance(v, str) and any(s.name == k for s in subs)
        else v
        for k, v in element.items()
    }


def _check_size(doc: dict[str, Any], rtype: ResourceType) -> None:
    """The resource type's ``maxResourceBytes`` (README "Limits"): every GET and list page
    returns the stored document, so its size is bounded once, here."""
    limit = rtype.max_resource_bytes
    if limit is None:
        return
    size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > limit:
        raise InvalidValueError(
            f"The {rtype.name} is {size} bytes; the limit is {limit} bytes (maxResourceBytes)."
        )


def _check_single_primary(attr: AttributeDef, values: Any) -> None:
    """RFC 7643 §2.4: the primary value 'true' MUST appear no more than once."""
    if not attr.multi_valued or attr.sub("primary") is None or not isinstance(values, list):
        return
    if sum(1 for v in values if isinstance(v, dict) and v.get("primary") is True) > 1:
        raise InvalidValueError(f"At most one of '{attr.name}' may be primary.")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _drop_nulls(value: Any) -> Any:
    """RFC 7643 §2.5: null and [] mean unassigned; store them as absent."""
    if isinstance(value, dict):
        cleaned = {k: _drop_nulls(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, inner in messages.items():
            name = (
                f"{prefix}.{key}"
                if prefix and not isinstance(key, int)
                else (f"{prefix}[{key}]" if isinstance(key, int) else str(key))
            )
            out.extend(_flatten(inner, name))
        return out
    if isinstance(messages, list):
        return [(prefix, str(m)) for m in messages if not isinstance(m, (dict, list))] + [
            pair for m in messages if isinstance(m, (dict, list)) for pair in _flatten(m, prefix)
        ]
    return [(prefix, str(messages))]


def _to_scim_error(messages: Any) -> InvalidSyntaxError | InvalidValueError:
    problems = _flatten(messages)
    unknown = [name for name, msg in problems if msg == _UNKNOWN]
    if unknown:
        return InvalidSyntaxError(
            f"Unknown attribute(s) {', '.join(sorted(unknown))}: not in the resource's schemas."
        )
    detail = "; ".join(f"'{name}': {msg}" for name, msg in problems)
    return InvalidValueError(f"Invalid value: {detail}")
