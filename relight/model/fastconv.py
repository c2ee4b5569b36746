"""Faster algorithms for MBNet's large 3x3 convolutions on the CPU, for inference.

oneDNN convolves directly: 9 multiply-adds per input channel, output channel and pixel. MBNet spends
three quarters of its FLOPs in 3x3 convolutions with 256 to 2112 channels, where two other algorithms
compute the same function faster on the CPU (measured per layer in ``docs/performance.md``):

* **Winograd F(2x2, 3x3)**: each 2x2 output tile costs 16 multiply-adds per channel pair instead of 36,
  so 2.25x fewer FLOPs, done as 16 batched matrix products between cheap add/subtract transforms of
  the input and output, a band of tiles at a time. The transformed weights are 16/9 the size of the
  originals, so a layer uses it only up to :data:`WINOGRAD_MAX_BYTES` of them: the paper model's /8 and
  /16 fusion layers (73 MB more in all), not its 2048-channel /32 ones (they would add 228 MB).
* **GEMM lowering** (im2col) for those larger layers: on small feature maps with thousands of
  channels, matrix products beat oneDNN's direct kernel (1.8x at 16x16), and use the weights as they
  are (a view of the channels-last tensor) where oneDNN makes a reordered copy on every call; larger
  feature maps still go to the direct convolution.

Both are plain tensor operations, so they run under ``torch.compile`` and pass gradients to their
input; they compute in their weights' dtype, also under autocast. CUDA needs none of this: cuDNN picks
Winograd or FFT kernels itself.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

#: Winograd F(2x2, 3x3) transforms (Lavin and Gray, 2016): weights ``G g G^T``, inputs ``B^T d B``, outputs ``A^T m A``.
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
_AT = ((1.0, 1.0, 1.0, 0.0), (0.0, 1.0, -1.0, -1.0))

#: Layers with fewer input or output channels than this stay direct (Winograd's transforms cost more than it saves).
MIN_CHANNELS = 256
#: The largest transformed weight (bytes) a layer may hold; above it the layer is lowered to one GEMM instead.
WINOGRAD_MAX_BYTES = 80 * 2**20
#: GEMM lowering runs up to this many output pixels per image; above it the direct convolution is faster.
GEMM_MAX_PIXELS = 32 * 32
#: Output pixels per GEMM step: the lowered input (9 x the channels per pixel) stays about 20 MB.
GEMM_STEP_PIXELS = 256
#: Winograd tiles transformed and multiplied per step: enough rows for an efficient matrix product,
#: few enough for the transformed tiles to stay in cache.
TILES_PER_STEP = 128
#: The same under ``torch.compile`` (which unrolls the steps: fewer, larger ones keep compiling quick)
#: and with autograd on.
TRACED_TILES_PER_STEP = 1024


def eligible(conv: nn.Module) -> bool:
    """A plain 3x3 'same' convolution (stride 1, no dilation, no groups, zero padding) with enough channels."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and min(conv.in_channels, conv.out_channels) >= MIN_CHANNELS
    )


@torch.no_grad()
def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """``K x C x 3 x 3`` weights as the ``16 x C x K`` Winograd-domain matrices ``G g G^T``.

    Accumulated in place, plane by plane, in the weights' own dtype: no temporaries, which on glibc would
    stay behind as fragmented heap (measured 40 MB of resident memory for the paper model).
    """
    k, c = weight.shape[:2]
    u = weight.new_zeros(16, c, k)
    for a, b in itertools.product(range(4), range(4)):
        for i, j in itertools.product(range(3), range(3)):
            coef = _G[a][i] * _G[b][j]
            if coef:
                u[4 * a + b].add_(weight[:, :, i, j].t(), alpha=coef)
    return u


def _fill_band(band: torch.Tensor, x: torch.Tensor, row: int, rows: int) -> torch.Tensor:
    """Copy the NHWC input rows that tile rows ``row .. row+rows`` read into ``band``, zero-padded.

    The zero border (the 'same' padding, plus a row or column for odd sizes) is part of ``band``, so no
    padded copy of the whole input is made.
    """
    h, w = x.shape[1:3]
    top = 2 * row - 1
    lo, hi = max(0, top), min(h, top + 2 * rows + 2)
    band[:, lo - top : hi - top, 1 : w + 1] = x[:, lo:hi]
    band[:, hi - top : 2 * rows + 2].zero_()  # below the image; the first step leaves the row above it zero
    return band


