"""The layout of ``cases/``: a kernel and one package per case kind, whose dependencies run
one way, kernel ← contracts ← derogations ← waves. Read from the sources (``ast``), every
import counted, those inside a function too:

- a package imports no package after it (the kernel no kind, the contracts neither the
  derogations nor the waves, the derogations not the waves), nor ``cases.models``, which
  names the models of every kind;
- no module of ``cases`` imports a private name (``_x``) of another, nor reads one off a
  module it imported.
"""

import ast
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[3] / "cases"
ORDER = ["kernel", "contracts", "derogations", "waves"]


def module_name(path: Path) -> str:
    parts = path.relative_to(CASES.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = CASES.parent / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(tree: ast.AST) -> list[tuple[str, str, str]]:
    """(module, name, alias) of every import: name is "" for ``import module``; for
    ``from package import module``, the module itself is the import's module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", alias.asname or alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if is_module(submodule):
                    found.append((submodule, "", alias.asname or alias.name))
                else:
                    found.append((node.module, alias.name, alias.asname or alias.name))
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] == "cases" and len(parts) > 1 and parts[1] in ORDER:
        return ORDER.index(parts[1])
    return None


def violations(module: str, source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    own_layer = layer(module)
    cases_modules = {}
    for target, name, alias in imports(tree):
        if not target.startswith("cases"):
            continue
        if name.startswith("_"):
            found.append(f"{module} imports the private name {name} of {target}")
        if not name:
            cases_modules[alias] = target
        if own_layer is None:
            continue
        if target == "cases.models" or target.startswith("cases.models."):
            found.append(f"{module} imports cases.models, which names every kind's models")
        target_layer = layer(target)
        if target_layer is not None and target_layer > own_layer:
            found.append(f"{module} imports {target}, which comes after it")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and cases_modules.get(node.value.id, module) != module
        ):
            target = cases_modules[node.value.id]
            found.append(f"{module} reads the private name {node.attr} of {target}")
    return found


SOURCES = sorted(path for path in CASES.rglob("*.py") if "migrations" not in path.parts)


def test_the_kinds_and_the_kernel_are_packages():
    for package in ORDER:
        assert (CASES / package / "__init__.py").exists(), package
        assert (CASES / package / "models.py").exists(), package


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_dependencies_run_one_way_and_stay_public(path):
    assert violations(module_name(path), path.read_text()) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("cases.kernel.views", "from cases.waves import views\n", "comes after it"),
        ("cases.kernel.x", "def f():\n    from cases.contracts.models import A\n", "after it"),
        ("cases.contracts.lists", "from cases.waves.models import WaveItem\n", "after it"),
        ("cases.derogations.views", "import cases.waves.services\n", "after it"),
        ("cases.kernel.selectors", "from cases.models import Case\n", "cases.models"),
        ("cases.waves.services", "from cases.kernel.services import _lock\n", "private"),
        ("cases.urls", "from cases.kernel import hooks\nhooks._listeners\n", "private"),
    ],
)
def test_the_check_finds_what_it_forbids(module, source, expected):
    found = violations(module, source)
    assert found and expected in found[0], found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("cases.waves.services", "from cases.derogations.letters import markup\n"),
        ("cases.contracts.views", "from cases.kernel import views\nviews.wants_json\n"),
        ("cases.kernel.services", "def _lock(): pass\n_lock()\n"),
        ("cases.admin", "from cases.models import Case\n"),
    ],
)
def test_the_check_lets_the_allowed_through(module, source):
    assert violations(module, source) == []
