"""Print the package-level import graph of the repository (every absolute import, at module level or
inside functions): which top-level package imports which, with `groundswell/` split into the kernel
and `groundswell/app/`. The import rules themselves are enforced by tests/test_layout.py.

    .venv/bin/python scripts/import_graph.py [REPO]
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

STAGES = ("crawlers", "nlp", "index_mappings", "trends", "alerts", "brief", "web", "dags")


def package_of_file(root: Path, path: Path) -> str:
    parts = path.relative_to(root).parts
    if parts[0] == "groundswell":
        return "groundswell.app" if len(parts) > 1 and parts[1] == "app" else "groundswell (kernel)"
    return parts[0]


def package_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "groundswell":
        return "groundswell.app" if len(parts) > 1 and parts[1] == "app" else "groundswell (kernel)"
    return parts[0] if parts[0] in STAGES or parts[0] == "tests" else None


def import_graph(root: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for folder in ("groundswell", *STAGES):
        for path in sorted((root / folder).rglob("*.py")):
            source = package_of_file(root, path)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    target = package_of_module(module)
                    if target and target != source:
                        edges[source].add(target)
    return edges


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    edges = import_graph(root)
    for source in sorted(edges):
        print(f"{source:22s} -> {', '.join(sorted(edges[source]))}")
    upward = sorted(t for t in edges.get("groundswell (kernel)", ()) if not t.startswith("groundswell"))
    print("kernel -> stage arrows:", ", ".join(upward) if upward else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
