"""The host-load record every summary carries (cnimatrix/hostload.py)."""
import time

from cnimatrix import hostload


def test_summary_of_a_quiet_run():
    got = hostload.summarize([0.5, 1.5, 1.0], cores=2)
    assert got == {"cpus": 2, "samples": 3, "load_1m_mean": 1.0, "load_1m_max": 1.5, "overloaded_share": 0.0,
                   "overloaded_above": 8.0}


def test_share_of_the_run_spent_overloaded():
    got = hostload.summarize([2.0, 9.0, 120.0, 7.9], cores=2)
    assert got["overloaded_share"] == 0.5 and got["load_1m_max"] == 120.0


def test_no_samples_says_so():
    assert hostload.summarize([], cores=4) == {"cpus": 4, "samples": 0}


def test_warning_only_when_overloaded():
    assert hostload.warning(8.0, 2) is None
    note = hostload.warning(118.3, 2)
    assert note.startswith("host load 118 on 2 core(s) (> 8)") and "metrics.host" in note


def test_sampler_samples_until_stopped():
    sampler = hostload.Sampler(every_s=0.01).start()
    time.sleep(0.05)
    got = sampler.stop()
    assert got["samples"] >= 3 and got["cpus"] == hostload.cpus()
    count = len(sampler.samples)
    time.sleep(0.03)
    assert len(sampler.samples) == count  # stopped means stopped
