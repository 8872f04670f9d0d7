"""Typed metrics of summary.json: the records read what the suites write, write it back, agree with
the checked-in schema, and read older or odd files without guards in the readers."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from cnimatrix.results import SUITES, schema, validate
from cnimatrix.results.metrics import TEST_METRICS, RunMetrics, Spread, TestMetrics, test_metrics
from cnimatrix.results.metrics import schema as metrics_schema
from cnimatrix.results.metrics.netpol import NetpolMetrics
from cnimatrix.results.metrics.perf import GrowthCurve
from cnimatrix.results.suites import DEFAULT_SUITES, OPT_IN_SUITES, RUN_ORDER
from cnimatrix.results.typed import Record, fact, rest, schema_defs
from tests.unit import realistic_summaries


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return realistic_summaries.summaries()


def _without_nulls(value: Any) -> Any:
    """The document with every null-valued key removed (null and absent read alike)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# --------------------------------------------------------------------------- the schema


def test_checked_in_schema_carries_what_the_records_generate():
    text = json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
    assert metrics_schema.text(metrics_schema.synced(schema())) == text, \
        "run: python -m cnimatrix.results.metrics.schema --write"


def test_the_schema_check_sees_a_stale_fragment():
    stale = copy.deepcopy(schema())
    del stale["$defs"]["host_load"]["properties"]["load_1m_max"]
    assert metrics_schema.synced(stale) != stale
    assert metrics_schema.synced(stale) == schema()


def test_every_record_field_is_a_schema_property_and_back():
    for name, fragment in metrics_schema.fragments().items():
        assert schema()["$defs"][name] == fragment
    host = schema()["$defs"]["host_load"]
    assert list(host["properties"]) == ["cpus", "samples", "load_1m_mean", "load_1m_max", "overloaded_share",
                                        "overloaded_above", "cluster"]
    assert host["properties"]["cluster"]["$ref"] == "#/$defs/cluster_footprint"
    assert host["additionalProperties"] is False
    assert schema()["$defs"]["addons"]["additionalProperties"] == {"$ref": "#/$defs/addon_install"}
    assert schema()["$defs"]["test_metrics"]["additionalProperties"] == {}   # open: further detail kept


def test_each_suite_has_a_test_metrics_record_picked_by_its_suite():
    assert set(TEST_METRICS) == set(SUITES)
    picks = [c["then"]["properties"]["metrics"]["$ref"] for c in schema()["$defs"]["test"]["allOf"]
             if "metrics" in c.get("then", {}).get("properties", {})]
    assert picks == [f"#/$defs/{record.schema_name()}" for record in TEST_METRICS.values()]


def test_realistic_summaries_validate(docs):
    for doc in docs.values():
        validate(doc)


@pytest.mark.parametrize(("where", "value", "match"), [
    (("metrics", "dns", "latncy_ms"), {}, "'latncy_ms' was unexpected"),
    (("metrics", "bogus"), 1, "'bogus' was unexpected"),
    (("metrics", "host", "cpus"), -1, "less than the minimum"),
    (("metrics", "perf", "datapath", "routes", "pod-cross-node", "ratios", "tcp_1_gbps", "median"), "x", "not of type"),
    (("metrics", "netpol", "time_to_effect_s"), 1.25, "not of type 'object'"),
])
def test_a_run_level_block_is_closed_and_typed(docs, where, value, match):
    doc = copy.deepcopy(docs["calico"])
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(ValueError, match=match):
        validate(doc)


def test_test_metrics_are_typed_by_suite_but_open(docs):
    doc = copy.deepcopy(docs["calico"])
    perf = next(t for t in doc["tests"] if t["suite"] == "perf" and "ratios" in t.get("metrics", {}))
    perf["metrics"]["ratios"]["tcp_1_gbps"]["median"] = "fast"
    with pytest.raises(ValueError, match=r"tests\[\d+\]\.metrics\.ratios"):
        validate(doc)
    doc = copy.deepcopy(docs["calico"])
    doc["tests"][0]["metrics"]["a_new_figure"] = {"anything": [1, "two"]}
    validate(doc)


# --------------------------------------------------------------------------- reading


def test_every_block_reads_and_writes_back_what_the_suites_wrote(docs):
    for doc in docs.values():
        metrics = RunMetrics.from_dict(doc["metrics"])
        assert _without_nulls(metrics.to_dict()) == _without_nulls(doc["metrics"])
        assert set(metrics.to_dict()) == set(doc["metrics"])


def test_every_key_a_test_writes_is_declared_by_its_suite(docs):
    for doc in docs.values():
        for test in doc["tests"]:
            metrics = test_metrics(test)
            assert type(metrics) is TEST_METRICS[test["suite"]]
            assert metrics.extra is None, f"{test['id']}: undeclared {sorted(metrics.extra)}"
            assert _without_nulls(metrics.to_dict()) == _without_nulls(test.get("metrics", {}))


def test_an_undeclared_test_key_is_kept_as_written():
    metrics = test_metrics({"suite": "service", "metrics": {"requests_per_round": 40, "new_figure": [1, 2]}})
    assert metrics.requests_per_round == 40 and metrics.extra == {"new_figure": [1, 2]}
    assert metrics.to_dict() == {"requests_per_round": 40, "new_figure": [1, 2]}


