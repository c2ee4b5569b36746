"""The geometry of world scenes: ground, terrain, walls, corners and rooms, objects (crowds and thin ones
too), and occluders outside the view that cast shadows into it.

Everything is placed around where the camera looks: the ground point the central ray would hit on flat
ground, at distance ``D`` from the camera, with the light ring's radius (``rig.radius * D``) keeping
rooms around the lamps. Each object and wall draws from streams of its own (:mod:`~relight.data.synth.draws`:
its shape, size, place, material and texture), so adding objects leaves the earlier ones where they were,
and narrowing the materials leaves the geometry in place.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from relight.data.synth.camera import COMPASS, camera_basis, camera_right, central_hit, light_positions
from relight.data.synth.draws import draw, stream
from relight.data.synth.materials import Material, random_material
from relight.data.synth.mesh import scene_mesh
from relight.data.synth.scene import random_color
from relight.data.synth.shapes import Box, Capsule, Cone, Cylinder, Plane, Primitive, Sphere, SynthScene
from relight.data.synth.solids import Ellipsoid, Solid, Terrain
from relight.data.synth.textures import PHOTO, TEXTURE_WEIGHTS, Texture
from relight.data.synth.world import WorldRanges

#: How often a texture is a photograph, against the procedural kinds' weights (objects; the ground and walls).
PHOTO_WEIGHT = {False: 1.0, True: 2.5}
#: Tries to place an object (or an occluder out of view) before it is left out.
TRIES = 40


def _texture(rng: np.random.Generator, kinds: tuple[str, ...], size: float, backdrop: bool) -> Texture:
    """A texture of one of ``kinds`` for a surface about ``size`` metres across: a backdrop (ground, wall)
    in greyish tones of one hue, an object in any colours; a photo's tile ``size``-ish metres wide."""
    weights = np.array([PHOTO_WEIGHT[backdrop] if k == PHOTO else TEXTURE_WEIGHTS[k] for k in kinds])
    kind = str(rng.choice(list(kinds), p=weights / weights.sum()))
    a = random_color(rng, backdrop)
    b = a * rng.uniform(0.5, 0.9) if kind == PHOTO else a * rng.uniform(0.3, 0.7) if backdrop or rng.random() < 0.6 else random_color(rng)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    scale = size * (rng.uniform(0.5, 1.5) if kind == PHOTO else rng.uniform(0.25, 0.6))
    return Texture(kind, tuple(a), tuple(b), float(scale), tuple(axis), int(rng.integers(0, 2**31)))


def _surface(seed: int, ranges: WorldRanges, part: str, size: float, backdrop: bool) -> tuple[Texture, Material]:
    """The texture and material of one part (``"ground"``, ``"wall 1"``, ``"object 4"``) from its own streams;
    a backdrop is never a metal."""
    texture = _texture(stream(seed, f"texture {part}"), ranges.textures, size, backdrop)
    kinds = [k for k in ranges.materials if not (backdrop and k == "metal")] or ["rough"]
    rng = stream(seed, f"material {part}")
    return texture, random_material(rng, str(rng.choice(kinds)))


def _wall(seed: int, ranges: WorldRanges, part: str, centre: tuple[float, float], length: float, height: float, yaw: float, base: float = 0.0) -> Box:
    """A wall standing on the ground: ``length`` along its yawed x axis, ``height`` tall, thin."""
    thickness = float(stream(seed, f"{part} thickness").uniform(0.06, 0.2))
    texture, material = _surface(seed, ranges, part, 3.0, backdrop=True)
    return Box((centre[0], base + height / 2, centre[1]), (length / 2, height / 2, thickness / 2), float(np.cos(yaw)), float(np.sin(yaw)),
               texture, material=material)


def _terrain(seed: int, ground: Plane, centre_z: float, distance: float) -> Terrain:
    """Mounds and ridges around where the camera looks, none over the camera."""
    rng = stream(seed, "terrain")
    bumps: list[tuple[float, float, float, float, float]] = []
    for _ in range(int(rng.integers(2, 7))):
        for _ in range(TRIES):
            rx, rz = (float(r) for r in rng.uniform(0.12, 0.7, 2) * distance)
            cx, cz = float(rng.uniform(-0.9, 0.9) * distance), float(centre_z + rng.uniform(-0.5, 1.5) * distance)
            if (cx / rx) ** 2 + (cz / rz) ** 2 > 1.2:  # the camera stands outside every bump
                bumps.append((cx, cz, rx, rz, float(rng.uniform(0.05, 0.45) * min(rx, rz))))
                break
    if not bumps:
        bumps.append((0.0, centre_z + distance, 0.3 * distance, 0.3 * distance, 0.05 * distance))
    return Terrain(tuple(bumps), ground.texture, material=ground.material)


