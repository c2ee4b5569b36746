"""The page of ``relight ui``, built with Gradio Blocks over a :class:`~relight.ui.service.Service`.

The Relight button is the named API endpoint ``/relight``: (image file, depth file or None, target such
as ``"2500-W"``, and optionally what the depth file holds) -> the relit image file, so scripts call it
with ``gradio_client``; the model is the page's own (the one given, else the default, as the command
line chooses it). The page then fills the before/after slider, the depth map, the time and the download
from that call's own result (a per-session ``gr.State``, hidden from the API). Every event runs in
Gradio's queue, one at a time, since the service holds one model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relight.errors import RelightError
from relight.lighting import DEFAULT_TARGET, DIRECTIONS, TEMPERATURES, Light
from relight.ui.service import MAX_UPLOAD, MissingGradio, ModelInfo, Result, Service, page_message

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio loads: it would phone home

try:
    import gradio as gr  # noqa: E402 - after the setting above
except ModuleNotFoundError as exc:
    raise MissingGradio("relight's web page needs Gradio, the optional extra relight[ui]: pip install 'relight[ui]'") from exc

#: The compass as laid out on the page, north up (east is to the camera's right); None is the middle.
COMPASS = (("NW", "N", "NE"), ("W", None, "E"), ("SW", "S", "SE"))
#: What the depth-kind control offers (:data:`relight.io.depth.DEPTH_KINDS`), as the page words them.
DEPTH_KIND_CHOICES = (("auto: tell from the values", "auto"), ("normalised: VIDIT's [0, 1] depth", "normalised"),
                      ("metric: distances", "metric"), ("disparity: inverse distances", "disparity"))
#: A locked control looks locked: a one-to-one model's compass and temperatures are greyed, not clickable.
PAGE_CSS = """
#compass button:disabled, #all-40:disabled, #temperature label:has(input:disabled) { opacity: 0.4; cursor: not-allowed; }
#temperature input:disabled { cursor: not-allowed; }
"""

_log = logging.getLogger(__name__)


def _guarded(call: Any, *paths: str | None) -> Any:
    """``call()``, with a library error (or a bug) turned into a message on the page naming the uploads
    by the names they were given; the server keeps serving."""
    uploads = {path: Path(path).name for path in paths if path}
    try:
        return call()
    except RelightError as exc:
        raise gr.Error(page_message(exc, uploads), print_exception=False) from None
    except Exception as exc:  # noqa: BLE001 - a bug: logged with its traceback on the server, one line on the page
        _log.exception("relight ui: unexpected error")
        raise gr.Error(page_message(exc, uploads), print_exception=False) from None


def initial_target(info: ModelInfo) -> str:
    """The light the picker starts on: the model's own target (one-to-one) or default, else 4500-E."""
    target = info.illumination.target
    if info.any_to_any:
        return str(target or DEFAULT_TARGET)
    return str(target) if target is not None else ""


def light_note(info: ModelInfo) -> str:
    """What the picker can do with this model."""
    if info.any_to_any:
        return "Any-to-any model: pick a direction and a temperature."
    pair = f"{info.illumination.source or '?'} -> {info.illumination.target or '?'}"
    return f"This model is one-to-one: it relights {pair} only, so the light is fixed at its single setting."


def _parts(target: str) -> tuple[int | None, str | None]:
    try:
        light = Light.parse(target)
    except RelightError:
        return None, None
    return light.temperature, light.direction


def _compass_updates(target: str, interactive: bool | None = None) -> list[Any]:
    """The eight direction buttons with the target's highlighted; ``interactive`` False locks them (a
    one-to-one model), None leaves them as they are (an update that names ``interactive`` at all, even as
    None, sets it: Gradio then disables the button)."""
    _, direction = _parts(target)
    locked = {} if interactive is None else {"interactive": interactive}
    return [gr.Button(variant="primary" if d == direction else "secondary", **locked) for d in DIRECTIONS]


def _with_direction(target: str, direction: str) -> str:
    temperature, _ = _parts(target)
    return str(Light(temperature or DEFAULT_TARGET.temperature, direction))


def _with_temperature(target: str, temperature: str) -> str:
    _, direction = _parts(target)
    return str(Light(int(temperature), direction or DEFAULT_TARGET.direction))


def _result_updates(result: Result | None) -> list[Any]:
    """The slider, depth map, time and download of one call's result (nothing before the first)."""
    if result is None:
        return [None, None, "", None]
    height, width = result.size
    source = "estimated (no depth file given)" if result.estimated else "from the depth file"
    ran = f" (the network ran at {result.run_size[1]} x {result.run_size[0]})" if result.run_size != result.size else ""
    lines = [f"**{result.mapping}** by {_model_label(result.model)} · {width} x {height}{ran} · relit in {result.seconds:.2f} s "
             f"(upload to result) · depth {source}", *(f"- {note}" for note in result.notes)]
    return [(str(result.before), str(result.after)), str(result.depth_view), "\n".join(lines), str(result.relit)]


