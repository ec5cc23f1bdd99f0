"""Schemathesis hooks for the butler API: a serializer for NDJSON request bodies (POST /api/logs/ingest)."""
import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()
