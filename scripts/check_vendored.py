#!/usr/bin/env python3
"""Check that vendor/burn-flex differs from its pristine crates.io copy only inside marked patches.

The pristine copy is the commit that vendored the crate (PRISTINE). Every line added or changed
since then, and every place lines were deleted, must sit inside a region marked in the source:

    // rrtf patch begin: NAME
    ...
    // rrtf patch end

(`#` instead of `//` in TOML files), or in a new file whose first line is
`// rrtf patch file: NAME`. VENDORED.md (the patch's own notes) is exempt. The check also fails
when a region is malformed (unclosed, nested, unnamed), when a NAME is not described in
VENDORED.md (as `NAME`), when a pristine file was deleted, and when a commit since the pristine
one changed vendored code (more than comments) without being listed in VENDORED.md by its short
hash. It needs the pristine commit in the clone's history (a fresh clone has it; a shallow one
does not: `git fetch --unshallow`).

Usage: scripts/check_vendored.py [--repo DIR] [--dir PATH] [--pristine REV]
       scripts/check_vendored.py --self-test
Exit status 0 when the tree is clean, 1 with one line per problem on stderr otherwise.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest

PRISTINE = "3217bf6"
DIR = "vendor/burn-flex"
NOTES = "VENDORED.md"

BEGIN = re.compile(r"^\s*(?://|#)\s*rrtf patch begin:\s*(\S.*?)\s*$")
END = re.compile(r"^\s*(?://|#)\s*rrtf patch end\s*$")
WHOLE = re.compile(r"^\s*(?://|#)\s*rrtf patch file:\s*(\S.*?)\s*$")
# A comment line that starts like a marker but is not one (a missing colon or name).
MARKER = re.compile(r"^\s*(?://|#)\s*rrtf[ _-]?patch\s*(?:begin|end|file)\b")
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
# Line comments per file type, to tell a comment-only commit from a code change.
COMMENT = {".rs": ("//",), ".toml": ("#",)}


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def git(repo, *args):
    """Run git in `repo`; its stdout, or None when it fails."""
    r = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def regions(path, lines):
    """The marked regions of a file: ([(name, first, last)] 1-based inclusive, whole-file name,
    problems)."""
    out, problems, open_at = [], [], None
    whole = None
    if lines:
        m = WHOLE.match(lines[0])
        if m:
            whole = m.group(1)
    for i, line in enumerate(lines, 1):
        b, e = BEGIN.match(line), END.match(line)
        if b:
            if open_at is not None:
                problems.append(f"{path}:{i}: patch begins inside `{open_at[0]}` (line "
                                f"{open_at[1]}): close it first with `rrtf patch end`")
            open_at = (b.group(1), i)
        elif e:
            if open_at is None:
                problems.append(f"{path}:{i}: `rrtf patch end` without a begin")
            else:
                out.append((open_at[0], open_at[1], i))
                open_at = None
        elif MARKER.match(line) and not (i == 1 and whole):
            problems.append(f"{path}:{i}: malformed marker {line.strip()!r} (write "
                            "`rrtf patch begin: NAME`, `rrtf patch end`, or `rrtf patch file: "
                            "NAME` on a new file's first line)")
    if open_at is not None:
        problems.append(f"{path}:{open_at[1]}: patch `{open_at[0]}` is never closed "
                        "(add `rrtf patch end`)")
    return out, whole, problems


def hunks(diff):
    """{path: [(first new line, count)]} from `git diff -U0` output (count 0: lines were
    deleted after line `first`)."""
    out, path = {}, None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = None if line == "+++ /dev/null" else line[6:]
            if path is not None:
                out.setdefault(path, [])
        elif line.startswith("@@") and path is not None:
            m = HUNK.match(line)
            out[path].append((int(m.group(1)), int(m.group(2) or "1")))
    return out


def ranges(numbers):
    """Consecutive runs of sorted line numbers, as (first, last)."""
    out = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def code_changed(repo, commit, directory):
    """True when `commit` changed more than comment lines under `directory` (VENDORED.md
    aside)."""
    diff = git(repo, "show", "--no-renames", "-U0", "--format=", commit, "--", directory,
               f":(exclude){directory}/{NOTES}")
    ext = None
    for line in (diff or "").splitlines():
        if line.startswith("+++ ") or line.startswith("--- "):
            if line[4:] != "/dev/null":
                ext = os.path.splitext(line[4:])[1]
            continue
        if line[:1] not in "+-" or line.startswith("@@"):
            continue
        text = line[1:].strip()
        if text and not text.startswith(COMMENT.get(ext, ("\0",))):
            return True
    return False


def check(repo, directory=DIR, pristine=PRISTINE):
    """Every problem with `directory` against `pristine`, as lines for the user."""
    if git(repo, "rev-parse", "--verify", "--quiet", f"{pristine}^{{commit}}") is None:
        return [f"the pristine commit {pristine} (burn-flex as published, vendored unchanged) "
                f"is not in this clone's history: fetch it (`git fetch --unshallow`, or clone "
                f"without --depth) and run the check again"]
    problems = []
    notes_path = os.path.join(repo, directory, NOTES)
    notes = read(notes_path) if os.path.exists(notes_path) else ""
    pristine_files = set((git(repo, "ls-tree", "-r", "--name-only", pristine, "--", directory)
                          or "").split())
    for f in sorted(pristine_files):
        if not os.path.exists(os.path.join(repo, f)):
            problems.append(f"{f}: deleted from the pristine copy (a patch may change files, "
                            "not delete them: restore it)")
    changed = hunks(git(repo, "diff", "--no-renames", "--no-color", "--no-ext-diff", "-U0",
                        pristine, "--", directory) or "")
    untracked = (git(repo, "ls-files", "--others", "--exclude-standard", "--", directory)
                 or "").split()
    for f in untracked:
        changed[f] = None  # every line is new
    names = {}
    for path in sorted(changed):
        if path == f"{directory}/{NOTES}" or not os.path.exists(os.path.join(repo, path)):
            continue
        lines = read(os.path.join(repo, path)).splitlines()
        marked, whole, bad = regions(path, lines)
        problems += bad
        if whole and path in pristine_files:
            problems.append(f"{path}:1: `rrtf patch file` marks a new file, and this one is "
                            "in the pristine copy: mark its changes with begin/end instead")
            whole = None
        for name, first, _ in marked:
            names.setdefault(name, f"{path}:{first}")
        if whole:
            names.setdefault(whole, f"{path}:1")
            continue
        if changed[path] is None:
            problems.append(f"{path}: a new file without `rrtf patch file: NAME` on its first "
                            "line")
            continue
        outside = []
        for first, count in changed[path]:
            if count == 0:
                if not any(b <= first < e for _, b, e in marked):
                    problems.append(f"{path}:{first}: lines of the pristine copy deleted after "
                                    "this line, outside a marked patch (put the deletion "
                                    "between `rrtf patch begin: NAME` and `rrtf patch end`)")
                continue
            outside += [n for n in range(first, first + count)
                        if not any(b <= n <= e for _, b, e in marked)]
        for a, b in ranges(outside):
            where = f"{path}:{a}" if a == b else f"{path}:{a}-{b}"
            problems.append(f"{where}: differs from the pristine copy outside a marked patch: "
                            f"{lines[a - 1].strip()[:80]!r} (wrap the change in `// rrtf patch "
                            "begin: NAME` ... `// rrtf patch end` and describe NAME in "
                            f"{NOTES})")
    for name, where in sorted(names.items()):
        if f"`{name}`" not in notes:
            problems.append(f"{where}: patch `{name}` is not described in {directory}/{NOTES} "
                            f"(name it there as `{name}`, with what it changes and when to drop "
                            "it)")
    log = git(repo, "log", "--no-merges", "--format=%H %h %s", f"{pristine}..HEAD", "--",
              directory) or ""
    for line in log.splitlines():
        full, short, subject = (line.split(" ", 2) + [""])[:3]
        if full[:7] not in notes and code_changed(repo, full, directory):
            problems.append(f"commit {short} ({subject[:60]}) changed the vendored code but "
                            f"{NOTES} does not list it: add `{full[:7]}` with its drop "
                            "condition")
    return problems


class SelfTest(unittest.TestCase):
    """The check on a scratch repository: a pristine commit, then patches."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = self.tmp.name
        self.git("init", "-q")
        self.write("v/a.rs", "fn a() {\n    one();\n    two();\n}\n\nfn b() {\n    three();\n}\n"
                   "\nfn c() {\n    four();\n}\n")
        self.write("v/b.rs", "fn c() {}\n")
        self.pristine = self.commit("pristine")

    def tearDown(self):
        self.tmp.cleanup()

    def git(self, *args):
        subprocess.run(["git", "-C", self.repo, "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    def write(self, path, text):
        os.makedirs(os.path.dirname(os.path.join(self.repo, path)), exist_ok=True)
        with open(os.path.join(self.repo, path), "w") as f:
            f.write(text)

    def commit(self, message):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return git(self.repo, "rev-parse", "HEAD").strip()

    def problems(self, pristine=None):
        return check(self.repo, "v", pristine or self.pristine)

    def patch(self, notes_extra=""):
        """A clean patch: a marked change, a marked deletion, a new file; its commit listed."""
        self.write("v/a.rs", "fn a() {\n    // rrtf patch begin: fast\n    one_fast();\n"
                   "    // rrtf patch end\n    two();\n}\n\nfn b() {\n"
                   "    // rrtf patch begin: fast\n    // rrtf patch end\n}\n\nfn c() {\n"
                   "    four();\n}\n")
        self.write("v/par.rs", "// rrtf patch file: par\nfn p() {}\n")
        self.write("v/VENDORED.md", "`fast` and `par`\n")
        c = self.commit("patch")
        self.write("v/VENDORED.md", f"`fast` and `par`: {c[:7]}, drop when upstream is fast\n"
                   + notes_extra)
        self.commit("notes")
        return c

    def test_a_clean_patch_passes_and_comment_only_commits_need_no_listing(self):
        self.assertEqual(self.problems(), [])
        self.patch()
        self.assertEqual(self.problems(), [])
        self.write("v/a.rs", read(os.path.join(self.repo, "v/a.rs"))
                   .replace("one_fast();\n", "one_fast();\n    // why it is fast\n"))
        self.commit("comment only")
        self.assertEqual(self.problems(), [])

    def test_each_kind_of_unmarked_change_is_a_problem(self):
        self.patch()
        a = os.path.join(self.repo, "v/a.rs")
        text = read(a)
        cases = [
            ("v/a.rs", text.replace("    two();\n", "    two_fast();\n"),
             "v/a.rs:5: differs from the pristine copy outside a marked patch: 'two_fast();'"),
            ("v/a.rs", text.replace("    four();\n", ""), "v/a.rs:13: lines of the pristine copy "
             "deleted after this line, outside a marked patch"),
            ("v/a.rs", text.replace("// rrtf patch end\n    two", "two"),
             "v/a.rs:8: patch begins inside `fast` (line 2)"),
            ("v/a.rs", text.replace("    // rrtf patch end\n}\n\nfn c", "}\n\nfn c"),
             "v/a.rs:9: patch `fast` is never closed"),
            ("v/a.rs", text.replace("fn c() {", "// rrtf patch end\nfn c() {"),
             "v/a.rs:13: `rrtf patch end` without a begin"),
            ("v/a.rs", text.replace("begin: fast\n    one", "begin: slow\n    one"),
             "v/a.rs:2: patch `slow` is not described in v/VENDORED.md"),
            ("v/a.rs", text.replace("// rrtf patch begin: fast\n    one", "// rrtf patch begin fast"
                                    "\n    one"), "v/a.rs:2: malformed marker"),
            ("v/new.rs", "fn n() {}\n", "v/new.rs: a new file without `rrtf patch file: NAME`"),
            ("v/b.rs", "// rrtf patch file: fast\nfn c() {}\n",
             "v/b.rs:1: `rrtf patch file` marks a new file"),
        ]
        for path, new, want in cases:
            with self.subTest(want=want):
                before = read(os.path.join(self.repo, path)) \
                    if os.path.exists(os.path.join(self.repo, path)) else None
                self.write(path, new)
                got = self.problems()
                self.assertTrue(any(p.startswith(want) for p in got), got)
                if before is None:
                    os.remove(os.path.join(self.repo, path))
                else:
                    self.write(path, before)
        self.assertEqual(self.problems(), [])
        os.remove(os.path.join(self.repo, "v/b.rs"))
        self.assertEqual(self.problems(), ["v/b.rs: deleted from the pristine copy (a patch may "
                                           "change files, not delete them: restore it)"])

    def test_an_unlisted_commit_and_a_missing_pristine_commit_fail(self):
        self.patch()
        self.write("v/a.rs", read(os.path.join(self.repo, "v/a.rs"))
                   .replace("one_fast();", "one_faster();"))
        c = self.commit("faster")
        got = self.problems()
        self.assertEqual(len(got), 1, got)
        self.assertTrue(got[0].startswith(f"commit {c[:7]} (faster) changed the vendored code "
                                          "but VENDORED.md does not list it"), got)
        missing = self.problems(pristine="0" * 40)
        self.assertEqual(len(missing), 1)
        self.assertIn("is not in this clone's history", missing[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--dir", default=DIR)
    ap.add_argument("--pristine", default=PRISTINE)
    ap.add_argument("--self-test", action="store_true",
                    help="check this script on scratch repositories (quiet unless one fails)")
    args = ap.parse_args()
    if args.self_test:
        # Quiet when every case passes; the whole report otherwise.
        out = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(SelfTest)
        r = unittest.TextTestRunner(stream=out, verbosity=2).run(suite)
        if not r.wasSuccessful():
            print(out.getvalue(), file=sys.stderr)
            return 1
        return 0
    problems = check(os.path.abspath(args.repo), args.dir, args.pristine)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{args.dir}: {len(problems)} problem(s) against the pristine copy "
              f"({args.pristine}); see {args.dir}/{NOTES}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
