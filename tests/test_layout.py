"""The house points one way: a package imports only the packages below it (README, "Layout"),
never one above, not even inside a function. Read from the source with `ast`, so that a new
import against the direction fails here before anyone builds on it."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "meetups"

# From the top down. Each entry is a package of meetups/ (or a module directly inside it); one
# may import anything on a lower line and inside itself, nothing on its own line or above.
FLOORS = [
    ["__init__"],  # the application factory wires everything together
    ["cli"],
    ["demo", "models"],
    ["main"],  # the home page: pages on top
    ["planning"],
    ["feedback"],
    ["checkin"],
    ["tickets"],
    ["registration"],
    ["events"],
    ["city_requests"],
    ["fans"],
    ["cities"],
    ["accounts"],
    ["shared"],
    ["config", "extensions", "errors"],
]
FLOOR_OF = {name: number for number, names in enumerate(FLOORS) for name in names}


def _room(module: str) -> str:
    """`meetups.registration.services` → `registration`; `meetups` → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path):
    """(line, imported module) for every import of meetups' own code in the file, wherever it is."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            # `from . import mailing`: the names may be modules of that package
            targets = [f"{target}.{alias.name}" for alias in node.names] if node.module is None else [target]
        else:
            continue
        for target in targets:
            if target == "meetups" or target.startswith("meetups."):
                yield node.lineno, module, target


def _sources():
    return sorted(path for path in PACKAGE.rglob("*.py"))


def test_every_package_has_a_floor():
    rooms = {_room(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)) for path in _sources()}
    assert rooms - set(FLOOR_OF) == set(), "add the new package to FLOORS (and to the README's layout)"


def test_no_package_imports_one_above_it_or_beside_it():
    wrong = []
    for path in _sources():
        for line, module, target in _imports(path):
            here, there = _room(module), _room(target)
            if here != there and FLOOR_OF[there] <= FLOOR_OF[here]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} "
                             f"({there} is not below {here})")
    assert wrong == []


@pytest.mark.parametrize("upward", ["from ..planning.ranking import rank_cities",
                                    "def late():\n    from ..registration import services"])
def test_the_check_sees_an_upward_import(tmp_path, monkeypatch, upward):
    """The check itself: an upward import, also one hidden inside a function, is found."""
    package = tmp_path / "meetups"
    (package / "events").mkdir(parents=True)
    (package / "events" / "services.py").write_text(upward + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", package)
    found = [(module, target) for path in _sources() for _line, module, target in _imports(path)]
    assert len(found) == 1 and _room(found[0][1]) in ("planning", "registration")
    assert FLOOR_OF[_room(found[0][1])] < FLOOR_OF["events"]
