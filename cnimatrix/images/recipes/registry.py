"""The CNCF distribution registry, under its official image name, that offline runs pull from."""
from __future__ import annotations

from cnimatrix import versions as V
from cnimatrix.images.assemble import FILES, add_dirs, add_file, bin_of, go_build, static_image
from cnimatrix.images.build import Context, Step

REGISTRY_IMAGE = f"docker.io/library/registry:{V.REGISTRY.removeprefix('v')}"
CONFIG = FILES / "registry" / "config.yml"


def build_registry(ctx: Context) -> None:
    go_build(ctx, "github.com/distribution/distribution/v3", V.REGISTRY,
             {"github.com/distribution/distribution/v3/cmd/registry": "registry"},
             ldflags=f"-s -w -X github.com/distribution/distribution/v3/version.version={V.REGISTRY}")


def build_registry_image(ctx: Context) -> None:
    def extra(tar):
        add_dirs(tar, "etc/distribution", "var/lib", "var/lib/registry")
        add_file(tar, "etc/distribution/config.yml", CONFIG, 0o644)
    static_image(ctx, REGISTRY_IMAGE, {"usr/local/bin/registry": bin_of("registry", "registry")},
                 ['ENTRYPOINT ["/usr/local/bin/registry"]', 'CMD ["serve", "/etc/distribution/config.yml"]',
                  "EXPOSE 5000"], extra=extra)


def steps() -> list[Step]:
    return [
        Step("registry", f"distribution registry {V.REGISTRY}", {"registry": V.REGISTRY}, build_registry, files=("bin/registry",)),
        Step("registry-image", "registry image", {}, build_registry_image, needs=("registry",),
             images=(REGISTRY_IMAGE,), sources=(CONFIG,)),
    ]
