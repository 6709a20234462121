#!/usr/bin/env python3
"""report.html in a real browser. Debian's chromium, headless, opens the
report of a small `demographer run` at a laptop's size and at a phone's
(390x844): each renders to a screenshot that must show a page (not a blank
one), the DOM chromium built must hold every pane's section and every chart,
and chromium's network log must show no request made by the page other than
file: and data: (a copy of the page with an external image and style sheet
must be caught, so the check can fail). Skips when chromium is absent.
Prints TAP.
    browser_report.py DEMOGRAPHER SCREENSHOT_DIR
The screenshots stay in SCREENSHOT_DIR (laptop.png, phone.png) to be looked at."""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

binary, shots = sys.argv[1], sys.argv[2]
chromium = shutil.which('chromium') or shutil.which('chromium-browser')
if not chromium:
    print('1..0 # SKIP chromium is not installed (apt-get install chromium)')
    sys.exit(0)

PANES = ['run', 'load', 'clean', 'eda', 'geo', 'dbscan', 'models', 'campaigns']
SIZES = [('laptop', 1366, 900), ('phone', 390, 844)]
n = 0
failed = 0


def result(ok, what, why=''):
    global n, failed
    n += 1
    failed += not ok
    print(f'{"ok" if ok else "not ok"} {n} - {what}' + ('' if ok else f': {why}'))


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, w = 8, b'', 0
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            w, h, depth, colour = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and colour in (2, 6), f'PNG depth {depth} colour {colour}'
            bpp = 3 if colour == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def page_requests(netlog):
    """The URLs the page asked for: requests whose network isolation key is the
    file:// site the page was opened from (chromium's own background requests,
    to its update and account services, carry other keys)."""
    log = json.load(open(netlog))
    start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    urls = []
    for e in log['events']:
        p = e.get('params') or {}
        if e['type'] == start and p.get('network_isolation_key', '').startswith('file://'):
            urls.append(p['url'])
    return urls


def browse(page, name, width, height, tmp):
    """Opens page in headless chromium: (exit status, DOM, screenshot, page's requests)."""
    shot = os.path.join(shots, name + '.png')
    netlog = os.path.join(tmp, name + '-netlog.json')
    for f in (shot, netlog):
        if os.path.exists(f):
            os.remove(f)
    cmd = [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
           '--no-first-run', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--disable-default-apps', '--user-data-dir=' + os.path.join(tmp, 'profile-' + name),
           # Nothing can reach a host even if the page asked: a request shows in
           # the log and fails, it never waits on the network.
           '--host-resolver-rules=MAP * ~NOTFOUND',
           '--log-net-log=' + netlog, '--window-size=%d,%d' % (width, height),
           '--screenshot=' + shot, '--dump-dom', 'file://' + page]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    requests = page_requests(netlog) if os.path.exists(netlog) else None
    return p.returncode, p.stdout, shot, requests


with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(shots, exist_ok=True)
    data, out = os.path.join(tmp, 'data'), os.path.join(tmp, 'out')
    subprocess.run([binary, 'synth', '--quiet', '--out', data, '--devices', '2000', '--seed', '3'],
                   check=True, capture_output=True)
    run = subprocess.run([binary, 'run', data, '--out', out, '--no-snapshot', '--quiet',
                          '--families', 'prior,brand-model-prior', '--folds', '2'],
                         capture_output=True, text=True)
    page = os.path.join(out, 'report.html')
    print(f'1..{len(SIZES) * 4 + 1}')
    if run.returncode != 0 or not os.path.exists(page):
        print(f'Bail out! demographer run failed ({run.returncode}): {run.stdout}{run.stderr}')
        sys.exit(1)
    html = open(page, encoding='utf-8').read()
    charts = html.count('src="data:image/png;base64,')

    for name, width, height in SIZES:
        rc, dom, shot, requests = browse(page, name, width, height, tmp)
        result(rc == 0 and os.path.exists(shot), f'{name} {width}x{height}: chromium renders a screenshot',
               f'exit {rc}')
        try:
            w, h, bpp, rows = png_pixels(shot)
            colours = set()
            ink = 0  # pixels darker than the page's light greys: text, rules, charts
            for row in rows[::4]:
                for x in range(0, w * bpp, bpp * 4):
                    px = row[x:x + 3]
                    colours.add(px)
                    ink += sum(px) < 3 * 160
            result((w, h) == (width, height) and len(colours) >= 16 and ink > 200,
                   f'{name}: the screenshot shows a page ({len(colours)} colours, {ink} dark samples)',
                   f'{w}x{h}, {len(colours)} colours, {ink} dark samples: blank or wrong size')
        except (OSError, AssertionError, zlib.error) as e:
            result(False, f'{name}: the screenshot shows a page', str(e))
        ids = set(re.findall(r'<section id="([a-z]+)"', dom))
        imgs = len(re.findall(r'<img [^>]*src="data:image/png;base64,', dom))
        result(ids == set(PANES) and imgs == charts and charts >= 20,
               f'{name}: chromium\'s DOM holds the {len(PANES)} pane sections and the {charts} charts',
               f'sections {sorted(ids)}, {imgs} of {charts} charts')
        bad = [u for u in (requests or []) if not u.startswith(('file:', 'data:'))]
        result(requests is not None and not bad,
               f'{name}: no request leaves the file ({len(requests or [])} page requests, all file: or data:)',
               'no network log' if requests is None else f'requested {bad}')

    # The same check on a page that does fetch: it must see the requests.
    leaky = os.path.join(tmp, 'leaky.html')
    with open(leaky, 'w', encoding='utf-8') as f:
        f.write(html.replace('</style>', '</style>\n<link rel="stylesheet" href="https://cdn.example.com/x.css">', 1)
                .replace('<main>', '<main><img alt="" src="http://img.example.org/a.png">', 1))
    rc, dom, shot, requests = browse(leaky, 'leaky', 800, 600, tmp)
    os.remove(shot) if os.path.exists(shot) else None
    seen = {u for u in (requests or []) if u.startswith('http')}
    result(seen == {'https://cdn.example.com/x.css', 'http://img.example.org/a.png'},
           'a page with an external style sheet and image is caught by the same check',
           f'saw {sorted(seen)}')

sys.exit(1 if failed else 0)
