#!/usr/bin/env python3
"""Keep CI's build cache (a CARGO_TARGET_DIR outside the clone, reused between runs) from
filling its disk.

Cargo never removes what it built: every run whose workspace crates changed leaves ~6 GB more
(debug test binaries are 100-600 MB each), and a full disk fails the next CI run. So .ci/run
calls `start` before the checks and `done` after they all passed:

  start TARGET  After a complete run, remove every build unit that run did not use (its
                fingerprint directory, deps/ and examples/ files, build-script directory),
                then mark every unit unused again. Cargo reads each unit's fingerprint file on
                every build, fresh or not, so a unit read since the mark (or rebuilt: written
                since the run started) is one the run used. The mark is an access time of 0
                on the fingerprint files: Linux updates an access time older than the
                modification time on the next read, with `relatime` as with `strictatime`.
                After a run that did not complete (failed, killed), nothing is removed and
                nothing is reset: the next complete run's units are kept with the failed
                one's. With `noatime` nothing reads as used, and nothing is removed (said
                once). If the disk is still short (--min-free-gb), incremental state of
                crates the last run did not recompile goes too, and, below half of that, the
                whole cache (the next build is cold: ~40 minutes on 2 cores).
  done TARGET   Record that the run completed.

A removed unit is only rebuilt, never wrong: cargo rebuilds any unit whose fingerprint or
output is missing.
"""

import argparse
import json
import os
import shutil
import sys
import time

MARK = ".rrtf-ci-run.json"


def free_gb(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 1e9


def size_of(path):
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            return os.lstat(path).st_size
        except FileNotFoundError:
            return 0
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return total


DRY_RUN = False


def _stat(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def remove(path):
    n = size_of(path)
    if DRY_RUN:
        return n
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return 0
    return n


def profile_dirs(target):
    """debug/, release/, and the same under a target triple's directory."""
    out = []
    for entry in sorted(os.listdir(target)):
        d = os.path.join(target, entry)
        if os.path.isdir(os.path.join(d, ".fingerprint")):
            out.append(d)
        elif os.path.isdir(d):
            for sub in sorted(os.listdir(d)):
                dd = os.path.join(d, sub)
                if os.path.isdir(os.path.join(dd, ".fingerprint")):
                    out.append(dd)
    return out


def units(profile):
    """(fingerprint directory, its files) for every unit of a profile directory."""
    fp = os.path.join(profile, ".fingerprint")
    for name in sorted(os.listdir(fp)):
        d = os.path.join(fp, name)
        if os.path.isdir(d):
            yield d, [os.path.join(d, f) for f in os.listdir(d)]


def unit_hash(fingerprint_dir):
    """`serde_json-0123456789abcdef` -> `0123456789abcdef` (cargo's metadata hash)."""
    tail = os.path.basename(fingerprint_dir).rsplit("-", 1)[-1]
    if len(tail) == 16 and all(c in "0123456789abcdef" for c in tail):
        return tail
    return None


def outputs(profile, fingerprint_dir):
    """Everything a unit wrote: files named after its hash, and its build-script directory."""
    h = unit_hash(fingerprint_dir)
    if h is None:
        return []
    found = [fingerprint_dir]
    for sub in ("deps", "examples"):
        d = os.path.join(profile, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                stem = f.split(".", 1)[0]
                if stem.endswith("-" + h):
                    found.append(os.path.join(d, f))
    b = os.path.join(profile, "build", os.path.basename(fingerprint_dir))
    if os.path.isdir(b):
        found.append(b)
    return found


def read_mark(target):
    try:
        with open(os.path.join(target, MARK)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def write_mark(target, mark):
    tmp = os.path.join(target, MARK + ".tmp")
    with open(tmp, "w") as f:
        json.dump(mark, f)
    os.replace(tmp, os.path.join(target, MARK))


def reset_access_times(profiles):
    for p in profiles:
        for _d, files in units(p):
            for f in files:
                try:
                    st = os.stat(f)
                    os.utime(f, (0, st.st_mtime))
                except FileNotFoundError:
                    pass


def start(target, min_free_gb):
    os.makedirs(target, exist_ok=True)
    mark = read_mark(target)
    profiles = profile_dirs(target)
    removed = 0
    units_removed = 0
    if mark and mark.get("state") == "complete":
        stale = []
        read = 0
        since = mark.get("started_at", 0)
        for p in profiles:
            for d, files in units(p):
                # Read since the mark, or written by the run (a unit cargo rebuilds need not
                # read its old fingerprint first).
                stats = [st for st in map(_stat, files) if st is not None]
                if any(st.st_atime > 0 for st in stats):
                    read += 1
                elif not any(st.st_mtime >= since for st in stats):
                    stale.append((p, d))
        if read == 0 and stale:
            print(
                f"build cache {target}: no unit reads as used (a noatime mount?); nothing removed",
                file=sys.stderr,
            )
        else:
            for p, d in stale:
                for path in outputs(p, d):
                    removed += remove(path)
                units_removed += 1
        if free_gb(target) < min_free_gb:
            # Incremental state of crates the last run did not recompile.
            for p in profiles:
                inc = os.path.join(p, "incremental")
                if os.path.isdir(inc):
                    for name in os.listdir(inc):
                        d = os.path.join(inc, name)
                        if os.stat(d).st_mtime < since:
                            removed += remove(d)
    fresh = mark is None or mark.get("state") == "complete"
    if fresh and not DRY_RUN:
        reset_access_times(profiles)
    if free_gb(target) < min_free_gb / 2:
        print(
            f"build cache {target}: {free_gb(target):.1f} GB free on its disk, under"
            f" {min_free_gb / 2:.0f}: removing the whole cache (this build is cold)",
            file=sys.stderr,
        )
        for entry in os.listdir(target):
            removed += remove(os.path.join(target, entry))
    if DRY_RUN:
        print(f"build cache {target}: would remove {units_removed} units ({removed / 1e9:.1f} GB)")
        return
    # After an incomplete run, its start stays the mark: what it used is kept with the next.
    started_at = time.time() if fresh else mark.get("started_at", 0)
    write_mark(target, {"state": "started", "started_at": started_at})
    print(
        f"build cache {target}: removed {units_removed} units the last run did not use"
        f" ({removed / 1e9:.1f} GB); {free_gb(target):.1f} GB free"
    )


def done(target):
    mark = read_mark(target) or {"started_at": 0}
    mark["state"] = "complete"
    write_mark(target, mark)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["start", "done"])
    ap.add_argument("target", help="the CARGO_TARGET_DIR")
    ap.add_argument(
        "--min-free-gb",
        type=float,
        default=30.0,
        help="free disk space to keep before a build (default 30)",
    )
    ap.add_argument("--dry-run", action="store_true", help="say what `start` would remove")
    args = ap.parse_args()
    global DRY_RUN
    DRY_RUN = args.dry_run
    if args.command == "start":
        start(args.target, args.min_free_gb)
    else:
        done(args.target)


if __name__ == "__main__":
    main()
