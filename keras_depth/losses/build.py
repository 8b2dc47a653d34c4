"""The loss registry: a config's ``train.losses: [{name: silog, weight: 1.0}, ...]`` -> one Keras Loss."""
from __future__ import annotations

import inspect
from typing import Any, Mapping, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.losses.demon import ScaleInvariantGradientLoss
from keras_depth.losses.depth_losses import BerHuLoss, L1Loss, L2Loss, LogL1Loss, RelL1Loss, SILogLoss
from keras_depth.losses.ssi import GradientMatchingLoss, SSIGMLoss, SSILstsqLoss, SSIMedianLoss, SSITrimLoss
from keras_depth.registry import Registry

LOSSES: Registry[type[keras.losses.Loss]] = Registry("loss")
register_loss = LOSSES.register
for _name, _cls in {
    "l1": L1Loss,
    "l2": L2Loss,
    "log_l1": LogL1Loss,
    "rel_l1": RelL1Loss,
    "silog": SILogLoss,
    "berhu": BerHuLoss,
    "ssi_lstsq": SSILstsqLoss,
    "ssi_median": SSIMedianLoss,
    "ssi_trim": SSITrimLoss,
    "gradient_matching": GradientMatchingLoss,
    "ssi_gm": SSIGMLoss,
    "scale_invariant_gradient": ScaleInvariantGradientLoss,
}.items():
    LOSSES.register(_name, _cls)
# The self-supervised StereoLoss takes a different y_true (pack_stereo_target), so it is not in
# LOSSES: a weighted sum with the supervised losses would feed it the wrong tensor.


def _params(cls: type) -> set[str]:
    return {
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name not in ("self", "name", "reduction") and p.kind is not p.VAR_KEYWORD
    }


def get_loss(name: str, **kwargs: Any) -> keras.losses.Loss:
    """The registered Loss ``name`` built with ``kwargs``; UsageError for an unknown name or param."""
    cls = LOSSES.get(name, what="loss name")
    unknown = set(kwargs) - _params(cls)
    if unknown:
        raise UsageError(
            f"loss {name!r}: unknown parameter(s) {sorted(unknown)}; expected some of {sorted(_params(cls))}"
        )
    return cls(**kwargs)


@keras.saving.register_keras_serializable(package="keras_depth")
class WeightedSumLoss(keras.losses.Loss):
    """sum_k weight_k * loss_k(y_true, y_pred) over the registered losses listed in ``terms``."""

    def __init__(
        self,
        terms: Sequence[Mapping[str, Any]],
        name: str = "depth_loss",
        reduction: str = keras.losses.Reduction.AUTO,
    ) -> None:
        super().__init__(name=name, reduction=reduction)
        self.terms = [dict(t) for t in terms]
        self.weighted: list[tuple[float, keras.losses.Loss]] = []
        for i, term in enumerate(self.terms):
            if not isinstance(term, Mapping) or "name" not in term:
                raise UsageError(f"losses[{i}]: expected a mapping with a 'name' key, got {term!r}")
            params = dict(term)
            loss_name = params.pop("name")
            weight = params.pop("weight", 1.0)
            if not isinstance(weight, (int, float)) or isinstance(weight, bool):
                raise UsageError(f"losses[{i}].weight: expected a number, got {weight!r}")
            self.weighted.append((float(weight), get_loss(loss_name, **params)))

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return sum(w * loss.call(y_true, y_pred) for w, loss in self.weighted)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["terms"] = [dict(t) for t in self.terms]
        return config


def build_loss(terms: Sequence[Mapping[str, Any]]) -> keras.losses.Loss:
    """One Keras Loss summing the weighted terms ``[{name, weight=1.0, **params}, ...]``."""
    if isinstance(terms, Mapping) or not isinstance(terms, Sequence) or not terms:
        raise UsageError(f"losses: expected a non-empty list of {{name, weight, ...}}, got {terms!r}")
    return WeightedSumLoss(terms)