#: ``B^T`` of F(2x2, 3x3) as operations on four rows (or columns) ``d0..d3``: ``d0-d2, d1+d2, d2-d1, d1-d3``.
_BT = ((torch.sub, 0, 2), (torch.add, 1, 2), (torch.sub, 2, 1), (torch.sub, 1, 3))


def _bt(d: list[torch.Tensor], out: torch.Tensor | None) -> list[torch.Tensor]:
    return [op(d[i], d[j], out=None if out is None else out[q]) for q, (op, i, j) in enumerate(_BT)]


def _input_transform(band: torch.Tensor, rows: int, tiles_w: int, t: torch.Tensor | None = None,
                     v: torch.Tensor | None = None) -> torch.Tensor:
    """``B^T d B`` for every tile of a padded NHWC ``band``: ``16 x N x rows x tiles_w x C``.

    Separable: the rows into ``t``, then the columns into ``v`` (new tensors where those are None).
    """
    t_rows = _bt([band[:, r : r + 2 * rows : 2] for r in range(4)], t)
    planes = []
    for i, ti in enumerate(t_rows):
        planes += _bt([ti[:, :, s : s + 2 * tiles_w : 2] for s in range(4)], None if v is None else v[4 * i : 4 * i + 4])
    return v if v is not None else torch.stack(planes)


