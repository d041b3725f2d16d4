"""Writes tests/fixtures/pytorch_mlp/: a real PyTorch capture for gradsign's tests.

A 6-16-8-1 MLP with sigmoid hidden units, trained for five SGD steps on
positive inputs, then one step captured with gradsign_hooks. Beside the
capture (capture.safetensors) it writes reference.safetensors: PyTorch's
own per-example gradients of every weight and bias (torch.func), so that
the Rust tests compare the crate's per-example categories and its batch
gradient Δᵀ·A with what PyTorch computed, without torch.

    /work/venv-torch/bin/python python/make_fixture.py   # from the repository root

It also checks the hooks in PyTorch itself (Δᵀ·A == weight.grad for every
Linear layer and for a Conv2d layer) and fails loudly if they disagree.
"""

import os
import sys
import warnings
from collections import OrderedDict

import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from gradsign_hooks import capture_layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pytorch_mlp")


def mlp():
    torch.manual_seed(9)
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 16)), ("act1", nn.Sigmoid()),
        ("fc2", nn.Linear(16, 8)), ("act2", nn.Sigmoid()),
        ("out", nn.Linear(8, 1)),
    ]))


def data(batch=32):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(batch, 6, generator=g)                       # positive inputs
    y = (x[:, :3].sum(1, keepdim=True) > x[:, 3:].sum(1, keepdim=True)).float()
    return x, y


def check_close(name, ours, theirs):
    err = (ours - theirs).abs().max().item()
    if err > 1e-6:
        raise SystemExit(f"{name}: hooks disagree with PyTorch by {err}")


def main():
    # The first layer's input needs no gradient; PyTorch warns that the
    # full backward hook then fires on the output gradient, which is Δ.
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    model, (x, y) = mlp(), data()
    loss_fn = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    opt.zero_grad()
    with capture_layers(model) as cap:
        loss = loss_fn(model(x), y)
        loss.backward()
    tensors = cap.tensors()
    for name in cap.order:
        a, d = tensors[f"{name}.input"], tensors[f"{name}.delta"]
        check_close(name, d.T @ a, tensors[f"{name}.weight_grad"])
        check_close(name, d.sum(0), tensors[f"{name}.bias_grad"])

    # PyTorch's per-example gradients of the same step: the loss of example
    # n alone is the batch loss's term for n (MSELoss averages: × 1/B).
    params = {k: v.detach() for k, v in model.named_parameters()}

    def example_loss(p, xn, yn):
        out = functional_call(model, p, (xn.unsqueeze(0),))
        return ((out - yn.unsqueeze(0)) ** 2).sum() / x.shape[0]

    per_example = vmap(grad(example_loss), in_dims=(None, 0, 0))(params, x, y)
    reference = {}
    for name in cap.order:
        reference[f"{name}.per_example_weight_grad"] = per_example[f"{name}.weight"].contiguous()
        reference[f"{name}.per_example_bias_grad"] = per_example[f"{name}.bias"].contiguous()
        check_close(name, per_example[f"{name}.weight"].sum(0), tensors[f"{name}.weight_grad"])

    # Conv2d: Δᵀ·A of the unfolded rows is PyTorch's weight gradient.
    torch.manual_seed(1)
    conv = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, stride=2), nn.Sigmoid(), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 1))
    images = torch.rand(4, 2, 8, 8)
    with capture_layers(conv) as cc:
        conv(images).square().sum().backward()
    ct = cc.tensors()
    check_close("conv", ct["0.delta"].T @ ct["0.input"], ct["0.weight_grad"])
    check_close("conv linear", ct["3.delta"].T @ ct["3.input"], ct["3.weight_grad"])

    os.makedirs(OUT, exist_ok=True)
    cap.save(os.path.join(OUT, "capture.safetensors"))
    save_file(reference, os.path.join(OUT, "reference.safetensors"),
              metadata={"loss": repr(loss.item()), "torch": torch.__version__})
    print(f"wrote {OUT}: layers {cap.order}, loss {loss.item():.6f}; hooks agree with PyTorch")


if __name__ == "__main__":
    main()
