"""What `make images` builds, from Go modules and Debian packages only, tagged with upstream names.

Binaries come from the Go module proxy, root file systems from Debian via debootstrap, and images
are assembled with `docker import`/`docker commit` (no Dockerfile, so nothing resolves a remote
base image). The kind node image is assembled the way `kind build node-image` does it, minus the
registry pulls: every image a node needs is imported into its containerd at build time.
"""
from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.engine import KEY_LABEL, Context, Step, output_dir

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
SCRIPTS = HERE / "scripts"
DEBIAN_MIRROR = os.environ.get("CNIMATRIX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}

# Packages per root file system. The node gets what kubelet, kubeadm and the CNIs exec.
NODE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "iptables", "nftables", "iproute2", "ethtool", "conntrack",
    "ipset", "util-linux", "mount", "kmod", "libseccomp2", "ca-certificates", "procps", "bash",
    "socat", "ebtables", "jq", "curl", "e2fsprogs", "pigz",
]
NET_PACKAGES = ["iptables", "nftables", "conntrack", "ipset", "iproute2", "kmod", "procps"]
# dig for DNS answers, perl (Time::HiRes) to time libc lookups without a process per lookup; wget,
# socat and iperf (2) because upstream's agnhost image has them and e2e tests exec them.
TOOLS_PACKAGES = ["dnsutils", "curl", "netcat-openbsd", "iproute2", "iputils-ping", "procps", "ca-certificates", "iperf3", "perl",
                  "wget", "socat", "iperf"]
MIN_PACKAGES = ["coreutils", "dash"]
# What calico-node's startup, runit services and Felix exec (upstream's node image, on Debian).
CALICO_NODE_PACKAGES = ["iptables", "ipset", "conntrack", "iproute2", "kmod", "procps", "findutils", "bash", "iputils-ping",
                        "net-tools", "ca-certificates", "runit", "debianutils"]


# --- helpers ----------------------------------------------------------------------------------

