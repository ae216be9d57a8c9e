"""/api/v1/models: the models the studio knows, their cache state, downloads with progress, switching and deleting.

A model key is a preset key or a hub id ("owner/name"), so routes take it as a path; the suffix routes come first.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from studio.api.deps import StudioDep
from studio.api.system_schemas import TransferOut
from studio.services.models import ModelEntry

router = APIRouter(prefix="/api/v1", tags=["models"])


class ModelOut(BaseModel):
    key: str
    label: str
    source: str = Field(description="hub id, local folder, or built on this machine (tiny)")
    gpu_gb: float = Field(description="smallest GPU that holds it resident (0: runs on the CPU)")
    tiny: bool
    downloadable: bool = Field(description="a hub model: download and delete apply")
    downloaded: bool = Field(description="complete in the Hugging Face cache (tiny and local models always are)")
    size_bytes: int = Field(description="on disk now")
    total_bytes: int | None = Field(description="the whole model; null until the hub was asked on this machine")
    missing: list[str]
    loaded: bool = Field(description="the worker holds it now (or is loading it)")
    next: bool = Field(description="new jobs are made for it")
    transfer: TransferOut | None = Field(description="a download or load in progress, or its last failure")

    @classmethod
    def of(cls, entry: ModelEntry) -> ModelOut:
        fields = {name: getattr(entry, name) for name in cls.model_fields if name != "transfer"}
        transfer = TransferOut.of(entry.transfer) if entry.transfer is not None else None
        return cls(**fields, transfer=transfer)


@router.get("/models", response_model=list[ModelOut])
def list_models(studio: StudioDep) -> list[ModelOut]:
    """Every preset (and the model --model named), with what it needs, whether it is downloaded, and transfers."""
    return [ModelOut.of(entry) for entry in studio.model_list()]


@router.post("/models/{key:path}/download", status_code=status.HTTP_202_ACCEPTED, response_model=ModelOut)
def download_model(key: str, studio: StudioDep) -> ModelOut:
    """Start fetching a hub model into the cache; follow `transfer` with GET /api/v1/models/{key}. 409: not a hub
    model, or already downloading."""
    return ModelOut.of(studio.download_model(key))


@router.post("/models/{key:path}/use", response_model=ModelOut)
def use_model(key: str, studio: StudioDep) -> ModelOut:
    """New jobs use this model; it loads in place of the resident one (queued jobs keep theirs). 503 in a fleet."""
    return ModelOut.of(studio.use_model(key))


@router.delete("/models/{key:path}/cache", response_model=ModelOut)
def delete_model(key: str, studio: StudioDep) -> ModelOut:
    """Remove a hub model's files from the cache. 409 while it is loaded or downloading."""
    return ModelOut.of(studio.delete_model(key))


@router.get("/models/{key:path}", response_model=ModelOut)
def get_model(key: str, studio: StudioDep) -> ModelOut:
    """One model, with its download or load progress (poll it to follow a download)."""
    return ModelOut.of(studio.model_entry(key))
