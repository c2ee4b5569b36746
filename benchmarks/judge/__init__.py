"""The judge: an evaluation-only renderer and the measures of benchmarks/generalise.py (issue 22).

It lives under ``benchmarks/``, outside the library, so that no model is ever trained on it: a model's
score on it is a test of generalisation to a renderer it has never seen. It shares with relight's
generator only what a data set's format fixes (the any-to-any layout, VIDIT's normalised depth, the
camera looking north with east to its right, the light ring at the 8 compass directions above where
the central ray meets the scene, the black-body colour of each temperature), and differs in the rest:

* technique: sphere tracing of signed distance fields (:mod:`~judge.sdf`, :mod:`~judge.trace`), where
  relight has an exact ray caster of primitives and a z-buffer rasteriser;
* light model (:mod:`~judge.render`): spherical area lights with inverse-square falloff and
  cone-traced soft shadows, GGX highlights and metals, a sky-dome fill with ambient occlusion, a filmic
  tone curve; its own ring proportions and light sizes per scene (:mod:`~judge.scene`);
* scenes (:mod:`~judge.grammar`): still lifes on a table, furnished rooms, rocky terrain and streets,
  objects composed of several shapes, with its own solid textures (:mod:`~judge.materials`,
  :mod:`~judge.noise`).

:mod:`~judge.dataset` writes the layout with shadow masks (``python benchmarks/judge OUT --scenes N``);
:mod:`~judge.measures`, :mod:`~judge.triples` and :mod:`~judge.photos` are what generalise.py measures.
"""
