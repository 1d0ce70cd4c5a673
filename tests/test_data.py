"""The Iris split and batches: stratified, disjoint, seeded apart from the run, no training data in test."""

from collections import Counter

import numpy as np
import pytest
import torch

from mlplab.data import IrisDataModule, TensorBatches


def _setup(**kw):
    dm = IrisDataModule(**kw)
    dm.setup()
    return dm


def test_default_split_is_stratified_disjoint_and_held_out():
    dm = _setup()
    (xtr, ytr), (xte, yte) = dm.splits["train"], dm.splits["test"]
    assert Counter(ytr.tolist()) == {0: 40, 1: 40, 2: 40}
    assert Counter(yte.tolist()) == {0: 10, 1: 10, 2: 10}
    assert dm.eval_split == "test" and "val" not in dm.splits
    # the evaluation loaders read the held-out split, not training samples
    assert torch.equal(torch.cat([x for x, _ in dm.val_dataloader()]), xte)
    assert torch.equal(torch.cat([x for x, _ in dm.test_dataloader()]), xte)


def test_splits_partition_the_150_samples():
    from sklearn.datasets import load_iris

    def rows(x):
        return Counter(tuple(np.round(r, 4)) for r in np.asarray(x, dtype=np.float64).tolist())

    for dm in (_setup(), _setup(val_size=0.2)):
        union = sum((rows(x) for x, _ in dm.splits.values()), Counter())
        assert union == rows(load_iris().data)  # every sample in exactly one split


def test_split_ignores_run_seed_and_follows_split_seed():
    a, b = _setup(seed=0), _setup(seed=7)
    assert torch.equal(a.splits["test"][0], b.splits["test"][0])
    c = _setup(split_seed=1)
    assert not torch.equal(a.splits["test"][0], c.splits["test"][0])


def test_val_split_is_carved_from_training_data_stratified():
    dm = _setup(val_size=0.2)
    sizes = {k: Counter(v[1].tolist()) for k, v in dm.splits.items()}
    assert sizes == {"test": {0: 10, 1: 10, 2: 10}, "val": {0: 10, 1: 10, 2: 10}, "train": {0: 30, 1: 30, 2: 30}}
    assert dm.eval_split == "val"
    assert torch.equal(torch.cat([x for x, _ in dm.val_dataloader()]), dm.splits["val"][0])
    assert _setup().splits["test"][0].equal(dm.splits["test"][0])  # the test set does not move


def test_standardize_uses_training_statistics_only():
    raw, std = _setup(), _setup(standardize=True)
    xtr = raw.splits["train"][0]
    mean, sd = xtr.mean(0), xtr.std(0, unbiased=False)
    torch.testing.assert_close(std.splits["train"][0].mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(std.splits["test"][0], (raw.splits["test"][0] - mean) / sd)
    assert std.splits["test"][0].mean(0).abs().max() > 1e-3  # test set is not re-centred on itself


def test_dtypes_whatever_the_source(monkeypatch):
    from sklearn.utils import Bunch

    import mlplab.data as data

    real = data.load_iris()
    monkeypatch.setattr(data, "load_iris", lambda: Bunch(data=real.data.astype(np.float64), target=real.target.astype(np.int32)))
    dm = _setup()
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.float32 and y.dtype == torch.int64


def test_batches_shuffle_reproducibly_from_run_seed_and_keep_short_last_batch():
    def order(seed):
        dm = _setup(seed=seed)
        loader = dm.train_dataloader()
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]  # two epochs

    a, b, c = order(0), order(0), order(1)
    assert a == b and a != c
    assert a[0] != a[1]  # reshuffled each epoch
    sizes = [len(y) for _, y in _setup(batch_size=16).train_dataloader()]
    assert sizes == [16] * 7 + [8]


def test_tensor_batches_len_and_in_order():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    tb = TensorBatches(x, y, 4)
    assert len(tb) == 3
    assert [b.tolist() for _, b in tb] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
