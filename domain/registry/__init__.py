"""The grid registry (网格): four levels of grids in effective-dated versions."""

from domain.registry.address_matcher import AddressMatch, AddressMatcher
from domain.registry.config_schema import NearBoundaryPolicy
from domain.registry.loader import level1_and_level2_codes, load_registry_set, load_registry_version
from domain.registry.grid import Grid, GridLevel
from domain.effective import NoVersionInForce
from domain.registry.model import CHINA_TIME, ChainFacts, RegistrySet, RegistryVersion

__all__ = [
    "AddressMatch", "AddressMatcher", "CHINA_TIME", "ChainFacts", "Grid", "GridLevel", "NearBoundaryPolicy",
    "NoVersionInForce", "RegistrySet", "RegistryVersion", "level1_and_level2_codes", "load_registry_set",
    "load_registry_version",
]
