"""Writing case files for the loaders' tests (NetworkPolicy and cluster-policy cases alike)."""
import textwrap

import yaml


def write_cases(tmp_path, text: str, edit=None, name: str = "cat.yaml"):
    """`text` (a YAML list of cases) as tmp_path/name, its first case changed by `edit` first."""
    doc = yaml.safe_load(textwrap.dedent(text))
    if edit:
        edit(doc[0])
    (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path
