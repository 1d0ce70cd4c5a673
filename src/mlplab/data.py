"""Iris as a LightningDataModule: scikit-learn's bundled copy, a stratified split seeded apart from the run."""

import math

import pytorch_lightning as pl
import torch
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split


class TensorBatches:
    """Yields (x, y) batches by indexing in-memory tensors: no per-sample collation.

    With ``generator`` the order is reshuffled every pass, reproducibly from the generator's seed.
    """

    def __init__(self, x, y, batch_size, generator=None):
        self.x, self.y, self.batch_size, self.generator = x, y, batch_size, generator

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.generator is not None else None
        for i in range(0, n, self.batch_size):
            if order is None:
                yield self.x[i : i + self.batch_size], self.y[i : i + self.batch_size]
            else:
                idx = order[i : i + self.batch_size]
                yield self.x[idx], self.y[idx]


class IrisDataModule(pl.LightningDataModule):
    """Train / (optional val) / test splits of Iris, stratified by class.

    ``test_size`` and ``val_size`` are fractions of all 150 samples. The split depends on ``split_seed``
    alone, so a sweep over run seeds changes the training order and init, never the test set. With
    ``val_size=0`` the per-epoch evaluation runs on the test split (as the original study did) and
    ``eval_split`` says so.
    """

    def __init__(self, test_size=0.2, val_size=0.0, split_seed=0, batch_size=16, standardize=False, seed=0):
        super().__init__()
        self.test_size, self.val_size, self.split_seed = test_size, val_size, split_seed
        self.batch_size, self.standardize, self.seed = batch_size, standardize, seed
        self.splits = None

    @property
    def eval_split(self):
        return "val" if self.val_size > 0 else "test"

    def setup(self, stage=None):
        if self.splits is not None:  # Lightning calls setup for fit and again for test
            return
        iris = load_iris()
        x, y = iris.data, iris.target
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=self.test_size, stratify=y, random_state=self.split_seed
        )
        splits = {"test": (x_test, y_test)}
        if self.val_size > 0:
            val_of_rest = self.val_size / (1.0 - self.test_size)  # val_size is a fraction of all samples
            x_rest, x_val, y_rest, y_val = train_test_split(
                x_rest, y_rest, test_size=val_of_rest, stratify=y_rest, random_state=self.split_seed
            )
            splits["val"] = (x_val, y_val)
        splits["train"] = (x_rest, y_rest)
        self.splits = {k: _tensors(*v) for k, v in splits.items()}
        if self.standardize:  # statistics of the training split only: no test information leaks in
            mean = self.splits["train"][0].mean(0)
            std = self.splits["train"][0].std(0, unbiased=False)
            self.splits = {k: ((xs - mean) / std, ys) for k, (xs, ys) in self.splits.items()}

    def train_dataloader(self):
        return TensorBatches(*self.splits["train"], self.batch_size, torch.Generator().manual_seed(self.seed))

    def val_dataloader(self):
        return TensorBatches(*self.splits[self.eval_split], self.batch_size)

    def test_dataloader(self):
        return TensorBatches(*self.splits["test"], self.batch_size)


def _tensors(x, y):
    # float32 features, int64 labels, whatever dtypes the source arrays carry
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
