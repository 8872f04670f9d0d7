"""Registry mirrors, the pull path a run takes, and what the registry's access log says the nodes pulled."""
from __future__ import annotations

import pytest

from cnimatrix.registry import pull_path
from cnimatrix.registry.mirrors import (CERTS_D, DEFAULT_HOST, Mirror, MirrorError, hosts_toml, local_mirrors, parse,
                                        readable_yaml, registry_of, with_mirrors, write_hosts)
from cnimatrix.registry.pulls import Pull, not_from_mirror, parse_access_log, unpullable

# Lines as distribution v3.1.0 wrote them here (its access log, then its own log line for the same request).
LOG = """\
172.18.0.3 - - [07/Dec/2026:04:24:13 +0000] "HEAD /v2/docker.io/calico/node/manifests/v3.28.5?ns=docker.io HTTP/1.1" 200 0 "" "containerd/v2.2.1"
time="2026-12-07T04:24:13.537703254Z" level=info msg="response completed" http.request.method=HEAD http.request.uri="/v2/docker.io/calico/node/manifests/v3.28.5?ns=docker.io" http.response.status=200
172.18.0.3 - - [07/Dec/2026:04:24:13 +0000] "GET /v2/docker.io/calico/node/manifests/sha256:0123abcd?ns=docker.io HTTP/1.1" 200 1234 "" "containerd/v2.2.1"
172.18.0.4 - - [07/Dec/2026:04:24:14 +0000] "GET /v2/docker.io/calico/nodex/manifests/v3.28.5?ns=docker.io HTTP/1.1" 404 101 "" "containerd/v2.2.1"
172.18.0.1 - - [07/Dec/2026:04:24:15 +0000] "GET /v2/docker.io/calico/cni/manifests/v3.28.5 HTTP/1.1" 200 529 "" "Python-urllib/3.11"
172.18.0.4 - - [07/Dec/2026:04:24:16 +0000] "HEAD /v2/docker.io/library/traefik/manifests/v3.6.12?ns=docker.io HTTP/1.1" 200 0 "" "containerd/v2.2.1"
"""


# --------------------------------------------------------------------------- REGISTRY_MIRROR

def test_one_mirror_for_every_registry():
    assert parse("mirror.example.com:5000") == {DEFAULT_HOST: Mirror(DEFAULT_HOST, "https", "mirror.example.com:5000")}


def test_per_registry_mirrors_with_scheme_and_path():
    mirrors = parse("docker.io=harbor.example.com/dockerhub-proxy, quay.io=http://10.0.0.5:5000")
    assert mirrors["docker.io"].endpoint == "https://harbor.example.com/v2/dockerhub-proxy"
    assert mirrors["quay.io"].endpoint == "http://10.0.0.5:5000"


@pytest.mark.parametrize("spec, said", [
    ("", "empty entry"), ("a:5000,", "empty entry"), ("ftp://a:5000", "scheme"), ("docker.io=", "not a host"),
    ("bad host=a:5000", "not a registry host"), ("a:5000,b:5000", "every registry twice"),
    ("docker.io=a/v2/x", "leave out /v2"), ("docker.io=a/Upper", "not a repository path"),
])
def test_unclear_mirrors_are_refused_with_why(spec, said):
    with pytest.raises(MirrorError, match=said):
        parse(spec)


def test_hosts_toml_tries_the_mirror_before_the_registry():
    text = hosts_toml(parse("docker.io=http://cnimatrix-registry:5000/docker.io")["docker.io"])
    assert 'server = "https://registry-1.docker.io"' in text
    assert '[host."http://cnimatrix-registry:5000/v2/docker.io"]' in text
    assert 'capabilities = ["pull", "resolve"]' in text and "override_path = true" in text


def test_hosts_toml_without_a_path_keeps_containerds_paths():
    text = hosts_toml(parse("quay.io=mirror:5000")["quay.io"])
    assert 'server = "https://quay.io"' in text and "override_path" not in text


def test_default_hosts_toml_names_no_server():
    assert "server" not in hosts_toml(parse("mirror:5000")[DEFAULT_HOST])