def _relight_call(service: Service) -> Any:
    """The ``/relight`` endpoint's function: its parameter names are the API's."""

    def relight(image: str | None, depth: str | None, target: str | None, depth_kind: str | None,
                weights: str | None, mirror_average: bool | None = False) -> tuple[str, Result]:
        if not image:
            raise gr.Error("drop a photo first", print_exception=False)
        done = _guarded(lambda: service.relight(image, depth, target, weights, depth_kind or "auto", bool(mirror_average)), image, depth)
        return str(done.relit), done

    return relight


def _sheet_call(service: Service) -> Any:
    """The ``/sheet`` endpoint's function: the upload relit to every light, as one labelled picture."""

    def sheet(image: str | None, depth: str | None, depth_kind: str | None, weights: str | None, mirror_average: bool | None = False) -> str:
        if not image:
            raise gr.Error("drop a photo first", print_exception=False)
        return str(_guarded(lambda: service.sheet(image, depth, weights, depth_kind or "auto", bool(mirror_average)), image, depth))

    return sheet


def _preview_call(service: Service) -> Any:
    """The photo as relight reads it, shown once it is dropped; a file relight cannot read is said in a
    warning (Relight then says it again, as an error)."""

    def preview(image: str | None) -> str | None:
        if not image:
            return None
        try:
            return str(service.preview(image))
        except RelightError as exc:
            gr.Warning(page_message(exc, {image: Path(image).name}))
            return None

    return preview


def _model_label(name: str) -> str:
    """A registry name as it is; a weights file by its file name (the full path is in the model line)."""
    return Path(name).name if any(sep in name for sep in "/\\") else name


def missing_note(service: Service) -> str:
    """The models the page cannot run, each with how to get it, in the page's words."""
    lines = [f"- {page_message(why)}" for why in service.missing()]
    return "Not on this server:\n" + "\n".join(lines) if lines else ""


def _pick_model(service: Service) -> Any:
    """The model list's handler: the model picked, loaded, and the picker set for it; a model that cannot
    load is a warning, and the list goes back to the model that stays in use, so it never shows one
    model while another runs."""

    def pick(name: str, current: str) -> list[Any]:
        try:
            picked = service.describe(name)
        except RelightError as exc:
            gr.Warning(page_message(exc))
            return [current, _listed(current), *([gr.skip()] * (len(DIRECTIONS) + 5))]
        light, free = initial_target(picked), picked.any_to_any
        return [name, _listed(name), picked.describe(), *_compass_updates(light, free), gr.Button(interactive=free),
                gr.Radio(value=str(_parts(light)[0] or "") or None, interactive=free), light, light_note(picked)]

    return pick


def _listed(name: str) -> dict[str, Any]:
    """The model list set to ``name``: an update of its value alone, since a new Dropdown built without the
    list's choices warns on the server's console that its value is not among them."""
    return gr.update(value=name)


def _light_picker(info: ModelInfo) -> tuple[list[gr.Button], gr.Radio, gr.Textbox, gr.Markdown]:
    """The compass of 8 directions, the 5 temperatures, the target they make, and what the model allows."""
    target = initial_target(info)
    temperature, direction = _parts(target)
    buttons: dict[str, gr.Button] = {}
    with gr.Group(elem_id="compass"):
        for row in COMPASS:
            with gr.Row():
                for d in row:
                    if d is None:
                        gr.Markdown("<div style='text-align:center'>☼</div>")
                    else:
                        buttons[d] = gr.Button(d, size="sm", min_width=40, elem_id=f"dir-{d}", interactive=info.any_to_any,
                                               variant="primary" if d == direction else "secondary")
    radio = gr.Radio([str(t) for t in TEMPERATURES], value=str(temperature) if temperature else None, label="Temperature (K)",
                     interactive=info.any_to_any, elem_id="temperature")
    text = gr.Textbox(target, label="Target light", interactive=False, elem_id="target")
    note = gr.Markdown(light_note(info), elem_id="light-note")
    return [buttons[d] for d in DIRECTIONS], radio, text, note


