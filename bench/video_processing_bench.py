"""Video processing benchmark (issue 19): what backend/videos/processing.py costs per uploaded clip.

    python bench/video_processing_bench.py [--quick]

Two phone-like clips are made first with PyAV (tests/video_clips.py: a moving pattern with a little sensor
grain, AAC sound, GPS and device tags, about 8 Mbit/s like a phone): a 60-second 720p H.264 MP4, which is
copied (remux, poster, read back: target < 3 s), and a 30-second 1080p HEVC MOV in portrait like an
iPhone's, which is re-encoded to H.264 (target < 60 s on 2 cores). --quick makes both clips 10 seconds long,
so its figures are not comparable with the targets. Making the clips takes longer than processing them
(the HEVC one most) and is not measured.

Each figure is wall-clock seconds of process_file, and beside it the CPU seconds of this process (all its
threads), which depend less on what else the machine is doing; the load average is written down too.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.videos.processing import Limits, process_file  # noqa: E402
from bench.sync_bench import RESULTS, progress  # noqa: E402
from tests.video_clips import make_clip  # noqa: E402

TARGETS = {"h264_720p_60s_s": 3, "hevc_1080p_30s_s": 60}
LIMITS = Limits(max_seconds=300, max_bytes=300 * 1000 * 1000)
PHONE_BIT_RATE = 8_000_000
GRAIN = 4  # levels of random noise: a phone's denoised picture, not a clean test card


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(source: str, runs: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of process_file over `runs` runs, and the last result."""
    walls, cpus = [], []
    for run in range(runs):
        out = Path(f"{source}.run{run}")
        out.mkdir()
        started, cpu = time.perf_counter(), cpu_seconds()
        processed = process_file(source, str(out), LIMITS)
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus), processed


def bench_h264(workdir: Path, seconds: int, runs: int) -> dict:
    progress(f"making a {seconds} s 720p H.264 clip")
    source = make_clip(workdir / "h264_720p.mp4", seconds=seconds, width=1280, height=720, fps=30,
                       grain=GRAIN, bit_rate=PHONE_BIT_RATE)
    progress("processing it (copy, poster, read back)")
    wall, cpu, processed = measure(source, runs)
    assert not processed.transcoded and processed.height == 720
    return {"h264_720p_60s_s": wall, "h264_720p_60s_cpu_s": cpu, "h264_720p_clip_seconds": seconds,
            "h264_720p_input_mb": os.path.getsize(source) / 1e6, "h264_720p_output_mb": processed.size_bytes / 1e6}


def bench_hevc(workdir: Path, seconds: int) -> dict:
    progress(f"making a {seconds} s 1080p HEVC portrait clip (slow: x265)")
    source = make_clip(workdir / "hevc_1080p.mov", seconds=seconds, width=1920, height=1080, fps=30, codec="hevc",
                       container="mov", rotation=-90, grain=GRAIN, bit_rate=PHONE_BIT_RATE)
    progress("processing it (re-encode to H.264, poster, read back)")
    wall, cpu, processed = measure(source, 1)
    assert processed.transcoded and (processed.width, processed.height) == (1080, 1920)
    return {"hevc_1080p_30s_s": wall, "hevc_1080p_30s_cpu_s": cpu, "hevc_1080p_clip_seconds": seconds,
            "hevc_1080p_input_mb": os.path.getsize(source) / 1e6, "hevc_1080p_output_mb": processed.size_bytes / 1e6,
            "hevc_1080p_realtime_factor": seconds / wall}


def run(quick: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="video-bench-") as directory:
        workdir = Path(directory)
        results = bench_h264(workdir, 10 if quick else 60, 3)
        results.update(bench_hevc(workdir, 10 if quick else 30))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10-second clips instead of 60 and 30")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = run(args.quick)
    print(f"\n{'figure':<28}{'target':>10}{'wall s':>10}{'CPU s':>10}")
    for key, target in TARGETS.items():
        print(f"{key:<28}{'< ' + str(target):>10}{results[key]:>10.2f}{results[key[:-2] + '_cpu_s']:>10.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("video_processing-quick.json" if args.quick else "video_processing.json")).write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(), "quick": args.quick,
        "note": ("--quick: both clips are 10 seconds long, not 60 and 30; the targets do not apply" if args.quick
                 else "60-second 720p H.264 copied; 30-second 1080p HEVC re-encoded"),
        "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        "pyav": av.__version__, "ffmpeg": av.ffmpeg_version_info, "targets": TARGETS, "results": results},
        indent=2))


if __name__ == "__main__":
    main()
