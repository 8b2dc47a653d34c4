"""Dead code: the public functions and methods of keras_depth/ and export/ that nothing outside
tests/ calls.

A definition is used when its name is mentioned in the Python of keras_depth/, export/,
benchmarks/ or tools/ (never tests/) outside its own body and outside definitions that are
themselves unused: as a name, as an attribute, as a string that is a whole name or dotted path
(``getattr(module, "run")``, the CLI's table of command modules), in a string of Python code that
imports or calls (``python -c``), or as the ``module:function`` of a ``[project.scripts]`` entry in
pyproject.toml. Docstrings, comments and ``__all__`` lists are not
callers. Names are matched without their module: a dead function that shares its name with a live
one is missed, so the list errs towards too short, never naming what is called.

Looked at: module-level ``def``s without a decorator (a decorator such as ``@register_loss("x")``
is the caller) whose name does not start with ``_``, and the public methods of classes whose bases
all belong to the project (Keras, tfmot and the standard library call their subclasses' methods by
name). Properties are read as attributes, which count as mentions.

    python -m tools.dead_code    # one line per dead definition, exit status 1 when there is any
"""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFINED_IN = ("keras_depth", "export")
CALLERS_IN = ("keras_depth", "export", "benchmarks", "tools")
SELF = "tools/dead_code.py"
NAME_OR_PATH = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?")

# Definitions kept without a caller in the project, each with the reason: API for the project's
# users. Keep it short: a function that only tests call belongs in tests/.
ALLOWED: dict[str, str] = {
    "pack_stereo_target": "the y_true of keras_depth.losses.StereoLoss, the Keras loss for a user's own "
                          "model.compile (train's stereo mode fits StereoTrainer, which calls stereo_loss)",
}


def _parse(root: Path) -> dict[str, ast.Module]:
    files = sorted(p for d in CALLERS_IN if (root / d).is_dir() for p in (root / d).rglob("*.py"))
    return {p.relative_to(root).as_posix(): ast.parse(p.read_text(), str(p)) for p in files}


def _base(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else "?"


def _is_function(node: ast.AST) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))


def candidates(trees: dict[str, ast.Module]) -> list[tuple[str, str, ast.AST]]:
    """(``path:line``, name or ``Class.method``, node) of every definition the check looks at."""
    project_classes = {n.name for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    out = []
    for path, tree in trees.items():
        if path.split("/", 1)[0] not in DEFINED_IN:
            continue
        for node in tree.body:
            if _is_function(node) and not node.name.startswith("_") and not node.decorator_list:
                out.append((f"{path}:{node.lineno}", node.name, node))
            elif isinstance(node, ast.ClassDef) and not node.keywords and all(
                    _base(b) in project_classes for b in node.bases):
                for item in node.body:
                    # a decorated method is a property, a classmethod or registered: mentioned or called by name
                    if _is_function(item) and not item.name.startswith("_") and not item.decorator_list:
                        out.append((f"{path}:{item.lineno}", f"{node.name}.{item.name}", item))
    return out


def _not_callers(tree: ast.Module) -> set[int]:
    """ids of the string nodes that mention names without calling anything: docstrings, ``__all__``."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                skip.update(id(n) for n in ast.walk(node.value))
    return skip


def mentions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """(name, node) of every mention in a module. ``from m import f as g`` credits ``f`` where ``g``
    is mentioned; an import alone is no mention (a re-export in ``__init__`` calls nothing)."""
    renamed = {a.asname: a.name.rsplit(".", 1)[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               for a in n.names if a.asname}
    skip = _not_callers(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.append((renamed.get(node.id, node.id), node))
        elif isinstance(node, ast.Attribute):
            out.append((node.attr, node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if NAME_OR_PATH.fullmatch(node.value):
                out.extend((part, node) for part in re.split(r"[.:]", node.value))
            elif (code := _code(node.value)) is not None:
                out.extend((name, node) for name, _ in mentions(code))
    return out


def _code(text: str) -> ast.Module | None:
    """``text`` parsed, when it is Python that imports or calls something (a ``python -c`` line)."""
    if "(" not in text and "import" not in text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    return tree if any(isinstance(n, (ast.Call, ast.Import, ast.ImportFrom)) for n in ast.walk(tree)) else None


def entry_points(root: Path) -> set[str]:
    """The functions that ``[project.scripts]`` of pyproject.toml names (``package.module:function``)."""
    path = root / "pyproject.toml"
    scripts = tomllib.loads(path.read_text()).get("project", {}).get("scripts", {}) if path.is_file() else {}
    return {target.split(":", 1)[1].rsplit(".", 1)[-1] for target in scripts.values() if ":" in target}


def dead_code(root: Path = REPO, allowed: dict[str, str] = ALLOWED) -> list[str]:
    """``path:line name`` of each candidate that nothing live mentions, sorted."""
    trees = _parse(root)
    defs = candidates(trees)
    owner: dict[int, int] = {}  # id of a node inside a candidate -> the id of that candidate
    for _, _, node in defs:
        for sub in ast.walk(node):
            owner.setdefault(id(sub), id(node))  # methods are visited after nothing that encloses them
    mentioned_in: dict[str, set[int]] = {}  # name -> ids of the candidates it is mentioned in (0: outside any)
    for path, tree in trees.items():
        if path == SELF:  # the allowlist's keys name what has no caller
            continue
        for name, node in mentions(tree):
            mentioned_in.setdefault(name, set()).add(owner.get(id(node), 0))
    live = {0} | {id(node) for _, qualname, node in defs
                  if qualname in allowed or qualname.rsplit(".", 1)[-1] in entry_points(root)}
    changed = True
    while changed:  # a definition mentioned only inside dead ones is dead too
        changed = False
        for _, qualname, node in defs:
            if id(node) not in live and (mentioned_in.get(qualname.rsplit(".", 1)[-1], set()) - {id(node)}) & live:
                live.add(id(node))
                changed = True
    return sorted(f"{where} {qualname}" for where, qualname, node in defs if id(node) not in live)


def main() -> int:
    dead = dead_code()
    for line in dead:
        print(line)
    if dead:
        print(f"{len(dead)} public definition(s) without a caller outside tests/: remove them, or move a "
              "test-only helper into tests/", file=sys.stderr)
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
