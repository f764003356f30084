"""Summarise a py-spy raw profile (`py-spy record --format raw`): share of samples per thread, per top-level task
of the event loop, and the functions that hold the most samples (inclusive).

Run: python -m bench.profile_summary PROFILE.txt [--top 40] [--match TEXT]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

LOOP_HANDLES = ("Handle._run", "TimerHandle._run")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only functions whose frame contains this text")
    args = parser.parse_args(argv)
    tasks, inclusive, total = Counter[tuple[str, str]](), Counter[str](), 0
    for line in args.profile.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        samples = int(count)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        total += samples
        tasks[(_thread_of(frames), _task_of(frames))] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    print(f"{total:,} samples")
    print("by thread and event-loop task:")
    for (thread, task), samples in tasks.most_common(args.top // 2):
        print(f"  {100 * samples / total:5.1f}%  {thread:<16} {task}")
    print("functions, inclusive:")
    shown = [(frame, samples) for frame, samples in inclusive.most_common() if args.match in frame]
    for frame, samples in shown[:args.top]:
        print(f"  {100 * samples / total:5.1f}%  {frame[:160]}")


def _thread_of(frames: list[str]) -> str:
    if any("process_request_thread" in frame for frame in frames):
        return "metrics-http"
    return "other-thread" if frames[0].startswith("Thread._bootstrap") else "main"


def _task_of(frames: list[str]) -> str:
    """The callback the event loop ran (the frame after its last Handle._run), else the innermost frame."""
    task = frames[-1]
    for position, frame in enumerate(frames[:-1]):
        if frame.startswith(LOOP_HANDLES):
            task = frames[position + 1]
    return re.sub(r" \(.*", "", task)


if __name__ == "__main__":
    main()
