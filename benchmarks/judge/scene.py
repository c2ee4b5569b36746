"""The judge's scenes: what a scene holds, the camera and light rig conventions it shares with relight,
and the placement that keeps lights and camera out of the objects.

The conventions are VIDIT's, as relight's generator uses them (docs/data.md): a pinhole camera at
(0, height, 0) looks north (+z) and down by ``pitch``, east (+x) to its right; the 8 lights sit on a
horizontal ring centred above the point the central ray hits, at the compass directions, the ring's
radius and height proportional to that hit's distance. The judge draws the ring's proportions and the
light's size per scene (its own rig), where relight's generator fixes or draws others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from judge.materials import Material
from judge.sdf import Field, Shape
from judge.trace import march

_HALF = float(np.sqrt(0.5))
#: Unit (x, z) of each compass direction: north +z, east +x.
COMPASS = {"N": (0.0, 1.0), "NE": (_HALF, _HALF), "E": (1.0, 0.0), "SE": (_HALF, -_HALF),
           "S": (0.0, -1.0), "SW": (-_HALF, -_HALF), "W": (-1.0, 0.0), "NW": (-_HALF, _HALF)}


@dataclass
class Rig:
    """The light ring: radius and height over the central hit distance, and the light's radius over it;
    ``fill`` is the sky dome's level and ``exposure`` the camera's."""

    ring_radius: float
    ring_height: float
    light_radius: float
    fill: float
    fill_colour: tuple[float, float, float]
    exposure: float


@dataclass
class JudgeScene:
    """A scene: its objects (each a list of shapes), materials, camera, rig and grammar."""

    name: str
    grammar: str
    objects: list[list[Shape]]
    materials: list[Material]
    camera_height: float
    pitch_deg: float
    fov_deg: float
    rig: Rig

    def field(self, margin: float = 0.25) -> Field:
        """Every shape of every object, evaluated exactly within ``margin`` of its bounding sphere."""
        return Field([shape for shapes in self.objects for shape in shapes], margin)

    def camera(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position, forward and up vectors; right is +x."""
        pitch = np.radians(self.pitch_deg)
        return (np.array([0.0, self.camera_height, 0.0]), np.array([0.0, -np.sin(pitch), np.cos(pitch)]),
                np.array([0.0, np.cos(pitch), np.sin(pitch)]))

    def rays(self, size: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Camera origin, unit ray directions (row-major, top row first) and a pixel's half-width per
        unit distance."""
        origin, forward, up = self.camera()
        half = np.tan(np.radians(self.fov_deg) / 2)
        steps = (np.arange(size) + 0.5) / size * 2.0 - 1.0
        v, u = np.meshgrid(-steps * half, steps * half, indexing="ij")
        d = forward[None, :] + v.reshape(-1, 1) * up[None, :] + u.reshape(-1, 1) * np.array([1.0, 0.0, 0.0])[None, :]
        return origin, d / np.linalg.norm(d, axis=1, keepdims=True), half / size

    def central_hit(self, f: Field | None = None) -> tuple[np.ndarray, float]:
        """Where the central ray first meets a surface, and how far away."""
        origin, forward, _ = self.camera()
        t, hit = march(f or self.field(), origin[None, :], forward[None, :], far=1e3, footprint=1e-5)
        if not hit[0]:
            raise ValueError(f"{self.name}: the central ray hits nothing")
        return origin + t[0] * forward, float(t[0])

    def lights(self, central: tuple[np.ndarray, float] | None = None) -> dict[str, np.ndarray]:
        hit, distance = central or self.central_hit()
        radius, height = self.rig.ring_radius * distance, self.rig.ring_height * distance
        return {name: hit + np.array([radius * dx, height, radius * dz]) for name, (dx, dz) in COMPASS.items()}


def clear_of_lights(scene: JudgeScene, rounds: int = 4) -> JudgeScene:
    """Drop whole objects that hold a light (with room for its radius) or the camera, then place the ring
    again (it follows the central hit, which a dropped object may move); at most ``rounds`` times."""
    for _ in range(rounds):
        central = scene.central_hit()
        lights = np.stack(list(scene.lights(central).values()))
        clearance = scene.rig.light_radius * central[1] * 1.5 + 0.02 * central[1]
        points = np.vstack([lights, scene.camera()[0][None, :]])
        kept = []
        for shapes in scene.objects:
            f = Field(list(shapes))
            if (f.distance(points) > clearance).all():
                kept.append(shapes)
        if len(kept) == len(scene.objects):
            return scene
        scene.objects = kept
    return scene
