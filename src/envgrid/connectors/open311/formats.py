"""GeoReport v2 bodies in JSON and XML, and its error arrays (`[{"code": 403, "description": "..."}]`).

XML follows the spec's examples: a plural root (`services`, `service_requests`, `errors`) with one element per
item (`service`, `request`, `error`); a service definition's `attributes` hold `attribute` elements whose
`values` hold `value`; null fields are empty elements; booleans are `true`/`false`.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from starlette.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
#: list element -> the name of each item in XML
ITEM_NAMES = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
              "values": "value"}


def render(body: Any, root: str, fmt: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` (a list under `root`, or a dict for a service definition) as `fmt` (json | xml)."""
    if fmt == "xml":
        element = Element(root)
        _fill(element, root, body)
        text = b'<?xml version="1.0" encoding="utf-8"?>' + tostring(element, encoding="utf-8", xml_declaration=False)
        return Response(text, status, headers, media_type=XML_TYPE)
    return Response(json.dumps(body, ensure_ascii=False).encode("utf-8"), status, headers, media_type=JSON_TYPE)


def errors(status: int, description: str, fmt: str, headers: dict[str, str] | None = None) -> Response:
    """One Open311 error: the HTTP status is its code."""
    return render([{"code": status, "description": description}], "errors", fmt, status, headers)


def _fill(element: Element, name: str, value: Any) -> None:
    if isinstance(value, list):
        item = ITEM_NAMES.get(name, "item")
        for entry in value:
            _fill(SubElement(element, item), item, entry)
    elif isinstance(value, dict):
        for key, entry in value.items():
            _fill(SubElement(element, key), key, entry)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