def build_app(service: Service, examples: Path | None = None) -> gr.Blocks:
    """The page over ``service``; ``examples`` is the folder of relight's bundled examples (None: the shipped one)."""
    from relight.demo import EXAMPLES

    info = service.describe()
    with gr.Blocks(title="relight", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        model_state = gr.State(info.name)
        result_state = gr.State(None)
        gr.Markdown("# relight\nDrop a photo (and its depth map, if you have one), pick the light, press **Relight**.")
        gr.Markdown(service.limits(), elem_id="limits")
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.File(label="Photo (PNG, JPEG, TIFF, WebP)", elem_id="image")
                photo = gr.Image(label="Photo as relight reads it", type="filepath", format="png", interactive=False, elem_id="photo",
                                 height=220, buttons=[])
                depth = gr.File(label="Depth map (optional: estimated when not given)", elem_id="depth")
                depth_kind = gr.Radio(DEPTH_KIND_CHOICES, value="auto", label="The depth map holds", elem_id="depth-kind")
                buttons, radio, target, note = _light_picker(info)
                mirror = gr.Checkbox(False, label="Also relight the mirror image and average the two (a second pass; any-to-any models)",
                                     elem_id="mirror-average")
                with gr.Row():
                    relight = gr.Button("Relight", variant="primary", elem_id="relight")
                    all_lights = gr.Button("All 40", elem_id="all-40", interactive=info.any_to_any)
                model = gr.Dropdown([(_model_label(name), name) for name in service.models()], value=info.name, label="Model",
                                    elem_id="model")
                model_info = gr.Markdown(info.describe(), elem_id="model-info")
                gr.Markdown(missing_note(service), elem_id="missing-models")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before / after", type="filepath", elem_id="slider")
                result = gr.Image(label="Result", type="filepath", format="png", interactive=False, elem_id="result")
                with gr.Row():
                    depth_view = gr.Image(label="Depth (near dark, far light)", type="filepath", interactive=False, elem_id="depth-view")
                    download = gr.File(label="Full-resolution result (metadata kept)", interactive=False, elem_id="download")
                status = gr.Markdown(elem_id="status")
                gr.Markdown("**All 40 lights**: rows are temperatures, columns directions.", elem_id="sheet-title")
                sheet = gr.Image(show_label=False, type="filepath", format="png", interactive=False, elem_id="sheet", buttons=[])
        _examples(examples or EXAMPLES, image, depth)

        image.change(_preview_call(service), image, photo, api_visibility="private")
        relight.click(_relight_call(service), [image, depth, target, depth_kind, model_state, mirror], [result, result_state],
                      api_name="relight", concurrency_id="model").success(
            _result_updates, result_state, [slider, depth_view, status, download], api_visibility="private", queue=False)
        all_lights.click(_sheet_call(service), [image, depth, depth_kind, model_state, mirror], sheet, api_name="sheet", concurrency_id="model")
        model.input(_pick_model(service), [model, model_state],
                    [model_state, model, model_info, *buttons, all_lights, radio, target, note], api_visibility="private",
                    concurrency_id="model")
        _wire_picker(buttons, radio, target)
    return page


def _wire_picker(buttons: list[gr.Button], radio: gr.Radio, target: gr.Textbox) -> None:
    """Each compass button and the temperature set their part of the target light (no queue: no model runs)."""
    for direction, button in zip(DIRECTIONS, buttons):
        def pick(light: str, direction: str = direction) -> list[Any]:
            chosen = _with_direction(light, direction)
            return [chosen, *_compass_updates(chosen)]

        button.click(pick, target, [target, *buttons], api_visibility="private", queue=False)
    radio.change(lambda light, kelvin: _with_temperature(light, kelvin) if kelvin else light, [target, radio], target,
                 api_visibility="private", queue=False)


def _examples(folder: Path, image: gr.File, depth: gr.File) -> None:
    """The bundled examples (each image with its depth), one click away."""
    from relight.data.pairs import find_inference_pairs

    try:
        pairs = [pair for pair in find_inference_pairs(folder / "validation") if pair.depth is not None]
    except RelightError:
        pairs = []
    if pairs:
        gr.Examples([[str(pair.image), str(pair.depth)] for pair in pairs], [image, depth], label="Examples")


@contextmanager
def private_cache(service: Service) -> Iterator[Path]:
    """Gradio's cache, for a page built and served inside, in a folder of ``service``'s own.

    Gradio keeps uploads, examples and results in one folder per machine (``$GRADIO_TEMP_DIR``, else
    ``/tmp/gradio``), each file named by its content, and a server that stops deletes every file it put
    there: another page holding the same example or upload loses it in the middle of a call (in the
    tests, a page that never showed its result). Gradio reads that folder from the environment, when a
    page is built and while it serves, so this sets it for the whole process: for one page per process,
    as ``relight ui`` serves. The variable is restored on the way out; ``service.close()`` removes the folder.
    """
    folder = service.cache_folder()
    before = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = before


def serve(page: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, examples: Path | None = None) -> str:
    """Start ``page`` on ``host``:``port`` in the background (queued, no share link) and return its address."""
    from relight.demo import EXAMPLES
    from relight.errors import InvalidSetting, Setting, first_line

    page.queue(default_concurrency_limit=1)
    try:
        _, url, _ = page.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                                ssr_mode=False, mcp_server=False, max_file_size=MAX_UPLOAD,
                                allowed_paths=[str(examples or EXAMPLES)], show_error=True, css=PAGE_CSS)
    except OSError as exc:
        setting = Setting("port", port, owner="serve")
        raise InvalidSetting(setting, setting, f": cannot serve on {host}:{port} ({first_line(exc).split('. ')[0]})") from None
    return url
