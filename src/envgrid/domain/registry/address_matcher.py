"""Find the most specific grid named in free address text such as "温州市鹿城区五马街道鼓楼社区12号".

Every grid name is indexed under its variants (suffixes 区/县/市, 街道/镇/乡, 社区/村/居委会/村委会 dropped
or swapped); the text is scanned left to right taking the longest known variant at each position. A
name shared by several grids (the same village name in two townships) is settled by the higher levels
that the text also names; when they do not settle it, the match stops at the grids' common parent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from envgrid.domain.registry.grid import Grid

MIN_VARIANT_LENGTH = 2
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "city": ("市",),
    "district": ("区", "县", "市"),
    "functional_zone": (),
    "township": ("街道", "镇", "乡"),
    "village": ("社区居委会", "村民委员会", "居民委员会", "村委会", "居委会", "社区", "村"),
}
_VILLAGE_SPELLINGS = ("村", "社区", "村委会", "居委会")
_TOWNSHIP_SPELLINGS = ("街道", "镇", "乡")


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """The grid the text points to, the names that were recognised, and unresolved alternatives."""

    code: str
    matched_names: tuple[str, ...]
    ambiguous_candidates: tuple[str, ...] = ()  # set when several grids fitted equally: `code` is their parent


class AddressMatcher:
    def __init__(
        self,
        grids: Iterable[Grid],
        chain_of: Callable[[str], tuple[Grid, ...]],
        extra_names: dict[str, list[str]] | None = None,
    ) -> None:
        self._chain_of = chain_of
        variants: dict[str, set[str]] = {}
        for grid in grids:
            for variant in name_variants(grid.name, grid.kind):
                variants.setdefault(variant, set()).add(grid.code)
        for code, names in (extra_names or {}).items():
            for name in names:
                variants.setdefault(name, set()).add(code)
        self._variants = {name: tuple(sorted(codes)) for name, codes in variants.items()}
        self._lengths = sorted({len(name) for name in self._variants}, reverse=True)

    def match(self, text: str) -> AddressMatch | None:
        """The most specific grid the text names (possibly only the city), or None when it names none."""
        groups = self._scan(text)
        if not groups:
            return None
        names = tuple(name for name, _ in groups)
        ancestors_of = {code: {g.code for g in self._chain_of(code)} for _, codes in groups for code in codes}
        scores = {
            code: (sum(1 for _, codes in groups if ancestry.intersection(codes)), self._chain_of(code)[0].level)
            for code, ancestry in ancestors_of.items()
        }
        top = max(score for score, _ in scores.values())
        best = [code for code, (score, _) in scores.items() if score == top]
        return self._most_specific(best, names, ancestors_of)

    def _most_specific(self, best: list[str], names: tuple[str, ...], ancestors_of: dict[str, set[str]]) -> AddressMatch:
        """The deepest level with exactly one candidate wins; a tied level falls back to its common parent."""
        fallback: AddressMatch | None = None
        ambiguous: tuple[str, ...] = ()
        for level in sorted({self._level(code) for code in best}, reverse=True):
            at_level = sorted(code for code in best if self._level(code) == level)
            if len(at_level) == 1:
                if fallback is not None and self._level(fallback.code) > level:
                    return fallback  # a deeper common parent beats a unique but shallower candidate
                return AddressMatch(at_level[0], names, ambiguous)
            ambiguous = ambiguous or tuple(at_level)
            shared = set.intersection(*(ancestors_of[code] for code in at_level))
            parent = max(shared, key=self._level)
            if fallback is None or self._level(parent) > self._level(fallback.code):
                fallback = AddressMatch(parent, names, ambiguous)
        assert fallback is not None
        return fallback

    def _level(self, code: str) -> int:
        return self._chain_of(code)[0].level

    def _scan(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        found = []
        position, end = 0, len(text)
        variants, lengths = self._variants, self._lengths
        while position < end:
            for length in lengths:
                codes = variants.get(text[position : position + length])
                if codes is not None:
                    found.append((text[position : position + length], codes))
                    position += length
                    break
            else:
                position += 1
        return found


def name_variants(name: str, kind: str) -> set[str]:
    """The spellings under which a grid name may appear in an address."""
    variants = {name}
    for suffix in _SUFFIXES.get(kind, ()):
        if name.endswith(suffix) and len(name) - len(suffix) >= MIN_VARIANT_LENGTH:
            base = name[: -len(suffix)]
            variants.add(base)
            spellings = _VILLAGE_SPELLINGS if kind == "village" else _TOWNSHIP_SPELLINGS if kind == "township" else ()
            variants.update(base + spelling for spelling in spellings)
            break
    return {v for v in variants if len(v) >= MIN_VARIANT_LENGTH}

