"""Turn an uploaded clip into the MP4 and poster we keep (issue 19): pure, no database, no app context.

    processed = process_file(upload_path, workdir, Limits(max_seconds=300, max_bytes=300_000_000))

Steps: sniff the real type from the bytes (never the client's name or type); open it with the demuxer of
that family only (MOV/MP4 or Matroska/WebM, so none of FFmpeg's playlist or concat demuxers can be reached);
decode its first frame (a picture over 4K is refused first); write an MP4 with its index at the front and
no metadata (no GPS position, make, model, creation time or encoder tag), copying H.264 and AAC/MP3 and
re-encoding anything else to H.264 (at most 1080p) and AAC; save a JPEG poster of the frame at about one
second; read the result back for its duration and size. Anything that is not a video we keep raises
Rejected, whose text is shown to the parent.

Why PyAV: it runs FFmpeg's libraries in-process, and its wheel bundles them (with libx264 and libx265), so
there is nothing to install beside pip's packages and no ffmpeg binary to find or run as a subprocess.
Licence: PyAV's own code is BSD, but its wheel links FFmpeg (built LGPLv3) with x264 and x265 (GPL v2 or
later), so the combined binary, and an image that ships it, is GPL-licensed (GPLv3 in effect).

Rotation: a phone stores a portrait clip as landscape pictures plus a display matrix. A copied stream
keeps the matrix (PyAV copies the codec parameters with their side data); a re-encoded one gets the same
rotation set again (VideoStream.set_display_rotation, which PyAV 18.1 has); the poster is turned upright.
A mirror flip in the matrix is not carried into a re-encoded clip (left out: PyAV reads back only the
angle). Processed's width and height are the size as displayed, after rotation.

Left out: HDR (10-bit HEVC, HLG or Dolby Vision from recent iPhones) is re-encoded to 8-bit without tone
mapping, so such a clip looks flatter than on the phone; the H.264 stream of a copied clip is not rewritten,
so anything its encoder put inside the pictures' own headers (x264 writes its settings) stays.
"""
import errno
import os
from dataclasses import dataclass

import filetype

from backend.i18n import duration, file_size, lazy, lazy_gettext

ISO_BMFF, MATROSKA = "mov", "matroska"  # the only demuxers ever used
FAMILIES = {"video/mp4": ISO_BMFF, "video/quicktime": ISO_BMFF, "video/x-m4v": ISO_BMFF, "video/3gpp": ISO_BMFF,
            "video/x-matroska": MATROSKA, "video/webm": MATROSKA}
COPIED_AUDIO = {"aac", "mp3"}
X264_OPTIONS = {"preset": "veryfast", "crf": "23"}
AAC_OPTIONS = {"flags": "+bitexact"}  # no "Lavc" version string in the sound
MAX_PIXELS = 4096 * 2304  # 4K and a little more; a larger picture is refused before it is decoded
MAX_ENCODED_SIDE = 1920  # a re-encoded clip is scaled down to 1080p: enough to see a jerk, 4x faster than 4K
# +bitexact leaves out the "Lavf" encoder tag and the muxer's vendor ids; the metadata dicts stay empty.
MUXER_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
INPUT_OPTIONS = {"protocol_whitelist": "file"}
POSTER_AT_SECONDS = 1.0
POSTER_MAX_WIDTH = 640
POSTER_QUALITY = 85
LATE_END_SECONDS = 1.0  # the pictures may stop this much before the declared duration (else: incomplete)

# The reasons are lazy messages: lifecycle stores them in the uploader's language.
DAMAGED = lazy_gettext("The video file is damaged or incomplete; please record or upload it again.")
EMPTY = lazy_gettext("The file is empty; please record or upload the video again.")
NO_PICTURE = lazy_gettext("This file has sound but no picture; please upload a video.")
NOT_A_VIDEO = lazy_gettext("This file is not a video we can read; please upload a clip from the phone's camera (MP4, "
                           "MOV or WebM).")
# Errors of this machine, not of the upload: they stay OSError, so the job is tried again later.
OUR_SIDE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EIO, errno.ENOENT, errno.EACCES, errno.EROFS}


