"""Traffic steering a Service promises beyond balancing (issue 28, item 3):
- trafficDistribution PreferSameNode: with one backend on each worker, a client on each worker is
  answered by its own node's backend every time (asserted where the CNI's Service proxy declares
  support, reported where it declares none);
- loadBalancerSourceRanges: a MetalLB LoadBalancer that lists one outside client's address answers
  it and keeps another outside client out, while an open twin answers both.
cnimatrix.day2.same_node and cnimatrix.day2.source_ranges hold the judgements; the figures go to
metrics.day2 (same_node, source_ranges)."""
from __future__ import annotations

import pytest
from day2_checks import wait_for
from traffic_checks import SameNodeWorld, SourceRangesWorld

from cnimatrix.day2.same_node import same_node_only
from cnimatrix.day2.source_ranges import admitted_or_kept_out
from cnimatrix.stats import min_requests_for
from cnimatrix.testkit import expect
from cnimatrix.testkit.cells import each_cell
from cnimatrix.testkit.run import run_metrics
from cnimatrix.testkit.timeouts import deadline

pytestmark = pytest.mark.suite("day2")

RANGE_PROBES = 5         # per (client, address) and round


@pytest.mark.title("trafficDistribution PreferSameNode: a client on a node with a backend is answered by that node's backend, every time")
@pytest.mark.requires("traffic_distribution_same_node")
def test_prefer_same_node_keeps_clients_on_their_node(same_node_world: SameNodeWorld, record, request):
    env = same_node_world
    if not wait_for(env.hinted_for_own_node, deadline("steady"), interval_s=0.5):
        pytest.fail(f"the EndpointSlice controller hinted the endpoints {env.node_hints()}, not each for its own node: "
                    f"nothing for the Service proxy to honour", pytrace=False)
    # one backend per node: a proxy ignoring the hints lands on the same node with p = 1/2 per request
    requests = min_requests_for(len(env.backends))

    def keep(conv) -> None:
        cells = {node: cell.to_dict() for node, cell in (conv.last or {}).items()}
        record.metrics["same_node"] = run_metrics(request, "day2")["same_node"] = cells

    expect(record, "same-node", lambda: env.from_each_client(requests), each_cell(same_node_only, "client nodes"),
           timeout="steady", stable=2, what=f"PreferSameNode ClusterIP {env.cluster_ip}:8080", then=keep)


@pytest.mark.title("loadBalancerSourceRanges: a LoadBalancer that lists one outside client answers it and keeps another outside client out")
def test_lb_source_ranges_admit_only_the_listed_client(source_ranges_world: SourceRangesWorld, record, request):
    env = source_ranges_world
    if not wait_for(env.reach_open, deadline("change"), interval_s=1.0):
        pytest.fail(f"the open LoadBalancer {env.open_ip}:8080 did not answer both outside clients: nothing proven", pytrace=False)

    def keep(conv) -> None:
        cells = conv.last or {}
        figures = {role: cells[key].to_dict() for role, key in
                   (("listed", (f"listed {env.listed_ip}", f"ranged {env.ranged_ip}")),
                    ("other", (f"other {env.other_ip}", f"ranged {env.ranged_ip}"))) if key in cells}
        record.metrics["source_ranges"] = run_metrics(request, "day2")["source_ranges"] = figures

    expect(record, "source-ranges", lambda: env.probe(RANGE_PROBES), each_cell(admitted_or_kept_out, "client -> address cells"),
           timeout="steady", stable=2, what=f"loadBalancerSourceRanges [{env.listed_ip}/32] on {env.ranged_ip}:8080", then=keep)
