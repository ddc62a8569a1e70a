"""The video processing step (issue 19): sniffing, limits, the MP4 we keep (copied or re-encoded, index at the
front, no GPS or device tags), its poster, and the reasons a parent reads when a file is refused.

Plain functions on clips made at run time by tests/video_clips.py; no app, no database.
"""
import av
import pytest
from PIL import Image

from backend.videos.processing import (
    DAMAGED,
    EMPTY,
    NO_PICTURE,
    NOT_A_VIDEO,
    Limits,
    Processed,
    Rejected,
    _duration,
    process_file,
)
from tests.video_clips import GPS, MAKE, MODEL, make_clip, make_html, make_pdf, truncate

LIMITS = Limits(max_seconds=300, max_bytes=300 * 1000 * 1000)
DEVICE_STRINGS = (GPS.encode(), MAKE.encode(), MODEL.encode(), b"loci", b"\xa9xyz", b"Lavf", b"ISO6709")
CONTAINER_KEYS = {"major_brand", "minor_version", "compatible_brands"}  # what the MP4 muxer always writes
STREAM_KEYS = {"language", "handler_name", "vendor_id"}


def process(tmp_path, source, limits: Limits = LIMITS) -> Processed:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return process_file(str(source), str(workdir), limits)


def rejection(tmp_path, source, limits: Limits = LIMITS) -> str:
    with pytest.raises(Rejected) as caught:
        process(tmp_path, source, limits)
    return str(caught.value)


