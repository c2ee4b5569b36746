"""Photos as people have them: EXIF orientation, colour profiles, EXIF kept, alpha, quality, 16 bits."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from badfiles import header_only_png
from relight.errors import InvalidSetting
from relight.io import read_image, write_image
from relight.io.colour import convert, is_srgb, srgb_icc
from relight.io.images import image_size, output_bit_depth
from relight.io.metadata import ORIENTATION, ImageMeta

RNG = np.random.default_rng(14)
CAMERA = {0x010F: "Canon", 0x0110: "EOS R5", 0x0132: "2024:05:01 10:00:00"}
SHOT = {0x9003: "2024:05:01 09:59:58", 0xA434: "RF 24-70mm F2.8"}


def _bradford_to_d50(white: np.ndarray) -> np.ndarray:
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    d50 = np.array([0.9642, 1.0, 0.8249])
    return np.linalg.inv(bradford) @ np.diag((bradford @ d50) / (bradford @ white)) @ bradford


def _rgb_profile(primaries: tuple[tuple[float, float], ...], name: str) -> bytes:
    """An RGB matrix/shaper ICC profile with the given primaries (D65 white, sRGB's tone curve), made
    from Pillow's sRGB profile by replacing its colorants (adapted to D50, as ICC stores them) and name."""
    icc = bytearray(srgb_icc())
    white = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    matrix = _bradford_to_d50(white) @ (xyz * np.linalg.solve(xyz, white))
    count = struct.unpack_from(">I", icc, 128)[0]
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if signature in (b"rXYZ", b"gXYZ", b"bXYZ"):
            column = matrix[:, b"rgb".index(signature[:1])]
            struct.pack_into(">3i", icc, offset + 8, *(round(v * 65536) for v in column))
        if signature == b"desc":
            text = icc[offset + 28 : offset + size]
            icc[offset + 28 : offset + size] = name.ljust(len(text) // 2)[: len(text) // 2].encode("utf-16-be")
    return bytes(icc)


P3 = _rgb_profile(((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), "Display P3")


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif.update(CAMERA)
    exif[ORIENTATION] = orientation
    exif.get_ifd(0x8769).update(SHOT)
    return exif


def _scene(h: int = 12, w: int = 20) -> np.ndarray:
    """A smooth picture (so a JPEG of it stays close to it) with no symmetry (so every turn shows)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + 2 * y) * 255 // (w + 2 * h)], axis=-1).astype(np.uint8)


def test_p3_test_profile_is_a_real_p3_profile() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(P3))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    assert not is_srgb(P3)
    assert is_srgb(srgb_icc())
    red = ImageCms.profileToProfile(Image.new("RGB", (1, 1), (255, 0, 0)), io.BytesIO(P3), ImageCms.createProfile("sRGB"))
    assert red.getpixel((0, 0))[0] == 255
    assert red.getpixel((0, 0))[1:] == (0, 0)  # P3 red is beyond sRGB: clipped


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_orientation_is_applied_on_reading(tmp_path: Path, orientation: int, suffix: str) -> None:
    stored = _scene()
    path = tmp_path / f"o{suffix}"
    Image.fromarray(stored).save(path, exif=_exif(orientation), **({"lossless": True} if suffix == ".webp" else {"quality": 100} if suffix == ".jpg" else {}))
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    image = read_image(path)
    assert image.size == shown.shape[:2] == image_size(path)
    assert image.meta.orientation == orientation
    tolerance = 3 if suffix == ".jpg" else 0
    assert np.abs(np.rint(image.rgb * 255) - shown).max() <= tolerance


def test_depth_for_the_displayed_photo_matches_it_without_resizing(tmp_path: Path) -> None:
    from relight.data.pairs import InferencePair, load_pair

    Image.fromarray(_scene(12, 20)).save(tmp_path / "p.jpg", exif=_exif(6))  # stored 12 x 20, shown 20 x 12
    np.save(tmp_path / "p.npy", np.linspace(0, 1, 20 * 12, dtype=np.float32).reshape(20, 12))
    item = load_pair(InferencePair("p", tmp_path / "p.jpg", tmp_path / "p.npy"))
    assert item.image.size == (20, 12)
    assert not item.warnings


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_is_kept_with_orientation_reset(tmp_path: Path, suffix: str) -> None:
    Image.fromarray(_scene()).save(tmp_path / "in.jpg", exif=_exif(6))
    image = read_image(tmp_path / "in.jpg")
    out = write_image(tmp_path / f"out{suffix}", image.rgb, meta=image.meta)
    with Image.open(out) as im:
        exif = im.getexif()
        assert {tag: exif[tag] for tag in CAMERA} == CAMERA
        assert exif[ORIENTATION] == 1
        assert {tag: exif.get_ifd(0x8769)[tag] for tag in SHOT} == SHOT
        shown = np.asarray(ImageOps.exif_transpose(im))
    assert shown.shape[:2] == image.size == (20, 12)
    assert read_image(out).meta.orientation == 1


#: An XMP packet as cameras and editors write it, its orientation that of EXIF 6 (a quarter turn).
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="6">'
       b"<dc:creator>relight test camera</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>")
#: What each input type holds of XMP, resolution and comment (WebP has no field for the last two, TIFF for a comment).
HOLDS = {".jpg": {"xmp", "dpi", "comment"}, ".png": {"xmp", "dpi", "comment"}, ".tif": {"xmp", "dpi"}, ".webp": {"xmp"}}


def _with_metadata(path: Path) -> Path:
    """A photo of ``path``'s type with the XMP, a 300 x 150 dpi resolution and a comment, as its type holds
    them (written by Pillow, independently of relight); a JPEG is also turned a quarter by EXIF."""
    from PIL import PngImagePlugin

    suffix = path.suffix
    options: dict[str, object] = {"xmp": XMP} if suffix in (".jpg", ".webp") else {}
    if suffix == ".jpg":
        options.update(dpi=(300, 150), comment="shot at dawn", exif=_exif(6))
    elif suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "shot at dawn")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        info.add_itxt("Title", "aube à Paris ☀")  # not Latin-1: kept as UTF-8
        options.update(dpi=(300, 150), pnginfo=info)
    elif suffix == ".tif":
        options.update(dpi=(300, 150), tiffinfo={700: XMP})
    Image.fromarray(_scene()).save(path, **options)
    return path


@pytest.mark.parametrize("output", [".png", ".jpg", ".tif", ".webp"])
@pytest.mark.parametrize("source", [".jpg", ".png", ".tif", ".webp"])
def test_xmp_resolution_and_comments_are_kept_where_the_format_holds_them(tmp_path: Path, source: str, output: str) -> None:
    image = read_image(_with_metadata(tmp_path / f"in{source}"))
    out = write_image(tmp_path / f"out{output}", image.rgb, meta=image.meta)
    kept = HOLDS[source] & HOLDS[output]
    with Image.open(out) as im:  # read back by Pillow, not by relight
        info = dict(im.info)
        text = dict(getattr(im, "text", {}))
    xmp = info.get("xmp")
    xmp = xmp.encode() if isinstance(xmp, str) else xmp
    assert b"<dc:creator>relight test camera</dc:creator>" in xmp
    assert b'tiff:Orientation="1"' in xmp  # the upright pixels' XMP
    upright = (150, 300) if source == ".jpg" else (300, 150)  # a quarter turn swaps the resolution's axes
    if "dpi" in kept:
        assert np.allclose(info["dpi"], upright, rtol=1e-4, atol=0.02), info.get("dpi")  # a PNG holds whole pixels per metre
    comment = info.get("comment", b"").decode() if output == ".jpg" else text.get("Comment")
    assert (comment == "shot at dawn") == ("comment" in kept), comment
    if source == output == ".png":
        assert text["Title"] == "aube \u00e0 Paris \u2600"  # every text chunk, in PNG


def test_a_damaged_text_chunk_is_said_and_left_out(tmp_path: Path) -> None:
    from badfiles import png_chunk

    Image.fromarray(_scene()).save(tmp_path / "plain.png")
    data = (tmp_path / "plain.png").read_bytes()
    broken = png_chunk(b"zTXt", b"Comment\0\0not deflate data") + png_chunk(b"tEXt", b"Author\0me")
    (tmp_path / "damaged.png").write_bytes(data[:33] + broken + data[33:])
    image = read_image(tmp_path / "damaged.png")
    assert image.meta.comments == (("Author", "me"),)
    assert len(image.notes) == 1
    assert image.notes[0].startswith("a damaged zTXt chunk not kept (")


def test_a_tiff_input_passes_on_its_camera_not_its_layout(tmp_path: Path) -> None:
    Image.fromarray(_scene()).save(tmp_path / "in.tif", exif=_exif())
    out = write_image(tmp_path / "out.jpg", read_image(tmp_path / "in.tif").rgb, meta=read_image(tmp_path / "in.tif").meta)
    exif = Image.open(out).getexif()
    assert exif[0x010F] == "Canon"
    assert 273 not in exif
    assert 256 not in exif  # strip offsets, width: TIFF layout


def _p3_photo(path: Path, pixels: np.ndarray, **options: object) -> Path:
    Image.fromarray(pixels).save(path, icc_profile=P3, **options)
    return path


def test_a_profiled_photo_is_converted_to_srgb_for_the_network(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    image = read_image(_p3_photo(tmp_path / "p.png", pixels))
    expected = ImageCms.profileToProfile(Image.fromarray(pixels), io.BytesIO(P3), ImageCms.createProfile("sRGB"),
                                         renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    assert np.array_equal(np.rint(image.rgb * 255), np.asarray(expected))
    assert image.meta.icc == P3


def test_16bit_pixels_are_converted_in_float_like_littlecms(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    by_cms = convert(pixels, P3, to_srgb=True).astype(np.float32) / 255
    by_matrix = convert(pixels.astype(np.float32) / 255, P3, to_srgb=True)
    assert np.abs(by_cms - by_matrix).max() <= 1.01 / 255
    back = convert(convert(by_matrix, P3, to_srgb=False), P3, to_srgb=True)
    assert np.abs(back - by_matrix).max() < 1e-4  # the float path loses nothing of 16 bits
    deep = (pixels.astype(np.uint16) * 257)
    path = tmp_path / "deep.tif"
    tifffile.imwrite(path, deep, photometric="rgb", iccprofile=P3)
    image = read_image(path)
    assert image.bit_depth == 16
    assert np.abs(image.rgb - by_matrix).max() < 1e-5


def _relight(rgb: np.ndarray) -> np.ndarray:
    """A stand-in for the network: any fixed change of the sRGB picture."""
    return np.clip(rgb * np.array([1.1, 0.9, 0.8], np.float32) + 0.05, 0, 1)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_the_output_is_written_in_the_input_profile_and_embeds_it(tmp_path: Path, suffix: str) -> None:
    pixels = RNG.integers(30, 220, (8, 10, 3), dtype=np.uint8)
    image = read_image(_p3_photo(tmp_path / "p.png", pixels))
    out = write_image(tmp_path / f"o{suffix}", _relight(image.rgb), meta=image.meta, quality=100)
    with Image.open(out) as im:
        assert im.info["icc_profile"] == P3
    if suffix in (".png", ".tif"):  # lossless: the pixels are the relit sRGB photo converted to P3 by LittleCMS
        srgb = Image.fromarray(np.rint(_relight(image.rgb) * 255).astype(np.uint8))
        by_cms = ImageCms.profileToProfile(srgb, ImageCms.createProfile("sRGB"), io.BytesIO(P3),
                                           renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        assert np.abs(np.asarray(Image.open(out)).astype(float) - np.asarray(by_cms)).max() <= 1


def test_srgb_output_matches_relighting_the_srgb_converted_photo(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    image = read_image(_p3_photo(tmp_path / "p.jpg", pixels, quality=100))
    converted = ImageCms.profileToProfile(Image.open(tmp_path / "p.jpg"), io.BytesIO(P3), ImageCms.createProfile("sRGB"),
                                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    expected = _relight(np.asarray(converted).astype(np.float32) / 255)
    out = write_image(tmp_path / "o.png", _relight(image.rgb), meta=image.meta, srgb=True)
    with Image.open(out) as im:
        assert is_srgb(im.info["icc_profile"])
    assert np.abs(read_image(out).rgb - expected).max() <= 0.5 / 255 + 1e-6


def test_a_photo_without_a_profile_is_written_untagged_as_before(tmp_path: Path) -> None:
    image = read_image(write_image(tmp_path / "a.png", RNG.random((4, 5, 3), dtype=np.float32)))
    assert image.meta == ImageMeta()
    written = write_image(tmp_path / "b.png", image.rgb, meta=image.meta)
    assert "icc_profile" not in Image.open(written).info


def test_a_grey_profile_on_a_grey_photo_is_reported_not_applied(tmp_path: Path) -> None:
    grey = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # not RGB: cannot be used for RGB
    Image.fromarray(_scene()[..., 0]).save(tmp_path / "g.jpg", icc_profile=grey)
    image = read_image(tmp_path / "g.jpg")
    assert image.meta.icc is None
    assert any("colour profile does not fit an RGB image" in note for note in image.notes)


@pytest.mark.parametrize("suffix", [".webp", ".png", ".tif"])
def test_webp_and_other_alpha_outputs_keep_alpha(tmp_path: Path, suffix: str) -> None:
    rgb, alpha = RNG.random((6, 7, 3), dtype=np.float32), RNG.random((6, 7), dtype=np.float32)
    back = read_image(write_image(tmp_path / f"o{suffix}", rgb, alpha, quality=100))
    assert back.alpha is not None
    assert np.abs(back.alpha - alpha).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_quality_sets_the_jpeg_and_webp_size(tmp_path: Path, suffix: str) -> None:
    rgb = RNG.random((64, 64, 3), dtype=np.float32)
    low, default = write_image(tmp_path / f"low{suffix}", rgb, quality=10), write_image(tmp_path / f"d{suffix}", rgb)
    assert low.stat().st_size < default.stat().st_size / 2
    with pytest.raises(InvalidSetting, match=r"write_image\(quality=0\) must be between 1 and 100") as err:
        write_image(tmp_path / f"bad{suffix}", rgb, quality=0)
    assert err.value.setting.name == "quality"
    assert not (tmp_path / f"bad{suffix}").exists()


@pytest.mark.parametrize("suffix,expected", [(".png", 16), (".tif", 16), (".jpg", 8), (".webp", 8)])
def test_a_16bit_input_gives_16bit_output_where_the_format_holds_it(tmp_path: Path, suffix: str, expected: int) -> None:
    tifffile.imwrite(tmp_path / "deep.tif", RNG.integers(0, 65536, (5, 6, 3), dtype=np.uint16), photometric="rgb")
    image = read_image(tmp_path / "deep.tif")
    assert output_bit_depth(suffix, None, image.meta) == expected
    kept = write_image(tmp_path / f"o{suffix}", image.rgb, meta=image.meta)
    assert read_image(kept).bit_depth == expected
    eight = write_image(tmp_path / f"e{suffix}", image.rgb, None, 8, image.meta)
    assert read_image(eight).bit_depth == 8


def test_16bit_output_keeps_profile_and_exif(tmp_path: Path) -> None:
    deep = RNG.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    exif = _exif(3)
    Image.fromarray(_scene(5, 6)).save(tmp_path / "eight.jpg", exif=exif)
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb", iccprofile=P3)
    meta = ImageMeta(P3, read_image(tmp_path / "eight.jpg").meta.exif, 16)
    rgb = read_image(tmp_path / "deep.tif").rgb
    for suffix in (".png", ".tif"):
        out = write_image(tmp_path / f"o{suffix}", rgb, meta=meta)
        again = read_image(out)
        assert again.bit_depth == 16
        assert again.meta.icc == P3
        assert np.abs(again.rgb - rgb).max() < 2e-4
        assert Image.open(out).getexif().get_ifd(0x8769)[0xA434] == SHOT[0xA434]


def _phone_photo(folder: Path, stem: str = "phone") -> tuple[Path, Path]:
    """A P3 JPEG stored sideways (orientation 6) with camera EXIF, and depth made for the photo as shown."""
    Image.fromarray(_scene(24, 40)).save(folder / f"{stem}.jpg", icc_profile=P3, exif=_exif(6), quality=95)
    np.save(folder / f"{stem}.npy", RNG.random((40, 24), dtype=np.float32))  # shown 40 tall, 24 wide
    return folder / f"{stem}.jpg", folder / f"{stem}.npy"


def test_run_relights_a_phone_photo_as_it_displays_keeping_profile_and_exif(cli, tmp_path, narrow_checkpoint) -> None:
    from relight.inference import Relighter
    from relight.weights import load_weights

    photo, depth = _phone_photo(tmp_path)
    out = tmp_path / "out.png"
    code, _, err = cli(["run", str(photo), str(depth), "-o", str(out), "-w", str(narrow_checkpoint)])
    assert code == 0, err
    assert "resized" not in err
    with Image.open(out) as im:
        assert im.size == (24, 40)
        assert im.info["icc_profile"] == P3
        assert im.getexif()[ORIENTATION] == 1
        assert im.getexif()[0x0110] == "EOS R5"
    shown = read_image(photo)
    expected = Relighter(load_weights(narrow_checkpoint), device="cpu").relight(shown.rgb, np.load(depth))
    code, _, err = cli(["run", str(photo), str(depth), "-o", str(tmp_path / "s.png"), "-w", str(narrow_checkpoint), "--srgb"])
    assert code == 0, err
    srgb = read_image(tmp_path / "s.png")
    assert is_srgb(srgb.meta.icc)
    assert np.abs(srgb.rgb - np.clip(expected, 0, 1)).max() <= 0.5 / 255 + 1e-6


def test_run_and_batch_take_quality_and_keep_16_bits(cli, tmp_path, narrow_checkpoint) -> None:
    photo, depth = _phone_photo(tmp_path)
    sizes = {}
    for quality in (10, 95):
        out = tmp_path / f"q{quality}.jpg"
        code, _, err = cli(["run", str(photo), str(depth), "-o", str(out), "-w", str(narrow_checkpoint), "--quality", str(quality)])
        assert code == 0, err
        sizes[quality] = out.stat().st_size
    assert sizes[10] < sizes[95]
    code, _, err = cli(["run", str(photo), str(depth), "-o", str(tmp_path / "x.jpg"), "-w", str(narrow_checkpoint), "--quality", "0"])
    assert code == 2
    assert "--quality" in err
    assert not (tmp_path / "x.jpg").exists()
    folder = tmp_path / "deep"
    folder.mkdir()
    tifffile.imwrite(folder / "d.tif", RNG.integers(0, 65536, (16, 24, 3), dtype=np.uint16), photometric="rgb", iccprofile=P3)
    np.save(folder / "d.npy", RNG.random((16, 24), dtype=np.float32))
    for extra, expected in (([], 16), (["--bit-depth", "8"], 8)):
        code, _, err = cli(["batch", str(folder), "-o", str(tmp_path / f"b{expected}"), "-w", str(narrow_checkpoint), *extra])
        assert code == 0, err
        result = read_image(tmp_path / f"b{expected}" / "d.png")
        assert result.bit_depth == expected
        assert result.meta.icc == P3


def test_batch_output_keeps_orientation_profile_exif_and_webp_alpha(cli, tmp_path, narrow_checkpoint) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _phone_photo(folder)
    rgba = np.dstack([_scene(16, 24), RNG.integers(0, 256, (16, 24), dtype=np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "cut.png")
    np.save(folder / "cut.npy", RNG.random((16, 24), dtype=np.float32))
    code, _, err = cli(["batch", str(folder), "-o", str(tmp_path / "out"), "-w", str(narrow_checkpoint), "--ext", ".webp"])
    assert code == 0, err
    with Image.open(tmp_path / "out" / "phone.webp") as im:
        assert im.size == (24, 40)
        assert im.info["icc_profile"] == P3
        assert im.getexif()[0x010F] == "Canon"
    cut = read_image(tmp_path / "out" / "cut.webp")
    assert cut.alpha is not None
    assert np.abs(cut.alpha - rgba[..., 3] / 255).max() < 0.02


def test_score_reads_ground_truth_as_it_displays(tmp_path: Path) -> None:
    from relight.evaluation.score import score_folders

    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    shown = RNG.integers(0, 256, (20, 12, 3), dtype=np.uint8)
    Image.fromarray(shown).save(tmp_path / "pred" / "a.png")
    Image.fromarray(np.rot90(shown)).save(tmp_path / "gt" / "a.png", exif=_exif(6))  # stored turned, shown upright
    report = score_folders(tmp_path / "pred", tmp_path / "gt", device="cpu")
    assert not report.failed
    assert report.rows[0].ssim == pytest.approx(1.0)


def test_demo_outputs_keep_the_examples_alpha(tmp_path: Path) -> None:
    from relight.demo import EXAMPLES, run_demo
    from relight.inference import Relighter
    from relight.weights import default_weights, load_weights

    result = run_demo(Relighter(load_weights(default_weights()), device="cpu"), tmp_path / "demo")
    assert not result.model.failed
    for name in ("Image900", "Image903"):
        alpha = read_image(tmp_path / "demo" / f"{name}.png").alpha
        assert alpha is not None
        assert np.array_equal(alpha, read_image(Path(EXAMPLES) / "validation" / f"{name}.png").alpha)


def test_image_size_reads_the_header_only_and_refuses_a_bomb_before_anything_else(tmp_path: Path, monkeypatch) -> None:
    from PIL import ImageFile

    from relight.errors import InputFileError

    path = tmp_path / "upright.png"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (30, 20)).save(path, exif=exif.tobytes())
    bomb = header_only_png(tmp_path / "bomb.png", 100_000, 100_000, idat=b"")

    def no_decoding(self):  # Pillow decoding pixels: what a header read must not do (a PNG's getexif did)
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert image_size(path) == (30, 20)  # stored 30 wide and 20 high; orientation 6 displays it 30 high
    with pytest.raises(InputFileError, match="over the 67,108,864-pixel limit"):
        image_size(bomb)
