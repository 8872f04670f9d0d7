"""Cluster add-on images (Traefik, MetalLB) and the Ingress/Gateway echo backend, from Go modules.

Versions and tags come from the add-on catalog (addons/*.yaml), so the image built here and the
one pulled online carry the same name. Layouts follow upstream's Dockerfiles read from the pinned
modules: Traefik is alpine + CA certificates + tzdata + /traefik upstream; here it is a static
image with the CA bundle and Go's embedded time zone database (tag timetzdata) instead of tzdata.
MetalLB's controller and speaker are distroless/static + one binary upstream, as here (the
speaker's FRR helpers are left out: the native, L2-only manifest never runs them). echo-basic is
the Gateway API conformance backend (distroless/static:nonroot + /echo-basic upstream).
"""
from __future__ import annotations

from cnimatrix import upstream
from cnimatrix.addons import catalog
from cnimatrix.images.assemble import go_build, static_image
from cnimatrix.images.build import Context, Step, output_dir

TRAEFIK_MODULE = "github.com/traefik/traefik/v3"
TRAEFIK_CODENAME = "ramequin"  # .github/workflows/release.yaml of v3.6.x
METALLB_MODULE = "go.universe.tf/metallb"  # github.com/metallb/metallb is not the module path (the proxy has no such module)
METALLB_BINARIES = {f"{METALLB_MODULE}/controller": "controller", f"{METALLB_MODULE}/speaker": "speaker"}
ECHO_PACKAGE = f"{catalog.GATEWAY_API_MODULE}/conformance/echo-basic"


def _versions() -> dict[str, str]:
    return {name: catalog.load(name).version for name in ("traefik", "metallb", "gateway-api")}


def build_traefik(ctx: Context) -> None:
    version = catalog.load("traefik").version
    source = upstream.module_dir(TRAEFIK_MODULE, version)
    pkg = f"{TRAEFIK_MODULE}/pkg/version"
    go_build(ctx, TRAEFIK_MODULE, version, {f"{TRAEFIK_MODULE}/cmd/traefik": "traefik"}, tags="timetzdata",
             ldflags=f"-s -w -X {pkg}.Version={version} -X {pkg}.Codename={TRAEFIK_CODENAME}",
             replaces=upstream.replaces((source / "go.mod").read_text()), sums_from=source / "go.sum")


def build_metallb(ctx: Context) -> None:
    version = catalog.load("metallb").version
    source = upstream.module_dir(METALLB_MODULE, version)
    go_build(ctx, METALLB_MODULE, version, METALLB_BINARIES, replaces=upstream.replaces((source / "go.mod").read_text()),
             ldflags=f"-s -w -X {METALLB_MODULE}/internal/version.gitBranch={version}", sums_from=source / "go.sum")


def build_echo(ctx: Context) -> None:
    version = catalog.load("gateway-api").version
    source = upstream.module_dir(catalog.GATEWAY_API_MODULE, version)
    go_build(ctx, catalog.GATEWAY_API_MODULE, version, {ECHO_PACKAGE: "echo-basic"}, sums_from=source / "go.sum")


def build_addon_images(ctx: Context) -> None:
    traefik, metallb = catalog.load("traefik"), catalog.load("metallb")
    controller, speaker = metallb.images
    static_image(ctx, traefik.images[0], {"traefik": output_dir("traefik") / "bin" / "traefik"},
                 ['ENTRYPOINT ["/traefik"]', "EXPOSE 80"])
    static_image(ctx, controller, {"controller": output_dir("metallb") / "bin" / "controller"}, ['ENTRYPOINT ["/controller"]'])
    static_image(ctx, speaker, {"speaker": output_dir("metallb") / "bin" / "speaker"}, ['ENTRYPOINT ["/speaker"]'])
    static_image(ctx, catalog.ECHO_IMAGE, {"echo-basic": output_dir("echo-basic") / "bin" / "echo-basic"},
                 ["USER 65532:65532", 'ENTRYPOINT ["/echo-basic"]'])


def steps() -> list[Step]:
    versions = _versions()
    return [
        Step("traefik", f"Traefik {versions['traefik']} (cmd/traefik)", {"traefik": versions["traefik"], "codename": TRAEFIK_CODENAME},
             build_traefik, files=("bin/traefik",)),
        Step("metallb", f"MetalLB {versions['metallb']} controller and speaker", {"metallb": versions["metallb"]}, build_metallb,
             files=tuple(f"bin/{n}" for n in METALLB_BINARIES.values())),
        Step("echo-basic", f"Gateway API {versions['gateway-api']} echo-basic backend", {"gateway-api": versions["gateway-api"]},
             build_echo, files=("bin/echo-basic",)),
        Step("addon-images", "Traefik, MetalLB and echo-basic images", {"images": catalog.all_images()}, build_addon_images,
             needs=("traefik", "metallb", "echo-basic"), images=catalog.all_images()),
    ]
