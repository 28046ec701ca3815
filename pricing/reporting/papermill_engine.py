"""The ``pricing-warm`` Papermill engine: notebooks executed on warm kernels (see :mod:`pricing.reporting.kernel_pool`).

    papermill.execute_notebook(src, None, parameters, engine_name="pricing-warm", kernel_name="python3")

The engine lives in :mod:`pricing.reporting._warm_engine`, which Papermill's ``papermill.engine``
entry point loads. Papermill is imported here first: it loads its entry points while
it is being imported, and must find the engine's module whole, not half-imported.
"""

from __future__ import annotations

import papermill  # noqa: F401  (first, see above)

from pricing.reporting._warm_engine import ENGINE_NAME, WarmKernelEngine

__all__ = ["ENGINE_NAME", "WarmKernelEngine"]
