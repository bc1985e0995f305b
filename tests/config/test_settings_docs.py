"""The settings an operator sets are the ones README.md documents: read in one place
(config/settings.py), each listed once in the README's configuration table."""

import ast
import re
from pathlib import Path

import config.settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("catalog", "config", "llm", "recommendations", "tagging")
MOST_SETTINGS = 15
ENV_READERS = {"env_bool", "env_int", "env_float"}
TABLE_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|", re.MULTILINE)


def variables_read_by_settings() -> set[str]:
    """Every environment variable config/settings.py reads, by name."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / "config" / "settings.py").read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            reads_environment = (isinstance(func, ast.Name) and func.id in ENV_READERS) or (
                isinstance(func, ast.Attribute) and func.attr == "get" and ast.unparse(func.value) == "os.environ"
            )
            if reads_environment:
                names.add(node.args[0].value)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(ast.literal_eval(node.slice))
    return names


def readme_configuration_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1]
    return section.split("\n## ", 1)[0]


def test_the_readme_table_lists_each_variable_settings_reads_exactly_once():
    documented = TABLE_ROW.findall(readme_configuration_section())

    assert sorted(documented) == sorted(set(documented)), "a variable is listed twice"
    assert set(documented) == variables_read_by_settings()


def test_the_readme_states_how_many_settings_there_are_and_there_are_few():
    count = len(variables_read_by_settings())

    assert count <= MOST_SETTINGS
    assert f"reads these {count} settings" in readme_configuration_section()


def test_every_shelfsight_setting_comes_from_the_variable_of_its_name():
    defined = {name for name in vars(config.settings) if name.startswith("SHELFSIGHT_")}

    assert defined <= variables_read_by_settings()


def test_no_other_document_has_a_table_of_the_settings():
    variables = variables_read_by_settings()
    for document in (ROOT / "docs").glob("*.md"):
        assert not variables & set(TABLE_ROW.findall(document.read_text())), document.name


def test_code_reads_settings_by_name_without_a_default_of_its_own():
    # getattr(settings, NAME, default) repeats a default settings.py already gives, or contradicts it.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "getattr(settings," in line
    ]
    assert offenders == []
