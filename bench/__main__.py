"""`python -m bench [NAME …] [-- OPTIONS]`: run the named benchmarks, or every one in this package."""
import argparse
import importlib
import pkgutil
import sys
import time

import bench


def available() -> list[str]:
    """Every module of the package is a benchmark, so adding one needs no registration."""
    return sorted(module.name for module in pkgutil.iter_modules(bench.__path__) if not module.name.startswith("_"))


def main(argv: list[str]) -> int:
    # Options after `--` belong to the benchmarks (e.g. `-- --rows 100000`), not to the runner.
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(available())} (default: all)")
    names = parser.parse_args(argv[:split]).names
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (there are: {', '.join(available())})")
    missed = []
    for name in names or available():
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        if not importlib.import_module(f"bench.{name}").run(argv[split + 1 :]):
            missed.append(name)
        verdict = "target MISSED" if name in missed else "target met"
        print(f"== {name}: {verdict} ({time.perf_counter() - started:.0f} s)\n", flush=True)
    if missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
