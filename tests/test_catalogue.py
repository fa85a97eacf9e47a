"""The README's table catalogue is generated from the declared schemas and must be current."""

from __future__ import annotations

from lakecart.catalog import END, START, markdown
from lakecart.schemas import all_specs
from tests.conftest import REPO


def test_readme_catalogue_is_current():
    text = (REPO / "README.md").read_text()
    block = text[text.index(START) + len(START) : text.index(END)]
    assert block.strip() == markdown().strip(), "run: python -m lakecart.catalog --write README.md"


def test_every_table_and_column_documented():
    for spec in all_specs():
        assert spec.comment, spec.full_name
        for c in spec.columns:
            assert c.comment, f"{spec.full_name}.{c.name}"