def go_build(ctx: Context, module: str, version: str, packages: dict[str, str], *, out: Path | None = None,
             env: dict | None = None, ldflags: str = "-s -w", tags: str = "", upgrades: dict[str, str] | None = None,
             replaces: dict[str, str] | None = None, sums_from: Path | None = None) -> None:
    """Build `packages` ({import path: binary name}) of module@version through a throw-away main
    module. Unlike `go install pkg@version` this needs no version list from the proxy (which it
    refuses for some modules) and it tolerates upstream go.mods with local replace lines.
    `upgrades` raises dependencies whose pinned version the proxy withholds to one it serves;
    `replaces` repeats upstream's replace lines (Go honours them only in the main module) and
    `sums_from` seeds go.sum with upstream's, so versions the checksum database no longer
    answers for still verify."""
    work = ctx.out / "modules" / f"{module.replace('/', '_')}@{version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    requires = "".join(f"require {m} {v}\n" for m, v in {module: version, **(upgrades or {})}.items())
    replace = "".join(f"replace {m} => {target}\n" for m, target in (replaces or {}).items())
    (work / "go.mod").write_text(f"module cnimatrix.local/build\n\ngo 1.26.0\n\n{requires}{replace}")
    if sums_from is not None:
        shutil.copyfile(sums_from, work / "go.sum")
    imports = "\n".join(f'\t_ "{pkg}"' for pkg in packages)
    (work / "tools.go").write_text(f"//go:build tools\n\npackage build\n\nimport (\n{imports}\n)\n")
    build_env = {**GO_ENV, **(env or {})}
    ctx.run("go", "mod", "tidy", "-e", cwd=work, env=build_env)
    target = out or ctx.out / "bin"
    for pkg, name in packages.items():
        args = ["go", "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(target / name)]
        if tags:
            args.append(f"-tags={tags}")
        ctx.run(*args, pkg, cwd=work, env=build_env)


def tar_dir(tar: tarfile.TarFile, src: Path, skip: set[str] = frozenset()) -> None:
    """Add a folder's content, keeping links as links (rootfs trees are full of them); paths in
    `skip` are left out because the caller adds its own version (a tar must not repeat a path)."""
    for path in sorted(src.rglob("*")):
        arcname = str(path.relative_to(src))
        if arcname not in skip:
            tar.add(path, arcname=arcname, recursive=False)


def add_file(tar: tarfile.TarFile, arc: str, data: bytes | Path, mode: int = 0o755) -> None:
    if isinstance(data, Path):
        data = data.read_bytes()
    info = tarfile.TarInfo(arc)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def add_dirs(tar: tarfile.TarFile, *names: str, mode: int = 0o755) -> None:
    for name in names:
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.DIRTYPE, mode
        tar.addfile(info)


def docker_import(ctx: Context, tag: str, fill, changes: list[str]) -> None:
    """Build a root file system tarball with `fill(tar)` and import it as `tag` in one go."""
    archive = ctx.out / "image.tar"
    with tarfile.open(archive, "w") as tar:
        fill(tar)
    args = ["docker", "import"]
    for change in changes + [f"LABEL {KEY_LABEL}={ctx.key}"]:
        args += ["--change", change]
    ctx.run(*args, archive, tag)
    archive.unlink()


MINIMAL_ETC = {
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n",
    "etc/group": b"root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n",
    "etc/nsswitch.conf": b"hosts: files dns\n",
}


def static_image(ctx: Context, tag: str, binaries: dict[str, Path], changes: list[str], extra_dirs=(), extra=None) -> None:
    """An image holding only static binaries and the few files Go programs read (no shell);
    `extra(tar)` adds what else the image needs."""
    def fill(tar: tarfile.TarFile) -> None:
        if extra is not None:
            extra(tar)
        add_dirs(tar, "etc", "var", "usr", "usr/local", "usr/local/bin", *extra_dirs)
        add_dirs(tar, "tmp", mode=0o1777)
        for arc, data in MINIMAL_ETC.items():
            add_file(tar, arc, data, 0o644)
        certs = Path("/etc/ssl/certs/ca-certificates.crt")
        if certs.exists():
            add_dirs(tar, "etc/ssl", "etc/ssl/certs")
            add_file(tar, "etc/ssl/certs/ca-certificates.crt", certs, 0o644)
        for arc, src in binaries.items():
            add_file(tar, arc, src)
    docker_import(ctx, tag, fill, changes)


def rootfs_image(ctx: Context, tag: str, rootfs: str, files: dict[str, Path | bytes], changes: list[str], links: dict[str, str] | None = None,
                 dirs: tuple[str, ...] = (), modes: dict[str, int] | None = None) -> None:
    """A Debian root file system (from a rootfs step) plus files (mode 0755 unless `modes` says
    otherwise) and links; `dirs` become plain directories where the rootfs may have something
    else (a link) at that path."""
    def fill(tar: tarfile.TarFile) -> None:
        tar_dir(tar, output_dir(rootfs) / "root", skip=set(files) | set(links or {}) | set(dirs))
        add_dirs(tar, *dirs)
        for arc, data in files.items():
            add_file(tar, arc, data, (modes or {}).get(arc, 0o755))
        for arc, target in (links or {}).items():
            info = tarfile.TarInfo(arc)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    docker_import(ctx, tag, fill, changes)


def bin_of(step: str, name: str) -> Path:
    return output_dir(step) / "bin" / name


# --- binaries ---------------------------------------------------------------------------------

def build_kind(ctx: Context) -> None:
    go_build(ctx, "sigs.k8s.io/kind", V.KIND, {"sigs.k8s.io/kind": "kind"})


def build_kubernetes(ctx: Context) -> None:
    ctx.run("bash", SCRIPTS / "go-kubernetes.sh", env={**GO_ENV, "KUBERNETES_VERSION": V.KUBERNETES, "OUT": str(ctx.out)})


def build_etcd(ctx: Context) -> None:
    # etcd's go.mods replace sibling modules with local paths: build through a wrapper module.
    version = "v" + V.ETCD.split("-")[0]
    for module, name in (("go.etcd.io/etcd/server/v3", "etcd"), ("go.etcd.io/etcd/etcdctl/v3", "etcdctl"), ("go.etcd.io/etcd/etcdutl/v3", "etcdutl")):
        go_build(ctx, module, version, {module: name})


def build_coredns(ctx: Context) -> None:
    go_build(ctx, "github.com/coredns/coredns", V.COREDNS, {"github.com/coredns/coredns": "coredns"})


def build_node_runtime(ctx: Context) -> None:
    go_build(ctx, "sigs.k8s.io/cri-tools", V.CRICTL, {"sigs.k8s.io/cri-tools/cmd/crictl": "crictl"},
             ldflags=f"-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version={V.CRICTL}")
    containerd = "github.com/containerd/containerd/v2"
    go_build(ctx, containerd, V.CONTAINERD, {f"{containerd}/cmd/{c}": c for c in ("containerd", "ctr", "containerd-shim-runc-v2")},
             tags="no_aufs no_zfs no_btrfs no_devmapper", ldflags=f"-s -w -X {containerd}/version.Version={V.CONTAINERD}")
    # runc needs cgo and libseccomp for seccomp profiles.
    go_build(ctx, "github.com/opencontainers/runc", V.RUNC, {"github.com/opencontainers/runc": "runc"}, tags="seccomp",
             env={"CGO_ENABLED": "1"}, ldflags=f"-s -w -X main.version={V.RUNC.lstrip('v')}")
    plugins = "github.com/containernetworking/plugins"
    go_build(ctx, plugins, V.CNI_PLUGINS, {f"{plugins}/plugins/{p}": p.split("/")[-1] for p in (
        "main/bridge", "main/ptp", "main/loopback", "main/host-device", "ipam/host-local", "meta/portmap", "meta/tuning", "meta/bandwidth")},
        out=ctx.out / "cni")
    go_build(ctx, plugins, V.FLANNEL_CNI_PLUGIN, {f"{plugins}/plugins/meta/flannel": "flannel"}, out=ctx.out / "cni")


def build_pause(ctx: Context) -> None:
    (ctx.out / "bin").mkdir(exist_ok=True)
    ctx.run("gcc", "-Os", "-Wall", "-Werror", "-static", f'-DVERSION="{V.PAUSE}"', "-o", ctx.out / "bin" / "pause", FILES / "pause" / "pause.c")
    ctx.run("strip", ctx.out / "bin" / "pause")


def build_flannel(ctx: Context) -> None:
    # flannel pins tencentcloud-sdk-go common v1.3.79, which the proxy withholds; v1.3.103 is served.
    # Its UDP backend is cgo on amd64 (as upstream builds it); the image's Debian glibc matches the host's.
    go_build(ctx, "github.com/flannel-io/flannel", V.FLANNEL, {"github.com/flannel-io/flannel": "flannel"}, env={"CGO_ENABLED": "1"},
             ldflags=f"-s -w -X github.com/flannel-io/flannel/pkg/version.Version={V.FLANNEL}",
             upgrades={"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common": "v1.3.103"})


CALICO_PKG = V.CALICO_MODULE
CALICO_BINARIES = {
    f"{CALICO_PKG}/node/cmd/calico-node": "calico-node", f"{CALICO_PKG}/node/cmd/mountns": "mountns",
    f"{CALICO_PKG}/cni-plugin/cmd/install": "install", f"{CALICO_PKG}/cni-plugin/cmd/calico": "calico",
    f"{CALICO_PKG}/kube-controllers/cmd/kube-controllers": "kube-controllers",
    f"{CALICO_PKG}/kube-controllers/cmd/check-status": "check-status",
}


def build_calico(ctx: Context) -> None:
    # Without cgo Felix links its libbpf stub: the iptables dataplane only, no BPF dataplane.
    source = upstream.module_dir(V.CALICO_MODULE, V.CALICO_SOURCE)
    replaces = upstream.replaces((source / "go.mod").read_text())
    replaces["github.com/projectcalico/api"] = f"github.com/projectcalico/api {V.CALICO_API}"
    local = [m for m, target in replaces.items() if target.startswith(".")]
    if local:
        raise RuntimeError(f"calico's go.mod replaces {', '.join(local)} with local paths the module zip lacks")
    # -X of a symbol a binary lacks is ignored, so one set of flags serves every binary.
    version_flags = " ".join(f"-X {sym}={V.CALICO}" for sym in (
        "main.VERSION", f"{CALICO_PKG}/node/pkg/lifecycle/startup.VERSION", f"{CALICO_PKG}/node/buildinfo.GitVersion"))
    go_build(ctx, V.CALICO_MODULE, V.CALICO_SOURCE, CALICO_BINARIES, ldflags=f"-s -w {version_flags}",
             upgrades={"github.com/projectcalico/api": V.CALICO_API}, replaces=replaces, sums_from=source / "go.sum")
    shutil.copyfile(ctx.out / "bin" / "calico", ctx.out / "bin" / "calico-ipam")  # one binary, two names upstream too


def build_local_path(ctx: Context) -> None:
    go_build(ctx, "github.com/rancher/local-path-provisioner", V.LOCAL_PATH_PROVISIONER,
             {"github.com/rancher/local-path-provisioner": "local-path-provisioner"}, ldflags=f"-s -w -X main.VERSION={V.LOCAL_PATH_PROVISIONER}")


def debootstrap(packages: list[str]):
    def build(ctx: Context) -> None:
        root = ctx.out / "root"
        shutil.rmtree(root, ignore_errors=True)
        cache = output_dir("debs")
        cache.mkdir(parents=True, exist_ok=True)
        ctx.run("debootstrap", "--variant=minbase", f"--include={','.join(packages)}", f"--cache-dir={cache}",
                V.DEBIAN_SUITE, root, DEBIAN_MIRROR)
        # Slim down: no apt lists, docs or caches inside images.
        for junk in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"):
            shutil.rmtree(root / junk, ignore_errors=True)
        (root / "etc/machine-id").unlink(missing_ok=True)
        (root / "etc/machine-id").write_text("")  # systemd needs the file, the entrypoint fills it
    return build


# --- images -----------------------------------------------------------------------------------

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
IPTABLES_SELECT = FILES / "net" / "iptables-select"
SELECT_LINKS = {f"etc/alternatives/{t}": "/usr/local/sbin/iptables-select" for t in (
    "iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore")}
PATH_ENV = "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"


def build_control_plane_images(ctx: Context) -> None:
    for name in CONTROL_PLANE:
        static_image(ctx, f"registry.k8s.io/{name}:{V.KUBERNETES}", {f"usr/local/bin/{name}": bin_of("kubernetes", name)},
                     [PATH_ENV, f'ENTRYPOINT ["/usr/local/bin/{name}"]'])
    rootfs_image(ctx, f"registry.k8s.io/kube-proxy:{V.KUBERNETES}", "rootfs-net",
                 {"usr/local/bin/kube-proxy": bin_of("kubernetes", "kube-proxy"), "usr/local/sbin/iptables-select": IPTABLES_SELECT},
                 [PATH_ENV, 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]'], SELECT_LINKS)


def build_etcd_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/etcd:{V.ETCD}", {f"usr/local/bin/{n}": bin_of("etcd", n) for n in ("etcd", "etcdctl", "etcdutl")},
                 [PATH_ENV, "WORKDIR /var/lib/etcd", 'CMD ["/usr/local/bin/etcd"]'], extra_dirs=("var/lib", "var/lib/etcd"))


def build_coredns_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/coredns/coredns:{V.COREDNS}", {"coredns": bin_of("coredns", "coredns")},
                 ['ENTRYPOINT ["/coredns"]'])


