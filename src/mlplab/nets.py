"""The two networks behind one interface: ``Net(in_features, hidden_dims, out_features, init, seed)``.

Both are ``nn.Module``s with ``forward(x) -> logits`` and ``loss(logits, y)``, so the LightningModule never
asks which one it holds. ``init`` draws come from a generator seeded with ``seed``: for every scheme but
"default" the two networks start from bit-identical weights.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from mlplab import manual


class ManualMLP(nn.Module):
    """The hand-written MLP of ``mlplab.manual``, with its tensors registered so that Lightning can move
    them across devices and dtypes, hand them to the optimizer and save them in checkpoints."""

    def __init__(self, in_features, hidden_dims, out_features, init="default", seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.mlp = manual.MLP(in_features, list(hidden_dims), out_features, init, g)
        linears = [layer for layer in self.mlp.layers if isinstance(layer, manual.Linear)]
        for i, layer in enumerate(linears):
            # A Parameter shares the tensor's storage and stays a leaf; module.to() swaps its .data in
            # place, so the layer keeps computing with the very tensor the optimizer updates.
            layer.w = nn.Parameter(layer.w.detach())
            layer.b = nn.Parameter(layer.b.detach())
            self.register_parameter(f"w{i}", layer.w)
            self.register_parameter(f"b{i}", layer.b)

    def forward(self, x):
        return self.mlp(x)

    def loss(self, logits, y, reduction="mean"):
        return manual.cross_entropy(logits, y, reduction)


class TorchMLP(nn.Module):
    """The same MLP from ``nn.Linear`` and ``nn.ReLU``, re-initialized with ``torch.nn.init``."""

    def __init__(self, in_features, hidden_dims, out_features, init="default", seed=0):
        super().__init__()
        sizes = [in_features, *hidden_dims, out_features]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])  # no ReLU after the logits
        g = torch.Generator().manual_seed(seed)
        for layer in self.layers:
            if isinstance(layer, nn.Linear):
                _reinit(layer, init, g)

    def forward(self, x):
        return self.layers(x)

    def loss(self, logits, y, reduction="mean"):
        return F.cross_entropy(logits, y, reduction=reduction)


NETWORKS = {"manual": ManualMLP, "nn": TorchMLP}  # impl=... -> class


@torch.no_grad()
def _reinit(layer, scheme, g):
    w, b = layer.weight, layer.bias
    if scheme == "default":  # keep nn.Linear's own reset_parameters()
        return
    if scheme == "torch":  # what reset_parameters() does, but drawn from g
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
        bound = 1.0 / math.sqrt(w.shape[1])
        nn.init.uniform_(b, -bound, bound, generator=g)
        return
    if scheme == "normal":
        nn.init.normal_(w, 0.0, 1.0, generator=g)
    elif scheme == "xavier":
        nn.init.xavier_uniform_(w, generator=g)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w, generator=g)
    elif scheme == "kaiming":
        nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=g)
    else:
        raise ValueError(f"init={scheme!r} is not a scheme; allowed: {', '.join(manual.SCHEMES)}")
    nn.init.zeros_(b)
