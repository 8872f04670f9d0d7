"""docs/catalog.md: what every CNI and add-on file declares, from cnis/*.yaml and addons/*.yaml.

The files are the source of truth (a scenario's declared verdict reads them); this document only
lines them up: one table of CNIs, one of capabilities by CNI, each declaration with its evidence,
and the add-ons."""
from __future__ import annotations

from collections.abc import Sequence

from cnimatrix.addons import catalog as addons
from cnimatrix.cni import catalog as cnis
from cnimatrix.cni import shapes
from cnimatrix.compare.present import issue_ref
from cnimatrix.compare.render_md import escape, table
from cnimatrix.docgen import DOCS_DIR, generated_header, shown_path
from cnimatrix.testkit.capabilities import VOCABULARY

DOC = DOCS_DIR / "catalog.md"
COMMAND = "python -m cnimatrix.docgen catalog"


def _install(cni: cnis.Cni) -> str:
    install = cni.install
    if install.source == "module":
        return f"`{install.module}@{install.version}`: {', '.join(f'`{m}`' for m in install.manifests)}"
    if install.source == "helm":
        return f"Helm chart `{install.chart}` of `{install.module}@{install.version}`"
    if install.manifests:
        return ", ".join(f"`{m}`" for m in install.manifests)
    return install.source


def _capability_names(entries: Sequence[cnis.Cni]) -> list[str]:
    declared = {name for cni in entries for name in cni.capabilities}
    return [n for n in VOCABULARY if n in declared] + sorted(declared - set(VOCABULARY))


def cni_lines(entries: Sequence[cnis.Cni]) -> list[str]:
    rows = [[f"[{cni.name}](#{cni.name})", escape(cni.version), escape(cni.description), escape(_install(cni)),
             "no: " + escape(cni.offline_reason) if cni.offline_reason else "yes", "yes" if cni.nightly else "no",
             ", ".join(f"`{s}`" for s in cni.host.requires_kernel)] for cni in entries]
    lines = table(["CNI", "version", "what", "installed from", "buildable offline", "nightly", "kernel needs"], rows)
    names = _capability_names(entries)
    lines += ["", "## Capabilities by CNI", "",
              "A scenario that requires a capability its CNI declares unsupported (or not-enforced) still runs: a "
              "failure the way declared is reported as declared, a pass is flagged works-despite-declared. "
              "Not declared: — (the scenario runs and is judged as usual).", ""]
    lines += table(["capability", "meaning", *(cni.name for cni in entries)],
                   [[f"`{n}`", escape(VOCABULARY.get(n, "")),
                     *(escape(cni.capabilities[n].status) if n in cni.capabilities else "—" for cni in entries)]
                    for n in names])
    lines += shape_lines(entries)
    for cni in entries:
        lines += ["", f"## {cni.name}", "", f"`{shown_path(cni.path)}`. {escape(cni.host.mode) + '.' if cni.host.mode else ''}", ""]
        lines += table(["capability", "status", "evidence"],
                       [[f"`{n}`" + (f" (kernel: {', '.join(c.requires_kernel)})" if c.requires_kernel else ""),
                         escape(c.status), escape(c.evidence)] for n, c in cni.capabilities.items()])
        needs = [*(f"without `{s}`: {what}" for s, what in cni.host.limits.items()),
                 *(f"`{s}` enables {what}" for s, what in cni.host.variants.items())]
        if needs:
            lines += ["", "Host kernel: " + escape("; ".join(needs)) + "."]
        lines += shape_evidence(cni)
        if cni.ipam_count is not None:
            lines += ["", f"IPAM accounting ({cni.ipam_count.where}): {escape(cni.ipam_count.evidence)}"]
        for issue in cni.known_issues:
            lines += ["", f"Known upstream issue [{escape(issue_ref(issue.issue))}]"
                          f"({issue.issue}): {escape(issue.summary)} Scenarios: "
                          + ", ".join(f"`{s}`" for s in issue.scenarios) + "."]
    return lines