def build_pause_image(ctx: Context) -> None:
    static_image(ctx, f"registry.k8s.io/pause:{V.PAUSE}", {"pause": bin_of("pause", "pause")}, ['ENTRYPOINT ["/pause"]'])


# What upstream's agnhost Dockerfile (test/images/agnhost) adds beside the binary and its Alpine
# packages: porter's TLS pair, a CoreDNS binary at /coredns (ours: the CoreDNS this project builds,
# v1.14.6, where upstream downloads the v1.6.2 release), /uploads for netexec, an iperf link, and
# the user and group a SupplementalGroups e2e test expects.
AGNHOST_USERS = {"etc/passwd": "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n",
                 "etc/group": "user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n"}


def build_agnhost_image(ctx: Context) -> None:
    porter = upstream.module_dir("k8s.io/kubernetes", V.KUBERNETES) / "test" / "images" / "agnhost" / "porter"
    root = output_dir("rootfs-tools") / "root"
    files = {"agnhost": bin_of("kubernetes", "agnhost"), "coredns": bin_of("coredns", "coredns"),
             "localhost.crt": porter / "localhost.crt", "localhost.key": porter / "localhost.key",
             **{arc: ((root / arc).read_text() + extra).encode() for arc, extra in AGNHOST_USERS.items()}}
    rootfs_image(ctx, f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}", "rootfs-tools", files,
                 [PATH_ENV, 'ENTRYPOINT ["/agnhost"]', 'CMD ["pause"]'], {"agnhost-2": "/agnhost", "usr/local/bin/iperf": "/usr/bin/iperf"},
                 dirs=("uploads",), modes={arc: 0o644 for arc in ("localhost.crt", "localhost.key", *AGNHOST_USERS)})


