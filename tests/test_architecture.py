"""The import contract of ``bench/`` (docs: the package docstring in ``bench/__init__.py``).

Folders are the stages of the data path and lower stages never import upper ones, not even
lazily inside a function: leaves < spec < data < components < fit < record < run < report <
gate < perf < cli. Also: no import cycles, no module over 300 lines, no function over 60 lines
unless its docstring says "Long because". The checker runs on any tree, so a planted violation
in a temporary copy proves it can fail.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["leaves", "spec", "data", "components", "fit", "record", "run", "report", "gate", "perf", "cli"]
LEAVES = {"errors", "registry", "metrics", "hashing", "store"}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in LEAVES:
        return 0
    if parts[1] == "__main__":
        return LAYERS.index("cli")
    return LAYERS.index(parts[1])


def imports_of(tree: ast.AST, modules: set[str]) -> set[str]:
    """Every bench module a file imports, at any depth (lazy imports inside functions count)."""
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] == "bench" and name in modules:
                found.add(name)
    return found


def _long_functions(tree: ast.AST, where: str) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_LINES and "Long because" not in doc:
                out.append(f"{where}:{node.lineno}: function {node.name} has {length} lines "
                           f"(> {MAX_FUNCTION_LINES}; say why in its docstring: 'Long because ...')")
    return out


def check_tree(root: Path) -> list[str]:
    """All contract violations of the package at ``root/bench``."""
    files = {module_name(p, root): p for p in sorted((root / "bench").rglob("*.py"))}
    modules = set(files)
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(root))
        if text.count("\n") > MAX_MODULE_LINES:
            problems.append(f"{where}: {text.count(chr(10))} lines (> {MAX_MODULE_LINES})")
        tree = ast.parse(text)
        problems += _long_functions(tree, where)
        graph[mod] = imports_of(tree, modules) - {mod}
        for dep in sorted(graph[mod]):
            if layer(dep) > layer(mod):
                problems.append(f"{where}: {mod} ({LAYERS[layer(mod)]}) imports {dep} ({LAYERS[layer(dep)]}), "
                                "an upper layer")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component (Tarjan), if any."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp) + [sorted(comp)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_bench_keeps_the_import_contract():
    problems = check_tree(ROOT)
    assert not problems, "\n".join(problems)


def _imports_leave_out(modules: str, heavy: tuple[str, ...]) -> None:
    code = (f"import sys, {modules}; "
            f"heavy = [m for m in {heavy!r} if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_light_stages_import_no_torch():
    _imports_leave_out("bench.spec, bench.data, bench.record, bench.report", ("torch", "transformers"))


def test_spec_imports_no_pandas_and_fitters_load_torch_only_when_they_run():
    _imports_leave_out("bench.spec.matrix, bench.spec.task, bench.spec.cell", ("torch", "pandas", "numpy"))
    _imports_leave_out("bench.components, bench.components.context, bench.components.imbalance, "
                       "bench.components.methods, bench.components.adapt, bench.components.models, "
                       "bench.fit.base, bench.fit.transformer, bench.fit.probe, bench.fit.classical",
                       ("torch", "transformers", "peft", "sklearn"))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "bench" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_checker_fails_on_planted_violations(tmp_path):
    long_body = "\n".join(f"    x{i} = {i}" for i in range(70))
    root = _tree(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "spec/__init__.py": "",
        "spec/cell.py": "def f():\n    from bench.fit.train import g\n",  # lazy upward import
        "fit/__init__.py": "",
        "fit/train.py": "from bench.fit.loop import h\ndef g():\n    pass\n",
        "fit/loop.py": "from bench.fit.train import g\ndef h():\n" + long_body + "\n",
        "data/__init__.py": "",
        "data/big.py": "x = 1\n" * 301,
    })
    problems = "\n".join(check_tree(root))
    assert "bench.spec.cell (spec) imports bench.fit.train (fit)" in problems
    assert "import cycle: bench.fit.loop -> bench.fit.train -> bench.fit.loop" in problems
    assert "function h has 71 lines" in problems
    assert "bench/data/big.py: 301 lines" in problems
    ok = _tree(tmp_path / "ok", {"__init__.py": "", "errors.py": "", "fit/__init__.py": "",
                                  "fit/a.py": "from bench.errors import X\n"})
    assert check_tree(ok) == []