def test_local_registry_stands_in_for_each_images_registry_under_its_own_path():
    mirrors = local_mirrors(["calico/node:v3.28.5", "quay.io/cilium/cilium:v1.20.2", "docker.io/traefik:v3"], "reg:5000")
    assert sorted(mirrors) == ["docker.io", "quay.io"]
    assert mirrors["quay.io"].endpoint == "http://reg:5000/v2/quay.io"
    assert registry_of("registry.k8s.io/pause:3.10.2") == "registry.k8s.io"


def test_mirrors_reach_every_node_and_keep_what_the_config_had(tmp_path):
    folder = write_hosts(parse("docker.io=a:1,quay.io=b:2"), tmp_path / "certs.d")
    assert sorted(p.parent.name for p in folder.glob("*/hosts.toml")) == ["docker.io", "quay.io"]
    base = {"nodes": [{"role": "control-plane", "extraMounts": [{"hostPath": "/x", "containerPath": "/y"}]}, {"role": "worker"}],
            "containerdConfigPatches": ["# kept"]}
    config = with_mirrors(base, folder)
    assert config["containerdConfigPatches"][0] == "# kept" and CERTS_D in config["containerdConfigPatches"][1]
    assert all(node["extraMounts"][-1]["containerPath"] == CERTS_D for node in config["nodes"])
    assert len(config["nodes"][0]["extraMounts"]) == 2 and "extraMounts" not in base["nodes"][1]
    shown = readable_yaml(config)
    assert "&id" not in shown and "config_path" in shown


def test_rewriting_hosts_drops_a_registry_no_longer_mirrored(tmp_path):
    write_hosts(parse("docker.io=a:1,quay.io=b:2"), tmp_path)
    write_hosts(parse("docker.io=a:1"), tmp_path)
    assert [p.parent.name for p in tmp_path.glob("*/hosts.toml")] == ["docker.io"]


# --------------------------------------------------------------------------- the pull path

IMAGES = ["docker.io/calico/node:v3.28.5", "quay.io/metallb/speaker:v0.15.2"]


@pytest.mark.parametrize("offline, env, via", [
    (True, {}, "registry"), (True, {"IMAGES_VIA": "import"}, "import"), (True, {"IMAGES_VIA": "registry"}, "registry"),
    (False, {}, "upstream"), (False, {"REGISTRY_MIRROR": "m:5000"}, "mirror"), (True, {"REGISTRY_MIRROR": "m:5000"}, "mirror"),
])
def test_pull_path_chosen(offline, env, via):
    chosen = pull_path.choose(offline, IMAGES, env)
    assert chosen.via == via
    assert chosen.pulls == (via in ("registry", "mirror"))
    if via == "registry":
        assert sorted(chosen.mirrors) == ["docker.io", "quay.io"]


@pytest.mark.parametrize("env, said", [
    ({"IMAGES_VIA": "pull"}, "IMAGES_VIA must be"), ({"REGISTRY_MIRROR": "ftp://x"}, "scheme"),
    ({"REGISTRY_MIRROR": "m:5000", "IMAGES_VIA": "import"}, "set one of them"),
])
def test_pull_path_settings_refused(env, said):
    assert said in pull_path.setting_problem(env)
    with pytest.raises(MirrorError):
        pull_path.choose(True, IMAGES, env)


def test_pull_path_settings_accepted():
    assert pull_path.setting_problem({}) is None
    assert pull_path.setting_problem({"REGISTRY_MIRROR": "docker.io=m:5000"}) is None


def test_only_pulling_paths_change_the_kind_config(tmp_path):
    base = {"nodes": [{"role": "control-plane"}]}
    assert pull_path.PullPath("import").kind_config(base, tmp_path) == base
    mounted = pull_path.choose(True, IMAGES, {}).kind_config(base, tmp_path)
    assert (tmp_path / "certs.d" / "quay.io" / "hosts.toml").exists() and mounted["nodes"][0]["extraMounts"]


# --------------------------------------------------------------------------- the access log

