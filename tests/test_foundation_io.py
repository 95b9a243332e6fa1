"""Image I/O: formats, bit depth, orientation, alpha, grayscale, CMYK, ICC/EXIF, bad input, atomic writes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from exposurekit.io import ImageData, ImageReadError, ImageWriteError, expand_inputs, read_image, write_image


def _rgb(h=24, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp", ".bmp"])
def test_lossless_roundtrip_8bit(tmp_path, suffix):
    a = _rgb()
    kw = {"lossless": True} if suffix == ".webp" else {}
    Image.fromarray(a).save(tmp_path / f"a{suffix}", **kw)
    img = read_image(tmp_path / f"a{suffix}")
    assert img.rgb.dtype == np.uint8 and img.bit_depth == 8
    np.testing.assert_array_equal(img.rgb, a)
    write_image(tmp_path / f"b{suffix}", img, quality=100)  # WebP at quality 100 is lossless
    np.testing.assert_array_equal(read_image(tmp_path / f"b{suffix}").rgb, a)


def test_jpeg_roundtrip_close(tmp_path):
    a = cv2.GaussianBlur(_rgb(64, 64), (7, 7), 2)
    Image.fromarray(a).save(tmp_path / "a.jpg", quality=95)
    img = read_image(tmp_path / "a.jpg")
    write_image(tmp_path / "b.jpg", img)
    b = read_image(tmp_path / "b.jpg").rgb
    assert np.abs(b.astype(int) - img.rgb.astype(int)).mean() < 2.0


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_kept(tmp_path, suffix):
    a = np.random.default_rng(1).integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / f"a{suffix}"), a[:, :, ::-1])
    img = read_image(tmp_path / f"a{suffix}")
    assert img.rgb.dtype == np.uint16 and img.bit_depth == 16
    np.testing.assert_array_equal(img.rgb, a)
    write_image(tmp_path / f"b{suffix}", img)
    back = cv2.imread(str(tmp_path / f"b{suffix}"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, a)


def test_16bit_to_jpeg_becomes_8bit(tmp_path):
    a = np.full((8, 8, 3), 65535, np.uint16)
    write_image(tmp_path / "a.jpg", ImageData(a))
    assert read_image(tmp_path / "a.jpg").rgb.min() >= 250


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    a = _rgb(10, 16)
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.png", exif=exif.tobytes())
    want = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")).convert("RGB"))
    img = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(img.rgb, want)
    assert (orientation != 1) == any("orientation" in n for n in img.notes)
    # the orientation tag written back is 1: the pixels are upright now
    write_image(tmp_path / "out.png", img)
    assert Image.open(tmp_path / "out.png").getexif().get(0x0112, 1) == 1


def test_exif_orientation_16bit(tmp_path):
    a = np.random.default_rng(2).integers(0, 65536, (6, 9, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "a.tif"), a[:, :, ::-1])
    import tifffile

    tifffile.imwrite(tmp_path / "r.tif", a, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    img = read_image(tmp_path / "r.tif")
    np.testing.assert_array_equal(img.rgb, np.rot90(a, -1))
    im = Image.new("RGB", (1, 1))
    exif = im.getexif()
    exif[0x0112] = 8
    write_image(tmp_path / "r.png", ImageData(a, exif=exif.tobytes()))  # 16-bit PNG with an eXIf chunk
    np.testing.assert_array_equal(read_image(tmp_path / "r.png").rgb, np.rot90(a, 1))


def test_alpha_untouched_through_cli_correct(tmp_path):
    from typer.testing import CliRunner

    from exposurekit.cli.app import app
    from exposurekit.cli.main import _load_commands

    _load_commands()
    rgba = np.dstack([_rgb(), np.arange(24 * 32, dtype=np.uint8).reshape(24, 32)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    res = CliRunner().invoke(app, ["correct", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "-m", "auto-gamma"])
    assert res.exit_code == 0, res.output
    out = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    assert out.shape == (24, 32, 4)
    np.testing.assert_array_equal(out[:, :, 3], rgba[:, :, 3])
    assert not np.array_equal(out[:, :, :3], rgba[:, :, :3])


def test_grayscale_8_and_16bit(tmp_path):
    g = np.arange(200, dtype=np.uint8).reshape(10, 20)
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.rgb.shape == (10, 20, 3) and "grayscale converted to RGB" in img.notes
    np.testing.assert_array_equal(img.rgb[:, :, 1], g)
    g16 = (np.arange(200, dtype=np.uint16) * 300).reshape(10, 20)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    img16 = read_image(tmp_path / "g16.png")
    assert img16.rgb.dtype == np.uint16 and img16.rgb.shape == (10, 20, 3)
    np.testing.assert_array_equal(img16.rgb[:, :, 2], g16)


def test_cmyk_converted_with_note(tmp_path):
    Image.new("CMYK", (12, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red in CMYK
    img = read_image(tmp_path / "c.jpg")
    assert img.rgb.shape == (8, 12, 3)
    assert any("CMYK" in n for n in img.notes)
    r, g, b = img.rgb.reshape(-1, 3).mean(0)
    assert r > 200 and g < 60 and b < 60


def test_palette_with_transparency(tmp_path):
    im = Image.fromarray(_rgb()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    img = read_image(tmp_path / "p.png")
    assert img.rgb.shape == (24, 32, 3) and img.alpha is not None


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_icc_and_exif_carried(tmp_path, suffix):
    icc = _srgb_icc()
    im = Image.fromarray(_rgb())
    exif = im.getexif()
    exif[0x010F] = "TestMaker"  # Make
    im.save(tmp_path / f"a{suffix}", icc_profile=icc, exif=exif.tobytes())
    img = read_image(tmp_path / f"a{suffix}")
    assert img.icc_profile == icc
    write_image(tmp_path / f"b{suffix}", img)
    back = Image.open(tmp_path / f"b{suffix}")
    assert back.info.get("icc_profile") == icc
    assert back.getexif().get(0x010F) == "TestMaker"


def test_icc_exif_in_16bit_png(tmp_path):
    icc = _srgb_icc()
    a = np.random.default_rng(3).integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    im = Image.new("RGB", (1, 1))
    exif = im.getexif()
    exif[0x010F] = "Deep"
    write_image(tmp_path / "d.png", ImageData(a, icc_profile=icc, exif=exif.tobytes()))
    back = Image.open(tmp_path / "d.png")
    assert back.info.get("icc_profile") == icc
    assert back.getexif().get(0x010F) == "Deep"
    np.testing.assert_array_equal(read_image(tmp_path / "d.png").rgb, a)


def test_bad_inputs_one_line_errors(tmp_path):
    Image.fromarray(_rgb(64, 64)).save(tmp_path / "good.jpg")
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    (tmp_path / "text.jpg").write_text("not an image at all")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "dir.png").mkdir()
    for name in ["trunc.jpg", "junk.png", "text.jpg", "empty.png", "dir.png", "missing.png"]:
        with pytest.raises(ImageReadError) as err:
            read_image(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value)


def test_huge_image_refused(tmp_path):
    Image.fromarray(_rgb(100, 100)).save(tmp_path / "a.png")
    with pytest.raises(ImageReadError, match="limit"):
        read_image(tmp_path / "a.png", max_pixels=5000)


def test_write_protects_inputs_and_is_atomic(tmp_path):
    Image.fromarray(_rgb()).save(tmp_path / "a.png")
    before = (tmp_path / "a.png").read_bytes()
    img = read_image(tmp_path / "a.png")
    img.rgb = 255 - img.rgb
    with pytest.raises(ImageWriteError, match="overwrite an input"):
        write_image(tmp_path / "a.png", img, protect=(tmp_path / "a.png",))
    assert (tmp_path / "a.png").read_bytes() == before
    write_image(tmp_path / "out" / "a.png", img)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]  # no temp files left
    from exposurekit.io.write import default_file_mode

    assert (tmp_path / "out" / "a.png").stat().st_mode & 0o777 == default_file_mode()


def test_unwritable_destination(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "file" / "out.png", ImageData(_rgb()))
    with pytest.raises(ImageWriteError, match="unknown output format"):
        write_image(tmp_path / "out.xyz", ImageData(_rgb()))


def test_expand_inputs(tmp_path):
    for n in ["b.png", "a.jpg", "notes.txt"]:
        (tmp_path / n).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.png").write_bytes(b"")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.jpg", "b.png"]
    assert [p.name for p in expand_inputs([tmp_path], recursive=True)] == ["a.jpg", "b.png", "c.png"]
    assert [p.name for p in expand_inputs([str(tmp_path / "*.png")])] == ["b.png"]
    assert expand_inputs([tmp_path / "nope.png"]) == [tmp_path / "nope.png"]


def test_real_photos_read(shared_data):
    files = [shared_data / "zerodce_test/DICM/01.jpg", shared_data / "clean_kodak24/kodim01.png",
             shared_data / "mef_ma_database/Venice/venice_under.png"]
    for f in files:
        if not f.exists():
            pytest.skip(f"{f} absent")
        img = read_image(f)
        assert img.rgb.ndim == 3 and img.rgb.shape[2] == 3 and img.rgb.dtype == np.uint8


def test_real_16bit_bayer_as_grayscale(shared_data):
    f = shared_data / "raw_samples/halide_bayer_small.png"
    if not f.exists():
        pytest.skip("halide bayer sample absent")
    img = read_image(f)
    assert img.rgb.dtype == np.uint16 and img.rgb.max() > 255


def test_read_only_arrays_convert_without_warning():
    import warnings

    from exposurekit.ops.convert import array_to_tensor

    for dtype in (np.uint8, np.uint16, np.float32):
        a = np.full((5, 7, 3), 3, dtype)
        a.setflags(write=False)  # what decoders hand back as views of their buffers
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = array_to_tensor(a)
        assert t.shape == (1, 3, 5, 7) and not a.flags.writeable