def top_level_boxes(data: bytes) -> list[str]:
    names, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if size == 1:
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        names.append(data[offset + 4:offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return names


def tags(path) -> list[dict]:
    """The container's metadata, then each stream's, as PyAV reads them."""
    with av.open(str(path)) as container:
        return [dict(container.metadata)] + [dict(stream.metadata) for stream in container.streams]


def streams(path) -> dict[str, tuple[str, str | None, int]]:
    """type -> (codec, pixel format or sound layout, rotation of the first picture)."""
    with av.open(str(path)) as container:
        found = {stream.type: (stream.codec_context.name, None, 0) for stream in container.streams}
        video = container.streams.video[0]
        first = next(container.decode(video))
        found["video"] = (video.codec_context.name, first.format.name, first.rotation)
    return found


def assert_no_device_tags(path) -> None:
    data = path.read_bytes()
    assert [text for text in DEVICE_STRINGS if text in data] == []
    container, *per_stream = tags(path)
    assert set(container) <= CONTAINER_KEYS
    assert all(set(stream) <= STREAM_KEYS for stream in per_stream), per_stream
    assert not any(MAKE in value or MODEL in value for stream in per_stream for value in stream.values())


def assert_poster(processed: Processed, width: int, height: int) -> None:
    with Image.open(processed.poster_path) as poster:
        assert poster.format == "JPEG" and poster.size == (width, height)
        assert not poster.getexif() and "exif" not in poster.info


# The clips are what the tests say they are


@pytest.mark.parametrize("container", ["mp4", "mov", "webm"])
def test_the_input_clips_really_carry_a_position_and_the_device(tmp_path, container):
    codec = "vp9" if container == "webm" else "h264"
    clip = make_clip(tmp_path / f"clip.{container}", container=container, codec=codec)
    data = (tmp_path / f"clip.{container}").read_bytes()
    assert GPS.encode() in data and MAKE.encode() in data and MODEL.encode() in data
    found = {key.lower(): value for key, value in tags(clip)[0].items()}
    assert found["location"] == GPS and found["make"] == MAKE and found["model"] == MODEL
    if container == "mov":
        assert found["com.apple.quicktime.location.iso6709"] == GPS


# What we keep


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_an_h264_clip_is_copied_with_its_index_first_and_no_tags(tmp_path, container):
    source = make_clip(tmp_path / f"in.{container}", container=container)
    processed = process(tmp_path, source)
    output = tmp_path / "work" / "video.mp4"
    assert processed.video_path == str(output) and processed.poster_path == str(tmp_path / "work" / "poster.jpg")
    assert processed.content_type == "video/mp4" and processed.transcoded is False
    assert processed.size_bytes == output.stat().st_size
    assert 1950 <= processed.duration_ms <= 2100 and (processed.width, processed.height) == (320, 240)
    boxes = top_level_boxes(output.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat")
    assert_no_device_tags(output)
    assert streams(output) == {"video": ("h264", "yuv420p", 0), "audio": ("aac", None, 0)}
    assert_poster(processed, 320, 240)


def test_copying_keeps_every_picture(tmp_path):
    source = make_clip(tmp_path / "in.mp4", seconds=1.0)
    processed = process(tmp_path, source)

    def pictures(path):
        with av.open(str(path)) as container:
            return sum(1 for packet in container.demux(video=0) if packet.size)
    assert pictures(processed.video_path) == pictures(source) == 25


def test_an_iphone_hevc_clip_is_reencoded_to_h264(tmp_path):
    source = make_clip(tmp_path / "IMG_0001.MOV", codec="hevc", container="mov")
    processed = process(tmp_path, source)
    assert processed.transcoded is True
    assert streams(processed.video_path) == {"video": ("h264", "yuv420p", 0), "audio": ("aac", None, 0)}
    assert 1950 <= processed.duration_ms <= 2100 and (processed.width, processed.height) == (320, 240)
    assert_no_device_tags(tmp_path / "work" / "video.mp4")
    assert_poster(processed, 320, 240)


def test_a_browser_webm_clip_is_reencoded_with_its_sound(tmp_path):
    source = make_clip(tmp_path / "recording.webm", codec="vp9", container="webm")
    processed = process(tmp_path, source)
    assert processed.transcoded is True
    assert streams(processed.video_path) == {"video": ("h264", "yuv420p", 0), "audio": ("aac", None, 0)}
    assert 1950 <= processed.duration_ms <= 2100
    assert_no_device_tags(tmp_path / "work" / "video.mp4")


def test_other_sound_is_reencoded_to_aac_without_an_encoder_tag(tmp_path):
    source = make_clip(tmp_path / "in.mov", container="mov", audio_codec="pcm_s16le")
    processed = process(tmp_path, source)
    assert processed.transcoded is False
    assert streams(processed.video_path)["audio"][0] == "aac"
    assert b"Lavc" not in (tmp_path / "work" / "video.mp4").read_bytes()


def test_a_reencoded_clip_larger_than_1080p_is_scaled_down(tmp_path):
    source = make_clip(tmp_path / "in.mov", codec="hevc", container="mov", width=2560, height=1440, seconds=0.2,
                       fps=10, audio=False)
    processed = process(tmp_path, source)
    assert processed.transcoded is True and (processed.width, processed.height) == (1920, 1080)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_a_portrait_phone_clip_stays_upright(tmp_path, codec):
    source = make_clip(tmp_path / "portrait.mov", codec=codec, container="mov", rotation=-90)
    processed = process(tmp_path, source)
    assert streams(processed.video_path)["video"][2] == -90
    assert (processed.width, processed.height) == (240, 320)
    assert_poster(processed, 240, 320)


def test_the_poster_is_at_most_640_pixels_wide(tmp_path):
    source = make_clip(tmp_path / "wide.mp4", seconds=1.2, width=960, height=540, fps=10, audio=False)
    processed = process(tmp_path, source)
    assert (processed.width, processed.height) == (960, 540)
    assert_poster(processed, 640, 360)


def test_a_clip_shorter_than_a_second_gets_its_first_picture_as_poster(tmp_path):
    processed = process(tmp_path, make_clip(tmp_path / "short.mp4", seconds=0.4, audio=False))
    assert processed.duration_ms <= 450
    assert_poster(processed, 320, 240)


# What we refuse, and the words a parent reads


def test_a_pdf_is_refused_as_a_pdf(tmp_path):
    reason = rejection(tmp_path, make_pdf(tmp_path / "clip.mp4"))
    assert reason == "This file is not a video (it looks like a PDF document)."


def test_a_web_page_named_like_a_video_is_refused(tmp_path):
    reason = rejection(tmp_path, make_html(tmp_path / "clip.mp4"))
    assert reason == "This file is not a video (it looks like a web page)."


def test_a_picture_is_refused_as_a_picture(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "clip.mp4", "PNG")
    reason = rejection(tmp_path, tmp_path / "clip.mp4")
    assert reason == "This file is not a video (it looks like a picture in PNG format)."


def test_a_video_format_we_do_not_read_is_named(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(64))
    assert rejection(tmp_path, tmp_path / "clip.mp4") == (
        "Videos in AVI format are not kept; please upload a clip from the phone's camera (MP4, MOV or WebM).")


def test_unknown_bytes_are_refused(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(bytes(range(256)) * 4)
    assert rejection(tmp_path, tmp_path / "clip.mp4") == NOT_A_VIDEO


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert rejection(tmp_path, tmp_path / "clip.mp4") == EMPTY == (
        "The file is empty; please record or upload the video again.")


@pytest.mark.parametrize("faststart", [False, True], ids=["index-last", "index-first"])
def test_a_truncated_mp4_is_refused_as_damaged(tmp_path, faststart):
    source = truncate(make_clip(tmp_path / "clip.mp4", faststart=faststart), 0.5)
    assert rejection(tmp_path, source) == DAMAGED == (
        "The video file is damaged or incomplete; please record or upload it again.")
    assert list((tmp_path / "work").iterdir()) == []  # nothing half-written stays behind


def test_garbage_after_a_video_header_is_refused_as_damaged(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64)
    assert rejection(tmp_path, tmp_path / "clip.mp4") == DAMAGED


def test_a_sound_recording_in_an_mp4_is_refused(tmp_path):
    source = make_clip(tmp_path / "clip.mp4", video=False)
    assert rejection(tmp_path, source) == NO_PICTURE == "This file has sound but no picture; please upload a video."


def test_a_clip_over_the_length_limit_is_refused(tmp_path):
    source = make_clip(tmp_path / "clip.mp4", seconds=2.0, audio=False)
    reason = rejection(tmp_path, source, Limits(max_seconds=1, max_bytes=LIMITS.max_bytes))
    assert reason == "The video is 2 seconds long; clips of up to 1 second are kept."


def test_a_clip_without_a_declared_length_is_stopped_at_the_limit(tmp_path):
    source = make_clip(tmp_path / "live.webm", seconds=2.0, codec="vp9", container="webm", live=True, audio=False)
    with av.open(source) as container:
        assert container.duration is None
    reason = rejection(tmp_path, source, Limits(max_seconds=1, max_bytes=LIMITS.max_bytes))
    assert reason == "The video is longer than 1 second; clips of up to 1 second are kept."


def test_a_picture_larger_than_4k_is_refused_before_decoding(tmp_path):
    source = make_clip(tmp_path / "clip.mp4", width=4800, height=2700, seconds=0.04, audio=False)
    reason = rejection(tmp_path, source)
    assert reason == "The video's picture is larger than 4K (4800 × 2700); please record at 4K or less."


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    source = make_clip(tmp_path / "clip.mp4", audio=False)
    reason = rejection(tmp_path, source, Limits(max_seconds=300, max_bytes=20_000))
    assert reason.startswith("The file is ") and reason.endswith(" kB; videos of up to 20 kB are kept.")


@pytest.mark.parametrize(("seconds", "words"), [(7 * 60, "7 minutes"), (320, "5 minutes 20 seconds"),
                                                  (61, "1 minute 1 second"), (45, "45 seconds")])
def test_lengths_are_said_in_minutes_and_seconds(seconds, words):
    assert _duration(seconds) == words
