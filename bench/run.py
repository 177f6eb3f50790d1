"""Run every bench/bench_*.py (or those named on the command line) and print one table."""

import importlib.util
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BenchContext, print_rows


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    wanted = set(argv)
    scripts = [p for p in sorted(here.glob("bench_*.py")) if not wanted or p.stem.removeprefix("bench_") in wanted]
    ctx = BenchContext()
    rows, failed = [], []
    try:
        for script in scripts:
            spec = importlib.util.spec_from_file_location(script.stem, script)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            print(f"== {script.name}", flush=True)
            try:
                rows.extend(module.run(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(script.name)
    finally:
        ctx.close()
    print()
    print_rows(rows)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
