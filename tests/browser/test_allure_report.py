"""The Allure 3 report of a comparison, built for real: two fake CNIs' allure-results (as allure-pytest writes
them, one result without its `cni` label as a real run has) go through `python -m cnimatrix.compare --allure`,
which runs the pinned `allure` npm package with the machine's Node.js (installing tools/allure/node_modules
with `npm ci` when missing). The report's own data (the files it embeds in its single index.html) must name
both environments and put every test in its CNI's; headless Chromium opens it from disk. Slower than
tests/unit: `.venv/bin/python -m pytest tests/browser -q`."""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cnimatrix.compare import allure, samples
from tests.browser.test_comparison_page import chromium

REPO = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# Two sample columns; a dot in the second makes its Allure environment id differ from its name.
CNIS = {"flannel": {"cni.version": "v0.28.4"}, "flannel-v0.27": {"cni.version": "v0.27.0"}}
SCENARIOS = [("service", "test_clusterip"), ("service", "test_nodeport"), ("dns", "test_a_record"),
             ("dns", "test_srv")]
FAILS = {("flannel-v0.27", "test_srv")}
UNLABELLED = ("flannel", "test_clusterip")  # labelled before the CNI was known, as the first test of a real run


def write_results(folder, cni, properties):
    """allure-pytest-shaped results: one per scenario, a fixture container, an attachment, environment.properties."""
    folder.mkdir(parents=True)
    for suite, test in SCENARIOS:
        test_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cni}/{test}"))
        full_name = f"suites.{suite}.test_{suite}#{test}"
        failed = (cni, test) in FAILS
        labels = [{"name": "suite", "value": suite}, {"name": "framework", "value": "pytest"}]
        if (cni, test) != UNLABELLED:
            labels[:0] = [{"name": "cni", "value": cni}, {"name": "parentSuite", "value": cni}]
        result = {
            "name": test, "fullName": full_name, "uuid": test_uuid, "status": "failed" if failed else "passed",
            "historyId": hashlib.md5(full_name.encode()).hexdigest(), "start": 1795320557837, "stop": 1795320560128,
            "labels": labels, "titlePath": ["suites", suite, f"test_{suite}.py"],
            "statusDetails": {"message": "AssertionError: SRV missing"} if failed else {},
            "attachments": [{"name": "probe log", "source": f"{test_uuid}-attachment.txt", "type": "text/plain"}],
        }
        (folder / f"{test_uuid}-result.json").write_text(json.dumps(result))
        (folder / f"{test_uuid}-attachment.txt").write_text(f"{cni} {test}: 3 rounds matched\n")
        container = {"uuid": str(uuid.uuid4()), "children": [test_uuid], "start": 1795320557000, "stop": 1795320561000,
                     "befores": [{"name": "record", "status": "passed", "start": 1795320557000, "stop": 1795320557001}]}
        (folder / f"{container['uuid']}-container.json").write_text(json.dumps(container))
    props = {"cni": cni, **properties, "kubernetes": "v1.37.1"}
    (folder / "environment.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def embedded(index_html):
    """The report's data files, as the single-file report embeds them: d("name","base64")."""
    pairs = re.findall(r'd\(("(?:[^"\\]|\\.)*"),("(?:[^"\\]|\\.)*")\)', index_html)
    return {json.loads(name): base64.b64decode(json.loads(value)) for name, value in pairs}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(report folder, stdout of the compare command, its data files)."""
    if shutil.which("node") is None:
        pytest.fail("node is missing: the Allure report runs the `allure` npm package with the machine's Node.js")
    reports = tmp_path_factory.mktemp("allure") / "reports"
    samples.write_samples(reports, COMMIT, "v1.37.1")
    for cni, properties in CNIS.items():
        write_results(reports / cni / "allure-results", cni, properties)
    # A relative --reports from another folder, as `make compare` passes it (the CLI runs elsewhere).
    done = subprocess.run([sys.executable, "-m", "cnimatrix.compare", "--reports", "reports", "--allure",
                           *CNIS, "kindnet"], cwd=reports.parent, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    folder = reports / "comparison" / "allure"
    return folder, (done.stdout + done.stderr).splitlines(), embedded((folder / "index.html").read_text("utf-8"))


def test_the_command_says_where_the_report_went(built):
    folder, lines, _ = built
    done = [line for line in lines if "Allure report" in line]
    assert len(done) == 1, lines
    assert re.search(r"Allure report, 2 environments \(flannel, flannel-v0\.27; without allure-results: kindnet\) "
                     r"in [0-9.]+ s -> " + re.escape(str(folder / "index.html")), done[0]), done[0]
    assert any("1 result(s) had no cni label; shown under flannel" in line for line in lines), lines


def test_the_report_is_one_page_that_fetches_nothing(built):
    folder, _, data = built
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "summary.json", "test-results.json"]
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "googletagmanager" not in page
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # scripts and styles are data: URLs
    assert not [name for name in data if name.startswith("http")]
    assert not list(folder.parent.glob(".allure-*")), "the staging folder is left behind"


def test_each_cni_is_its_own_environment(built):
    folder, _, data = built
    envs = {env["id"]: env["name"] for env in json.loads(data["widgets/environments.json"])}
    assert {"flannel": "flannel", "flannel-v0_27": "flannel-v0.27"}.items() <= envs.items(), envs
    assert set(envs) <= {"default", "flannel", "flannel-v0_27"}
    by_test = json.loads((folder / "test-results.json").read_text())["byId"].values()
    placed = sorted((t["environment"], t["name"], t["status"]) for t in by_test)  # environment: its name
    expected = sorted((cni, test, "failed" if (cni, test) in FAILS else "passed") for cni in CNIS
                      for _, test in SCENARIOS)
    assert placed == expected  # the unlabelled result too: nothing lands in Allure's "default"
    for env, cni in (("flannel", "flannel"), ("flannel-v0_27", "flannel-v0.27")):
        variables = json.loads(data[f"widgets/{env}/variables.json"])
        assert variables == {"cni": cni, **CNIS[cni], "kubernetes": "v1.37.1"}
        stats = json.loads(data[f"widgets/{env}/statistic.json"])
        assert stats["total"] == len(SCENARIOS) and stats.get("failed", 0) == (cni == "flannel-v0.27")
    # One CNI's environment.properties is not shown as the whole report's.
    assert json.loads(data["widgets/allure_environment.json"]) == []
    attachments = [body for name, body in data.items() if name.startswith("data/attachments/")]
    assert len(attachments) == 2 * len(SCENARIOS)


def test_chromium_renders_both_environments_from_disk(built):
    folder, _, _ = built
    dom = chromium("--virtual-time-budget=20000", "--dump-dom", (folder / "index.html").as_uri()).stdout
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    for name in CNIS:
        assert f'Environment: "{name}"' in text, text[:2000]


def test_a_failed_install_is_one_line(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH")
    (tmp_path / "package.json").write_text('{"name": "x", "private": true, "dependencies": {}}')  # no lockfile
    with pytest.raises(allure.AllureError) as failed:
        allure.ensure_cli(tmp_path)
    message = str(failed.value)
    assert message.startswith(f"npm ci --prefix {tmp_path} failed (exit ") and "\n" not in message
