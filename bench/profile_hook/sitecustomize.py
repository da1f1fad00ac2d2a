"""Profiling switch for bench runs of the real processes.

    PYTHONPATH=bench/profile_hook FW_PROFILE_DIR=/tmp/prof .venv/bin/python bench/end_to_end.py ...

With ``FW_PROFILE_DIR`` set, ``manage.py listen`` runs under cProfile (one profiler per thread,
dumped to ``listen-<pid>.prof`` at exit) and every routing, templates or TTFR task function a
``qcluster`` worker resolves is timed (``tasks-<pid>.jsonl``: wall and CPU seconds, events) and
profiled (``worker-<pid>.prof``, every 25 tasks). ``FW_TIMES_ONLY=1`` times without cProfile.
"""

import os
import sys

DIRECTORY = os.environ.get("FW_PROFILE_DIR")
APPS = ("routing.", "templates_app.", "ttfr.")


def _profile_listener() -> None:
    import atexit
    import cProfile
    import pstats
    import threading

    profiles = [cProfile.Profile()]

    def start_in_thread(frame, event, arg):
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start_in_thread)
    profiles[0].enable()

    def dump() -> None:
        for profile in profiles:
            profile.disable()
        stats = pstats.Stats(*profiles)
        stats.dump_stats(os.path.join(DIRECTORY, f"listen-{os.getpid()}.prof"))

    atexit.register(dump)


def _time_tasks() -> None:
    import cProfile
    import json
    import pydoc
    import time

    locate = pydoc.locate
    profiles: dict[int, cProfile.Profile] = {}
    counts: dict[int, int] = {}
    profiling = not os.environ.get("FW_TIMES_ONLY")

    def timed(path: str, func):
        def run(*args, **kwargs):
            pid = os.getpid()
            profile = profiles.setdefault(pid, cProfile.Profile())
            wall, cpu = time.perf_counter(), time.process_time()
            if profiling:
                profile.enable()
            try:
                return func(*args, **kwargs)
            finally:
                if profiling:
                    profile.disable()
                events = len(args[0]) if args and isinstance(args[0], list) else 0
                line = {
                    "func": path,
                    "wall": time.perf_counter() - wall,
                    "cpu": time.process_time() - cpu,
                    "n": events,
                }
                with open(os.path.join(DIRECTORY, f"tasks-{pid}.jsonl"), "a") as out:
                    out.write(json.dumps(line) + "\n")
                counts[pid] = counts.get(pid, 0) + 1
                if profiling and counts[pid] % 25 == 0:
                    profile.dump_stats(os.path.join(DIRECTORY, f"worker-{pid}.prof"))

        return run

    def locate_timed(path: str, forceload: int = 0):
        func = locate(path, forceload)
        return timed(path, func) if callable(func) and path.startswith(APPS) else func

    pydoc.locate = locate_timed


if DIRECTORY and len(sys.argv) > 1 and sys.argv[0].endswith("manage.py"):
    if sys.argv[1] == "listen":
        _profile_listener()
    elif sys.argv[1] == "qcluster":
        _time_tasks()
