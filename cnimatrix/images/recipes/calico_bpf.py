"""What calico/node needs for Felix's eBPF dataplane, built as upstream's felix and node Makefiles do.

Upstream ships one calico/node image with both dataplanes, so calico, canal and calico-ebpf share it:
calico-node is linked with cgo against the libbpf vendored in the module (felix/bpf-gpl/include/libbpf,
libbpf 1.2; without cgo Felix links its libbpf stub, iptables only), the BPF programs are compiled with
clang and placed where Felix loads them (felix/bpf/bpfdefs ObjectDir), and the image gets bpftool and
the libraries the cgo binary links. The build host needs BUILD_PACKAGES (`make setup` installs them).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from cnimatrix import upstream
from cnimatrix import versions as V
from cnimatrix.images.assemble import go_build
from cnimatrix.images.build import Context, Step, output_dir

RECIPE = Path(__file__)
# Debian bookworm's LLVM 19 compiles the programs (as for Cilium's agent); libbpf.a needs libelf and zlib
# headers, and felix/bpf/filter imports gopacket/pcap (cgo, pcap.h). Keep cnimatrix/host/setup.sh in step.
BUILD_PACKAGES = ["clang-19", "llvm-19", "libelf-dev", "zlib1g-dev", "libpcap-dev", "make"]
BUILD_NEEDS = {"clang-19": "clang-19", "llc-19": "llvm-19", "make": "make", "/usr/include/libelf.h": "libelf-dev",
               "/usr/include/zlib.h": "zlib1g-dev", "/usr/include/pcap.h": "libpcap-dev"}
# What the cgo calico-node links (libelf, zlib, libpcap; libbpf is static) and the bpftool Felix execs
# (felix/bpf/bpf.go; upstream copies calico/bpftool:v7.4.0 into /bin, Debian's is 7.1).
RUNTIME_PACKAGES = ["libelf1", "zlib1g", "libpcap0.8", "bpftool"]
OBJECT_DIR = "usr/lib/calico/bpf"  # felix/bpf/bpfdefs/defs.go ObjectDir
# Module zips drop the exec bit; without it make cannot run these, still exits 0 and builds 3 objects.
SCRIPTS = ("list-objs", "list-ut-objs", "calculate-flags")


def check_build_host() -> None:
    missing = sorted({pkg for need, pkg in BUILD_NEEDS.items()
                      if not (Path(need).exists() if need.startswith("/") else shutil.which(need))})
    if missing:
        raise RuntimeError(f"Calico's BPF build needs Debian packages {', '.join(missing)}: run `make setup`")


def build_bpf(ctx: Context) -> None:
    """libbpf.a (lib/) and Felix's BPF objects (bpf/), from felix/bpf-gpl and felix/bpf-apache."""
    check_build_host()
    felix = upstream.module_dir(V.CALICO_MODULE, V.CALICO_SOURCE) / "felix"
    src = ctx.out / "src"
    shutil.rmtree(src, ignore_errors=True)
    for part in ("bpf-gpl", "bpf-apache"):  # out of the read-only module cache, writable
        shutil.copytree(felix / part, src / part, copy_function=shutil.copyfile)
    for folder in (src, *(p for p in src.rglob("*") if p.is_dir())):
        folder.chmod(0o755)
    for script in SCRIPTS:
        (src / "bpf-gpl" / script).chmod(0o755)
    # libbpf's Makefile writes amd64/libbpf.pc before it makes amd64/ unless it runs serially (11 s).
    ctx.run("make", "-C", src / "bpf-gpl/include/libbpf/src", "BUILD_STATIC_ONLY=1", "OBJDIR=amd64")
    jobs = f"-j{os.cpu_count() or 1}"
    for part in ("bpf-apache", "bpf-gpl"):  # felix/Makefile build-bpf, without the unit-test objects
        ctx.run("make", jobs, "-C", src / part, "all", "CC=clang-19", "LD=llc-19")
    wanted = ctx.run("./list-objs", cwd=src / "bpf-gpl", capture=True).split()
    absent = [obj for obj in wanted if not (src / "bpf-gpl" / obj).exists()]
    if not wanted or absent:
        raise RuntimeError(f"bpf-gpl built {len(wanted) - len(absent)} of the {len(wanted)} objects list-objs names")
    (ctx.out / "lib").mkdir(exist_ok=True)
    shutil.copyfile(src / "bpf-gpl/include/libbpf/src/amd64/libbpf.a", ctx.out / "lib/libbpf.a")
    objects = ctx.out / "bpf"
    shutil.rmtree(objects, ignore_errors=True)
    objects.mkdir()
    for part in ("bpf-gpl", "bpf-apache"):
        for obj in sorted((src / part / "bin").glob("*.o")):
            shutil.copyfile(obj, objects / obj.name)
    shutil.rmtree(src)  # 140 MB of .ll and .o files


def build_calico_node(ctx: Context, binaries: dict[str, str], **common) -> None:
    """calico-node with cgo (lib.Makefile build_cgo_binary, no tags) against the static libbpf.a: the
    environment's -L comes before the cgo directive's own (felix/bpf/libbpf/libbpf.go), so -lbpf finds it."""
    check_build_host()
    env = {"CGO_ENABLED": "1", "CGO_LDFLAGS": f"-L{output_dir('calico-bpf') / 'lib'}"}
    go_build(ctx, V.CALICO_MODULE, V.CALICO_SOURCE, binaries, env=env, **common)


def node_files() -> dict[str, Path]:
    """The BPF objects as calico/node holds them (node/Makefile filesystem/usr/lib/calico/bpf)."""
    return {f"{OBJECT_DIR}/{obj.name}": obj for obj in sorted((output_dir("calico-bpf") / "bpf").glob("*.o"))}


def steps() -> list[Step]:
    return [Step("calico-bpf", f"Calico {V.CALICO} BPF programs and libbpf (clang-19)",
                 {"calico": V.CALICO_SOURCE, "build_packages": BUILD_PACKAGES}, build_bpf,
                 files=("lib/libbpf.a", "bpf/tc_preamble.o", "bpf/filter.o"), sources=(RECIPE,))]
