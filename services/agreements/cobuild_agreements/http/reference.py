"""Reference data: every code the service takes or answers with, labelled zh-CN and en, with
no token (a client builds its forms from it instead of learning codes from refusals)."""

from __future__ import annotations

from cobuild_kit.api import refusals
from cobuild_kit.service import PublicRateLimit
from fastapi import APIRouter

from cobuild_agreements.http.answers import Code, Labels, ReferenceData
from cobuild_agreements.settings import RuntimeDep
from cobuild_agreements.usecases.reference import vocabularies

router = APIRouter(tags=["reference"], dependencies=[PublicRateLimit], responses=refusals(429))


@router.get("/reference")
async def reference(rt: RuntimeDep) -> ReferenceData:
    """Categories (this deployment's), need and resource kinds, unit types, party kinds,
    roles and visibility, each `{code, labels: {"zh-CN", "en"}}`."""
    return ReferenceData(
        **{
            name: [Code(code=code, labels=Labels.model_validate(labels)) for code, labels in vocab]
            for name, vocab in vocabularies(rt.settings).items()
        }
    )
