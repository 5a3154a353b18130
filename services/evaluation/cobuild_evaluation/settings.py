"""Settings of the evaluation service (environment prefix COBUILD_EVALUATION_), and the
runtime typed by them: `RuntimeDep` for routers, `EvaluationRuntime` for use cases."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config
from fastapi import Depends


class EvaluationSettings(ServiceSettings):
    model_config = service_config("evaluation")
    port: int = DEFAULT_PORTS["evaluation"]

    # Resident one-time codes: how long a code stays valid, and redeem attempts per client.
    resident_code_ttl_hours: int = 24 * 30
    resident_redeem_attempts_per_minute: int = 30
    # At most this many codes per commitment, in all. The bound would be the commitment's
    # beneficiaries head count, but no event this service reads carries it (need.published
    # has it, and the items name their need only), so it is a fixed cap.
    resident_codes_per_commitment: int = 50
    # The points service's public base URL, for the link to its member honour roll.
    points_public_url: str = "http://127.0.0.1:8103"
    # Where residents read the public board: the console's address (its /board/... pages,
    # with names, a large-type mode and the member honour roll as a page). When set, a
    # browser asking this service for a board's HTML page is sent there (307); JSON is still
    # answered here. Empty: this service's own page.
    board_url: str = ""
    # An objection's attachment (an image or a PDF), at most this many bytes each.
    objection_file_max_bytes: int = 10 * 1024 * 1024


EvaluationRuntime = Runtime[EvaluationSettings]
RuntimeDep = Annotated[EvaluationRuntime, Depends(get_runtime)]
