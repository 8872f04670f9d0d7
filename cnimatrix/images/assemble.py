"""The building blocks every image recipe uses, from Go modules and Debian packages only.

Binaries come from the Go module proxy, root file systems from Debian via debootstrap, and images
are assembled with `docker import`/`docker commit` (no Dockerfile, so nothing resolves a remote
base image).
"""
from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

from cnimatrix import versions as V
from cnimatrix.images.build import KEY_LABEL, Context, Step, output_dir

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
SCRIPTS = HERE / "scripts"
DEBIAN_MIRROR = os.environ.get("CNIMATRIX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
# Images whose programs call iptables use the backend the node already uses (as kube-proxy's does).
IPTABLES_SELECT = FILES / "net" / "iptables-select"
SELECT_LINKS = {f"etc/alternatives/{t}": "/usr/local/sbin/iptables-select" for t in (
    "iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore")}
PATH_ENV = "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"


# --- binaries from Go modules -------------------------------------------------------------------

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


def bin_of(step: str, name: str) -> Path:
    return output_dir(step) / "bin" / name


# --- Debian root file systems -------------------------------------------------------------------

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


def rootfs_step(name: str, packages: list[str]) -> Step:
    """The step making a Debian root file system named rootfs-<name> with `packages`."""
    return Step(f"rootfs-{name}", f"Debian {V.DEBIAN_SUITE} rootfs ({name})", {"suite": V.DEBIAN_SUITE, "packages": packages},
                debootstrap(packages), files=("root/etc/os-release",))


# --- images from tarballs -----------------------------------------------------------------------

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
