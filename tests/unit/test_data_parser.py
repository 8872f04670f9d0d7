"""The field readers both catalogs (cnis/*.yaml, addons/*.yaml) parse with: errors name the file and
the field's path, in each catalog's own words."""
from pathlib import Path

import pytest

from cnimatrix.addons import catalog as addons
from cnimatrix.cni import catalog as cnis
from cnimatrix.datafiles import DataParser, ReadinessRule, file_names, listed_file


class ToyError(ValueError):
    pass


class Parser(DataParser):
    error = ToyError


def parser(tmp_path):
    return Parser(tmp_path / "toy.yaml")


def test_both_catalogs_parse_with_the_shared_readers():
    assert issubclass(cnis._Parser, DataParser) and issubclass(addons._Parser, DataParser)
    assert (cnis._Parser.error, addons._Parser.error) == (cnis.CniDataError, addons.AddonDataError)


def test_read_names_the_file_when_it_is_unreadable_or_not_yaml(tmp_path):
    with pytest.raises(Parser.error, match=r"toy\.yaml: cannot read"):
        parser(tmp_path).read()
    (tmp_path / "toy.yaml").write_text("a: [")
    with pytest.raises(Parser.error, match=r"toy\.yaml: not valid YAML: "):
        parser(tmp_path).read()
    (tmp_path / "toy.yaml").write_text("a: 1\n")
    assert parser(tmp_path).read() == {"a": 1}


def test_field_paths_are_dotted_below_the_top_level(tmp_path):
    p = parser(tmp_path)
    with pytest.raises(Parser.error, match=r"toy\.yaml: \(top level\): must be a mapping, got list"):
        p.mapping([], "")
    with pytest.raises(Parser.error, match=r"toy\.yaml: colour: unknown field \(allowed: name\)"):
        p.mapping({"colour": 1}, "", {"name"})
    with pytest.raises(Parser.error, match=r"install\.colour: unknown field"):
        p.mapping({"colour": 1}, "install", {"name"})
    with pytest.raises(Parser.error, match=r"install\.kind: 'Pod' is not one of DaemonSet"):
        p.choice({"kind": "Pod"}, "kind", "install", ("DaemonSet",))


def test_a_missing_text_field_is_required_or_not_a_string_as_the_catalog_says(tmp_path):
    with pytest.raises(Parser.error, match=r"install\.name: is required"):
        parser(tmp_path).text({}, "name", "install")
    Parser.missing_is_required = False
    try:
        with pytest.raises(Parser.error, match=r"install\.name: must be a non-empty string, got None"):
            parser(tmp_path).text({}, "name", "install")
    finally:
        del Parser.missing_is_required
    assert parser(tmp_path).text({"name": "  x "}, "name", "") == "x"


def test_entries_checks_each_item_before_the_next(tmp_path):
    items = parser(tmp_path).entries([{"name": "a"}, "oops"], "list", {"name"})
    assert next(items) == ("list[0]", {"name": "a"})
    with pytest.raises(Parser.error, match=r"list\[1\]: must be a mapping, got str"):
        next(items)
    with pytest.raises(Parser.error, match=r"list: must be a list, got dict"):
        list(parser(tmp_path).entries({}, "list", set()))


def test_rules_paths_and_timeouts(tmp_path):
    p = parser(tmp_path)
    assert p.rule({"kind": "DaemonSet", "namespace": "n", "name": "x"}, "r") == ReadinessRule("DaemonSet", "n", "x")
    assert p.relative_path("a/b.yaml", "m", "bad") == "a/b.yaml"
    with pytest.raises(Parser.error, match=r"m: '\.\./x' must stay here"):
        p.relative_path("../x", "m", "must stay here")
    assert p.ready_timeout(5) == 5.0
    for bad in (0, True, "5"):
        with pytest.raises(Parser.error, match="ready_timeout_s: must be a positive number of seconds"):
            p.ready_timeout(bad)


def test_the_folder_lookup_lists_yaml_files_and_refuses_unknown_names(tmp_path):
    (tmp_path / "b.yaml").write_text("")
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert file_names(tmp_path, "toy directory", "ENV", LookupError) == ["a", "b"]
    with pytest.raises(LookupError, match="toy directory .*nowhere does not exist \\(see ENV\\)"):
        file_names(tmp_path / "nowhere", "toy directory", "ENV", LookupError)
    assert listed_file(tmp_path, ["a", "b"], "a", "toy", LookupError) == tmp_path / "a.yaml"
    with pytest.raises(LookupError, match=r"unknown toy '\.\./a'; known toys: a, b"):
        listed_file(tmp_path, ["a", "b"], "../a", "toy", LookupError)
    with pytest.raises(LookupError, match="known toys: none"):
        listed_file(Path(tmp_path), [], "a", "toy", LookupError)
