"""Border fringes and halos at depth edges, on plain textured walls relit by tiny models trained here.

The walls hold a texture at constant depth, some with a nearer panel; the target brightens the near
surface and dims the far one, the same everywhere else, so that a good relighting has no reason to
change near a border or a depth edge. Tiny models train on the same draws: relight's new default
(``margin`` 16, depth skips), and the same without one of its fixes. Without the margin the borders are
tinted (the zero-padded convolutions meet the image's border, and the strided encoder and the decoder's
upsampling put the coarse features off towards the bottom right, so the top and left borders lack
them); without depth skips the change spreads round the panel (the network reads depth at 1/8 and
coarser only); with both, neither. A plain resize of a change spreads it across the depth edge; the depth-guided one does not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from relight.model import MBNet, MBNetConfig
from relight.tensors import guided_resize, resize

SIZE = 64
NEAR, FAR = 0.3, 0.6
GAIN_NEAR, GAIN_FAR = (1.3, 1.2, 1.0), (0.8, 0.8, 0.9)


def _texture(height: int, width: int, seed: int) -> torch.Tensor:
    """``1 x 3 x H x W``: colour blotches at three scales and a mortar grid, no line on a border."""
    rng = np.random.default_rng(seed)
    image = torch.tensor([0.55, 0.45, 0.35]).view(1, 3, 1, 1).expand(1, 3, height, width).clone()
    for cell, amount in ((32, 0.15), (8, 0.1), (2, 0.06)):
        noise = torch.from_numpy(rng.random((1, 3, height // cell + 2, width // cell + 2))).float()
        image += amount * (F.interpolate(noise, size=(height + 2 * cell, width + 2 * cell), mode="bilinear")[..., cell:-cell, cell:-cell] - 0.5)
    yy, xx = np.mgrid[7 : height + 7, 13 : width + 13]
    mortar = torch.from_numpy(((yy % 23) < 2) | (((xx + 24 * ((yy // 23) % 2)) % 47) < 2))
    return torch.where(mortar, image * 0.6, image).clamp(0, 1)


def _relit(rgb: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """The target: the near surface brightened and warmed, the far one dimmed."""
    near, far = (torch.tensor(g).view(1, 3, 1, 1) for g in (GAIN_NEAR, GAIN_FAR))
    return (rgb * torch.where(depth < (NEAR + FAR) / 2, near, far)).clamp(0, 1)


def _draw(rng: np.random.Generator, wall: torch.Tensor, panels: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A 64 x 64 crop of ``wall`` at the far depth, with ``panels`` a nearer panel most of the time."""
    top, left = rng.integers(0, wall.shape[-1] - SIZE, 2)
    depth = torch.full((1, 1, SIZE, SIZE), FAR)
    a, b = sorted(rng.integers(4, SIZE - 4, 2))
    c, d = sorted(rng.integers(4, SIZE - 4, 2))
    if panels and b - a > 4 and d - c > 4:
        depth[..., a:b, c:d] = NEAR
    return wall[..., top : top + SIZE, left : left + SIZE], depth


