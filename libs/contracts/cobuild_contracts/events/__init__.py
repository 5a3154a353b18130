"""Every v1 event, one module per producing service."""

from __future__ import annotations

from .agreements import *  # noqa: F403
from .agreements import __all__ as _agreements
from .commitments import *  # noqa: F403
from .commitments import __all__ as _commitments
from .evaluation import *  # noqa: F403
from .evaluation import __all__ as _evaluation
from .points import *  # noqa: F403
from .points import __all__ as _points

__all__ = [*_agreements, *_commitments, *_points, *_evaluation]
