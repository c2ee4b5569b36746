"""Files in and out: :mod:`~relight.io.images` (image codecs, bit depths, alpha, the pixel limit),
:mod:`~relight.io.depth` (depth formats and the restricted unpickler) and :mod:`~relight.io.output`
(atomic writes, output-path checks, stale temporaries).

Every name is importable from ``relight.io`` as well, loaded on first use: importing
:mod:`relight.io.output` alone (as the checkpoint code does) loads no image library.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(("IMAGE_EXTENSIONS", "MAX_PIXELS", "ImageMeta", "LoadedImage", "OutputOptions", "image_size", "read_image",
                     "to_unit", "unreadable", "write_image"), "relight.io.images"),
    **dict.fromkeys(("DEPTH_EXTENSIONS", "read_depth", "resize_depth", "write_depth_npy"), "relight.io.depth"),
    **dict.fromkeys(("OUTPUT_EXTENSIONS", "atomic_output", "check_output_dir",
                     "check_output_ext", "check_output_file", "check_output_folder", "check_output_path", "file_mode",
                     "json_text", "refuse_replacing_inputs", "remove_stale_temporaries", "write_json", "write_text"), "relight.io.output"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted(_HOMES)
