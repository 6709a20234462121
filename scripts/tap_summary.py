"""Counts the test cases of meson test logs (one JSON object per line, each
test's TAP output in "stdout") and prints "N passed, N failed, N skipped".
"ok N # SKIP" and a whole program's "1..0 # SKIP" or exit 77 count as skipped.
A test program that failed without a failing TAP line (a crash, a sanitizer
report, valgrind's exit code) counts as one failure. Exits 1 on any failure."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    label = path.split("/")[0] + ("/valgrind" if "valgrind" in path else "")
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"{label}: no test log ({e})")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        p = f = s = 0
        for out in (t.get("stdout") or "").splitlines():
            if out.startswith("ok "):
                if "# SKIP" in out:
                    s += 1
                else:
                    p += 1
            elif out.startswith("not ok "):
                f += 1
            elif out.startswith("1..0") and "# SKIP" in out:
                s += 1
        # A program that skipped as a whole (exit 77) counts as one skip.
        if t.get("result") == "SKIP" and p + f + s == 0:
            s += 1
        if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
            f += 1
            print(f"{label}: {t['name']}: {t.get('result')} (exit {t.get('returncode')})")
        passed += p
        failed += f
        skipped += s
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