def _layout(seed: int, ranges: WorldRanges, kind: str, ground: Plane, centre_z: float, distance: float, ring: float) -> list[Primitive]:
    """The walls (or terrain, or far wall) of layout ``kind``; rooms enclose the light ring."""
    rng = stream(seed, "layout")
    reach = max(ring * 1.15, 1.0)
    if kind == "open":
        if rng.random() < 0.4:
            texture, material = _surface(seed, ranges, "far wall", 3.0, backdrop=True)
            return [Plane(2, float(centre_z + reach + rng.uniform(1.5, 6.0)), texture, material=material)]
        return []
    if kind == "terrain":
        return [_terrain(seed, ground, centre_z, distance)]
    height = float(rng.uniform(1.2, 4.0))
    if kind == "walls":
        walls = []
        for k in range(int(rng.integers(1, 4))):
            angle = float(rng.uniform(-0.6, 0.6) * np.pi)  # around the centre, away from the camera
            gap = float(rng.uniform(0.5, 1.4) * reach)
            x, z = gap * np.sin(angle), centre_z + gap * np.cos(angle)
            yaw = -angle + float(rng.uniform(-0.5, 0.5))
            wall = _wall(seed, ranges, f"wall {k}", (float(x), float(z)), float(rng.uniform(2.0, 8.0)), height, yaw)
            if _footprint_clear(0.0, 0.0, 0.3, [], [wall]):  # not through the camera
                walls.append(wall)
        return walls
    if kind == "corner":
        yaw = float(rng.uniform(-0.8, 0.8))
        corner = np.array([rng.uniform(-0.5, 0.5) * distance, centre_z + rng.uniform(0.5, 1.3) * reach])
        along, inwards = np.array([np.cos(yaw), -np.sin(yaw)]), np.array([np.sin(yaw), np.cos(yaw)])
        side = 1.0 if rng.random() < 0.5 else -1.0
        arms = [(float(rng.uniform(3.0, 9.0)), side * along, yaw), (float(rng.uniform(3.0, 9.0)), -inwards, yaw + np.pi / 2)]
        return [_wall(seed, ranges, f"wall {k}", tuple(float(v) for v in corner + length / 2 * direction), length, height, angle)
                for k, (length, direction, angle) in enumerate(arms)]
    half_width = max(reach, float(rng.uniform(0.6, 1.2) * distance))
    back = centre_z + max(reach, float(rng.uniform(0.5, 1.2) * distance))
    front = centre_z - max(reach, float(rng.uniform(0.5, 1.0) * distance))
    start = min(front, -0.5)
    walls = [_wall(seed, ranges, "wall 0", (0.0, back), 2 * half_width + 0.4, height, 0.0)]
    for k, x in ((1, -half_width), (2, half_width)):
        walls.append(_wall(seed, ranges, f"wall {k}", (x, (back + start) / 2), back - start, height, np.pi / 2))
    if front < -0.5:  # behind the camera: a wall it never sees, casting shadows from the lamps behind it
        walls.append(_wall(seed, ranges, "wall 3", (0.0, front), 2 * half_width + 0.4, height, 0.0))
    return walls


