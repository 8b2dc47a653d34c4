"""Run as a worker (TF_CONFIG set) or alone: writes the ids of the training samples this process feeds
to its replicas in the first STEPS steps, as ``fit`` would distribute them. A sample's id is the hash
of its image bytes. Used by tests/test_multiworker.py.

    python tests/_shard_probe.py OUT.json STEPS DISTRIBUTE KEY=VALUE...
"""
from __future__ import annotations

import hashlib
import json
import sys

from keras_depth.config import load_config
from keras_depth.training.strategy import get_strategy, is_multiworker, shard_by_data


def main(out: str, steps: int, distribute: str, overrides: list[str]) -> None:
    strategy = get_strategy(distribute)  # before any other op, as in train()
    from keras_depth.data.pipeline import make_dataset

    config = load_config("keras_depth/configs/quickstart_local.yaml", overrides)
    ds = make_dataset(config, "train")
    if is_multiworker(strategy):
        ds = shard_by_data(ds)
    ids = []
    for step, (x, _) in enumerate(strategy.experimental_distribute_dataset(ds)):
        if step == steps:
            break
        for local in strategy.experimental_local_results(x):
            ids += [hashlib.sha1(image.tobytes()).hexdigest()[:16] for image in local.numpy()]
    with open(out, "w") as f:
        json.dump(ids, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