@dataclass(frozen=True)
class Limits:
    max_seconds: int  # VIDEO_MAX_SECONDS, default 300
    max_bytes: int  # VIDEO_MAX_BYTES, default 300 MB


@dataclass(frozen=True)
class Processed:
    video_path: str  # the MP4 written in workdir
    poster_path: str  # the JPEG written in workdir
    content_type: str  # "video/mp4"
    size_bytes: int  # of video_path
    duration_ms: int
    width: int  # as displayed: a portrait phone clip is narrower than it is high
    height: int
    transcoded: bool  # True when the video stream was re-encoded to H.264


class Rejected(Exception):
    """Not a video we keep; its argument (a lazy message) is the reason in words a parent understands (one or two
    sentences, e.g. "This file is not a video (it looks like a PDF document)." / "The video is 7 minutes long; clips
    of up to 5 minutes are kept." / "The video file is damaged or incomplete; please record or upload it again.")."""


@dataclass(frozen=True)
class _Source:
    """What the first look at the upload found."""
    family: str
    copy_video: bool  # H.264 in 8-bit 4:2:0, which every browser and phone plays
    rotation: int  # counter-clockwise degrees of the display matrix
    declared_seconds: float | None  # None in a browser's MediaRecorder WebM


def process_file(source: str, workdir: str, limits: Limits) -> Processed:
    """The MP4 and poster for `source`, written in `workdir`; raises Rejected for anything we do not keep."""
    _check_size(os.path.getsize(source), limits)
    family = sniff(source)
    video_path, poster_path = os.path.join(workdir, "video.mp4"), os.path.join(workdir, "poster.jpg")
    try:
        with _rejecting_ffmpeg_errors():
            probed = _probe_source(source, family, limits)
            poster = _write_mp4(source, probed, video_path, limits)
            _save_poster(poster, probed.rotation, poster_path)
            duration_ms, width, height = _probe_output(video_path, probed.rotation)
    except Rejected:
        _remove(video_path, poster_path)  # nothing half-written of a refused file stays behind
        raise
    return Processed(video_path=video_path, poster_path=poster_path, content_type="video/mp4",
                     size_bytes=os.path.getsize(video_path), duration_ms=duration_ms, width=width, height=height,
                     transcoded=not probed.copy_video)


# Sniffing and limits


def _check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise Rejected(EMPTY)
    if size > limits.max_bytes:
        raise Rejected(lazy_gettext("The file is %(size)s; videos of up to %(limit)s are kept.",
                                    size=lazy(file_size, size), limit=lazy(file_size, limits.max_bytes)))


def sniff(path: str) -> str:
    """The demuxer for the file's real type, from its first bytes: "mov" or "matroska"; else Rejected."""
    with open(path, "rb") as file:
        head = file.read(8192)
    kind = filetype.guess(head)
    if kind is not None and kind.mime in FAMILIES:
        return FAMILIES[kind.mime]
    if kind is None and head[4:8] == b"ftyp":  # an ISO-BMFF brand filetype does not list (3GP, ...)
        return ISO_BMFF
    if kind is not None and kind.mime.startswith("video/"):  # AVI, WMV, FLV, MPEG
        raise Rejected(lazy_gettext("Videos in %(format)s format are not kept; please upload a clip from the phone's "
                                    "camera (MP4, MOV or WebM).", format=kind.extension.upper()))
    looks_like = _looks_like(kind, head)
    raise Rejected(lazy_gettext("This file is not a video (it looks like %(kind)s).", kind=looks_like)
                   if looks_like else NOT_A_VIDEO)


def _looks_like(kind, head: bytes):
    if kind is None:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        return lazy_gettext("a web page") if text.startswith((b"<!doctype html", b"<html")) else None
    if kind.mime == "application/pdf":
        return lazy_gettext("a PDF document")
    format_name = kind.extension.upper()
    if kind.mime.startswith("image/"):
        return lazy_gettext("a picture in %(format)s format", format=format_name)
    if kind.mime.startswith("audio/"):
        return lazy_gettext("a sound recording in %(format)s format", format=format_name)
    return lazy_gettext("a file in %(format)s format", format=format_name)


