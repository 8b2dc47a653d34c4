"""The ``weights`` argument every encoder takes, and building a Keras application on a given input."""
from __future__ import annotations

from typing import Optional

from keras_depth.errors import UsageError


def check_weights(weights: Optional[str]) -> Optional[str]:
    """``weights`` itself when it is None or 'imagenet'; a UsageError otherwise."""
    if weights not in (None, "imagenet"):
        raise UsageError(f"weights: expected None or 'imagenet', got {weights!r}")
    return weights


def keras_application(builder, inputs, weights: Optional[str], **kwargs):
    """Build a Keras application on ``inputs``; 'imagenet' needs the network, so say so plainly."""
    try:
        return builder(input_tensor=inputs, include_top=False, weights=check_weights(weights), **kwargs)
    except Exception as e:  # download failures surface as several exception types
        if weights == "imagenet":
            raise UsageError(
                f"weights='imagenet' could not be loaded ({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
                "it needs network access to Keras' weight store, or use weights=None"
            ) from None
        raise
