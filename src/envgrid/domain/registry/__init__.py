"""The grid registry (网格): four levels of grids in effective-dated versions."""

from envgrid.domain.effective import NoVersionInForce
from envgrid.domain.registry.address_matcher import AddressMatch, AddressMatcher
from envgrid.domain.registry.config_schema import NearBoundaryPolicy
from envgrid.domain.registry.grid import Grid, GridLevel
from envgrid.domain.registry.loader import level1_and_level2_codes, load_registry_set, load_registry_version
from envgrid.domain.registry.model import CHINA_TIME, ChainFacts, RegistrySet, RegistryVersion

__all__ = [
    "AddressMatch", "AddressMatcher", "CHINA_TIME", "ChainFacts", "Grid", "GridLevel", "NearBoundaryPolicy",
    "NoVersionInForce", "RegistrySet", "RegistryVersion", "level1_and_level2_codes", "load_registry_set",
    "load_registry_version",
]
