"""Benchmarks of the pharm wheel (timeit; not a test): prints the median of repeated runs.

    python bench.py PRODUCTS_TXT [--repeat N]

PRODUCTS_TXT is the generated full-size Orange Book (55,000 rows) with its benchmark keys
beside it (PRODUCTS_TXT.keys), written by ``orange-book-gen``; ``run-python-bench`` builds
the release wheel, makes both and runs this script.

Measured (targets of the wheel's README):
- normalize_ndc over a Python list of 1,000,000 NDC texts (< 1 s);
- evaluate_batch of 100,000 typical refills, given as dicts or JSON str, decisions as dicts
  or JSON str (>= 100,000 / s);
- OrangeBook.substitutes, one call (dict query in, a Substitutes value out) over the same
  256 rotating keys as the Rust ``substitutes/graph_no_market`` benchmark (<= 3x its
  median), and the same with every answer turned into dicts;
- OrangeBook.edges of the 55,000-row catalog to a pyarrow RecordBatch (< 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pharm.core import Context, evaluate_batch, normalize_ndc
from pharm.subst import OrangeBook

ROOT = Path(__file__).resolve().parents[4]
EXAMPLES = ROOT / "crates" / "pharm-ffi" / "c" / "examples" / "data"


def median_seconds(run: Callable[[], Any], repeat: int) -> float:
    """The median wall time of `repeat` runs of `run` (after one warm-up run)."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ndc_column(n: int) -> list[str]:
    """n NDC texts in the three hyphenated layouts and as 11 digits."""
    column = []
    for i in range(n):
        labeler, product, package = 10000 + i % 90000, i % 1000, i % 100
        match i % 4:
            case 0:
                column.append(f"{labeler:05d}-{product:03d}-{package:02d}")
            case 1:
                column.append(f"{labeler % 10000:04d}-{product:04d}-{package:02d}")
            case 2:
                column.append(f"{labeler:05d}-{product % 1000:04d}-{package % 10:01d}")
            case _:
                column.append(f"{labeler:05d}{product:04d}{package:02d}")
    return column


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("products", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    repeat: int = args.repeat

    column = ndc_column(1_000_000)
    s = median_seconds(lambda: normalize_ndc(column), repeat)
    print(f"normalize_ndc, 1,000,000 NDCs: {s * 1e3:.0f} ms ({len(column) / s / 1e6:.2f} M/s)")

    context = Context((EXAMPLES / "context.json").read_text("utf-8"))
    refill_text = (EXAMPLES / "refill_request.json").read_text("utf-8")
    refill = json.loads(refill_text)
    # As pharm-core (and a till following it) writes a request: "type" first, compact.
    type_first = {"type": refill["type"]} | refill
    as_dicts = [refill] * 100_000
    as_text = [json.dumps(type_first, separators=(",", ":"))] * 100_000
    as_sorted_text = [json.dumps(refill, separators=(",", ":"), sort_keys=True)] * 100_000
    for label, batch in (
        ("dicts", as_dicts),
        ("JSON str, \"type\" first", as_text),
        ("JSON str, sorted keys", as_sorted_text),
    ):
        for output in ("dict", "json"):
            s = median_seconds(lambda: evaluate_batch(batch, context, output=output), repeat)
            print(
                f"evaluate_batch, 100,000 refills as {label}, decisions as {output}: "
                f"{s * 1e3:.0f} ms ({len(batch) / s:,.0f} evaluations/s)"
            )

    book = OrangeBook.from_path(args.products, released="2026-05-01")
    keys = Path(f"{args.products}.keys").read_text("utf-8").split()
    queries = [{"original": key, "policy": {"state": "TX"}} for key in keys]
    calls = 100_000

    def substitutes() -> None:
        for i in range(calls):
            book.substitutes(queries[i % len(queries)], "2026-05-02")

    def substitutes_as_dicts() -> None:
        for i in range(calls):
            book.substitutes(queries[i % len(queries)], "2026-05-02").to_dict()

    s = median_seconds(substitutes, repeat)
    print(f"OrangeBook.substitutes, one call over {len(keys)} keys: {s / calls * 1e6:.2f} us")
    s = median_seconds(substitutes_as_dicts, repeat)
    print(f"  the same with .to_dict() of every answer: {s / calls * 1e6:.2f} us")

    s = median_seconds(lambda: book.edges(format="arrow"), repeat)
    print(
        f"OrangeBook.edges of {len(book):,} products ({book.edge_count:,} edges) "
        f"to pyarrow: {s * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
