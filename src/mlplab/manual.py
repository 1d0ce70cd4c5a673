"""The hand-written MLP: linear layer, ReLU, network, cross-entropy and init schemes from plain tensors.

Nothing here comes from ``torch.nn`` (a test reads this file's imports): every weight is a leaf tensor
with ``requires_grad`` and every operation is a tensor op that autograd differentiates.
"""

import math

import torch

# Schemes this module computes itself. "default" is the original study's choice: standard-normal weights.
SCHEMES = ("default", "normal", "xavier", "xavier_normal", "kaiming", "torch")


def init_tensors(scheme, nin, nout, generator=None):
    """Return fresh leaf (weight (nout, nin), bias (nout,)) drawn by ``scheme``.

    Draws happen in the same order, with the same tensor calls and the same float arithmetic for the
    bounds as ``torch.nn.init``, so one generator state gives bit-identical weights in both implementations.
    """
    w, b = torch.empty(nout, nin), torch.zeros(nout)
    if scheme in ("default", "normal"):
        w.normal_(0.0, 1.0, generator=generator)
    elif scheme == "xavier":  # Glorot: keeps activation and gradient variance ~1 through the layer
        a = math.sqrt(3.0) * math.sqrt(2.0 / (nin + nout))  # U(-a, a) has variance 2 / (nin + nout)
        w.uniform_(-a, a, generator=generator)
    elif scheme == "xavier_normal":
        w.normal_(0.0, math.sqrt(2.0 / (nin + nout)), generator=generator)
    elif scheme == "kaiming":  # He, fan-in: ReLU halves the variance, so the gain is sqrt(2)
        w.normal_(0.0, math.sqrt(2.0) / math.sqrt(nin), generator=generator)
    elif scheme == "torch":  # nn.Linear's own: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(nin), 1/sqrt(nin))
        gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))  # leaky-ReLU gain for slope sqrt(5)
        bound = math.sqrt(3.0) * (gain / math.sqrt(nin))
        w.uniform_(-bound, bound, generator=generator)
        b.uniform_(-1.0 / math.sqrt(nin), 1.0 / math.sqrt(nin), generator=generator)
    else:
        raise ValueError(f"init={scheme!r} is not a scheme; allowed: {', '.join(SCHEMES)}")
    return w.requires_grad_(), b.requires_grad_()


class Linear:
    """y = x W^T + b for x of shape (N, nin) -> (N, nout)."""

    def __init__(self, nin, nout, init="default", generator=None):
        self.w, self.b = init_tensors(init, nin, nout, generator)

    def __call__(self, x):
        return torch.addmm(self.b, x, self.w.t())

    def parameters(self):
        return [self.w, self.b]


class ReLU:
    def __call__(self, x):
        return torch.where(x > 0, x, 0.0)  # gradient 0 at x = 0, as torch.relu (clamp_min would give 1)

    def parameters(self):
        return []


class MLP:
    """Linear layers of sizes nin -> *hidden -> nout with a ReLU between each pair."""

    def __init__(self, nin, hidden_dims, nout, init="default", generator=None):
        sizes = [nin, *hidden_dims, nout]
        self.layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.layers.append(Linear(a, b, init, generator))
            if i < len(sizes) - 2:
                self.layers.append(ReLU())

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(torch.autograd.Function):
    """Softmax cross-entropy with its gradient written out: d loss / d logits = softmax - onehot(target).

    Forward: log-softmax through log-sum-exp with the row maximum subtracted, so logits of 1e8 neither
    overflow exp() nor lose the target's term. The backward pass follows the same arithmetic as torch's
    own kernels (nll then log-softmax), so in a chaotic run the two implementations stay in step.
    """

    @staticmethod
    def forward(ctx, logits, target, reduction):
        shifted = logits - logits.max(dim=1, keepdim=True).values
        log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (N, C) log-softmax
        nll = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)  # (N,)
        ctx.save_for_backward(log_p, target)
        ctx.reduction = reduction
        if reduction == "mean":
            return nll.sum() / len(target)
        return nll.sum() if reduction == "sum" else nll

    @staticmethod
    def backward(ctx, grad):
        log_p, target = ctx.saved_tensors
        if ctx.reduction == "mean":
            grad = grad / len(target)
        rows = (-grad).expand(len(target)) if grad.dim() == 0 else -grad  # d loss / d log_p[i, target_i]
        onehot = torch.arange(log_p.shape[1], device=target.device) == target.unsqueeze(1)  # (N, C) bool
        g = torch.where(onehot, rows.unsqueeze(1).to(log_p.dtype), 0.0)  # elementwise: deterministic on GPUs
        # through log-softmax: d/dz = g - softmax(z) * sum_j g_j
        return g - log_p.exp() * g.sum(dim=1, keepdim=True), None, None


def cross_entropy(logits, target, reduction="mean"):
    """Mean/sum/per-sample negative log-likelihood of integer ``target`` (N,) under softmax(``logits``) (N, C)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}; allowed: {', '.join(REDUCTIONS)}")
    if logits.dtype in (torch.float16, torch.bfloat16):  # as torch's autocast does: the loss in float32
        logits = logits.float()
    return CrossEntropy.apply(logits, target, reduction)