def build_flannel_image(ctx: Context) -> None:
    rootfs_image(ctx, f"ghcr.io/flannel-io/flannel:{V.FLANNEL}", "rootfs-net",
                 {"opt/bin/flanneld": bin_of("flannel", "flannel"), "usr/local/sbin/iptables-select": IPTABLES_SELECT},
                 [PATH_ENV, 'ENTRYPOINT ["/opt/bin/flanneld"]'], SELECT_LINKS)


def build_local_path_images(ctx: Context) -> None:
    static_image(ctx, f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}",
                 {"usr/bin/local-path-provisioner": bin_of("local-path", "local-path-provisioner")},
                 ['ENTRYPOINT ["/usr/bin/local-path-provisioner"]'])
    rootfs_image(ctx, LOCAL_PATH_HELPER, "rootfs-min", {}, [PATH_ENV, 'CMD ["sh"]'])


def calico_image(name: str) -> str:
    return f"docker.io/calico/{name}:{V.CALICO}"


def build_calico_images(ctx: Context) -> None:
    calico = output_dir("calico") / "bin"
    source = upstream.module_dir(V.CALICO_MODULE, V.CALICO_SOURCE)
    # calico/node: upstream's filesystem (runit services, Felix config, start_runit) on Debian.
    filesystem = source / "node" / "filesystem"
    files: dict[str, Path | bytes] = {f"etc/{p.relative_to(filesystem / 'etc')}": p
                                      for p in (filesystem / "etc").rglob("*") if p.is_file()}
    files.update({f"usr/sbin/{p.name}": p for p in (filesystem / "sbin").iterdir()})
    files.update({"bin/calico-node": calico / "calico-node", "bin/mountns": calico / "mountns"})
    # Debian's runit links /etc/service to its own runsvdir; upstream's services need a real folder.
    service_dirs = sorted({str(Path(arc).parents[i]) for arc in files if arc.startswith("etc/service/")
                           for i in range(len(Path(arc).parts) - 2)})
    rootfs_image(ctx, calico_image("node"), "rootfs-calico", files,
                 [PATH_ENV, "ENV SVDIR=/etc/service/enabled", 'CMD ["start_runit"]'], dirs=tuple(service_dirs))
    # calico/cni: the installer copies everything in /opt/cni/bin onto the node.
    plugins = output_dir("node-runtime") / "cni"
    cni = {f"opt/cni/bin/{n}": calico / n for n in ("install", "calico", "calico-ipam")}
    cni.update({f"opt/cni/bin/{n}": plugins / n for n in ("host-local", "portmap", "loopback", "tuning", "bandwidth", "flannel")})
    static_image(ctx, calico_image("cni"), cni, ["ENV PATH=/opt/cni/bin:/usr/local/bin:/usr/bin:/bin", "WORKDIR /opt/cni/bin",
                                                 'CMD ["/opt/cni/bin/install"]'], extra_dirs=("opt", "opt/cni", "opt/cni/bin"))
    # calico/kube-controllers runs as uid 999 and writes its status and profiles.
    def owned_by_999(tar: tarfile.TarFile) -> None:
        for name in ("status", "profiles"):
            add_dirs(tar, name, mode=0o755)
        for name in ("status/status.json", "profiles/mem.pprof", "profiles/cpu.pprof"):
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = 0o644, 999, 0
            tar.addfile(info, io.BytesIO(b""))
    static_image(ctx, calico_image("kube-controllers"),
                 {"usr/bin/kube-controllers": calico / "kube-controllers", "usr/bin/check-status": calico / "check-status"},
                 ["USER 999", 'ENTRYPOINT ["/usr/bin/kube-controllers"]'], extra_dirs=("usr/bin",), extra=owned_by_999)


