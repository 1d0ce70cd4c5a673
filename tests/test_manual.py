"""The hand-written pieces against torch's own: layer, ReLU, loss, init schemes, gradients."""

import ast
import inspect
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mlplab import manual


def test_manual_module_imports_nothing_from_torch_nn():
    tree = ast.parse(inspect.getsource(manual))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported += [f"{node.module}.{a.name}" for a in node.names]
    assert imported and all(not name.startswith("torch.nn") and name != "torch.nn" for name in imported), imported
    # and no attribute path through torch.nn (torch.nn.functional.one_hot, F.relu, ...)
    attrs = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert not [a for a in attrs if a.startswith("torch.nn") or a.startswith("nn.") or a.startswith("F.")]


def test_linear_matches_torch_linear_and_grads():
    g = torch.Generator().manual_seed(0)
    layer = manual.Linear(4, 7, "torch", g)
    x = torch.randn(5, 4, requires_grad=True)
    ref_w = layer.w.detach().clone().requires_grad_()
    ref_b = layer.b.detach().clone().requires_grad_()
    out, ref = layer(x), F.linear(x, ref_w, ref_b)
    torch.testing.assert_close(out, ref)
    out.square().sum().backward()
    gx = x.grad.clone()
    x.grad = None
    ref.square().sum().backward()
    torch.testing.assert_close(layer.w.grad, ref_w.grad)
    torch.testing.assert_close(layer.b.grad, ref_b.grad)
    torch.testing.assert_close(gx, x.grad)


def test_linear_gradcheck_float64():
    layer = manual.Linear(3, 2, "xavier")
    w = layer.w.detach().double().requires_grad_()
    b = layer.b.detach().double().requires_grad_()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        layer.w, layer.b = w, b
        return layer(x)

    assert torch.autograd.gradcheck(f, (x, w, b))


def test_relu_matches_torch_including_gradient_at_zero():
    x = torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = manual.ReLU()(x)
    torch.testing.assert_close(y, torch.relu(x.detach()))
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # torch.relu's subgradient at 0 is 0 too


def test_mlp_shapes_and_parameters_any_depth():
    mlp = manual.MLP(4, [8, 6, 5], 3, "kaiming")
    assert [tuple(p.shape) for p in mlp.parameters()] == [(8, 4), (8,), (6, 8), (6,), (5, 6), (5,), (3, 5), (3,)]
    assert mlp(torch.randn(10, 4)).shape == (10, 3)
    assert all(p.is_leaf and p.requires_grad for p in mlp.parameters())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(64, 3, generator=g) * 5
    y = torch.randint(0, 3, (64,), generator=g)
    got = manual.cross_entropy(logits, y, reduction)
    ref = F.cross_entropy(logits, y, reduction=reduction)
    assert torch.allclose(got, ref, atol=1e-6, rtol=0), (got - ref).abs().max()


def test_cross_entropy_hand_computed():
    # logits (0, ln 2, ln 3): softmax = (1, 2, 3) / 6, so -log p(target=2) = log(2) exactly
    logits = torch.tensor([[0.0, math.log(2), math.log(3)]], dtype=torch.float64)
    assert manual.cross_entropy(logits, torch.tensor([2])).item() == pytest.approx(math.log(2), abs=1e-12)


@pytest.mark.parametrize("scale", [1e4, -1e4, 1e8])
def test_cross_entropy_stable_for_huge_logits(scale):
    logits = (torch.tensor([[1.0, -1.0, 0.5], [0.2, 0.3, -0.9]]) * scale).requires_grad_()
    y = torch.tensor([0, 2])
    loss = manual.cross_entropy(logits, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    torch.testing.assert_close(loss, F.cross_entropy(logits.detach(), y))


def test_cross_entropy_gradcheck_float64():
    logits = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    for reduction in ("mean", "sum", "none"):
        assert torch.autograd.gradcheck(lambda z: manual.cross_entropy(z, y, reduction), (logits,))


def test_cross_entropy_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction='avg'.*mean, sum, none"):
        manual.cross_entropy(torch.zeros(1, 3), torch.tensor([0]), "avg")


REFERENCE_INIT = {
    "normal": lambda w, b, g: (nn.init.normal_(w, 0, 1, generator=g), nn.init.zeros_(b)),
    "xavier": lambda w, b, g: (nn.init.xavier_uniform_(w, generator=g), nn.init.zeros_(b)),
    "xavier_normal": lambda w, b, g: (nn.init.xavier_normal_(w, generator=g), nn.init.zeros_(b)),
    "kaiming": lambda w, b, g: (nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g), nn.init.zeros_(b)),
    "torch": lambda w, b, g: (
        nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g),
        nn.init.uniform_(b, -1 / math.sqrt(w.shape[1]), 1 / math.sqrt(w.shape[1]), generator=g),
    ),
}


@pytest.mark.parametrize("scheme", sorted(REFERENCE_INIT))
def test_init_schemes_equal_torch_nn_init(scheme):
    w, b = manual.init_tensors(scheme, 5, 9, torch.Generator().manual_seed(3))
    rw, rb = torch.empty(9, 5), torch.empty(9)
    REFERENCE_INIT[scheme](rw, rb, torch.Generator().manual_seed(3))
    assert torch.equal(w, rw) and torch.equal(b, rb)
    assert w.is_leaf and w.requires_grad and b.is_leaf and b.requires_grad


def test_default_init_is_the_studys_standard_normal_and_zero_bias():
    w, b = manual.init_tensors("default", 4, 100, torch.Generator().manual_seed(0))
    rw = torch.empty(100, 4).normal_(0, 1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(w, rw) and not b.any()


def test_kaiming_takes_fan_in_from_the_input_axis():
    g = torch.Generator().manual_seed(0)
    wide, _ = manual.init_tensors("kaiming", 4, 256 * 64, g)  # 4 -> many: fan_in 4
    narrow, _ = manual.init_tensors("kaiming", 256, 3 * 64, g)  # 256 -> few: fan_in 256
    assert wide.std().item() == pytest.approx(math.sqrt(2 / 4), rel=0.02)
    assert narrow.std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.02)


def test_xavier_and_torch_bounds():
    g = torch.Generator().manual_seed(0)
    w, _ = manual.init_tensors("xavier", 100, 300, g)
    assert w.abs().max().item() <= math.sqrt(6 / 400) and w.abs().max().item() > 0.95 * math.sqrt(6 / 400)
    w, b = manual.init_tensors("torch", 100, 300, g)
    assert w.abs().max().item() <= 0.1 and b.abs().max().item() <= 0.1 and b.abs().max().item() > 0.09


def test_unknown_scheme_names_allowed_ones():
    with pytest.raises(ValueError, match="init='he'.*xavier"):
        manual.init_tensors("he", 2, 2)


def test_cross_entropy_of_half_precision_logits_runs_in_float32():
    logits = (torch.randn(8, 3) * 3).to(torch.bfloat16).requires_grad_()
    y = torch.randint(0, 3, (8,))
    loss = manual.cross_entropy(logits, y)
    loss.backward()
    assert loss.dtype == torch.float32 and logits.grad.dtype == torch.bfloat16
    torch.testing.assert_close(loss, F.cross_entropy(logits.detach().float(), y))
