from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from envgrid.domain.duplicates import DuplicatePolicy, IncidentIndex, Sighting, merge_zone

T0 = datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
POLICY = DuplicatePolicy(radius_m=150, window=timedelta(hours=72))


def sighting(case_id="C1", category="construction_dust", minutes=0, lon=120.6551, lat=28.0275, grid="330302006044"):
    return Sighting(case_id, category, T0 + timedelta(minutes=minutes), grid, lon, lat)


def test_repeat_report_nearby_within_window_is_a_duplicate():
    index = IncidentIndex()
    index.add(sighting(), POLICY)
    repeat = sighting(case_id="C2", minutes=600, lon=120.6552, lat=28.0276)  # ~15 m away, 10 h later
    assert index.find_duplicate(repeat, POLICY) == "C1"


def test_other_category_far_away_or_late_is_not_a_duplicate():
    index = IncidentIndex()
    index.add(sighting(), POLICY)
    assert index.find_duplicate(sighting(case_id="C2", category="garbage_burning"), POLICY) is None
    assert index.find_duplicate(sighting(case_id="C2", lon=120.6600), POLICY) is None  # ~480 m
    assert index.find_duplicate(sighting(case_id="C2", minutes=73 * 60), POLICY) is None


def test_address_only_reports_match_on_the_same_grid():
    index = IncidentIndex()
    index.add(sighting(lon=None, lat=None), POLICY)
    assert index.find_duplicate(sighting(case_id="C2", lon=None, lat=None), POLICY) == "C1"
    assert index.find_duplicate(sighting(case_id="C2", lon=None, lat=None, grid="330302006045"), POLICY) is None


def test_nearest_of_several_candidates_wins():
    index = IncidentIndex()
    index.add(sighting(case_id="far", lon=120.6562), POLICY)   # ~108 m
    index.add(sighting(case_id="near", lon=120.6553), POLICY)  # ~20 m
    assert index.find_duplicate(sighting(case_id="new"), POLICY) == "near"


def test_old_incidents_are_forgotten_when_new_ones_arrive():
    index = IncidentIndex()
    index.add(sighting(case_id="old"), POLICY)
    index.add(sighting(case_id="new", minutes=80 * 60, lon=121.0), POLICY)
    assert len(index) == 1


@given(st.lists(st.tuples(st.integers(0, 5000), st.floats(-0.01, 0.01), st.floats(-0.01, 0.01)), max_size=30))
def test_index_round_trips_through_table_records(rows):
    index = IncidentIndex()
    for i, (minutes, dlon, dlat) in enumerate(rows):
        index.add(sighting(case_id=f"C{i}", minutes=minutes, lon=120.65 + dlon, lat=28.02 + dlat), POLICY)
    copy = IncidentIndex.from_state(index.to_state())
    probe = sighting(case_id="probe", minutes=2500)
    assert copy.find_duplicate(probe, POLICY) == index.find_duplicate(probe, POLICY)
    assert copy == index


def test_merge_zone_is_the_township_when_known():
    assert merge_zone(["330302006044", "330302006", "330302", "3303"]) == "330302006"
    assert merge_zone(["330302", "3303"]) == "330302"
    assert merge_zone([]) == "triage"


def test_index_round_trips_through_the_tables_codec_compactly():
    from envgrid.streams.state_codec import decode_state, encode_state

    index = IncidentIndex()
    for i in range(40):
        index.add(sighting(case_id=f"C{i}", minutes=i * 30, lon=120.6551 + i * 1e-4), POLICY)
        index.handled(f"R{i}", f"C{i}", False, sighting(minutes=i * 30).occurred_at, POLICY, digest=f"d{i}")
    written = encode_state(index)
    copy = decode_state(written)
    assert copy == index and len(written) < 150 * 40  # a row per sighting and per handled report
    probe = sighting(case_id="probe", minutes=600)
    assert copy.find_duplicate(probe, POLICY) == index.find_duplicate(probe, POLICY)
