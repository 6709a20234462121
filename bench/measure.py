"""Runs one command and prints its wall time and peak resident memory as
`seconds maxrss_mib`: the figures every benchmark here compares."""
import resource
import subprocess
import sys
import time

t0 = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - t0
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if rc != 0:
    sys.exit(f"measure: {sys.argv[1:]} exited {rc}")
print(f"{wall:.3f} {peak_kib / 1024:.1f}")
