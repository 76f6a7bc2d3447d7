"""Who may import whom (README, "Architecture"): core at the bottom, components above, the application on top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# package -> prefixes of our own modules it may import
ALLOWED = {
    "detector": ("detector",),
    "pinewatch/core": ("pinewatch.core",),
    "streams": ("streams", "detector", "pinewatch.core"),
    "alerting": ("alerting", "pinewatch.core"),
}
OURS = ("detector", "streams", "alerting", "pinewatch")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in OURS]


def test_each_layer_imports_only_what_is_below_it():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path):
                if not any(name == a or name.startswith(a + ".") for a in allowed):
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_layering_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from pinewatch.demo import run\nimport streams.worker\n")
    assert _imports(bad) == ["pinewatch.demo", "streams.worker"]
