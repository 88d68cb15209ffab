import json
import polars as pl
from pharm.core import Context, evaluate_batch
from pharm.subst import OrangeBook

book = OrangeBook.from_path("crates/pharm-subst/testdata/products-sample.txt", released="2026-05-01")
answer = book.substitutes({"original": "N020702-001", "policy": {"state": "TX"}}, today="2026-05-20")
print(pl.from_arrow(answer.table()).select("rank", "key", "applicant", "code", "daw"))
print(pl.from_arrow(book.edges()).group_by("te_code").len().sort("te_code"))

data = "crates/pharm-ffi/c/examples/data/"
ctx = Context(open(data + "context.json").read())
refill = json.load(open(data + "refill_request.json"))
decisions = pl.DataFrame(evaluate_batch([refill] * 10_000, ctx))
print(decisions["outcome"].value_counts())
