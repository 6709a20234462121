#!/usr/bin/env python3
"""Keystroke-to-redraw time of the workbench, measured from outside.

Runs demographer on a pseudo-terminal (160x48, TERM=xterm), loads a data set
(default: the full-size generated set), opens the app_events sheet (33 M rows)
and sends Down keys one at a time. For each key it records when the last byte
of the redraw arrived (the output burst ends when nothing more comes for
30 ms; those 30 ms are not counted). It does the same while a background job
(sorting app_events by app_id) runs. DG_LATENCY_LOG also has the workbench
log its own key-read-to-doupdate() times, reported alongside.

    bench/ui_latency.py [DATA_DIR] [KEYS]
"""
import fcntl, os, pty, select, statistics, struct, subprocess, sys, tempfile, termios, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
bin_ = os.path.join(root, 'build', 'demographer')
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'bench', 'out', 'full')
nkeys = int(sys.argv[2]) if len(sys.argv) > 2 else 200
if not os.path.exists(os.path.join(data, 'events.csv')):
    subprocess.run([bin_, 'synth', '--out', data, '--devices', '186716', '--quiet'], check=True)
work = tempfile.mkdtemp()
lat = os.path.join(work, 'lat.log')

pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM='xterm', LANG='C.UTF-8', DG_LATENCY_LOG=lat, NO_COLOR='1')
    os.execv(bin_, [bin_, '--log', os.path.join(work, 's.log'), data])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 48, 160, 0, 0))

screen = b''


def read_burst(quiet=0.03, limit=120.0):
    """Reads until nothing comes for `quiet` s; returns the time of the last byte."""
    global screen
    last = None
    end = time.monotonic() + limit
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], quiet)
        if not r:
            if last is not None:
                return last
            continue
        chunk = os.read(fd, 65536)
        last = time.monotonic()
        screen = (screen + chunk)[-200000:]
    return last


def wait_for(text, limit=300.0):
    global screen
    end = time.monotonic() + limit
    while text.encode() not in screen:
        if time.monotonic() > end:
            sys.exit(f'timed out waiting for {text!r}')
        read_burst(0.05, 1.0)
    screen = b''


def keys(seq):
    os.write(fd, seq)


DOWN = b'\x1bOB'  # xterm's kcud1 in keypad-transmit mode
wait_for('L load')
keys(b'L')
wait_for('rows from')
for _ in range(4):
    keys(DOWN)
    read_burst()
keys(b'\r')
wait_for('app_events')
read_burst()


def measure(n):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        keys(DOWN)
        t1 = read_burst()
        out.append((t1 - t0) * 1000)
    return out


def show(name, v):
    v = sorted(v)
    print(f'{name}: n={len(v)} median={statistics.median(v):.2f} '
          f'p95={v[int(len(v) * 0.95) - 1]:.2f} max={v[-1]:.2f} ms')


def inside(skip):
    with open(lat) as f:
        v = [float(x) for x in f.read().split()[skip:]]
    return v


show('idle, outside (key written to last byte of redraw)', measure(nkeys))
show('idle, inside (key read to doupdate)', inside(0)[-nkeys:])
before = len(inside(0))
keys(b'\x1bOC')  # Right: to app_id
read_burst()
keys(b's')
time.sleep(0.3)
screen = b''
busy = []
while b'sorted by' not in screen and len(busy) < 200:
    # The job redraws its progress every 50 ms: wait for a quiet moment
    # between progress updates, then time a key.
    read_burst(0.005, 0.2)
    t0 = time.monotonic()
    keys(DOWN)
    t1 = read_burst(0.03, 1.0)
    busy.append((t1 - t0) * 1000)
show('while sorting 33 M rows, outside (includes progress redraws)', busy)
show('while sorting 33 M rows, inside', inside(before)[1:])
keys(b'q')
read_burst()
keys(b'q')
os.waitpid(pid, 0)