LOCAL_PATH_HELPER = "docker.io/kindest/local-path-helper:v20260131-7181c60a"  # kind v0.33.0's helper: sh, rm and mkdir from Debian
NODE_IMAGES_STEPS = ("control-plane-images", "etcd-image", "coredns-image", "pause-image", "agnhost-image", "local-path-images")


def node_preloaded_images() -> list[str]:
    return [
        *(f"registry.k8s.io/{n}:{V.KUBERNETES}" for n in CONTROL_PLANE + ("kube-proxy",)),
        f"registry.k8s.io/etcd:{V.ETCD}", f"registry.k8s.io/coredns/coredns:{V.COREDNS}", f"registry.k8s.io/pause:{V.PAUSE}",
        f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}", LOCAL_PATH_HELPER,
        # Not kind's, but every run needs it: the fixture image. CNI images are loaded into a
        # cluster when it is created, so one node image serves every CNI.
        f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}",
    ]


def build_node_base(ctx: Context) -> None:
    runtime = output_dir("node-runtime")
    files = {f"usr/local/bin/{n}": runtime / "bin" / n for n in ("containerd", "ctr", "containerd-shim-runc-v2", "crictl")}
    files["usr/local/sbin/runc"] = runtime / "bin" / "runc"
    files.update({f"opt/cni/bin/{p.name}": p for p in sorted((runtime / "cni").iterdir())})
    node_files = FILES / "node"
    files.update({str(p.relative_to(node_files)): p for p in node_files.rglob("*") if p.is_file()})
    rootfs_image(ctx, "cnimatrix.local/node-base:build", "rootfs-node", files, [])
    # Finish inside a container: units, base runtime spec without rlimits (raising them needs
    # CAP_SYS_RESOURCE), then commit with kind's node conventions.
    cid = ctx.run("docker", "run", "-d", "--entrypoint=sleep", "cnimatrix.local/node-base:build", "infinity", capture=True).strip()
    try:
        ctx.run("docker", "exec", cid, "bash", "-euc", NODE_BASE_SETUP)
        commit_node(ctx, cid, "cnimatrix.local/node-base:latest")
    finally:
        ctx.run("docker", "rm", "-f", cid)
        ctx.run("docker", "rmi", "cnimatrix.local/node-base:build")


