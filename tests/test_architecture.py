"""The layout's rules, read from the code: no import cycles, and features depend on each other one way.

Every `import` and `from ... import` of a backend module counts, at module level or inside a
function: a function-level import hides a cycle, it does not remove it.
"""
import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent / "backend"
FEATURES = ("accounts", "care_teams", "children", "diary", "sync", "trends", "reminders", "clinic", "dashboard",
            "privacy", "videos")


def module_name(path: Path) -> str:
    parts = path.relative_to(BACKEND.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    root = BACKEND.parent
    return (root / relative).with_suffix(".py").exists() or (root / relative / "__init__.py").exists()


def imported_modules(path: Path) -> set[str]:
    """The backend modules this file imports (a name imported from a package is its submodule when one exists)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("backend"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("backend"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if is_module(submodule) else node.module)
    return found


GRAPH = {module_name(path): imported_modules(path) - {module_name(path)} for path in BACKEND.rglob("*.py")}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def features_imported_by(feature: str) -> set[str]:
    return {feature_of(target) for module, targets in GRAPH.items() if feature_of(module) == feature
            for target in targets} - {None, feature}


def test_no_module_of_backend_imports_itself_back_through_others():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_accounts_depend_on_no_other_feature():
    assert features_imported_by("accounts") == set()


@pytest.mark.parametrize("feature, other", [("children", "accounts"), ("reminders", "privacy"), ("videos", "privacy")])
def test_features_that_depend_one_way(feature, other):
    """The family document reads the reminders' and the videos' tables, and the purge removes the videos' files,
    so privacy imports reminders and videos and never the reverse."""
    assert other not in features_imported_by(feature)


def test_no_access_check_writes_the_audit_log():
    access = [module for module in GRAPH if module.endswith(".access")]
    assert access and not any("backend.clinic.audit" in GRAPH[module] for module in access)


def test_the_scheduler_and_its_jobs_live_in_one_module():
    users = sorted(str(path.relative_to(BACKEND.parent)) for path in BACKEND.rglob("*.py")
                   if "apscheduler" in path.read_text())
    assert users == ["backend/jobs.py"]
