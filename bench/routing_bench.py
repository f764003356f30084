"""Routing benchmark: decisions per second on one core and memory of the loaded routing context.

Run: python -m bench.routing_bench [--events N]. Prints, for the same run, a baseline (resolving a
point with a plain shapely STRtree query + contains, no index buckets, no decision) so the ratios are
comparable across machines. Targets: >= 50,000 coordinate decisions/s, loaded registry < 200 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import time
import tracemalloc

import shapely

from envgrid.domain.geo.datums import Datum, from_wgs84
from envgrid.domain.registry.loader import clear_geometry_cache
from envgrid.domain.routing import Coordinates, RoutingInput, load_routing_context

TARGET_COORDINATE_DECISIONS_PER_S = 50_000
TARGET_MEMORY_MB = 200
EVENT_TIME = dt.datetime(2023, 6, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    gc.collect()
    rss_before = _rss_mb()
    started = time.perf_counter()
    context = load_routing_context()
    load_seconds = time.perf_counter() - started
    gc.collect()
    rss_mb = _rss_mb() - rss_before  # includes GEOS (C) memory, which tracemalloc does not see
    clear_geometry_cache()  # load again, traced, for the Python share (tracing slows loading down)
    tracemalloc.start()
    traced_context = load_routing_context()
    traced_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    del traced_context
    gc.collect()

    version = context.registry.at(EVENT_TIME)
    categories = [c.code for c in context.categories]
    rng = random.Random(2016)
    points = _points_in_city(version, rng, args.events)
    leaf_codes = list(version.index.leaf_codes)
    by_coordinates = [
        RoutingInput(f"c{i}", EVENT_TIME, categories[i % len(categories)], coordinates=Coordinates(x, y))
        for i, (x, y) in enumerate(points)
    ]
    by_gcj02 = [
        RoutingInput(f"g{i}", EVENT_TIME, categories[i % len(categories)],
                     coordinates=Coordinates(*from_wgs84(x, y, Datum.GCJ02), Datum.GCJ02))
        for i, (x, y) in enumerate(points[: args.events // 4])
    ]
    by_grid_code = [
        RoutingInput(f"r{i}", EVENT_TIME, categories[i % len(categories)], grid_code=rng.choice(leaf_codes))
        for i in range(args.events)
    ]
    by_address = [
        RoutingInput(f"a{i}", EVENT_TIME, categories[i % len(categories)], address=_address(version, code))
        for i, code in enumerate(rng.choice(leaf_codes) for _ in range(args.events // 4))
    ]

    baseline = _baseline_rate(version, points[: args.events // 4])
    rates = {
        "coordinates (WGS-84) → decision": _rate(context.decide, by_coordinates),
        "coordinates (GCJ-02) → decision": _rate(context.decide, by_gcj02),
        "grid code → decision": _rate(context.decide, by_grid_code),
        "address text → decision": _rate(context.decide, by_address),
    }
    sample = by_coordinates[:20_000]
    near = sum(1 for e in sample if context.decide(e).provenance.near_boundary) / len(sample)

    memory_mb = max(rss_mb, traced_mb)
    print(f"routing context: load {load_seconds:.2f} s; memory: RSS delta {rss_mb:.1f} MB, Python-traced "
          f"{traced_mb:.1f} MB (target < {TARGET_MEMORY_MB} MB) {'OK' if memory_mb < TARGET_MEMORY_MB else 'ABOVE TARGET'}")
    print(f"registry {version.id}: {len(version.grids)} grids, {len(leaf_codes)} leaf polygons; "
          f"{near:.0%} of random points are near a boundary")
    print(f"baseline (STRtree query + contains, location only): {baseline:,.0f} points per CPU-s")
    print(f"{'decisions/s':<36} {'cold wall':>10} {'cold CPU':>10} {'warm CPU':>10} (warm: best of 3 passes)")
    for label, (wall, cpu, warm) in rates.items():
        print(f"{label:<36} {wall:>10,.0f} {cpu:>10,.0f} {warm:>10,.0f}  ({warm / baseline:.2f}x baseline)")
    coordinate_rate = rates["coordinates (WGS-84) → decision"][2]
    verdict = "OK" if coordinate_rate >= TARGET_COORDINATE_DECISIONS_PER_S else "BELOW TARGET"
    print(f"target >= {TARGET_COORDINATE_DECISIONS_PER_S:,} coordinate decisions/s (warm, one core): {verdict}")


def _rate(function, inputs, warm_passes: int = 3) -> tuple[float, float, float]:
    """(first pass per wall-clock second, first pass per CPU second, best warm pass per CPU second).

    CPU seconds of this process are the one-core figure on a shared machine; wall-clock seconds also
    count time the core spent on other processes. The first pass fills the per-version memo of texts
    and targets (cold); the best of the next passes is the steady state of a long-running router.
    """
    for event in inputs[:1000]:
        function(event)
    wall, cpu = time.perf_counter(), time.process_time()
    for event in inputs:
        function(event)
    first_wall, first_cpu = len(inputs) / (time.perf_counter() - wall), len(inputs) / (time.process_time() - cpu)
    best = float("inf")
    for _ in range(warm_passes):
        cpu = time.process_time()
        for event in inputs:
            function(event)
        best = min(best, time.process_time() - cpu)
    return first_wall, first_cpu, len(inputs) / best


def _baseline_rate(version, points, passes: int = 3) -> float:
    polygons = version.index._polygons  # projected leaf polygons
    tree = shapely.STRtree(polygons)
    index = version.index
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        for lon, lat in points:
            x, y = (lon - index._lon0) * index._kx, (lat - index._lat0) * index._ky
            point = shapely.Point(x, y)
            for candidate in tree.query(point):
                if polygons[candidate].contains(point):
                    break
        best = min(best, time.process_time() - started)
    return len(points) / best


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _points_in_city(version, rng: random.Random, count: int) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = 119.62, 27.16, 121.26, 28.62
    points: list[tuple[float, float]] = []
    while len(points) < count:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if version.locate(x, y) is not None:
            points.append((x, y))
    return points


def _address(version, code: str) -> str:
    chain = version.chain(code)
    return "温州市" + "".join(grid.name for grid in reversed(chain[:-1])) + "12号"


if __name__ == "__main__":
    main()
