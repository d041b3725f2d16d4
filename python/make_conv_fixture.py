"""Writes tests/fixtures/conv/cases.json: PyTorch's conv2d, max_pool2d and
avg_pool2d on small random NCHW inputs in float64, with the gradients of
sum(r * y) for a random r, for tests/nn/conv_ops.rs to compare against.

Run from the repository root with a Python that has torch:
    python python/make_conv_fixture.py
"""
import json
import torch

torch.manual_seed(20261203)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def conv_case(n, c, h, w, o, k, stride, padding, dilation, bias):
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = (torch.randn(o, c, k[0], k[1]) * 0.5).requires_grad_()
    b = torch.randn(o, requires_grad=True) if bias else None
    y = torch.nn.functional.conv2d(x, wt, b, stride=stride, padding=padding, dilation=dilation)
    r = torch.randn_like(y)
    (r * y).sum().backward()
    case = {
        "op": "conv2d",
        "x_shape": list(x.shape), "x": flat(x),
        "w_shape": list(wt.shape), "w": flat(wt),
        "b": flat(b) if bias else None,
        "stride": list(stride), "padding": list(padding), "dilation": list(dilation),
        "y_shape": list(y.shape), "y": flat(y), "r": flat(r),
        "gx": flat(x.grad), "gw": flat(wt.grad),
        "gb": flat(b.grad) if bias else None,
    }
    return case


def pool_case(op, n, c, h, w, k, stride, padding, count_include_pad=True, ties=False):
    if ties:
        # Integer values in a small range: windows with tied maxima.
        x = torch.randint(0, 3, (n, c, h, w)).double().requires_grad_()
    else:
        x = torch.randn(n, c, h, w, requires_grad=True)
    if op == "max_pool2d":
        y = torch.nn.functional.max_pool2d(x, k, stride=stride, padding=padding)
    else:
        y = torch.nn.functional.avg_pool2d(
            x, k, stride=stride, padding=padding, count_include_pad=count_include_pad)
    r = torch.randn_like(y)
    (r * y).sum().backward()
    return {
        "op": op, "kernel": list(k), "stride": list(stride), "padding": list(padding),
        "count_include_pad": count_include_pad, "ties": ties,
        "x_shape": list(x.shape), "x": flat(x),
        "y_shape": list(y.shape), "y": flat(y), "r": flat(r), "gx": flat(x.grad),
    }


cases = [
    conv_case(2, 1, 6, 6, 3, (3, 3), (1, 1), (0, 0), (1, 1), True),
    conv_case(2, 3, 7, 5, 4, (3, 2), (2, 1), (1, 0), (1, 1), True),
    conv_case(1, 2, 9, 9, 2, (3, 3), (2, 2), (2, 2), (2, 2), False),
    conv_case(3, 2, 5, 6, 3, (1, 1), (1, 2), (0, 1), (1, 1), True),
    conv_case(1, 2, 7, 7, 3, (5, 5), (1, 1), (2, 2), (1, 1), True),
    pool_case("max_pool2d", 2, 3, 6, 6, (2, 2), (2, 2), (0, 0)),
    pool_case("max_pool2d", 1, 2, 7, 5, (3, 3), (2, 1), (1, 1)),
    pool_case("max_pool2d", 2, 2, 6, 6, (2, 2), (2, 2), (0, 0), ties=True),
    pool_case("max_pool2d", 1, 2, 6, 6, (3, 3), (1, 1), (1, 1), ties=True),
    pool_case("avg_pool2d", 2, 2, 6, 7, (2, 3), (2, 2), (1, 1), True),
    pool_case("avg_pool2d", 2, 2, 6, 7, (2, 3), (2, 2), (1, 1), False),
    pool_case("avg_pool2d", 1, 3, 5, 5, (3, 3), (1, 1), (0, 0), True),
]
with open("tests/fixtures/conv/cases.json", "w") as f:
    json.dump({
        "generator": "python/make_conv_fixture.py",
        "torch": torch.__version__,
        "cases": cases,
    }, f)
