"""Checks request bodies against 8x8's published OpenAPI file (shared/ beside the repository):
every field known, of the right type, within its documented range."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# verify-api.md documents templateKey (a 2026 field the published OpenAPI file predates).
EXTRA_FIELDS = {"templateKey": {"type": "string"}}


def published_file():
    """The published file, in shared/ beside the repository (as verify-api.md says); None when
    this checkout has none beside it."""
    path = ROOT.parent / "shared" / "8x8-verification-api.openapi.json"
    return path if path.is_file() else None


def load_schema(openapi_path):
    document = json.loads(Path(openapi_path).read_text())
    schemas = document["components"]["schemas"]
    request = json.loads(json.dumps(schemas["VerifyRequestV2"]))
    request["properties"].update(EXTRA_FIELDS)
    return request, schemas


def _resolve(schema, schemas):
    ref = schema.get("$ref")
    if ref:
        return schemas[ref.rsplit("/", 1)[-1]]
    return schema


def problems(value, schema, schemas, where="body"):
    schema = _resolve(schema, schemas)
    found = []
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: required field {name} missing")
        for name, item in value.items():
            if name not in properties:
                found.append(f"{where}: field {name} is not in the published API")
            else:
                found.extend(problems(item, properties[name], schemas, f"{where}.{name}"))
        return found
    if kind == "string" and not isinstance(value, str):
        return [f"{where}: expected a string"]
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}: expected an integer"]
    if kind == "number" and not isinstance(value, (int, float)):
        return [f"{where}: expected a number"]
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where}: expected a boolean"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} is below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: {value} is above {schema['maximum']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(f"{where}: longer than {schema['maxLength']}")
    return found


def check_requests(requests, openapi_path):
    """Returns (number of bodies checked, list of problems)."""
    request_schema, schemas = load_schema(openapi_path)
    checked, found = 0, []
    for entry in requests:
        if entry.get("method") == "POST" and entry.get("path", "").endswith("/sessions"):
            checked += 1
            found.extend(problems(entry.get("body"), request_schema, schemas))
    return checked, found
