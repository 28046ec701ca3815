"""The app's kernel manager: Voila's own, refusing to start more than ``max_kernels`` kernels.

Every visit to ``pricing app`` starts a kernel of about 210 MB that lives until
it is culled (idle for 10 minutes). Voila has no setting that caps how many run;
it does let the kernel manager class be configured
(``VoilaConfiguration.multi_kernel_manager_class``), so the cap lives here: a
visit past it gets HTTP 503 with a one-line reason, before any kernel starts,
and the next visit after a kernel is culled or shut down is served again.
``pricing app --max-kernels N`` sets it (:func:`pricing.apps.cli.app.voila_command`).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import ApiPath
from tornado import web
from traitlets import Integer

DEFAULT_MAX_KERNELS = 8


class CappedKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with a cap on the kernels running or starting."""

    max_kernels = Integer(
        DEFAULT_MAX_KERNELS, min=1, config=True,
        help="Most kernels running at once; a visit past it gets HTTP 503.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting: set[str] = set()

    # jupyter_server's own override narrows MultiKernelManager's (*args, **kwargs) to these keywords too
    async def start_kernel(self, *, kernel_id: str | None = None,  # type: ignore[override]
                           path: ApiPath | None = None, **kwargs: Any) -> str:
        if kernel_id is not None and kernel_id in self:  # an existing kernel: nothing starts
            return str(await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs))
        # NOTE: the id is chosen here so that a kernel still starting is counted once, whether
        # or not the parent class has registered it yet; concurrent visits cannot overshoot.
        kernel_id = kernel_id or self.new_kernel_id()
        active = set(self.list_kernel_ids()) | self._starting
        if len(active) >= self.max_kernels:
            self.log.warning("kernel limit reached: %d kernels running", len(active))
            raise web.HTTPError(503, reason=f"Busy: the app runs at most {self.max_kernels} sessions at once;"
                                            " try again in a few minutes")
        self._starting.add(kernel_id)
        try:
            return str(await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs))
        finally:
            self._starting.discard(kernel_id)
