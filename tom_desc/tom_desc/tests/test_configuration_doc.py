"""Every environment variable the settings read is documented in docs/configuration.md."""

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DOC = PROJECT.parents[1] / "docs" / "configuration.md"
READS = re.compile(r'env_(?:str|int|float|bool|list|secret)\(\s*"([A-Z][A-Z0-9_]*)"')


def variables_read() -> set[str]:
    names = set(READS.findall((PROJECT / "settings.py").read_text()))
    names |= {"DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASS"}  # env.database_config
    return names


@pytest.mark.parametrize("name", sorted(variables_read()))
def test_variable_is_documented(name):
    assert f"`{name}`" in DOC.read_text(), f"{name} is read by the settings but not documented in docs/configuration.md"
