"""Capture a PyTorch model's layer inputs and deltas for gradsign.

For every ``nn.Linear`` (and ``nn.Conv2d``) of a module, one training step
records the layer's input ``A`` and the gradient of the loss with respect to
its pre-activation output ``Δ = ∂L/∂Z``, and writes them as safetensors in
the convention ``gradsign`` reads (``<name>.input`` B×K, ``<name>.delta``
B×J, ``<name>.weight`` J×K, ``<name>.weight_grad`` J×K and
``<name>.bias_grad`` J, with the layer order under the ``gradsign.layers``
metadata key)::

    from gradsign_hooks import capture_layers
    opt.zero_grad()
    with capture_layers(model) as cap:
        loss = loss_fn(model(x), y)
        loss.backward()
    cap.save("capture.safetensors")
    # then: gradsign report capture.safetensors

``Δ`` comes from a full backward hook (``grad_output``), so it is the
gradient of whatever was backpropagated, with the loss's reduction included
(a mean divides by the batch). Inputs of more than two dimensions to a
Linear layer (sequences) are flattened to rows: each position counts as an
example.

Conv2d: each output position of each example is one row. The input is
unfolded (``F.unfold``: the C·kh·kw patch under the kernel), ``Δ`` is
``grad_output`` with its channels last, so ``A`` is (B·P)×(C·kh·kw), ``Δ``
is (B·P)×O and ``Δᵀ·A`` is the weight gradient reshaped to O×(C·kh·kw). The
"per-example" categories of such a layer are per position: an example's
conv gradient is a sum over its positions, as a batch gradient is a sum over
examples. Grouped convolutions and non-zero padding modes are skipped with a
warning.

The weight gradient saved is ``weight.grad`` after ``backward``: zero the
gradients before the captured step, or it includes earlier steps.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["capture_layers", "LayerCapture", "LAYERS_KEY"]

LAYERS_KEY = "gradsign.layers"


class LayerCapture:
    """Hooks on every Linear (and Conv2d) layer of ``model``; records one step."""

    def __init__(self, model: nn.Module, conv: bool = True, weights: bool = True):
        self.model = model
        self.weights = weights
        self.inputs: dict[str, torch.Tensor] = {}
        self.deltas: dict[str, torch.Tensor] = {}
        self.modules: dict[str, nn.Module] = {}
        self.order: list[str] = []
        self._handles = []
        for name, m in model.named_modules():
            if isinstance(m, nn.Linear):
                pass
            elif conv and isinstance(m, nn.Conv2d):
                if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
                    warnings.warn(f"gradsign_hooks: skipping {name}: grouped, padded by "
                                  f"'{m.padding_mode}' or padding={m.padding!r} is not captured")
                    continue
            else:
                continue
            name = name or type(m).__name__
            if "," in name:
                raise ValueError(f"layer name {name!r} contains a comma")
            self.modules[name] = m
            self.order.append(name)
            self._handles.append(m.register_forward_hook(self._forward(name)))
            self._handles.append(m.register_full_backward_hook(self._backward(name)))

    def _forward(self, name):
        def hook(module, args, output):
            if name in self.inputs:
                raise RuntimeError(f"gradsign_hooks: {name} ran twice in the captured step "
                                   "(shared weights): its rows would mix two inputs")
            x = args[0].detach()
            if isinstance(module, nn.Conv2d):
                cols = F.unfold(x, module.kernel_size, dilation=module.dilation,
                                padding=module.padding, stride=module.stride)
                x = cols.transpose(1, 2).reshape(-1, cols.shape[1])
            else:
                x = x.reshape(-1, x.shape[-1])
            self.inputs[name] = x.clone()
        return hook

    def _backward(self, name):
        def hook(module, grad_input, grad_output):
            g = grad_output[0].detach()
            if isinstance(module, nn.Conv2d):
                g = g.permute(0, 2, 3, 1).reshape(-1, g.shape[1])
            else:
                g = g.reshape(-1, g.shape[-1])
            self.deltas[name] = g.clone()
        return hook

    def remove(self):
        """Removes the hooks."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def tensors(self) -> dict[str, torch.Tensor]:
        """The captured tensors, named in the convention (float32 or float64, contiguous, on CPU)."""
        out = {}
        for name in self.order:
            if name not in self.inputs or name not in self.deltas:
                missing = "input" if name not in self.inputs else "delta"
                raise RuntimeError(f"gradsign_hooks: {name} has no captured {missing}: "
                                   "run one forward and backward inside the capture")
            m = self.modules[name]
            items = {"input": self.inputs[name], "delta": self.deltas[name]}
            if self.weights:
                items["weight"] = m.weight.detach().reshape(m.weight.shape[0], -1)
                if m.weight.grad is not None:
                    items["weight_grad"] = m.weight.grad.detach().reshape(m.weight.shape[0], -1)
                if m.bias is not None and m.bias.grad is not None:
                    items["bias_grad"] = m.bias.grad.detach()
            for suffix, t in items.items():
                if t.dtype not in (torch.float32, torch.float64):
                    t = t.float()  # gradsign reads F32 and F64 only
                out[f"{name}.{suffix}"] = t.cpu().contiguous()
        return out

    def save(self, path: str) -> None:
        """Writes the capture as one safetensors file."""
        from safetensors.torch import save_file
        save_file(self.tensors(), path, metadata={LAYERS_KEY: ",".join(self.order)})


def capture_layers(model: nn.Module, conv: bool = True, weights: bool = True) -> LayerCapture:
    """Hooks every Linear (and, with ``conv``, Conv2d) layer of ``model``; use as a context manager."""
    return LayerCapture(model, conv=conv, weights=weights)