def _declared(cni: cnis.Cni, axis: str, value: str) -> shapes.Declaration | None:
    if cni.shapes is None:
        return None
    return (cni.shapes.ip_families if axis == "ip_family" else cni.shapes.proxy_modes).get(value)


def _shape_cell(cni: cnis.Cni, axis: str, value: str) -> str:
    if cni.shapes is not None and axis == "proxy_mode" and cni.shapes.kube_proxy_replaced:
        return "replaces kube-proxy"
    declared = _declared(cni, axis, value)
    if declared is None:
        return "—"
    return declared.status + (" (not wired)" if declared.not_wired else "")


def shape_lines(entries: Sequence[cnis.Cni]) -> list[str]:
    """The shapes each CNI declares (cnimatrix run --ip-family, --proxy-mode): one row per family and mode."""
    rows = [[f"`{flag} {value}`", *(escape(_shape_cell(cni, axis, value)) for cni in entries)]
            for axis, (flag, _) in shapes.AXES.items()
            for value in (shapes.IP_FAMILIES if axis == "ip_family" else shapes.PROXY_MODES)]
    return ["", "## Shapes by CNI", "",
            "The IP family and kube-proxy mode a run may ask for ([shapes.md](shapes.md)): unsupported and not wired are "
            "refused before anything is created, untested runs and the summary says so.", "",
            *table(["shape", *(cni.name for cni in entries)], rows)]


def shape_evidence(cni: cnis.Cni) -> list[str]:
    """A CNI's shape declarations with their evidence and what each changes."""
    if cni.shapes is None:
        return []
    rows = []
    for axis, (flag, _) in shapes.AXES.items():
        for value in shapes.IP_FAMILIES if axis == "ip_family" else shapes.PROXY_MODES:
            declared = _declared(cni, axis, value)
            if declared is None:
                continue
            changes = declared.changes
            changed = ", ".join(name for name, part in (("kind config", changes.kind_config), ("chart values", changes.chart_values),
                                                        ("manifest patches", changes.manifest_patches)) if part)
            rows.append([f"`{flag} {value}`", escape(_shape_cell(cni, axis, value)), escape(declared.evidence),
                         escape(changed or "—")])
    if cni.shapes.kube_proxy_replaced:
        rows.append(["`--proxy-mode`", "replaces kube-proxy", escape(cni.shapes.kube_proxy_replaced), "—"])
    return ["", *table(["shape", "status", "evidence", "changes"], rows)]


def addon_lines(entries: Sequence[addons.Addon]) -> list[str]:
    lines = table(["add-on", "version", "what", "installed from", "images", "after"],
                  [[f"`{a.name}`", escape(a.version), escape(a.description), escape("; ".join(s.label for s in a.install)),
                    ", ".join(f"`{i}`" for i in a.images), ", ".join(a.after)] for a in entries])
    for addon in entries:
        if addon.capabilities:
            lines += ["", f"`{addon.name}` declares:", ""]
            lines += table(["capability", "status", "evidence"],
                           [[f"`{n}`", escape(c.status), escape(c.evidence)] for n, c in addon.capabilities.items()])
    return lines


def render() -> str:
    entries, extras = cnis.load_all(), addons.install_order(addons.load_all())
    lines = [generated_header(COMMAND, "cnis/*.yaml and addons/*.yaml"), "# CNI and add-on catalog", "",
             "What each catalog file declares; the files themselves are the source (see the README's \"Adding a "
             "CNI\"). Offline builds are described in [offline-build.md](offline-build.md).", "", "## CNIs", ""]
    lines += cni_lines(entries)
    lines += ["", "## Add-ons", "", "Installed after the CNI, the same on every CNI, for the suites that need them "
              "(Ingress, Gateway API), so that differences are the CNI's. An add-on is data, `addons/<name>.yaml`: "
              "version, images, install steps (files of a pinned Go module applied as released, optionally only some "
              "kinds of objects, or our own manifests under `manifests/addons/`), readiness rules, LoadBalancer "
              "Services that must get an address, what it provides to the suites and what it declares it lacks.", ""]
    lines += addon_lines(extras)
    return "\n".join(lines) + "\n"