NODE_BASE_SETUP = r"""
chmod 0644 /etc/systemd/system/*.service /etc/systemd/system/*.slice /etc/systemd/system/kubelet.service.d/* /etc/containerd/config.toml /etc/crictl.yaml /etc/default/kubelet /etc/sysctl.d/*
find /etc/systemd/system /lib/systemd/system -path '*.wants/*' -not -name '*journald*' -not -name '*systemd-tmpfiles*' -not -name '*systemd-user-sessions*' -delete
systemctl enable containerd kubelet
systemctl mask systemd-binfmt getty.target console-getty.service systemd-logind.service
mkdir -p /etc/kubernetes/manifests /kind /var/lib/containerd /opt/cni/bin
ctr oci spec | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
ln -sf /lib/systemd/systemd /sbin/init
"""


def commit_node(ctx: Context, cid: str, tag: str) -> None:
    # No STOPSIGNAL: Docker 20.10's commit refuses it, and kind removes nodes with `docker rm -f`.
    ctx.run("docker", "commit",
            "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
            "--change", "ENV container=docker",
            "--change", f"LABEL {KEY_LABEL}={ctx.key}",
            cid, tag)


def build_node_image(ctx: Context) -> None:
    k8s = output_dir("kubernetes") / "bin"
    images_dir = ctx.out / "images"
    shutil.rmtree(images_dir, ignore_errors=True)
    images_dir.mkdir()
    cid = ctx.run("docker", "run", "-d", "--privileged", "--entrypoint=sleep", "cnimatrix.local/node-base:latest", "infinity", capture=True).strip()
    try:
        for name in ("kubeadm", "kubelet", "kubectl"):
            ctx.run("docker", "cp", k8s / name, f"{cid}:/usr/bin/{name}")
        ctx.run("docker", "exec", cid, "sh", "-c", f"echo {V.KUBERNETES} > /kind/version && mkdir -p /kind/images")
        for manifest in (FILES / "kind-manifests").glob("*.yaml"):
            ctx.run("docker", "exec", cid, "mkdir", "-p", "/kind/manifests")
            ctx.run("docker", "cp", manifest, f"{cid}:/kind/manifests/{manifest.name}")
        archive = images_dir / "preload.tar"
        ctx.run("docker", "save", "-o", archive, *node_preloaded_images())
        ctx.run("docker", "cp", archive, f"{cid}:/kind/images/preload.tar")
        archive.unlink()
        # The same import `kind build node-image` performs, from local archives instead of a registry.
        ctx.run("docker", "exec", cid, "bash", "-euc", NODE_IMPORT)
        commit_node(ctx, cid, V.NODE_IMAGE)
    finally:
        ctx.run("docker", "rm", "-f", cid)


