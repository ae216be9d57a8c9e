"""/api/v1/recipes/read: the recipe an MP4 made by the studio carries (History's "Import an MP4", for scripts)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, UploadFile

from studio.api.deps import StudioDep
from studio.api.video_schemas import RecipeReadOut

router = APIRouter(prefix="/api/v1/recipes", tags=["recipes"])
READ_PATH = "/api/v1/recipes/read"  # its body may be as large as an upload (max_upload_mb; studio.api.guards)


@router.post("/read", response_model=RecipeReadOut)
def read_recipe(file: UploadFile, studio: StudioDep) -> RecipeReadOut:
    """Upload an MP4 (multipart field `file`, at most `max_upload_mb`); get back the recipe it carries, or null.

    The upload is written to a temporary folder the server chooses and removed after reading; nothing is stored.
    """
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as folder:
        target = Path(folder) / "upload.mp4"  # the client's file name is never used
        with target.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        return RecipeReadOut(recipe=studio.videos.read_recipe(target))
