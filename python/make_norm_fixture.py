"""Writes tests/fixtures/norm/reference.json: PyTorch's values for gradsign's
normalisation layers, so that tests/nn/norm_torch.rs compares without torch.

    /work/venv-torch/bin/python python/make_norm_fixture.py   # from the repository root

Every case is in float64 and small. For each one it records the inputs, the
parameters, the running statistics before and after (BatchNorm), the output,
and the gradients of L = sum(y * upstream) with respect to the input and
every parameter (upstream is a fixed random tensor, so the gradient flowing
in is not all ones). BatchNorm cases run one training-mode step and then an
evaluation-mode pass with the updated running statistics. Mean-only batch
normalisation has no PyTorch module; it is written out with torch ops,
y = x - x.mean(batch axes) + beta, and differentiated by autograd. Weight
normalisation uses torch.nn.utils.parametrizations.weight_norm(dim=0), on a
Linear and on a Conv2d (norm per out-channel over C·kh·kw), the latter on
non-negative inputs with stride, padding and dilation.
"""

import json
import os

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "norm")

torch.manual_seed(15)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def rand(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape) * scale + shift


def batch_norm_case(name, shape, affine):
    c = shape[1]
    bn = nn.BatchNorm1d(c, affine=affine) if len(shape) < 4 else nn.BatchNorm2d(c, affine=affine)
    with torch.no_grad():
        if affine:
            bn.weight.copy_(rand(c, scale=0.5, shift=1.0))
            bn.bias.copy_(rand(c, scale=0.5))
        bn.running_mean.copy_(rand(c, scale=0.3))
        bn.running_var.copy_(torch.rand(c) + 0.5)
    case = {"name": name, "kind": "batch_norm", "shape": list(shape), "affine": affine}
    if affine:
        case["weight"] = flat(bn.weight)
        case["bias"] = flat(bn.bias)
    case["running_mean_before"] = flat(bn.running_mean)
    case["running_var_before"] = flat(bn.running_var)
    for mode in ["train", "eval"]:
        bn.train(mode == "train")
        x = rand(*shape, scale=2.0, shift=0.7).requires_grad_(True)
        up = rand(*shape)
        y = bn(x)
        params = [x] + ([bn.weight, bn.bias] if affine else [])
        grads = torch.autograd.grad((y * up).sum(), params)
        case[mode] = {
            "x": flat(x),
            "upstream": flat(up),
            "y": flat(y),
            "dx": flat(grads[0]),
        }
        if affine:
            case[mode]["dweight"] = flat(grads[1])
            case[mode]["dbias"] = flat(grads[2])
        case[mode]["running_mean_after"] = flat(bn.running_mean)
        case[mode]["running_var_after"] = flat(bn.running_var)
    return case


def layer_norm_case(name, shape, normalized, affine):
    ln = nn.LayerNorm(normalized, elementwise_affine=affine)
    with torch.no_grad():
        if affine:
            ln.weight.copy_(rand(*normalized, scale=0.5, shift=1.0))
            ln.bias.copy_(rand(*normalized, scale=0.5))
    x = rand(*shape, scale=3.0, shift=-1.0).requires_grad_(True)
    up = rand(*shape)
    y = ln(x)
    params = [x] + ([ln.weight, ln.bias] if affine else [])
    grads = torch.autograd.grad((y * up).sum(), params)
    case = {
        "name": name,
        "kind": "layer_norm",
        "shape": list(shape),
        "normalized_shape": list(normalized),
        "affine": affine,
        "x": flat(x),
        "upstream": flat(up),
        "y": flat(y),
        "dx": flat(grads[0]),
    }
    if affine:
        case.update(weight=flat(ln.weight), bias=flat(ln.bias), dweight=flat(grads[1]), dbias=flat(grads[2]))
    return case


def mean_only_case(name, shape):
    c = shape[1]
    axes = [0] + list(range(2, len(shape)))
    beta = rand(c, scale=0.5).requires_grad_(True)
    x = rand(*shape, scale=2.0, shift=3.0).requires_grad_(True)
    up = rand(*shape)
    view = [1, c] + [1] * (len(shape) - 2)
    y = x - x.mean(dim=axes, keepdim=True) + beta.reshape(view)
    dx, dbeta = torch.autograd.grad((y * up).sum(), [x, beta])
    return {
        "name": name,
        "kind": "mean_only_batch_norm",
        "shape": list(shape),
        "bias": flat(beta),
        "x": flat(x),
        "upstream": flat(up),
        "y": flat(y),
        "dx": flat(dx),
        "dbias": flat(dbeta),
        "batch_mean": flat(x.mean(dim=axes)),
    }


