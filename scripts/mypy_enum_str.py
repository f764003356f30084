"""mypy plugin: comparing a str-valued enum with a plain string is a type error.

mypy's `strict_equality` (part of `--strict`) reports `Kind.A == "a"` only when the two types cannot
overlap. A `StrEnum` (or `class K(str, Enum)`) is a subclass of `str`, so `effect.event == "dispatched"`
passes, and so does a string that is no member's value at all (pyright's reportUnnecessaryComparison
catches only the latter). Such a compare kept transferred cases from reaching their new lead (issue 7):
the code tested one string where the enum had grown another member. This plugin makes `==` and `!=`
between such an enum (or an optional one) and a non-enum `str` an error (code `enum-str-compare`); compare
with the member (`effect.event is LifecycleKind.DISPATCHED`) or `match` on the enum with `assert_never`.

mypy then types the failed comparison as Any, so `return kind == "x"` also reports "Returning Any"; both
go once the comparison uses the member. Not caught, because mypy checks them without a method hook whose
errors it keeps: `in` / `not in` against a container of strings, and a right operand that is a union of
string literals. A `case "dispatched":` pattern is caught only by the exhaustiveness check of a `match`
that ends in `assert_never`.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.errorcodes import ErrorCode
from mypy.plugin import MethodContext, Plugin
from mypy.types import Instance, LiteralType, ProperType, Type, UnionType, get_proper_type

ENUM_STR_COMPARE = ErrorCode(
    "enum-str-compare", "Compare a str-valued enum with its members, not with strings", "General"
)

_EQUALITY = ("__eq__", "__ne__")


class EnumStrComparePlugin(Plugin):
    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        method = fullname.rsplit(".", 1)[-1]
        return _check_equality if method in _EQUALITY else None


def plugin(version: str) -> type[Plugin]:
    return EnumStrComparePlugin


def _check_equality(ctx: MethodContext) -> Type:
    if ctx.arg_types and ctx.arg_types[0]:
        left, right = ctx.type, ctx.arg_types[0][0]
        if _mixes_enum_and_str(left, right):
            _fail(ctx, left, right)
    return ctx.default_return_type


def _fail(ctx: MethodContext, left: Type, right: Type) -> None:
    ctx.api.fail(
        f"Comparing a str-valued enum with a plain string (left operand type: {_show(left)}, "
        f"right operand type: {_show(right)}); compare with the enum member instead",
        ctx.context,
        code=ENUM_STR_COMPARE,
    )


def _mixes_enum_and_str(a: Type, b: Type) -> bool:
    left, right = _members(a), _members(b)
    return (any(map(_is_str_enum, left)) and any(map(_is_plain_str, right))) or (
        any(map(_is_str_enum, right)) and any(map(_is_plain_str, left))
    )


def _members(t: Type) -> list[ProperType]:
    p = get_proper_type(t)
    if isinstance(p, UnionType):
        return [m for item in p.items for m in _members(item)]
    return [p]


def _is_str_enum(t: Type) -> bool:
    p = _instance(t)
    return p is not None and p.type.is_enum and p.type.has_base("builtins.str")


def _is_plain_str(t: Type) -> bool:
    p = _instance(t)
    return p is not None and p.type.fullname == "builtins.str"


def _instance(t: Type) -> Instance | None:
    p = get_proper_type(t)
    if isinstance(p, LiteralType):
        return p.fallback
    return p if isinstance(p, Instance) else None


def _show(t: Type) -> str:
    p = get_proper_type(t)
    if isinstance(p, Instance) and p.last_known_value is not None:
        return f'"{p.last_known_value}"'
    return f'"{p}"'
