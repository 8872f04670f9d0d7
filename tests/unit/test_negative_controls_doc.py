import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("negative_controls", Path(__file__).resolve().parents[2] / "tools" / "negative_controls.py")
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)


def test_merge_replaces_only_the_named_cni_section():
    doc = tool.merge("", "flannel", "## flannel\n\nold flannel table\n")
    doc = tool.merge(doc, "calico", "## calico\n\ncalico table\n")
    doc = tool.merge(doc, "flannel", "## flannel\n\nnew flannel table\n")
    assert doc.startswith(tool.HEADER)
    assert "new flannel table" in doc and "old flannel table" not in doc and "calico table" in doc
    assert doc.index("## calico") < doc.index("## flannel")  # sections sorted by CNI
    assert doc.count("## ") == 2