def _check_duration(seconds: float | None, limits: Limits) -> None:
    if seconds is not None and round(seconds) > limits.max_seconds:
        raise Rejected(lazy_gettext("The video is %(length)s long; clips of up to %(limit)s are kept.",
                                    length=_duration(round(seconds)), limit=_duration(limits.max_seconds)))


def _duration(seconds: int):
    """'7 minutes 30 seconds', '7 Minuten 30 Sekunden' (CLDR units, lazy)."""
    minutes, seconds = divmod(seconds, 60)
    return lazy(lambda: " ".join(str(duration(count, unit)) for count, unit in ((minutes, "minute"),
                                                                                (seconds, "second")) if count)
                or str(duration(0, "second")))


# Reading the upload


class _rejecting_ffmpeg_errors:
    """Turns whatever PyAV raises about the upload into Rejected(DAMAGED); a full disk stays an OSError."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        import av

        if not isinstance(error, av.error.FFmpegError | ValueError | OverflowError):
            return False
        if getattr(error, "errno", None) in OUR_SIDE_ERRNOS:
            raise OSError(error.errno, str(error)) from error
        raise Rejected(DAMAGED) from error


def _open(source: str, family: str):
    import av  # PyAV and FFmpeg's libraries are loaded by the process that processes videos, not by web workers

    return av.open(source, format=family, container_options=INPUT_OPTIONS, metadata_errors="replace")


def _streams(container):
    """The first video stream (not a cover picture) and the first audio stream we can decode."""
    import av

    video = next((stream for stream in container.streams.video
                  if not stream.disposition & av.stream.Disposition.attached_pic), None)
    if video is None:
        raise Rejected(NO_PICTURE if container.streams.audio else NOT_A_VIDEO)
    if video.codec_context is None:
        raise Rejected(NOT_A_VIDEO)
    _check_picture(video.codec_context.width, video.codec_context.height)
    audio = next((stream for stream in container.streams.audio if stream.codec_context is not None), None)
    return video, audio


def _check_picture(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise Rejected(lazy_gettext("The video's picture is larger than 4K (%(width)s × %(height)s); please record at "
                                    "4K or less.", width=width, height=height))


def _declared_seconds(container, video) -> float | None:
    import av

    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return container.duration / av.time_base if container.duration is not None else None


def _probe_source(source: str, family: str, limits: Limits) -> _Source:
    """Checks the upload has a picture we can decode and a declared length within the limit."""
    with _open(source, family) as container:
        video, _ = _streams(container)
        _check_duration(_declared_seconds(container, video), limits)
        first = next(container.decode(video), None)
        if first is None:
            raise Rejected(DAMAGED)
        _check_picture(first.width, first.height)
        copy = video.codec_context.name == "h264" and first.format.name in ("yuv420p", "yuvj420p")
        return _Source(family=family, copy_video=copy, rotation=first.rotation,
                       declared_seconds=_declared_seconds(container, video))


# Writing the MP4


def _write_mp4(source: str, probed: _Source, path: str, limits: Limits):
    """Copies or re-encodes the picture and the sound into `path`; returns the poster's frame."""
    import av

    poster = _Poster()
    with _open(source, probed.family) as container, \
            av.open(path, "w", format="mp4", container_options=MUXER_OPTIONS) as output:
        video, audio = _streams(container)
        routes = {video: _video_route(output, video, probed, poster)}
        if audio is not None:
            routes[audio] = _audio_route(output, audio)
        ended = 0.0
        for packet in container.demux(list(routes)):
            if packet.stream is video:  # before feeding: muxing a packet moves it to the output's stream
                ended = max(ended, _check_running_time(packet, limits))
            routes[packet.stream].feed(packet)
        for route in routes.values():
            route.close()
    if poster.frame is None or (probed.declared_seconds or 0) - ended > LATE_END_SECONDS:
        raise Rejected(DAMAGED)
    return poster.frame


def _check_running_time(packet, limits: Limits) -> float:
    """Seconds from the start to the end of this packet; Rejected past the limit, whatever the header said."""
    if packet.pts is None:
        return 0.0
    start = packet.stream.start_time or 0
    seconds = float((packet.pts - start + (packet.duration or 0)) * packet.time_base)
    if seconds > limits.max_seconds + 0.5:
        raise Rejected(f"The video is longer than {_duration(limits.max_seconds)}; clips of up to "
                       f"{_duration(limits.max_seconds)} are kept.")
    return seconds