def weight_norm_case(name, batch, fan_in, fan_out):
    lin = weight_norm(nn.Linear(fan_in, fan_out), name="weight", dim=0)
    with torch.no_grad():
        lin.parametrizations.weight.original0.copy_(rand(fan_out, 1, scale=0.5, shift=1.0))
        lin.parametrizations.weight.original1.copy_(rand(fan_out, fan_in))
        lin.bias.copy_(rand(fan_out, scale=0.3))
    g = lin.parametrizations.weight.original0
    v = lin.parametrizations.weight.original1
    x = rand(batch, fan_in).requires_grad_(True)
    up = rand(batch, fan_out)
    y = lin(x)
    dx, dg, dv, db = torch.autograd.grad((y * up).sum(), [x, g, v, lin.bias])
    return {
        "name": name,
        "kind": "weight_norm",
        "fan_in": fan_in,
        "fan_out": fan_out,
        "batch": batch,
        "v": flat(v),
        "g": flat(g),
        "bias": flat(lin.bias),
        "x": flat(x),
        "upstream": flat(up),
        "y": flat(y),
        "dx": flat(dx),
        "dv": flat(dv),
        "dg": flat(dg),
        "dbias": flat(db),
    }


def weight_norm_conv_case(name, shape, out, kernel, stride, padding, dilation):
    n, c, h, w = shape
    conv = weight_norm(
        nn.Conv2d(c, out, kernel, stride=stride, padding=padding, dilation=dilation),
        name="weight",
        dim=0,
    )
    with torch.no_grad():
        conv.parametrizations.weight.original0.copy_(rand(out, 1, 1, 1, scale=0.5, shift=1.0))
        conv.parametrizations.weight.original1.copy_(rand(out, c, *kernel))
        conv.bias.copy_(rand(out, scale=0.3))
    g = conv.parametrizations.weight.original0
    v = conv.parametrizations.weight.original1
    # Non-negative inputs, like pixels.
    x = torch.rand(*shape).requires_grad_(True)
    y = conv(x)
    up = rand(*y.shape)
    dx, dg, dv, db = torch.autograd.grad((y * up).sum(), [x, g, v, conv.bias])
    return {
        "name": name,
        "kind": "weight_norm_conv",
        "shape": list(shape),
        "out_channels": out,
        "kernel": list(kernel),
        "stride": list(stride),
        "padding": list(padding),
        "dilation": list(dilation),
        "v": flat(v),
        "g": flat(g),
        "bias": flat(conv.bias),
        "x": flat(x),
        "upstream": flat(up),
        "y_shape": list(y.shape),
        "y": flat(y),
        "dx": flat(dx),
        "dv": flat(dv),
        "dg": flat(dg),
        "dbias": flat(db),
    }


def main():
    cases = [
        batch_norm_case("bn_nc_affine", (5, 3), True),
        batch_norm_case("bn_nc_plain", (4, 2), False),
        batch_norm_case("bn_nchw_affine", (2, 3, 2, 2), True),
        batch_norm_case("bn_nchw_one_example", (1, 2, 2, 3), True),
        layer_norm_case("ln_last_affine", (3, 5), (5,), True),
        layer_norm_case("ln_two_dims_affine", (2, 2, 3), (2, 3), True),
        layer_norm_case("ln_plain", (4, 3), (3,), False),
        mean_only_case("mean_only_nc", (6, 3)),
        mean_only_case("mean_only_nchw", (2, 2, 2, 2)),
        weight_norm_case("weight_norm_dense", 4, 3, 2),
        # Appended last, so that the cases above draw the same numbers.
        weight_norm_conv_case("weight_norm_conv", (2, 3, 5, 5), 4, (3, 3), (1, 1), (1, 1), (1, 1)),
        weight_norm_conv_case(
            "weight_norm_conv_strided", (2, 2, 7, 6), 3, (3, 2), (2, 1), (0, 1), (2, 1)
        ),
    ]
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "generator": "python/make_norm_fixture.py",
        "torch": torch.__version__,
        "dtype": "float64",
        "eps": 1e-5,
        "momentum": 0.1,
        "cases": cases,
    }
    path = os.path.join(OUT, "reference.json")
    with open(path, "w") as f:
        # repr of a Python float is its shortest round-trip form: the Rust
        # side reads back the same f64.
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
