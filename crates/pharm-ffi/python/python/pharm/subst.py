"""FDA Orange Book releases and therapeutic-equivalence substitution (pharm-subst).

:class:`OrangeBook` loads ``products.txt`` (bytes or a path) into the equivalence graph,
answers substitution queries (a :class:`Substitutes` value) and explain queries (dicts or
JSON ``str`` in the C ABI's query form) and exports its products, edges and multi-source groups as tables: a
``pyarrow.RecordBatch`` when pyarrow is installed (``format="auto"``, the default, or
``"arrow"``), else a dict of lists (``format="dict"``).
"""

from __future__ import annotations

from pharm._pharm import OrangeBook, Substitutes

__all__ = ["OrangeBook", "Substitutes"]