def test_access_log_read_as_node_pulls_by_tag():
    pulls = parse_access_log(LOG)
    assert pulls == [Pull("172.18.0.3", "docker.io/calico/node:v3.28.5", 200, "containerd/v2.2.1"),
                     Pull("172.18.0.4", "docker.io/calico/nodex:v3.28.5", 404, "containerd/v2.2.1"),
                     Pull("172.18.0.4", "docker.io/library/traefik:v3.6.12", 200, "containerd/v2.2.1")]


def test_every_node_pulled_what_it_runs_from_the_mirror():
    running = {"worker": {"calico/node:v3.28.5", "registry.k8s.io/pause:3.10.2"}, "worker2": {"traefik:v3.6.12"}}
    addresses = {"worker": {"172.18.0.3"}, "worker2": {"172.18.0.4", "fc00::4"}}
    mirrored = ["docker.io/calico/node:v3.28.5", "docker.io/traefik:v3.6.12"]
    assert not_from_mirror(running, parse_access_log(LOG), addresses, mirrored) == []


def test_an_image_a_node_runs_without_pulling_it_is_named():
    running = {"worker": {"calico/node:v3.28.5"}, "worker2": {"calico/node:v3.28.5"}, "worker3": {"calico/nodex:v3.28.5"}}
    addresses = {"worker": {"172.18.0.3"}, "worker2": {"172.18.0.9"}, "worker3": {"172.18.0.4"}}
    mirrored = ["docker.io/calico/node:v3.28.5", "docker.io/calico/nodex:v3.28.5"]
    # worker2 never asked the registry; worker3's pull was refused (404): neither came from the mirror.
    assert not_from_mirror(running, parse_access_log(LOG), addresses, mirrored) == [
        "worker2: docker.io/calico/node:v3.28.5", "worker3: docker.io/calico/nodex:v3.28.5"]


def pod(reason: str, message: str, init: bool = False) -> dict:
    key = "initContainerStatuses" if init else "containerStatuses"
    spec_key = "initContainers" if init else "containers"
    return {"metadata": {"namespace": "kube-system", "name": "calico-node-x"},
            "spec": {spec_key: [{"name": "c", "image": "docker.io/calico/node:v3.28.5"}]},
            "status": {key: [{"name": "c", "state": {"waiting": {"reason": reason, "message": message}}}]}}


NOT_FOUND = ('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/calico/node:v3.28.5": '
             'failed to resolve reference "docker.io/calico/node:v3.28.5": docker.io/calico/node:v3.28.5: not found')


@pytest.mark.parametrize("init", [False, True])
def test_an_image_no_registry_has_is_named(init):
    found = unpullable([pod("ErrImagePull", NOT_FOUND, init)])
    assert len(found) == 1 and found[0].startswith("docker.io/calico/node:v3.28.5 (pod kube-system/calico-node-x:")


@pytest.mark.parametrize("reason, message", [
    ("ErrImagePull", "dial tcp 172.18.0.9:5000: connect: connection refused"),   # the registry away: may come back
    ("ContainerCreating", ""), ("CrashLoopBackOff", "back-off 10s restarting failed container"),
])
def test_other_waits_are_not_called_missing_images(reason, message):
    assert unpullable([pod(reason, message)]) == []


@pytest.mark.parametrize("env, wanted", [({}, True), ({"IMAGES_VIA": "registry"}, True), ({"IMAGES_VIA": "import"}, False),
                                         ({"REGISTRY_MIRROR": "m:5000"}, False)])
def test_the_registry_image_is_built_only_for_runs_that_pull_from_it(monkeypatch, env, wanted):
    from cnimatrix.images.__main__ import cni_steps
    from cnimatrix.images.recipes import all_steps

    for name in ("IMAGES_VIA", "REGISTRY_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert pull_path.local_registry_wanted() is wanted
    assert ("registry-image" in cni_steps(all_steps(), ["calico"])) is wanted


def test_make_registry_pushes_every_catalog_image():
    from cnimatrix.registry.__main__ import catalog_images

    images = catalog_images()
    assert "docker.io/calico/node:v3.28.5" in images and "quay.io/cilium/cilium:v1.20.2" in images
    assert any(i.startswith("gcr.io/k8s-staging-gateway-api/echo-basic:") for i in images)   # the suites' own, not only catalogs'
    assert images == sorted(set(images))
