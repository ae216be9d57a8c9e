"""The README stays true to the tree: its module map names every module, and names none that is gone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDIO = ROOT / "studio"


def module_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it works") :]
    return section.split("```")[1]


def modules() -> list[Path]:
    return [
        path
        for path in STUDIO.rglob("*.py")
        if "migrations" not in path.parts and not (path.name == "__init__.py" and path.parent != STUDIO / "api")
    ]


def test_the_module_map_names_every_module_and_package() -> None:
    block = module_map()
    missing = [
        str(path.relative_to(ROOT)) for path in modules() if not re.search(rf"\b{re.escape(path.name)}\b", block)
    ]
    assert missing == [], f"README's module map lacks {missing}"
    packages = [path.parent.name for path in STUDIO.glob("*/__init__.py")]
    assert all(f"{package}/" in block for package in packages), packages


def test_the_module_map_names_no_module_that_is_gone() -> None:
    names = {path.name for path in STUDIO.rglob("*.py")} | {"app.py"}
    named = set(re.findall(r"\b[a-z_0-9]+\.py\b", module_map()))
    assert named - names == set()


def test_importing_the_surfaces_loads_no_model_library() -> None:
    code = (
        "import sys, studio, studio.web, studio.client; "
        "loaded = [m for m in ('torch', 'diffusers', 'transformers', 'torchao') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_the_readme_names_every_route(studio: object) -> None:
    from studio.api import create_app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = create_app(studio).openapi()["paths"]  # type: ignore[arg-type]
    shown = {path.replace("{job_id}", "{id}").replace("{video_id}", "{id}") for path in paths}
    missing = sorted(path for path in shown if path not in readme)
    assert missing == [], f"README's API section lacks {missing}"
