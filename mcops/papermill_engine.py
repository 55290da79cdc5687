"""The papermill engine mcops runs notebooks with: nbclient, saving once at the end.

papermill's own engine saves the notebook when each cell starts and again when it ends,
and each save serialises the whole notebook (a deep copy, then JSON): for a scenario with
thirty cells and its figures that is seconds of the run, spent on copies nobody reads,
since mcops keeps the notebook in memory (`mcops.memory_io`) and writes evidence once.
This engine skips those saves. papermill still saves when the run ends, whatever ended it
(a cell's error, a cell past its timeout, a dead kernel), so what ran is kept.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine, papermill_engines

__all__ = ["ENGINE", "SaveAtEndEngine"]

#: The name `papermill.execute_notebook(engine_name=...)` takes.
ENGINE = "mcops"


class SaveAtEndEngine(NBClientEngine):  # type: ignore[misc]
    """nbclient without papermill's per-cell saves; the final save still happens."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        output_path, nb_man.output_path = nb_man.output_path, None  # save() is a no-op...
        try:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        finally:
            nb_man.output_path = output_path  # ...until papermill's closing save


papermill_engines.register(ENGINE, SaveAtEndEngine)
