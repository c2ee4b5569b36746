"""The judge's scene grammars: still lifes on a table, furnished rooms, rocky terrain and streets.

Each grammar draws a camera, a floor, walls where it has them, and objects composed of several shapes
(a table is a top and four legs, a bottle a body blended into a neck), placed on the part of the floor
the camera sees without overlapping. Sizes follow the scene's scale: the distance ``reach`` at which
the central ray meets the floor. :func:`random_scene` picks a grammar, draws the rig, and moves
nothing but drops any object that would hold a light or the camera (:func:`~judge.scene.clear_of_lights`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from judge import sdf
from judge.materials import Material, ground_cover, linear, random_material, stone, tiles
from judge.scene import JudgeScene, Rig, clear_of_lights
from judge.sdf import Shape

GRAMMARS = ("tabletop", "room", "terrain", "street")


class Builder:
    """Collects objects and materials for one scene and finds free floor for new objects."""

    def __init__(self, rng: np.random.Generator, height: float, pitch: float, fov: float) -> None:
        self.rng, self.height, self.pitch, self.fov = rng, height, pitch, fov
        self.objects: list[list[Shape]] = []
        self.materials: list[Material] = []
        self.taken: list[tuple[float, float, float]] = []
        tilt = np.radians(pitch)
        self.centre_z = height / np.tan(tilt)
        self.reach = height / np.sin(tilt)
        self.near_z = height / np.tan(min(tilt + np.radians(fov) / 2, np.radians(80)))
        self.floor_at: Callable[[float, float], float] = lambda x, z: 0.0

    def material(self, m: Material | None = None, kind: str | None = None) -> int:
        self.materials.append(m or random_material(self.rng, kind))
        return len(self.materials) - 1

    def add(self, *shapes: Shape) -> None:
        self.objects.append(list(shapes))

    def spot(self, radius: float, far: float = 1.0, tries: int = 30) -> tuple[float, float, float] | None:
        """A free floor point (x, y, z) the camera sees, ``radius`` from other objects, or None."""
        half = np.tan(np.radians(self.fov) / 2)
        for _ in range(tries):
            z = self.rng.uniform(self.near_z + radius, self.centre_z + far * (self.centre_z - self.near_z) + radius)
            x = self.rng.uniform(-0.85, 0.85) * half * np.hypot(z, self.height)
            if all(np.hypot(x - a, z - b) > radius + r for a, b, r in self.taken):
                self.taken.append((x, z, radius))
                return x, self.floor_at(x, z), z
        return None


def _still_life_item(b: Builder, s: float) -> None:
    """One of: vase, bottle, bowl of fruit, fruit, cup, ring, book stack, egg, box."""
    kind = str(b.rng.choice(["vase", "bottle", "bowl", "fruit", "cup", "ring", "books", "egg", "box"]))
    r = s * b.rng.uniform(0.5, 1.0)
    at = b.spot(r * 1.3)
    if at is None:
        return
    x, y, z = at
    m = b.material()
    if kind == "vase":
        h, w, freq = r * b.rng.uniform(2.0, 4.0), b.rng.uniform(0.25, 0.45), b.rng.uniform(1.0, 2.5)
        b.add(sdf.lathe((x, y, z), h, lambda t: r * (0.55 + w * np.sin(np.pi * freq * t + 0.4)), slope=3 * r * w * freq * np.pi / h, material=m))
    elif kind == "bottle":
        h = r * b.rng.uniform(3.0, 5.0)
        body, neck = sdf.cylinder((x, y, z), r * 0.55, h * 0.65, m), sdf.cylinder((x, y + h * 0.6, z), r * 0.18, h * 0.4, b.material())
        b.add(sdf.blend([body, neck], r * 0.25))
    elif kind == "bowl":
        b.add(sdf.bowl((x, y + r * 0.9, z), r, r * 0.06, m))
        for _ in range(int(b.rng.integers(1, 4))):
            a = b.rng.uniform(0, 2 * np.pi)
            q = r * b.rng.uniform(0.25, 0.35)
            b.add(sdf.ellipsoid((x + 0.45 * r * np.cos(a), y + r * 0.3 + q, z + 0.45 * r * np.sin(a)), (q, q * 0.9, q), b.material(kind="paint")))
    elif kind == "fruit":
        b.add(sdf.ellipsoid((x, y + r * 0.45, z), (r * 0.5, r * 0.45, r * 0.5), m))
    elif kind == "cup":
        h = r * b.rng.uniform(1.0, 1.8)
        b.add(sdf.lathe((x, y, z), h, lambda t: r * (0.5 + 0.12 * t), slope=0.2 * r / h, material=m, wall=r * 0.05))
    elif kind == "ring":
        b.add(sdf.torus((x, y + r * 0.15, z), r * 0.6, r * 0.15, m))
    elif kind == "books":
        top = y
        for _ in range(int(b.rng.integers(1, 4))):
            t = r * b.rng.uniform(0.12, 0.25)
            b.add(sdf.round_box((x, top + t, z), (r * b.rng.uniform(0.6, 0.9), t, r * b.rng.uniform(0.45, 0.65)), t * 0.2,
                                b.material(), yaw=b.rng.uniform(-0.6, 0.6)))
            top += 2 * t
    elif kind == "egg":
        b.add(sdf.ellipsoid((x, y + r * 0.6, z), (r * 0.4, r * 0.6, r * 0.4), m))
    else:
        hh = r * b.rng.uniform(0.3, 0.8)
        b.add(sdf.round_box((x, y + hh, z), (r * 0.7, hh, r * 0.6), r * 0.08, m, yaw=b.rng.uniform(0, np.pi)))


def tabletop(b: Builder, rig: Rig) -> None:
    """A still life: a table top or cloth for floor, a wall behind the ring, 3-8 small objects."""
    surface = str(b.rng.choice(["wood", "fabric", "stone", "terrazzo"]))
    b.add(sdf.ground(0.0, b.material(kind=surface)))
    behind = b.centre_z + rig.ring_radius * b.reach * 1.1 + b.rng.uniform(0.1, 0.8) * b.reach
    b.add(sdf.wall((0.0, 0.0, -1.0), -behind, b.material(kind=str(b.rng.choice(["paint", "fabric", "stone"])))))
    for _ in range(int(b.rng.integers(3, 9))):
        _still_life_item(b, 0.12 * b.reach)


def _furniture(b: Builder) -> None:
    """One of: table, chair, cabinet, sofa, floor lamp, rug, stool, plant."""
    kind = str(b.rng.choice(["table", "chair", "cabinet", "sofa", "lamp", "rug", "stool", "plant"]))
    size = {"table": 0.75, "chair": 0.4, "cabinet": 0.6, "sofa": 1.0, "lamp": 0.3, "rug": 1.1, "stool": 0.25, "plant": 0.35}[kind]
    at = b.spot(size)
    if at is None:
        return
    x, y, z = at
    yaw = float(b.rng.uniform(-0.5, 0.5))
    frame, top = b.material(), b.material()
    c, s = np.cos(yaw), np.sin(yaw)

    def turn(dx: float, dz: float) -> tuple[float, float]:
        return x + c * dx + s * dz, z - s * dx + c * dz

    if kind in ("table", "chair", "stool"):
        w, d, h = {"table": (0.7, 0.45, 0.75), "chair": (0.22, 0.22, 0.45), "stool": (0.18, 0.18, 0.6)}[kind]
        legs = [turn(sx * (w - 0.05), sz * (d - 0.05)) for sx in (-1, 1) for sz in (-1, 1)]
        parts = [sdf.round_box((x, y + h, z), (w, 0.025, d), 0.01, top, yaw)]
        parts += [sdf.cylinder((lx, y, lz), 0.03, h, frame) for lx, lz in legs]
        if kind == "chair":
            bx, bz = turn(0.0, d - 0.02)
            parts.append(sdf.round_box((bx, y + h + 0.25, bz), (w, 0.25, 0.02), 0.01, frame, yaw))
        b.add(*parts)
    elif kind == "cabinet":
        b.add(sdf.round_box((x, y + 0.5, z), (0.55, 0.5, 0.3), 0.02, frame, yaw), sdf.round_box((x, y + 1.02, z), (0.58, 0.02, 0.32), 0.01, top, yaw))
    elif kind == "sofa":
        bx, bz = turn(0.0, 0.35)
        seat, back = sdf.round_box((x, y + 0.22, z), (0.9, 0.22, 0.4), 0.08, frame, yaw), sdf.round_box((bx, y + 0.5, bz), (0.9, 0.35, 0.1), 0.08, top, yaw)
        b.add(sdf.blend([seat, back], 0.06))
    elif kind == "lamp":
        b.add(sdf.cylinder((x, y, z), 0.02, 1.5, frame), sdf.lathe((x, y + 1.35, z), 0.3, lambda t: 0.22 - 0.1 * t, slope=0.4, material=top, wall=0.01),
              sdf.cylinder((x, y, z), 0.15, 0.03, frame))
    elif kind == "rug":
        b.add(sdf.round_box((x, y + 0.01, z), (1.0, 0.012, 0.7), 0.005, b.material(kind="fabric"), yaw))
    else:
        b.add(sdf.lathe((x, y, z), 0.35, lambda t: 0.16 + 0.06 * t, slope=0.2, material=b.material(kind="terrazzo")),
              sdf.ellipsoid((x, y + 0.65, z), (0.3, 0.35, 0.3), b.material(_leaves(b))))


def room(b: Builder, rig: Rig) -> None:
    """A room: a tiled or wooden floor, the back wall and one or two side walls outside the ring, 2-5 pieces of furniture."""
    size = b.rng.uniform(0.25, 0.6)
    tint = linear(np.array([0.8, 0.75, 0.65]) * b.rng.uniform(0.6, 1.1))
    floor = Material("tiles", tiles(np.clip(tint, 0, 1), tint * 0.6, linear(np.full(3, 0.5)), size, int(b.rng.integers(1, 2**30))), 0.3, 0.04)
    b.add(sdf.ground(0.0, b.material(floor if b.rng.uniform() < 0.5 else None, kind="wood")))
    ring = rig.ring_radius * b.reach
    b.add(sdf.wall((0.0, 0.0, -1.0), -(b.centre_z + ring * 1.1 + b.rng.uniform(0.2, 1.5)), b.material(kind="paint")))
    sides = [-1.0, 1.0] if b.rng.uniform() < 0.4 else [float(b.rng.choice([-1.0, 1.0]))]
    for side in sides:
        b.add(sdf.wall((-side, 0.0, 0.0), -(ring * 1.1 + b.rng.uniform(0.2, 1.5)), b.material(kind=str(b.rng.choice(["paint", "stone"])))))
    for _ in range(int(b.rng.integers(2, 6))):
        _furniture(b)


def terrain(b: Builder, rig: Rig) -> None:
    """Rolling ground with rocks, standing stones and round trees."""
    amplitude, scale, seed = b.rng.uniform(0.3, 1.2), b.rng.uniform(5.0, 12.0), int(b.rng.integers(1, 2**30))
    cover = Material("ground", ground_cover(linear(np.array([0.35, 0.45, 0.2])), linear(np.array([0.45, 0.35, 0.25])),
                                            linear(np.array([0.5, 0.5, 0.48])), seed + 1), 0.85, 0.03)
    wide = np.tan(np.radians(b.fov) / 2) * 14.0 * b.reach + 5.0
    ground = sdf.Heightfield(amplitude, scale, seed, (-wide, wide, -5.0, 14.0 * b.reach))
    b.add(ground.shape(b.material(cover)))
    b.floor_at = lambda x, z: float(ground.height(np.array([x]), np.array([z]))[0])
    for _ in range(int(b.rng.integers(3, 11))):
        r = b.reach * b.rng.uniform(0.03, 0.1)
        at = b.spot(r)
        if at is not None:
            x, y, z = at
            radii = (r, r * b.rng.uniform(0.5, 0.9), r * b.rng.uniform(0.7, 1.1))
            b.add(sdf.rock((x, y + radii[1] * 0.5, z), radii, b.rng.uniform(0.15, 0.35), int(b.rng.integers(1, 2**30)), b.material(kind="stone"),
                           b.rng.uniform(0, np.pi)))
    for _ in range(int(b.rng.integers(0, 3))):
        at = b.spot(0.4)
        if at is not None:
            x, y, z = at
            h = b.rng.uniform(0.8, 2.0)
            b.add(sdf.round_box((x, y + h / 2 - 0.1, z), (0.3, h / 2, 0.15), 0.06, b.material(kind="stone"), b.rng.uniform(0, np.pi)))
    for _ in range(int(b.rng.integers(0, 3))):
        at = b.spot(1.0, far=2.0)
        if at is not None:
            x, y, z = at
            h = b.rng.uniform(1.5, 3.0)
            b.add(sdf.capsule((x, y - 0.2, z), (x, y + h, z), 0.12, b.material(kind="wood")),
                  sdf.rock((x, y + h + 0.6, z), (0.9, 0.8, 0.9), 0.3, int(b.rng.integers(1, 2**30)), b.material(_leaves(b))))


def _street_item(b: Builder) -> None:
    """One of: a bin, a bench, a crate, a bollard, a planter."""
    kind = str(b.rng.choice(["bin", "bench", "crate", "bollard", "planter"]))
    at = b.spot({"bin": 0.35, "bench": 0.9, "crate": 0.5, "bollard": 0.2, "planter": 0.6}[kind])
    if at is None:
        return
    x, y, z = at
    yaw = float(b.rng.uniform(-0.4, 0.4))
    if kind == "bin":
        b.add(sdf.cylinder((x, y, z), 0.3, 0.9, b.material(kind="metal")))
    elif kind == "bench":
        b.add(sdf.round_box((x, y + 0.45, z), (0.8, 0.05, 0.25), 0.02, b.material(kind="wood"), yaw),
              sdf.round_box((x, y + 0.2, z), (0.7, 0.2, 0.05), 0.02, b.material(kind="metal"), yaw))
    elif kind == "crate":
        h = b.rng.uniform(0.2, 0.5)
        b.add(sdf.round_box((x, y + h, z), (0.45, h, 0.45), 0.03, b.material(kind="wood"), yaw))
    elif kind == "bollard":
        b.add(sdf.capsule((x, y, z), (x, y + 0.9, z), 0.12, b.material(kind=str(b.rng.choice(["metal", "stone"])))))
    else:
        b.add(sdf.round_box((x, y + 0.3, z), (0.55, 0.3, 0.55), 0.05, b.material(kind="stone"), yaw),
              sdf.ellipsoid((x, y + 0.75, z), (0.5, 0.35, 0.5), b.material(_leaves(b))))


def _leaves(b: Builder) -> Material:
    return Material("leaves", stone(linear(np.array([0.25, 0.45, 0.15])), linear(np.array([0.08, 0.2, 0.05])), 0.1 * b.rng.uniform(1, 3),
                                    int(b.rng.integers(1, 2**30))), 0.8, 0.03)


def street(b: Builder, rig: Rig) -> None:
    """A street: asphalt, raised pavements, rows of box buildings either side, parked cars, posts and street furniture."""
    asphalt = Material("asphalt", stone(linear(np.full(3, 0.32)), linear(np.full(3, 0.18)), 0.05, int(b.rng.integers(1, 2**30))), 0.8, 0.03)
    b.add(sdf.ground(0.0, b.material(asphalt)))
    half, pavement = b.rng.uniform(2.5, 4.5), b.rng.uniform(1.5, 2.5)
    far = b.centre_z * 2.5 + 15
    for side in (-1.0, 1.0):
        b.add(sdf.round_box((side * (half + pavement / 2), 0.07, far / 2), (pavement / 2, 0.07, far / 2 + 5), 0.02, b.material(kind="terrazzo")))
        z = b.rng.uniform(-2.0, 2.0)
        while z < far:
            depth, height = b.rng.uniform(5.0, 14.0), b.rng.uniform(3.0, 14.0)
            b.add(sdf.round_box((side * (half + pavement + 4.0), height / 2, z + depth / 2), (4.0, height / 2, depth / 2 - 0.1), 0.05,
                                b.material(kind=str(b.rng.choice(["paint", "stone"])))))
            z += depth
        for _ in range(int(b.rng.integers(0, 3))):
            pz = b.rng.uniform(b.near_z, b.centre_z * 1.5)
            b.add(sdf.cylinder((side * (half + 0.4), 0.14, pz), 0.06, 3.5, b.material(kind="metal")))
    for _ in range(int(b.rng.integers(1, 5))):
        side = float(b.rng.choice([-1.0, 1.0]))
        cz = b.rng.uniform(b.near_z + 2.5, b.centre_z * 2.0)
        cx = side * (half - 1.1)
        body = sdf.round_box((cx, 0.55, cz), (0.85, 0.35, 2.1), 0.2, b.material(kind="paint"))
        cabin = sdf.round_box((cx, 1.05, cz - 0.2), (0.75, 0.3, 1.1), 0.25, b.material(kind="metal"))
        b.add(sdf.blend([body, cabin], 0.15))
    for _ in range(int(b.rng.integers(2, 7))):
        _street_item(b)


def random_scene(seed: int, index: int, grammar: str | None = None) -> JudgeScene:
    """Scene ``index`` of ``seed``: everything drawn from one generator seeded by (seed, index)."""
    rng = np.random.default_rng([seed, index, 22])
    grammar = grammar or str(rng.choice(GRAMMARS))
    height, pitch, fov = {"tabletop": ((0.35, 0.8), (18.0, 40.0), (40.0, 60.0)), "room": ((1.2, 1.8), (10.0, 24.0), (50.0, 70.0)),
                          "terrain": ((1.5, 3.5), (10.0, 28.0), (45.0, 65.0)), "street": ((1.4, 3.0), (8.0, 20.0), (50.0, 70.0))}[grammar]
    b = Builder(rng, rng.uniform(*height), rng.uniform(*pitch), rng.uniform(*fov))
    sky = np.array([0.55, 0.7, 1.0]) * rng.uniform(0.9, 1.1, 3)
    rig = Rig(ring_radius=rng.uniform(0.45, 0.75), ring_height=rng.uniform(0.35, 0.7), light_radius=rng.uniform(0.01, 0.1),
              fill=rng.uniform(0.04, 0.25), fill_colour=tuple(float(v) for v in sky / sky.max()), exposure=rng.uniform(1.2, 2.0))
    {"tabletop": tabletop, "room": room, "terrain": terrain, "street": street}[grammar](b, rig)
    scene = JudgeScene(f"judge-{seed}-{index:03d}", grammar, b.objects, b.materials, b.height, b.pitch, b.fov, rig)
    return clear_of_lights(scene)
