"""A JSON Schema validator for the subset docs/json/*.schema.json use (draft 2020-12 keywords):
type, properties, required, additionalProperties, items, enum, const, minimum, pattern, anyOf,
$ref to #/$defs/…, description and title (ignored). Any other keyword is an error, so that a
schema cannot say more than is checked."""

from __future__ import annotations

import re

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_IGNORED = {"$schema", "$id", "$defs", "title", "description", "examples"}
_KNOWN = _IGNORED | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "pattern",
    "anyOf",
    "$ref",
}


def problems(value, schema: dict, root: dict | None = None, where: str = "$") -> list[str]:
    """Every way VALUE breaks SCHEMA, each naming its place ($.a.b[0]); [] when it holds."""
    root = schema if root is None else root
    unknown = set(schema) - _KNOWN
    if unknown:
        return [f"{where}: the schema uses keywords this validator does not check: {unknown}"]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return problems(value, root["$defs"][name], root, where)
    if "anyOf" in schema:
        if any(not problems(value, s, root, where) for s in schema["anyOf"]):
            return []
        return [f"{where}: {value!r:.80} matches none of anyOf"]
    found: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_TYPES[t](value) for t in names):
            return [f"{where}: {value!r:.80} is not of type {types}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r:.80} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r:.80} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        found.append(f"{where}: {value} is below {schema['minimum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r:.80} does not match {schema['pattern']}")
    if isinstance(value, dict):
        found += [
            f"{where}: {k!r} is missing" for k in schema.get("required", ()) if k not in value
        ]
        declared = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in declared:
                found += problems(item, declared[key], root, f"{where}.{key}")
            elif extra is False:
                found.append(f"{where}: {key!r} is not a documented key")
            elif isinstance(extra, dict):
                found += problems(item, extra, root, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], root, f"{where}[{i}]")
    return found
