"""Test clips made with PyAV at run time (nothing downloaded): phone-like videos carrying a GPS position and
the device's make and model, the way an iPhone or an Android camera writes them, and a few files that are
not videos at all.

    make_clip(tmp_path / "clip.mov", codec="hevc", container="mov")   # like an iPhone's default
    make_clip(tmp_path / "clip.webm", codec="vp9", container="webm")  # like a browser's MediaRecorder

GPS, MAKE and MODEL are the strings a test looks for in the bytes of a processed clip.
"""
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GPS = "+48.8584+002.2945/"
MAKE = "MyodiaryTestMake"
MODEL = "MyodiaryTestModel 15 Pro"
CREATED = "2024-05-01T10:20:30.000000Z"

_FORMATS = {"mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska"}
_ENCODERS = {
    "h264": ("libx264", {"preset": "ultrafast"}),
    "hevc": ("libx265", {"preset": "ultrafast", "x265-params": "log-level=error"}),
    "vp9": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8"}),
    "mpeg4": ("mpeg4", {}),
}


def make_clip(path, seconds: float = 2.0, width: int = 320, height: int = 240, codec: str = "h264", fps: int = 25,
              audio: bool = True, gps: bool = True, container: str = "mp4", rotation: int = 0,
              video: bool = True, audio_codec: str | None = None, faststart: bool = False, live: bool = False,
              grain: int = 0, bit_rate: int | None = None) -> str:
    """Write a clip of a moving pattern (and a tone) to `path`; returns the path as a string.

    gps=True embeds the position, make, model and creation time as a phone does: container tags, and for
    MOV the QuickTime keys (com.apple.quicktime.*). rotation (degrees, counter-clockwise) is written as the
    display matrix a phone uses for portrait clips. video=False writes sound only. faststart puts the MP4
    index first; live leaves the WebM without a duration, as a browser's MediaRecorder does. grain adds
    noise of that many levels, like a camera's sensor (encoders work harder on it); bit_rate asks the
    encoder for a phone's rate (bits/s) instead of its default quality.
    """
    path = str(path)
    with av.open(path, "w", format=_FORMATS[container], container_options=_muxer_options(container, gps, faststart,
                                                                                          live)) as output:
        if gps:
            output.metadata.update(_phone_tags(container))
        streams = []
        if video:
            streams.append(_video_stream(output, codec, width, height, fps, rotation, bit_rate))
        if audio:
            streams.append(_audio_stream(output, audio_codec or ("libopus" if container == "webm" else "aac")))
        _write_frames(output, streams, seconds, fps, grain)
    return path


def _muxer_options(container: str, gps: bool, faststart: bool, live: bool) -> dict:
    if container in ("webm", "mkv"):
        return {"live": "1"} if live else {}
    flags = (["use_metadata_tags"] if gps else []) + (["faststart"] if faststart else [])
    return {"movflags": "+" + "+".join(flags)} if flags else {}  # use_metadata_tags: 'mdta' keys, like an iPhone


def _phone_tags(container: str) -> dict:
    tags = {"location": GPS, "location-eng": GPS, "make": MAKE, "model": MODEL, "creation_time": CREATED}
    if container == "mov":
        tags.update({"com.apple.quicktime.location.ISO6709": GPS, "com.apple.quicktime.make": MAKE,
                     "com.apple.quicktime.model": MODEL, "com.apple.quicktime.creationdate": CREATED})
    return tags


def _video_stream(output, codec: str, width: int, height: int, fps: int, rotation: int, bit_rate: int | None):
    name, options = _ENCODERS[codec]
    stream = output.add_stream(name, rate=fps, options=dict(options))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    if bit_rate:
        stream.bit_rate = bit_rate
    stream.metadata.update({"creation_time": CREATED, "handler_name": f"Core Media Video {MAKE}"})
    if rotation:
        stream.set_display_rotation(rotation)
    return stream


def _audio_stream(output, codec: str):
    stream = output.add_stream(codec, rate=48000)
    stream.layout = "mono"
    return stream


def _write_frames(output, streams, seconds: float, fps: int, grain: int) -> None:
    for stream in streams:
        if stream.type == "video":
            frames = _video_frames(stream, seconds, fps, grain)
        else:
            frames = _audio_frames(stream, seconds)
        for frame in frames:
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def _video_frames(stream, seconds: float, fps: int, grain: int = 0):
    """Diagonal bands that drift a little every frame, so the encoder has motion to code."""
    x = np.arange(stream.width, dtype=np.uint32)[None, :]
    y = np.arange(stream.height, dtype=np.uint32)[:, None]
    rgb = np.empty((stream.height, stream.width, 3), dtype=np.uint8)
    noise = _noise(stream.height, stream.width, grain)
    for index in range(round(seconds * fps)):
        shift = index * 4
        rgb[..., 0] = (x + shift) % 256
        rgb[..., 1] = (y + 2 * shift) % 256
        rgb[..., 2] = ((x + y) // 2 + 2 * shift) % 256
        if noise:
            np.add(rgb, noise[index % len(noise)], out=rgb, casting="unsafe")  # wraps at 255: fine for a test
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = index, Fraction(1, fps)
        yield frame


def _noise(height: int, width: int, grain: int, kinds: int = 7) -> list:
    """A few frames of random grain, cycled (drawing new grain for every frame would be slower than encoding)."""
    if not grain:
        return []
    generator = np.random.default_rng(19)
    return [generator.integers(0, grain + 1, (height, width, 3), dtype=np.uint8) for _ in range(kinds)]


def _audio_frames(stream, seconds: float, rate: int = 48000, size: int = 960):
    for start in range(0, round(seconds * rate), size):
        t = (np.arange(start, start + size) / rate).reshape(1, -1)
        samples = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        yield frame


def make_pdf(path) -> str:
    """A small, valid one-page PDF."""
    Path(path).write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return str(path)


def make_html(path) -> str:
    """A web page, as a browser's "save page" or a wrong share target leaves it."""
    Path(path).write_text("<!DOCTYPE html>\n<html><head><title>Video</title></head>"
                          "<body><video src='clip.mp4'></video></body></html>\n")
    return str(path)


def truncate(path, keep_fraction: float) -> str:
    """Cut the file to its first `keep_fraction` of bytes, like an upload that stopped half-way."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:int(len(data) * keep_fraction)])
    return str(path)
