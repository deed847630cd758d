"""`memtype report --json`: everything in the dumps as one JSON document
(formats.to_json, schema docs/report-json.md)."""
import json
import sys

from .. import formats


def show(dumps, args):
    json.dump(formats.to_json(dumps, args.no_symbolize), sys.stdout, indent=1)
    sys.stdout.write("\n")
