#!/usr/bin/python3
"""Validates herd-api responses against the ICAR ADE JSON schemas (tests/data/icar-ade/) with
Debian's python3-jsonschema (a real JSON Schema validator; the schemas use draft-07 and relative
$refs, resolved from the resources/ folder).

usage: icar_validate.py SCHEMA_DIR RESOURCE FILE...
  RESOURCE  e.g. icarAttentionEventResource
  FILE      a herd-api response: {"member": [resource, ...]} or a single resource
Every member must validate; at least one member overall (an empty answer proves nothing).
Exit 0 = all valid, 1 = a member is invalid (errors printed), 2 = usage / unreadable input.

jsonschema 4.10 checks "format": "date-time" only with the rfc3339-validator package, which
Debian 12 does not ship; a checker for it is registered here (RFC 3339 section 5.6 grammar, and
ICAR's "UTC with Z").
"""
import json
import pathlib
import re
import sys
from datetime import datetime

import jsonschema

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir = pathlib.Path(argv[1]).resolve()
    resources = schema_dir / "resources"
    schema_path = resources / (argv[2] + ".json")
    schema = json.loads(schema_path.read_text())
    resolver = jsonschema.RefResolver(base_uri=resources.as_uri() + "/", referrer=schema)
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value):  # noqa: ANN001
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            raise ValueError("not RFC 3339 UTC with Z: " + value)
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    validator = jsonschema.Draft7Validator(schema, resolver=resolver, format_checker=checker)
    count = 0
    bad = 0
    for name in argv[3:]:
        try:
            doc = json.loads(pathlib.Path(name).read_text())
        except (OSError, ValueError) as e:
            print(f"{name}: {e}", file=sys.stderr)
            return 2
        members = doc["member"] if isinstance(doc, dict) and "member" in doc else [doc]
        for i, m in enumerate(members):
            count += 1
            for err in sorted(validator.iter_errors(m), key=str):
                bad += 1
                path = "/".join(str(p) for p in err.absolute_path)
                print(f"{name}: member {i}: {path}: {err.message}")
    if count == 0:
        print("no members to validate", file=sys.stderr)
        return 1
    print(f"{count} {argv[2]} member(s) checked, {bad} error(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