def _object(rng: np.random.Generator, kind: str, x: float, z: float, r: float, base: float, texture: Texture,
            material: Material) -> Primitive:
    """One object of ``kind`` standing on y = ``base`` at (x, z) within footprint radius ``r``."""
    yaw = float(rng.uniform(0.0, np.pi))
    c, s = float(np.cos(yaw)), float(np.sin(yaw))
    sink = base - 0.05 * r if base > 0 else base
    if kind == "sphere":
        lift = float(rng.uniform(0.2, 0.8)) if rng.random() < 0.25 else 0.0
        return Sphere((x, sink + r + lift, z), r, texture, material=material)
    if kind in ("box", "panel"):
        hy = float(rng.uniform(0.25, 1.2) * (1.5 if kind == "panel" else 1.0))
        depth = float(rng.uniform(0.008, 0.03)) if kind == "panel" else r * float(rng.uniform(0.6, 1.0))
        return Box((x, sink + hy, z), (r * float(rng.uniform(0.6, 1.0)), hy, depth), c, s, texture, material=material)
    if kind in ("cylinder", "pole"):
        radius = float(rng.uniform(0.012, 0.05)) if kind == "pole" else r * 0.8
        return Cylinder((x, z), radius, float(rng.uniform(0.5, 1.8) * (1.8 if kind == "pole" else 1.0)), texture, material=material, base=sink)
    if kind == "cone":
        return Cone((x, z), r * 0.9, float(rng.uniform(0.6, 2.0)), texture, material=material, base=sink)
    if kind == "capsule":
        return Capsule((x, z), r * 0.6, float(rng.uniform(0.2, 1.4)), texture, material=material, base=sink)
    if kind == "ellipsoid":
        radii = (r, r * float(rng.uniform(0.4, 1.5)), r * float(rng.uniform(0.5, 1.0)))
        lift = float(rng.uniform(0.1, 0.6)) if rng.random() < 0.2 else 0.0
        return Ellipsoid((x, sink + radii[1] + lift, z), radii, c, s, texture, material=material)
    half = (r, r * float(rng.uniform(0.5, 1.3)), r * float(rng.uniform(0.6, 1.0)))
    radii = tuple(float(v) for v in rng.uniform(0.6, 1.0, 6)) if kind == "rock" else ()
    lowest = min(radii[3], 1.0) if radii else 1.0  # a rock's lowest vertex, over its half-height
    return Solid(kind, (x, sink + half[1] * lowest, z), half, c, s, texture, radii=radii, material=material)


def _footprint_clear(x: float, z: float, r: float, taken: list[tuple[float, float, float]], walls: list[Primitive]) -> bool:
    """Whether a footprint at (x, z) of radius ``r`` overlaps neither placed objects nor walls."""
    if any((x - fx) ** 2 + (z - fz) ** 2 <= (r + fr + 0.08) ** 2 for fx, fz, fr in taken):
        return False
    for wall in walls:
        if isinstance(wall, Box):
            local = wall.to_local(np.array([[x - wall.center[0], 0.0, z - wall.center[2]]]))[0]
            if abs(local[0]) < wall.half[0] + r and abs(local[2]) < wall.half[2] + r:
                return False
    return True


def _objects(seed: int, ranges: WorldRanges, centre_z: float, distance: float, layout: list[Primitive]) -> list[Primitive]:
    """The objects, each placed on the ground (or the terrain) clear of the others and the walls; the first
    near the centre of the view."""
    terrain = next((p for p in layout if isinstance(p, Terrain)), None)
    walls = [p for p in layout if isinstance(p, Box)]
    placed: list[Primitive] = []
    taken: list[tuple[float, float, float]] = []
    for k in range(draw(seed, ranges, "objects")):
        rng = stream(seed, f"object {k}")
        kind = str(stream(seed, f"shape {k}").choice(list(ranges.shapes)))
        r = float(rng.uniform(*ranges.object_size))
        place = stream(seed, f"place {k}")
        for _ in range(TRIES):
            if k == 0:
                x, z = float(place.uniform(-0.15, 0.15) * distance), float(centre_z + place.uniform(-0.2, 0.3) * distance)
            else:
                x, z = float(place.uniform(-0.6, 0.6) * distance), float(centre_z + place.uniform(-0.45, 1.3) * distance)
            if z - r > 0.6 and _footprint_clear(x, z, r, taken, walls):
                break
        else:
            continue
        base = float(terrain.heights(np.array([x]), np.array([z]))[0]) if terrain is not None else 0.0
        texture, material = _surface(seed, ranges, f"object {k}", 2 * r, backdrop=False)
        placed.append(_object(rng, kind, x, z, r, base, texture, material))
        taken.append((x, z, r))
    return placed


def _out_of_view(prim: Primitive, camera: SynthScene, aspect: float) -> bool:
    """Whether the camera cannot see any of ``prim``: its (convex) mesh lies wholly behind the camera or
    wholly beyond one side of the view, with a margin."""
    origin, forward, up = camera_basis(camera)
    right = camera_right(camera)
    wide = np.tan(np.radians(camera.fov_deg) / 2) * 1.05
    tall = wide / aspect
    centre, radius = prim.bound()
    x, y, z = ((centre - origin) @ axis for axis in (right, up, forward))
    if z > 0 and abs(x) < wide * z and abs(y) < tall * z:
        return False  # its centre is in view
    rel = scene_mesh((prim,), 16).positions - origin
    x, y, z = rel @ right, rel @ up, rel @ forward
    return bool((z < 0.05).all() or (x > wide * z).all() or (x < -wide * z).all() or (y > tall * z).all() or (y < -tall * z).all())


