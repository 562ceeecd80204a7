"""The house's structure, held against the code (no database): module imports form no
circle, apps depend on each other one way (in LAYERS order), and no import hides inside a
function except in AppConfig.ready() or with a comment saying why (`# lazy: <reason>`)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("apps", "schedkit")

#: Lower first. An app may import only apps at its own level or below; a lower app that must
#: reach up does it through a registry the higher app fills in its AppConfig.ready().
LAYERS = [
    {"schedkit"},  # schedkit/api (the API contracts), ops, ids, tokens, cache, settings
    {"orgs"},
    {"accounts"},
    {"events"},
    {"incidents"},
    {"signals"},
    {"scheduling"},
    {"bookings"},
    {"dispatch", "planning", "calendars", "notifications"},
    {"demo"},  # seed_demo builds the demo org through every app's services
    {"project"},  # schedkit/urls, asgi, wsgi, routing, celery: the wiring of everything
]
PROJECT = {
    "schedkit",
    "schedkit.urls",
    "schedkit.asgi",
    "schedkit.wsgi",
    "schedkit.routing",
    "schedkit.celery",
    "schedkit.embedded",
}

#: Upward imports still in the code, each with why it is tolerated for now. The test fails
#: when one disappears (so the list only shrinks) and when a new one appears.
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("orgs", "events"): "membership/team services publish through the outbox helper",
    ("accounts", "events"): "revoking a key publishes access.revoked through the outbox helper",
    ("schedkit", "orgs"): "the DRF bases in schedkit/api resolve the actor through orgs.tenancy (one mechanism)",
}


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _imports(tree: ast.AST, module: str, is_package: bool = False):
    """(imported module, lineno, inside a function?, inside AppConfig.ready?) for every import."""
    found = []

    def visit(node, in_function, in_ready):
        for child in ast.iter_child_nodes(node):
            func = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            ready = in_ready or (func and child.name == "ready")
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((alias.name, child.lineno, in_function, in_ready))
            elif isinstance(child, ast.ImportFrom) and child.module:
                base = child.module
                if child.level:
                    anchor = module.split(".") + ([""] if is_package else [])
                    base = ".".join(anchor[: -child.level] + [child.module])
                for alias in child.names:
                    found.append((f"{base}.{alias.name}", child.lineno, in_function, in_ready))
                    found.append((base, child.lineno, in_function, in_ready))
            visit(child, in_function or func, ready)

    visit(tree, False, False)
    return found


def _graph():
    modules = dict(_modules())
    edges: dict[str, set[str]] = {m: set() for m in modules}
    inner = []
    for module, path in modules.items():
        source = path.read_text()
        lines = source.splitlines()
        is_package = path.name == "__init__.py"
        for target, lineno, in_function, in_ready in _imports(ast.parse(source), module, is_package):
            if not target.startswith(PACKAGES):
                continue
            resolved = target if target in modules else None
            if resolved is None:
                continue
            if in_function:
                said_why = "# lazy:" in lines[lineno - 1] or (lineno > 1 and "# lazy:" in lines[lineno - 2])
                if not in_ready and not said_why:
                    inner.append(f"{path.relative_to(ROOT)}:{lineno} imports {target}")
                continue
            if resolved != module:
                edges[module].add(resolved)
    return edges, inner


def _cycles(edges):
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            strongconnect(v)
    return out


def _app(module: str) -> str:
    if module in PROJECT:
        return "project"
    parts = module.split(".")
    return parts[1] if parts[0] == "apps" and len(parts) > 1 else parts[0]


def _level(app: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if app in layer)


def test_no_import_circles():
    edges, _inner = _graph()
    assert _cycles(edges) == []


def test_no_imports_hidden_in_functions():
    _edges, inner = _graph()
    assert inner == [], "import at the top, register in AppConfig.ready(), or say why with '# lazy: …'"


def test_every_app_has_a_layer():
    apps = {_app(m) for m, _p in _modules() if m != "apps"}
    missing = sorted(a for a in apps if not any(a in layer for layer in LAYERS))
    assert missing == [], f"add {missing} to LAYERS in tests/test_structure.py"


def test_apps_depend_on_each_other_one_way():
    edges, _inner = _graph()
    upward = {}
    for source, targets in edges.items():
        for target in targets:
            a, b = _app(source), _app(target)
            if a != b and _level(b) > _level(a):
                upward.setdefault((a, b), []).append(f"{source} -> {target}")
    new = {pair: sites for pair, sites in upward.items() if pair not in KNOWN_UPWARD}
    gone = sorted(set(KNOWN_UPWARD) - set(upward))
    assert new == {}, "a lower app imports a higher one; use a registry filled in the higher app's ready()"
    assert gone == [], f"no longer upward, remove from KNOWN_UPWARD: {gone}"
