"""JSON Lines view of generated events (the CLI's dry run, fixtures, people reading the output)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from envgrid.simulator.model import GeneratedEvent


def to_json(event: GeneratedEvent) -> dict[str, Any]:
    """A JSON-safe dict: datetimes as ISO-8601, raw payload bytes as base64."""
    raw = None
    if event.raw is not None:
        raw = {
            "reason": event.raw.reason,
            "event_name": event.raw.event_name,
            "payload_base64": base64.b64encode(event.raw.payload).decode() if event.raw.payload is not None else None,
            "value": _plain(event.raw.value),
            "keep_fraction": event.raw.keep_fraction,
        }
    return {"kind": event.kind, "key": event.key, "value": _plain(event.value), "raw": raw,
            "truth": _plain(asdict(event.truth))}


def dumps(event: GeneratedEvent) -> str:
    return json.dumps(to_json(event), ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value