def _video_route(output, video, probed: _Source, poster: "_Poster"):
    video.codec_context.thread_type = "AUTO"
    if probed.copy_video:
        return _Copy(output, video, poster)
    stream = output.add_stream("libx264", rate=_frame_rate(video), options=dict(X264_OPTIONS))
    stream.width, stream.height = _encoded_size(video.codec_context.width, video.codec_context.height)
    stream.pix_fmt = "yuv420p"  # PyAV scales and converts each frame to this size and format
    stream.codec_context.time_base = video.time_base
    if probed.rotation:
        stream.set_display_rotation(probed.rotation)
    return _Encode(output, stream, poster)


def _audio_route(output, audio):
    if audio.codec_context.name in COPIED_AUDIO:
        return _Copy(output, audio)
    stream = output.add_stream("aac", rate=audio.codec_context.sample_rate, options=dict(AAC_OPTIONS))
    stream.layout = audio.codec_context.layout
    return _Encode(output, stream)


def _frame_rate(video):
    rate = video.average_rate or video.guessed_rate
    return rate if rate and 1 <= rate <= 240 else 30


def _encoded_size(width: int, height: int) -> tuple[int, int]:
    """At most MAX_ENCODED_SIDE on the long side, and even (4:2:0 needs it)."""
    scale = min(1.0, MAX_ENCODED_SIDE / max(width, height))
    return tuple(max(2, round(side * scale / 2) * 2) for side in (width, height))


class _Copy:
    """Muxes the packets as they are; decodes pictures only until the poster is chosen."""

    def __init__(self, output, template, poster=None):
        self.output, self.poster = output, poster
        self.stream = output.add_stream_from_template(template)
        self.stream.metadata.clear()  # the template's tags: creation time, handler and device names

    def feed(self, packet) -> None:
        if self.poster is not None and not self.poster.chosen:
            for frame in packet.decode():
                self.poster.offer(frame)
        if packet.dts is not None:
            packet.stream = self.stream
            self.output.mux(packet)

    def close(self) -> None:
        pass


class _Encode:
    """Decodes every packet and encodes its frames again (to H.264 or AAC)."""

    def __init__(self, output, stream, poster=None):
        self.output, self.stream, self.poster = output, stream, poster

    def feed(self, packet) -> None:
        for frame in packet.decode():
            if self.poster is not None:
                self.poster.offer(frame)
                frame.pict_type = 0  # let x264 choose the frame types, not copy the source's
            self.output.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.output.mux(self.stream.encode(None))


class _Poster:
    """The first picture at or after POSTER_AT_SECONDS, or the very first one of a shorter clip."""

    def __init__(self):
        self.frame, self.first_time, self.chosen = None, None, False

    def offer(self, frame) -> None:
        if self.chosen:
            return
        if self.frame is None:
            self.frame, self.first_time = frame, frame.time or 0.0
        if frame.time is not None and frame.time - self.first_time >= POSTER_AT_SECONDS:
            self.frame, self.chosen = frame, True


# The results


def _save_poster(frame, rotation: int, path: str) -> None:
    """A JPEG of the frame turned upright, at most POSTER_MAX_WIDTH wide, without EXIF."""
    image = frame.to_image()
    if rotation:
        image = image.rotate(rotation, expand=True)
    if image.width > POSTER_MAX_WIDTH:
        image = image.resize((POSTER_MAX_WIDTH, max(1, round(image.height * POSTER_MAX_WIDTH / image.width))))
    image.save(path, "JPEG", quality=POSTER_QUALITY)


def _remove(*paths: str) -> None:
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


def _probe_output(path: str, rotation: int) -> tuple[int, int, int]:
    """Duration in ms, width and height as displayed, read back from the MP4 written."""
    import av

    with av.open(path, format=ISO_BMFF) as container:
        video = container.streams.video[0]
        seconds = _declared_seconds(container, video) or 0.0
        width, height = video.codec_context.width, video.codec_context.height
    if abs(rotation) % 180 == 90:
        width, height = height, width
    return round(seconds * 1000), width, height
