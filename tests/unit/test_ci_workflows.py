"""The GitHub workflows: the nightly matrix is the catalog's nightly list, every step is a make target,
actions are pinned to commits, every job has a time limit."""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

from cnimatrix import ci
from cnimatrix.cni import CNI_DIR, CNI_DIR_ENV, CniDataError, load
from cnimatrix.cni import nightly as catalog_nightly

WORKFLOWS = ci.WORKFLOWS
REPO_ROOT = ci.REPO_ROOT
FROM_JOB = re.compile(r"^\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}$")
STEP_OUTPUT = re.compile(r"^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def matrix_cnis(doc: dict) -> list[str]:
    """The CNIs the nightly conformance job runs: a list written in the workflow, or the JSON that
    `make nightly-matrix` prints in the job it needs (resolved through the job and step outputs)."""
    job = doc["jobs"]["conformance"]
    value = job["strategy"]["matrix"]["cni"]
    if isinstance(value, list):
        return value
    planner, output = FROM_JOB.match(value.strip()).groups()
    assert planner in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])
    step_id, name = STEP_OUTPUT.match(doc["jobs"][planner]["outputs"][output].strip()).groups()
    step = next(s for s in doc["jobs"][planner]["steps"] if s.get("id") == step_id)
    assert step["run"].strip() == f'echo "{name}=$(make --no-print-directory nightly-matrix)" >> "$GITHUB_OUTPUT"'
    return ci.nightly_matrix()


def mismatch(doc: dict) -> str | None:
    ran, wanted = matrix_cnis(doc), catalog_nightly()
    if ran == wanted:
        return None
    return f"nightly matrix runs {ran}, the catalog's nightly list is {wanted}"


@pytest.fixture
def catalog_copy(tmp_path, monkeypatch):
    """The real catalog in a private folder, to add a CNI to."""
    folder = tmp_path / "cnis"
    shutil.copytree(CNI_DIR, folder)
    monkeypatch.setenv(CNI_DIR_ENV, str(folder))
    return folder


def add_cni(folder, name: str, nightly: bool) -> None:
    text = (folder / "flannel.yaml").read_text().replace("name: flannel", f"name: {name}", 1)
    text = re.sub(r"(?m)^nightly: \w+$", f"nightly: {str(nightly).lower()}", text)
    (folder / f"{name}.yaml").write_text(text)


# --------------------------------------------------------------------------- the matrix


def test_nightly_matrix_is_the_catalogs_nightly_list(monkeypatch):
    monkeypatch.delenv(CNI_DIR_ENV, raising=False)
    assert mismatch(workflow("nightly.yml")) is None
    assert {"calico", "flannel"} <= set(matrix_cnis(workflow("nightly.yml")))


def test_a_cni_added_to_the_catalog_joins_the_generated_matrix(catalog_copy):
    add_cni(catalog_copy, "toy", nightly=True)
    assert "toy" in matrix_cnis(workflow("nightly.yml"))
    assert mismatch(workflow("nightly.yml")) is None


def test_a_written_out_matrix_missing_a_new_cni_fails_the_check(catalog_copy):
    doc = copy.deepcopy(workflow("nightly.yml"))
    doc["jobs"]["conformance"]["strategy"]["matrix"]["cni"] = catalog_nightly()
    assert mismatch(doc) is None
    add_cni(catalog_copy, "toy", nightly=True)
    assert "toy" in (mismatch(doc) or "")


def test_every_cni_file_decides_whether_it_runs_nightly():
    """A CNI added without saying `nightly: true|false` fails here, so leaving it out is a decision."""
    undecided = [p.name for p in sorted(CNI_DIR.glob("*.yaml")) if not re.search(r"(?m)^nightly: (true|false)$", p.read_text())]
    assert not undecided, f"add `nightly: true` or `nightly: false` to {', '.join(undecided)}"


def test_nightly_flag_is_validated(catalog_copy):
    add_cni(catalog_copy, "toy", nightly=False)
    assert load("toy").nightly is False and "toy" not in catalog_nightly()
    path = catalog_copy / "toy.yaml"
    path.write_text(path.read_text().replace("nightly: false", "nightly: sometimes"))
    with pytest.raises(CniDataError, match=r"nightly: must be true or false"):
        load("toy")


def test_matrix_command_prints_json_and_refuses_an_empty_list(catalog_copy, capsys):
    assert ci.main(["matrix"]) == 0
    assert json.loads(capsys.readouterr().out) == catalog_nightly()
    for path in catalog_copy.glob("*.yaml"):
        path.write_text(path.read_text().replace("nightly: true", "nightly: false"))
    assert ci.main(["matrix"]) == 2
    assert "nightly: true" in capsys.readouterr().err


def test_make_nightly_matrix_runs_the_ci_module():
    dry = subprocess.run(["make", "-n", "--no-print-directory", "nightly-matrix"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "-m cnimatrix.ci matrix" in dry.stdout


# --------------------------------------------------------------------------- every workflow


def make_targets() -> set[str]:
    return set(re.findall(r"(?m)^([\w-]+):", (REPO_ROOT / "Makefile").read_text()))


@pytest.mark.parametrize("name", ["nightly.yml", "ci.yml"])
def test_every_step_is_a_make_target_or_a_pinned_action(name):
    targets = make_targets()
    for job_name, job in workflow(name)["jobs"].items():
        assert job.get("timeout-minutes"), f"{name}: job {job_name} has no timeout"
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{name}: {step['uses']} is not pinned to a commit"
                continue
            used = re.findall(r"make (?:--no-print-directory )?([\w-]+)", step["run"])
            assert used and set(used) <= targets, f"{name}: step {step.get('name')!r} is not a make target: {step['run']}"


@pytest.mark.parametrize("name", ["nightly.yml", "ci.yml"])
def test_reports_are_uploaded_even_when_checks_fail(name):
    uploads = [s for job in workflow(name)["jobs"].values() for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and all(s.get("if") == "always()" for s in uploads)


def test_pins_name_their_release_tag():
    for name in ("nightly.yml", "ci.yml"):
        for line in (WORKFLOWS / name).read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line