class WinogradConv2d(nn.Module):
    """A 3x3 'same' convolution computed as Winograd F(2x2, 3x3); equal to the ``nn.Conv2d`` it was made from."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not eligible(conv):
            raise ValueError(f"not a Winograd-eligible convolution: {conv}")
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.register_buffer("weight", winograd_weight(conv.weight))
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())
        a_t = torch.tensor(_AT, dtype=conv.weight.dtype)
        self.register_buffer("output_transform", torch.einsum("ia,jb->ijab", a_t, a_t).reshape(4, 16).to(conv.weight.device))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size=(3, 3), winograd F(2x2, 3x3)"

    def _products(self, v: torch.Tensor, m: torch.Tensor | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
        """``A^T (V U) A`` for the tiles of ``v`` (16 x N x rows x tiles_w x C): N x rows x 2 x tiles_w x 2 x K."""
        _, n, rows, tiles_w, c = v.shape
        m = torch.bmm(v.view(16, -1, c), self.weight, out=m)
        out = torch.mm(self.output_transform, m.view(16, -1), out=out)
        return out.view(2, 2, n, rows, tiles_w, -1).permute(2, 3, 0, 4, 1, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)  # under autocast too: the transformed weights have one dtype
        n, c, h, w = x.shape
        tiles_h, tiles_w = (h + 1) // 2, (w + 1) // 2
        # torch.compile and autograd cannot follow the eager form's writes into a workspace.
        functional = torch.compiler.is_compiling() or torch.is_grad_enabled()
        tiles = TRACED_TILES_PER_STEP if functional else TILES_PER_STEP
        step = max(1, min(tiles_h, tiles // (n * tiles_w)))
        x = x.permute(0, 2, 3, 1)  # NHWC: free for a channels-last input
        y = self._functional(x, step) if functional else self._eager(x, step)
        if self.bias is not None and functional:
            y = y + self.bias
        return y[:, :h, :w].permute(0, 3, 1, 2)

    def _eager(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """Steps of tile rows through one workspace, written into the output as they finish.

        Allocating per step costs page faults, and the freed blocks fragment the heap (peak RSS at
        1024 x 1024 grew by over 100 MB that way).
        """
        n, h, w, c = x.shape
        k = self.out_channels
        tiles_h, tiles_w = (h + 1) // 2, (w + 1) // 2
        y = x.new_empty(n, 2 * tiles_h, 2 * tiles_w, k)
        grid = y.view(n, tiles_h, 2, tiles_w, 2, k)  # y[i, 2a+p, 2b+q] is grid[i, a, p, b, q]
        most = n * step * tiles_w
        band = x.new_zeros(n, 2 * step + 2, 2 * tiles_w + 2, c)
        t_space, v_space = x.new_empty(4 * band[:, : 2 * step].numel()), x.new_empty(16 * most * c)
        m_space, out_space = x.new_empty(16 * most * k), x.new_empty(4 * most * k)
        for row in range(0, tiles_h, step):
            rows = min(step, tiles_h - row)
            tiles = n * rows * tiles_w
            t = t_space[: 4 * n * rows * (2 * tiles_w + 2) * c].view(4, n, rows, 2 * tiles_w + 2, c)
            v = v_space[: 16 * tiles * c].view(16, n, rows, tiles_w, c)
            _input_transform(_fill_band(band, x, row, rows), rows, tiles_w, t, v)
            out = self._products(v, m_space[: 16 * tiles * k].view(16, tiles, k), out_space[: 4 * tiles * k].view(4, -1))
            if self.bias is None:
                grid[:, row : row + rows].copy_(out)
            else:
                torch.add(out, self.bias, out=grid[:, row : row + rows])
        return y

    def _functional(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """The same steps as plain functions, for ``torch.compile`` (which plans the memory itself) and autograd."""
        n, h, w, c = x.shape
        tiles_h, tiles_w = (h + 1) // 2, (w + 1) // 2
        xp = F.pad(x, (0, 0, 1, 2 * tiles_w + 1 - w, 1, 2 * tiles_h + 1 - h))
        steps = []
        for row in range(0, tiles_h, step):
            rows = min(step, tiles_h - row)
            band = xp[:, 2 * row : 2 * (row + rows) + 2]
            steps.append(self._products(_input_transform(band, rows, tiles_w)))
        return torch.cat(steps, dim=1).reshape(n, 2 * tiles_h, 2 * tiles_w, self.out_channels)


class GemmConv2d(nn.Conv2d):
    """A 3x3 'same' convolution lowered to matrix products (im2col) on feature maps of up to
    :data:`GEMM_MAX_PIXELS` pixels, :data:`GEMM_STEP_PIXELS` output pixels at a time; oneDNN's direct
    convolution on larger ones."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if h * w > GEMM_MAX_PIXELS or torch.is_grad_enabled():  # the steps write into their output
            return super().forward(x)
        x = x.to(self.weight.dtype)  # under autocast too, as WinogradConv2d
        k = self.out_channels
        # K x (3*3*C): a view of channels-last weights (a copy otherwise), never oneDNN's reordered copy.
        weight = self.weight.permute(0, 2, 3, 1).reshape(k, -1).t()
        xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))
        y = x.new_empty(n, h, w, k)
        rows = max(1, min(h, GEMM_STEP_PIXELS // w))
        cols = x.new_empty(rows, w, 9, c)  # one workspace for every step
        for image, row in itertools.product(range(n), range(0, h, rows)):
            step = min(rows, h - row)
            for tap in range(9):
                r, s = divmod(tap, 3)
                cols[:step, :, tap] = xp[image, row + r : row + r + step, s : s + w]
            a = cols[:step].view(-1, 9 * c)
            out = y[image, row : row + step].view(-1, k)
            if self.bias is None:
                torch.mm(a, weight, out=out)
            else:
                torch.addmm(self.bias, a, weight, out=out)
        return y.permute(0, 3, 1, 2)


def _faster(conv: nn.Conv2d) -> nn.Module:
    if conv.weight.numel() * 16 // 9 * conv.weight.element_size() <= WINOGRAD_MAX_BYTES:
        return WinogradConv2d(conv)
    gemm = GemmConv2d(conv.in_channels, conv.out_channels, 3, padding=1, bias=conv.bias is not None, device="meta")
    gemm.weight, gemm.bias = conv.weight, conv.bias  # the same parameters: no copy of the (large) weights
    return gemm


@torch.no_grad()
def use_fast_convs(model: nn.Module) -> nn.Module:
    """Replace every eligible convolution of ``model`` (in place) by its Winograd or GEMM form; returns ``model``.

    For inference only: the replacements hold transformed weights that training would not update.
    """
    if model.training:
        raise ValueError("use_fast_convs is for inference: call model.eval() first")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if eligible(child):
                setattr(parent, name, _faster(child))
    return model