def test_typed_reads_reach_deep_figures(docs):
    metrics = RunMetrics.from_dict(docs["calico"]["metrics"])
    assert metrics.dns.latency_ms.p99 == 2.949
    assert metrics.host.cpus == 2 and metrics.host.load_1m_max == 9.0
    route = metrics.perf.datapath.routes["pod-cross-node"]
    assert route.baseline == "host-cross-node" and route.ratios["tcp_1_gbps"].complete
    assert metrics.perf.growth["service_backends"].points[2].s is None
    assert metrics.addons.installed["traefik"].install_s == 14.0 and metrics.addons.address_pool.startswith("172.18.")
    flannel = RunMetrics.from_dict(docs["flannel"]["metrics"])
    assert flannel.dns.latency_ms is None and flannel.gateway is None and flannel.addons.error
    assert flannel.perf.growth["network_policies"].declared == "not-enforced"


def test_missing_keys_read_as_none():
    assert RunMetrics.from_dict({}) == RunMetrics()
    assert RunMetrics.from_dict(None).perf is None
    assert NetpolMetrics.from_dict({"matrix_connected_s": 1}).live_update is None


def test_a_value_of_another_shape_reads_as_none_and_lists_keep_what_fits():
    """What older (version 1) or hand-made files may hold; current ones are validated first."""
    netpol = NetpolMetrics.from_dict({"time_to_effect_s": 1.25, "live_update": {"first_flip_s": {"p50": 0.1, "max": "n/a"}}})
    assert netpol.time_to_effect_s is None
    assert (netpol.live_update.first_flip_s.p50, netpol.live_update.first_flip_s.max) == (0.1, None)
    curve = GrowthCurve.from_dict({"points": [{"n": "1", "s": 2}, None, {"n": 3, "s": float("nan")}, {"n": 4, "s": 5}]})
    assert [(p.n, p.s) for p in curve.points] == [(None, 2.0), (3, None), (4, 5.0)]
    assert Spread.from_dict({"median": True, "min": 1, "max": 2}).median is None
    assert Spread.from_dict({"median": 1, "min": 1, "max": 2}).median == 1.0


def test_a_spread_is_complete_only_with_median_and_range():
    assert Spread(median=1.0, min=0.5, max=2.0).complete
    assert not Spread(median=1.0, min=None, max=2.0).complete


# --------------------------------------------------------------------------- the machinery


@dataclass(frozen=True)
class Inner(Record):
    """An inner record."""

    size: int | None = fact("A size.", minimum=1)


@dataclass(frozen=True)
class Outer(Record):
    """An outer record."""

    inner: Inner | None = fact("Maybe null.", nullable=True)
    spelled: str | None = fact("A key that is no Python name.", key="spelled-out", required=True)
    others: dict[str, Inner] | None = rest("The rest, by name.")


def test_records_generate_refs_nulls_keys_and_required():
    fragment = Outer.schema()
    assert fragment["properties"]["inner"]["anyOf"] == [{"$ref": "#/$defs/inner"}, {"type": "null"}]
    assert fragment["required"] == ["spelled-out"] and fragment["additionalProperties"] == {"$ref": "#/$defs/inner"}
    assert list(schema_defs(Outer)) == ["outer", "inner"]
    outer = Outer.from_dict({"inner": {"size": 0}, "spelled-out": "x", "a": {"size": 2}, "b": 3})
    assert outer.inner == Inner(size=None) and outer.others == {"a": Inner(2)}   # b does not fit: left out
    assert outer.to_dict() == {"inner": {}, "spelled-out": "x", "a": {"size": 2}}


@dataclass(frozen=True)
class Clash(Record):
    """A record that takes another's schema name."""

    SCHEMA_NAME = "inner"
    other: str | None = fact("Other.")


@dataclass(frozen=True)
class Both(Record):
    """Refers to both."""

    one: Inner | None = fact("One.")
    two: Clash | None = fact("Two.")


def test_two_records_of_one_schema_name_are_refused():
    assert list(schema_defs(Inner)) == ["inner"]
    with pytest.raises(ValueError, match="both named 'inner'"):
        schema_defs(Both)


def test_the_common_test_metrics_read_any_suite():
    metrics = TestMetrics.from_dict({"settle_s": {"a": 1}, "host_load_1m": 3.5, "split": {"x": 1}})
    assert (metrics.settle_s, metrics.host_load_1m, metrics.extra) == ({"a": 1.0}, 3.5, {"split": {"x": 1}})


# --------------------------------------------------------------------------- the suite registry


def test_one_suite_registry_in_two_orders():
    assert sorted(RUN_ORDER) == sorted(SUITES) and len(set(SUITES)) == len(SUITES)
    assert set(OPT_IN_SUITES) <= set(SUITES)
    assert DEFAULT_SUITES == tuple(s for s in RUN_ORDER if s not in OPT_IN_SUITES)
    assert schema()["$defs"]["test"]["properties"]["suite"]["enum"] == list(SUITES)
