"""Kafka topic names: one topic per producing service, ``<context>.events.v1``."""

from __future__ import annotations

from typing import Final

AGREEMENTS: Final = "agreements.events.v1"
COMMITMENTS: Final = "commitments.events.v1"
POINTS: Final = "points.events.v1"
EVALUATION: Final = "evaluation.events.v1"
ACCESS: Final = "access.events.v1"
ESCALATIONS: Final = "escalations.events.v1"

ALL_TOPICS: Final[tuple[str, ...]] = (
    AGREEMENTS,
    COMMITMENTS,
    POINTS,
    EVALUATION,
    ACCESS,
    ESCALATIONS,
)

DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}{DLQ_SUFFIX}"


__all__ = [
    "ACCESS",
    "AGREEMENTS",
    "ALL_TOPICS",
    "COMMITMENTS",
    "DLQ_SUFFIX",
    "ESCALATIONS",
    "EVALUATION",
    "POINTS",
    "dlq",
]