def _occluder(rng: np.random.Generator, look: tuple[Texture, Material], centre: np.ndarray, light: np.ndarray) -> Primitive:
    """A shadow caster between the ring centre and a lamp: a pole, a canopy, a slab or a wall, small as
    the lamp sees it, with the texture and material of ``look``."""
    q = centre + rng.uniform(0.3, 0.8) * (light - centre)
    size = float(rng.uniform(0.08, 0.22) * np.linalg.norm(light - q))
    kind = str(rng.choice(["pole", "canopy", "slab", "wall"]))
    texture, material = look
    yaw = float(np.arctan2(light[0] - centre[0], light[2] - centre[2]))
    c, s = float(np.cos(yaw)), float(np.sin(yaw))
    if kind == "pole":
        return Cylinder((float(q[0]), float(q[2])), 0.3 * size, float(q[1] + size), texture, material=material)
    if kind == "canopy":
        return Ellipsoid(tuple(float(v) for v in q), (size, 0.6 * size, size), c, s, texture, material=material)
    if kind == "slab":
        return Box(tuple(float(v) for v in q), (size, 0.04, size * float(rng.uniform(0.5, 1.5))), c, s, texture, material=material)
    top = float(q[1] + size)
    return Box((float(q[0]), top / 2, float(q[2])), (size, top / 2, 0.08), c, s, texture, material=material)


def _occluders(seed: int, ranges: WorldRanges, camera: SynthScene, aspect: float, centre: np.ndarray, lights: dict[str, np.ndarray]) -> list[Primitive]:
    """Off-screen shadow casters: each between the ring centre and one lamp, tried until none of it is in view."""
    found = []
    for k in range(draw(seed, ranges, "occluders")):
        rng = stream(seed, f"occluder {k}")
        direction = str(rng.choice(list(COMPASS)))
        look = _surface(seed, ranges, f"occluder {k}", 1.0, backdrop=False)
        for _ in range(TRIES):
            prim = _occluder(rng, look, centre, lights[direction])
            origin = np.array([0.0, camera.camera_height, 0.0])
            bound_centre, bound_radius = prim.bound()
            if np.linalg.norm(bound_centre - origin) > bound_radius + 0.2 and _out_of_view(prim, camera, aspect):
                found.append(prim)
                break
    return found


def _contains(prim: Primitive, point: np.ndarray) -> bool:
    """Whether ``point`` lies inside a convex object: rays from it up and along the four horizontal axes
    all meet it (from outside, a separating plane turns one of them away)."""
    if isinstance(prim, (Plane, Terrain)):
        return False
    centre, radius = prim.bound()
    if np.linalg.norm(point - centre) > radius * 1.01:
        return False
    rays = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    t, _ = prim.hit(np.broadcast_to(point, rays.shape).copy(), rays)
    return bool(np.isfinite(t).all())


def build_geometry(seed: int, ranges: WorldRanges, camera: SynthScene, aspect: float) -> tuple[Primitive, ...]:
    """The primitives of world scene ``seed`` seen by ``camera`` (a scene without primitives) in images
    ``aspect`` wide: ground, layout, objects, then occluders; no object holds a lamp or the camera."""
    ground_z = camera.camera_height / np.tan(np.radians(camera.pitch_deg))
    distance = float(np.hypot(camera.camera_height, ground_z))
    ring = camera.rig.radius * distance
    texture, material = _surface(seed, ranges, "ground", 3.0, backdrop=True)
    ground = Plane(1, 0.0, texture, material=material)
    kind = str(stream(seed, "layouts").choice(list(ranges.layouts)))
    layout = _layout(seed, ranges, kind, ground, ground_z, distance, ring)
    prims: list[Primitive] = [ground, *layout, *_objects(seed, ranges, ground_z, distance, layout)]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # misses are inf; their products go unread
        for _ in range(3):  # a lamp inside an object: that object goes (and the ring may move with the central hit)
            scene = replace(camera, primitives=tuple(prims))
            centre, _ = central_hit(scene)
            lights = light_positions(scene)
            kept = [p for p in prims if not any(_contains(p, light) for light in lights.values())]
            if len(kept) == len(prims):
                break
            prims = kept
        return (*prims, *_occluders(seed, ranges, camera, aspect, centre, lights))