NODE_IMPORT = r"""
(containerd >/var/log/containerd-build.log 2>&1 &)
for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done
ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests /kind/images/preload.tar
ctr --namespace=k8s.io images list -q
rm -rf /kind/images
pkill containerd
for i in $(seq 30); do pgrep -x containerd >/dev/null || break; sleep 1; done
"""


def all_steps() -> list[Step]:
    """Every step, in dependency order."""
    from cnimatrix.images import addons, cilium  # imports this module's helpers
    rootfs = lambda name, pkgs: Step(f"rootfs-{name}", f"Debian {V.DEBIAN_SUITE} rootfs ({name})", {"suite": V.DEBIAN_SUITE, "packages": pkgs}, debootstrap(pkgs), files=("root/etc/os-release",))
    return [
        Step("kind", f"kind {V.KIND}", {"kind": V.KIND}, build_kind, files=("bin/kind",)),
        Step("kubernetes", f"Kubernetes {V.KUBERNETES} binaries and agnhost {V.AGNHOST}", {"k8s": V.KUBERNETES}, build_kubernetes,
             files=tuple(f"bin/{n}" for n in CONTROL_PLANE + ("kube-proxy", "kubelet", "kubeadm", "kubectl", "agnhost")), sources=(SCRIPTS / "go-kubernetes.sh",)),
        Step("etcd", f"etcd {V.ETCD}", {"etcd": V.ETCD}, build_etcd, files=("bin/etcd", "bin/etcdctl")),
        Step("coredns", f"CoreDNS {V.COREDNS}", {"coredns": V.COREDNS}, build_coredns, files=("bin/coredns",)),
        Step("pause", f"pause {V.PAUSE}", {"pause": V.PAUSE}, build_pause, files=("bin/pause",), sources=(FILES / "pause",)),
        Step("node-runtime", f"containerd {V.CONTAINERD}, runc {V.RUNC}, crictl {V.CRICTL}, CNI plugins {V.CNI_PLUGINS}",
             {"containerd": V.CONTAINERD, "runc": V.RUNC, "crictl": V.CRICTL, "cni": V.CNI_PLUGINS, "flannel-cni": V.FLANNEL_CNI_PLUGIN},
             build_node_runtime, files=("bin/containerd", "bin/runc", "bin/crictl", "cni/bridge", "cni/flannel")),
        Step("flannel", f"flanneld {V.FLANNEL}", {"flannel": V.FLANNEL}, build_flannel, files=("bin/flannel",)),
        Step("calico", f"Calico {V.CALICO} binaries (source {V.CALICO_SOURCE}, api {V.CALICO_API})",
             {"calico": V.CALICO_SOURCE, "api": V.CALICO_API, "version": V.CALICO}, build_calico,
             files=tuple(f"bin/{n}" for n in (*CALICO_BINARIES.values(), "calico-ipam"))),
        Step("local-path", f"local-path-provisioner {V.LOCAL_PATH_PROVISIONER}", {"lpp": V.LOCAL_PATH_PROVISIONER}, build_local_path, files=("bin/local-path-provisioner",)),
        rootfs("node", NODE_PACKAGES),
        rootfs("net", NET_PACKAGES),
        rootfs("tools", TOOLS_PACKAGES),
        rootfs("min", MIN_PACKAGES),
        rootfs("calico", CALICO_NODE_PACKAGES),
        Step("control-plane-images", "control-plane and kube-proxy images", {}, build_control_plane_images, needs=("kubernetes", "rootfs-net"),
             images=tuple(f"registry.k8s.io/{n}:{V.KUBERNETES}" for n in CONTROL_PLANE + ("kube-proxy",)), sources=(IPTABLES_SELECT,)),
        Step("etcd-image", "etcd image", {}, build_etcd_image, needs=("etcd",), images=(f"registry.k8s.io/etcd:{V.ETCD}",)),
        Step("coredns-image", "CoreDNS image", {}, build_coredns_image, needs=("coredns",), images=(f"registry.k8s.io/coredns/coredns:{V.COREDNS}",)),
        Step("pause-image", "pause image", {}, build_pause_image, needs=("pause",), images=(f"registry.k8s.io/pause:{V.PAUSE}",)),
        Step("agnhost-image", "agnhost fixture image", {}, build_agnhost_image, needs=("kubernetes", "coredns", "rootfs-tools"),
             images=(f"registry.k8s.io/e2e-test-images/agnhost:{V.AGNHOST}",)),
        Step("flannel-image", "flannel image", {}, build_flannel_image, needs=("flannel", "rootfs-net"),
             images=(f"ghcr.io/flannel-io/flannel:{V.FLANNEL}",), sources=(IPTABLES_SELECT,)),
        Step("calico-images", "Calico node, cni and kube-controllers images", {}, build_calico_images,
             needs=("calico", "rootfs-calico", "node-runtime"), images=tuple(calico_image(n) for n in ("node", "cni", "kube-controllers"))),
        Step("local-path-images", "local-path-provisioner and helper images", {}, build_local_path_images, needs=("local-path", "rootfs-min"),
             images=(f"docker.io/rancher/local-path-provisioner:{V.LOCAL_PATH_PROVISIONER}", LOCAL_PATH_HELPER)),
        *cilium.steps(rootfs),
        *addons.steps(rootfs),
        Step("node-base", "kind node base (systemd, containerd, runc, CNI plugins)", {}, build_node_base, needs=("node-runtime", "rootfs-node"),
             images=("cnimatrix.local/node-base:latest",), sources=(FILES / "node",)),
        Step("node-image", f"kind node image {V.NODE_IMAGE}", {"images": node_preloaded_images()}, build_node_image,
             needs=("node-base", "kubernetes", *NODE_IMAGES_STEPS), images=(V.NODE_IMAGE,), sources=(FILES / "kind-manifests",)),
    ]


def steps_for(steps: list[Step], images: list[str]) -> set[str]:
    """Names of the steps a cluster needs: kind itself, the node image's, plus those making
    `images` (a CNI's), each with everything it needs. Raises KeyError naming an image no step makes."""
    by_name = {s.name: s for s in steps}
    maker = {tag: s.name for s in steps for tag in s.images}
    unknown = [tag for tag in images if tag not in maker]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted, todo = set(), ["kind", "node-image", *(maker[tag] for tag in images)]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].needs)
    return wanted