def _trained(config: MBNetConfig, panels: bool, steps: int) -> MBNet:
    """``config`` trained for ``steps`` steps of 4 walls (the same draws for every config), its BatchNorm
    statistics then measured afresh on the final weights."""
    torch.manual_seed(0)
    model = MBNet(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    wall = _texture(256, 256, 5)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        rgb, depth = (torch.cat(x) for x in zip(*(_draw(rng, wall, panels) for _ in range(4))))
        loss = F.l1_loss(model(rgb, depth), _relit(rgb, depth))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # a plain mean over the batches below
        for _ in range(8):
            model(*_draw(rng, wall, panels))
    return model.eval()


@pytest.fixture(scope="module")
def new_default(tiny_config: MBNetConfig) -> MBNetConfig:
    """relight's new default, on the tiny network."""
    return replace(tiny_config, margin=16, depth_skips=True)


@pytest.fixture(scope="module")
def flat_walls(new_default: MBNetConfig) -> dict[str, MBNet]:
    """The new default and the same without its margin, trained on the same plain walls."""
    return {name: _trained(config, panels=False, steps=30)
            for name, config in (("new", new_default), ("no margin", replace(new_default, margin=0)))}


@pytest.fixture(scope="module")
def panelled_walls(new_default: MBNetConfig) -> dict[str, MBNet]:
    """The new default and the same without depth skips, trained on the same walls with panels."""
    return {name: _trained(config, panels=True, steps=60)
            for name, config in (("new", new_default), ("no depth skips", replace(new_default, depth_skips=False)))}


def _errors(model: MBNet, depth: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean absolute error (8-bit levels) of ``model`` on an unseen wall of ``depth``'s size."""
    wall = _texture(depth.shape[-2], depth.shape[-1], 9)
    with torch.no_grad():
        return (model(wall, depth) - _relit(wall, depth)).abs().mean(1)[0] * 255


def _sides(errors: torch.Tensor, width: int = 2) -> dict[str, float]:
    return {"top": float(errors[:width].mean()), "left": float(errors[:, :width].mean()),
            "bottom": float(errors[-width:].mean()), "right": float(errors[:, -width:].mean())}


def test_a_plain_textured_wall_has_no_fringe_at_its_borders(flat_walls: dict[str, MBNet]) -> None:
    depth = torch.full((1, 1, 96, 96), FAR)
    new, unframed = _errors(flat_walls["new"], depth), _errors(flat_walls["no margin"], depth)
    inside = float(new[8:-8, 8:-8].mean())
    for side, error in _sides(new).items():
        assert error < 2 * inside + 2, (side, error, inside)
    assert max(_sides(unframed).values()) > 2 * float(unframed[8:-8, 8:-8].mean()) + 2  # what the margin fixes


def test_a_wall_with_a_nearer_panel_has_no_halo_round_it(panelled_walls: dict[str, MBNet]) -> None:
    depth = torch.full((1, 1, 96, 96), FAR)
    depth[..., 30:66, 30:66] = NEAR
    near = (depth[0, 0] < (NEAR + FAR) / 2).numpy()
    apart = torch.from_numpy(np.where(near, ndimage.distance_transform_edt(near), ndimage.distance_transform_edt(~near)))
    band = (apart > 2) & (apart <= 8)
    inside = (apart > 12) & (torch.arange(96)[:, None] >= 8) & (torch.arange(96)[:, None] < 88)
    inside &= (torch.arange(96)[None, :] >= 8) & (torch.arange(96)[None, :] < 88)
    new, coarse = _errors(panelled_walls["new"], depth), _errors(panelled_walls["no depth skips"], depth)
    assert float(new[band].mean()) < 2.5 * float(new[inside].mean()) + 2
    assert float(coarse[band].mean()) > 2.5 * float(coarse[inside].mean()) + 2  # what depth skips fix


def test_a_change_brought_up_by_depth_stays_on_its_side_of_a_depth_edge() -> None:
    """A change that is one value on a near panel and another on the wall, run at a quarter of the size (its
    pixels on the edge a mix): the depth-guided resize gives each surface its own value up to the edge; a
    plain resize spreads the panel's change over the wall for about the scale factor."""
    depth = torch.full((1, 1, 256, 256), FAR)
    depth[..., 98:158, 98:158] = NEAR  # off the low-resolution grid: its edge pixels are part panel, part wall
    small = resize(depth, (64, 64))
    share = (FAR - small) / (FAR - NEAR)  # of each low-resolution pixel that is panel
    change = (share * 0.3 + (1 - share) * -0.2).expand(1, 3, 64, 64)
    wanted = torch.where(depth < (NEAR + FAR) / 2, 0.3, -0.2).expand(1, 3, 256, 256)
    near = (depth[0, 0] < (NEAR + FAR) / 2).numpy()
    apart = torch.from_numpy(np.where(near, ndimage.distance_transform_edt(near), ndimage.distance_transform_edt(~near)))
    guided, plain = guided_resize(change, small, depth), resize(change, (256, 256))
    assert float((guided - wanted).abs().max()) < 0.01
    assert float((plain - wanted).abs().mean(1)[0][apart == 3].max()) > 0.1  # three pixels onto the wall
    assert torch.equal(guided[..., :64, :64], plain[..., :64, :64])  # away from the edge, the plain resize
