"""docs/scenarios.md is generated from the suites' titles and markers (cnimatrix/docgen/scenarios.py)."""
import textwrap

from cnimatrix.docgen import scenarios, stale_line

SYNTHETIC = '''
import pytest

pytestmark = pytest.mark.suite("demo")


@pytest.mark.title("A pod reaches itself | through its own Service")
@pytest.mark.requires("hairpin")
def test_titled():
    pass


def test_from_docstring():
    """First line of the docstring.

    Not this one."""


@pytest.mark.parametrize("side", ["udp", "tcp"])
@pytest.mark.title("One title for both protocols")
def test_shared_title(side):
    pass


@pytest.mark.parametrize("case", [pytest.param(1, id="first", marks=pytest.mark.title("case one")),
                                  pytest.param(2, id="second", marks=pytest.mark.title("case two"))])
def test_own_titles(case):
    pass
'''


def test_the_checked_in_scenarios_doc_is_what_the_suites_say():
    problem = stale_line(scenarios.DOC, scenarios.render(), scenarios.COMMAND)
    assert problem is None, problem


def test_a_synthetic_suite_renders_its_titles_capabilities_and_parametrizations(tmp_path):
    suite = tmp_path / "suites" / "demo"
    suite.mkdir(parents=True)
    (suite / "test_docgen_synthetic_demo.py").write_text(textwrap.dedent(SYNTHETIC))
    items = scenarios.collect(["suites"], root=tmp_path)
    rows = {row.name: row for row in scenarios.scenarios(items)}
    assert set(rows) == {"test_titled", "test_from_docstring", "test_shared_title",
                         "test_own_titles[first]", "test_own_titles[second]"}
    assert rows["test_titled"].capabilities == ("hairpin",) and rows["test_titled"].suite == "demo"
    assert rows["test_from_docstring"].title == "First line of the docstring."
    assert rows["test_shared_title"].params == ("udp", "tcp")
    assert rows["test_own_titles[second]"].title == "case two" and rows["test_own_titles[second]"].params == ()
    doc = scenarios.render(items)
    assert "| `test_titled` | A pod reaches itself \\| through its own Service | `hairpin` |  |" in doc
    assert "5 scenarios (6 test items) in 1 suites" in doc
    assert "`suites/demo/test_docgen_synthetic_demo.py`" in doc


def test_a_suite_that_cannot_be_collected_is_an_error_not_an_empty_doc(tmp_path):
    suite = tmp_path / "suites" / "broken"
    suite.mkdir(parents=True)
    (suite / "test_docgen_synthetic_broken.py").write_text("import no_such_module_here\n")
    try:
        scenarios.collect(["suites"], root=tmp_path)
    except scenarios.CollectionFailed as exc:
        assert "no_such_module_here" in str(exc)
    else:
        raise AssertionError("collection of a broken suite did not fail")


def test_a_stale_doc_is_named_with_its_first_differing_line(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("a\nb\nc\n")
    assert stale_line(doc, "a\nb\nc\n", "remake it") is None
    assert stale_line(doc, "a\nB\nc\n", "remake it") == f"{doc} is stale (first difference at line 2); run `remake it`"
    assert stale_line(doc, "a\nb\nc\nd\n", "remake it").startswith(f"{doc} is stale (first difference at line 4)")
    assert stale_line(tmp_path / "none.md", "x", "remake it") == f"{tmp_path / 'none.md'} is missing; run `remake it`"
