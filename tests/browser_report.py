#!/usr/bin/env python3
"""report.html in a real browser. Debian's chromium, headless, driven through
the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
websocket), opens the report of a small `demographer run` in a laptop's
viewport (1366x900) and in a phone's (390x844, mobile: the page's viewport
meta applies; a plain --window-size cannot go below 500 px). For each:
- a screenshot that shows a page, not a blank one (kept in SCREENSHOT_DIR as
  laptop.png and phone.png, to be looked at);
- every pane's section in the DOM, every chart decoded by the browser;
- the page no wider than the viewport (wide tables scroll in their own box);
- the chosen models' test metrics on the screen (on a phone that table's rows
  are cards);
- no request made by the page other than file: and data: (the Network
  domain's requests of the page's own target; hosts resolve nowhere, so a
  request could not wait on the network either).
A copy of the page with an external style sheet and image must be caught by
the same check, so it can fail; and the page's tags must balance. Skips when
chromium is absent. Prints TAP.
    browser_report.py DEMOGRAPHER SCREENSHOT_DIR"""
import base64
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser

binary, shots = sys.argv[1], sys.argv[2]
chromium = shutil.which('chromium') or shutil.which('chromium-browser')
if not chromium:
    print('1..0 # SKIP chromium is not installed (apt-get install chromium)')
    sys.exit(0)

PANES = ['results', 'campaigns', 'models', 'load', 'clean', 'eda', 'geo', 'dbscan', 'run']
SIZES = [('laptop', 1366, 900, False), ('phone', 390, 844, True)]
CHECKS_PER_SIZE = 6
n = 0
failed = 0


def result(ok, what, why=''):
    global n, failed
    n += 1
    failed += not ok
    print(f'{"ok" if ok else "not ok"} {n} - {what}' + ('' if ok else f': {why}'), flush=True)


class Browser:
    """One headless chromium; commands and answers are JSON messages ending in
    NUL on the child's fds 3 (in) and 4 (out)."""

    def __init__(self, profile):
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        # Out of the way of 3 and 4, which the child's ends become.
        hi = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (cmd_r, out_w)]
        for fd in (cmd_r, out_w):
            os.close(fd)

        def child():
            os.dup2(hi[0], 3)
            os.dup2(hi[1], 4)

        self.proc = subprocess.Popen(
            [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
             '--no-first-run', '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--disable-default-apps', '--user-data-dir=' + profile,
             '--host-resolver-rules=MAP * ~NOTFOUND', '--remote-debugging-pipe', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child, close_fds=False)
        for fd in hi:
            os.close(fd)
        self.w, self.r = cmd_w, out_r
        self.buf, self.id, self.events = b'', 0, []

    def read(self, timeout=40):
        while b'\0' not in self.buf:
            ready, _, _ = select.select([self.r], [], [], timeout)
            if not ready:
                raise TimeoutError('chromium said nothing for %d s' % timeout)
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError('chromium closed its pipe')
            self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.id += 1
        msg = {'id': self.id, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        os.write(self.w, json.dumps(msg).encode() + b'\0')
        while True:
            m = self.read()
            if m.get('id') == self.id:
                if 'error' in m:
                    raise RuntimeError(f'{method}: {m["error"]}')
                return m.get('result', {})
            self.events.append(m)

    def wait(self, method, session):
        for i, e in enumerate(self.events):
            if e.get('method') == method and e.get('sessionId') == session:
                return self.events.pop(i)
        while True:
            m = self.read()
            if m.get('method') == method and m.get('sessionId') == session:
                return m
            self.events.append(m)

    def evaluate(self, session, expression):
        r = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True},
                      session)
        return r['result'].get('value')

    def open(self, page, width, height, mobile):
        """A new tab of the given viewport at page, loaded: its session id."""
        target = self.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        s = self.send('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        self.send('Network.enable', {}, s)
        self.send('Page.enable', {}, s)
        self.send('Emulation.setDeviceMetricsOverride',
                  {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': mobile}, s)
        self.send('Page.navigate', {'url': 'file://' + page}, s)
        self.wait('Page.loadEventFired', s)
        return s

    def requests(self, session):
        return [e['params']['request']['url'] for e in self.events
                if e.get('method') == 'Network.requestWillBeSent' and
                e.get('sessionId') == session]

    def close(self):
        try:
            self.send('Browser.close')
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


def png_pixels(data):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, w, h, bpp = 8, b'', 0, 0, 3
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
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
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


class Balance(HTMLParser):
    """Every element opened is closed, in order."""
    VOID = {'meta', 'img', 'br', 'hr', 'link', 'input'}

    def __init__(self):
        super().__init__()
        self.open, self.bad = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.bad.append(f'</{tag}> inside {self.open[-3:]}')


with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(shots, exist_ok=True)
    data, out = os.path.join(tmp, 'data'), os.path.join(tmp, 'out')
    subprocess.run([binary, 'synth', '--quiet', '--out', data, '--devices', '2000', '--seed', '3'],
                   check=True, capture_output=True)
    run = subprocess.run([binary, 'run', data, '--out', out, '--no-snapshot', '--quiet',
                          '--families', 'prior,brand-model-prior', '--folds', '2'],
                         capture_output=True, text=True)
    page = os.path.join(out, 'report.html')
    print(f'1..{len(SIZES) * CHECKS_PER_SIZE + 2}')
    if run.returncode != 0 or not os.path.exists(page):
        print(f'Bail out! demographer run failed ({run.returncode}): {run.stdout}{run.stderr}')
        sys.exit(1)
    html = open(page, encoding='utf-8').read()
    charts = html.count('src="data:image/png;base64,')

    browser = Browser(os.path.join(tmp, 'profile'))
    try:
        for name, width, height, mobile in SIZES:
            s = browser.open(page, width, height, mobile)
            shot = os.path.join(shots, name + '.png')
            png = base64.b64decode(browser.send('Page.captureScreenshot', {'format': 'png'},
                                                s)['data'])
            with open(shot, 'wb') as f:
                f.write(png)
            try:
                w, h, bpp, rows = png_pixels(png)
                colours, ink = set(), 0  # ink: pixels darker than the light greys
                for row in rows[::4]:
                    for x in range(0, w * bpp, bpp * 4):
                        px = row[x:x + 3]
                        colours.add(px)
                        ink += sum(px) < 3 * 160
                result((w, h) == (width, height) and len(colours) >= 16 and ink > 200,
                       f'{name} {width}x{height}: the screenshot ({shot}) shows a page '
                       f'({len(colours)} colours, {ink} dark samples)',
                       f'{w}x{h}, {len(colours)} colours, {ink} dark samples: blank or wrong size')
            except (AssertionError, zlib.error, struct.error) as e:
                result(False, f'{name}: the screenshot shows a page', str(e))
            ids = browser.evaluate(s, "Array.from(document.querySelectorAll('section[id]'))"
                                      ".map(e => e.id)")
            result(ids == PANES, f'{name}: the {len(PANES)} pane sections, in order', f'{ids}')
            decoded = browser.evaluate(s, 'Array.from(document.images).filter('
                                          'i => i.complete && i.naturalWidth > 0).length')
            result(decoded == charts and charts >= 20,
                   f'{name}: the browser decoded all {charts} inlined charts', f'{decoded} decoded')
            scroll = browser.evaluate(s, 'document.documentElement.scrollWidth')
            inner = browser.evaluate(s, 'window.innerWidth')
            result(inner == width and scroll <= width,
                   f'{name}: the page is {scroll} px wide in a {inner} px viewport: nothing '
                   f'sticks out', f'{scroll} px in {inner}: something is wider than the screen')
            # The chosen models' metrics (the first table's last column) on
            # the screen, not behind a sideways scroll: on a phone its rows
            # are cards.
            right = browser.evaluate(s, "Math.max(...Array.from(document.querySelectorAll("
                                        "'table')[0].querySelectorAll('tbody tr td:last-child'))"
                                        ".map(c => c.getBoundingClientRect().right))")
            result(right is not None and 0 < right <= width,
                   f'{name}: the chosen models\' test metrics are on the screen',
                   f'they end at {right} px in {width}: off the screen')
            urls = browser.requests(s)
            bad = [u for u in urls if not u.startswith(('file:', 'data:'))]
            result(urls and not bad,
                   f'{name}: no request leaves the file ({len(urls)} requests, all file: or data:)',
                   f'requested {bad}' if urls else 'no requests seen at all (not even the page)')

        # The same check on a page that does fetch: it must see the requests.
        leaky = os.path.join(tmp, 'leaky.html')
        with open(leaky, 'w', encoding='utf-8') as f:
            f.write(html.replace('</style>', '</style>\n<link rel="stylesheet" '
                                 'href="https://cdn.example.com/x.css">', 1)
                    .replace('<main>', '<main><img alt="" src="http://img.example.org/a.png">', 1))
        s = browser.open(leaky, 800, 600, False)
        seen = {u for u in browser.requests(s) if not u.startswith(('file:', 'data:'))}
        result(seen == {'https://cdn.example.com/x.css', 'http://img.example.org/a.png'},
               'a copy with an external style sheet and image is caught by the same check',
               f'saw {sorted(seen)}')
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        print(f'Bail out! chromium: {e}')
        sys.exit(1)
    finally:
        browser.close()

    b = Balance()
    b.feed(html)
    result(not b.open and not b.bad, 'report.html\'s tags balance',
           f'unclosed {b.open[-3:]}, {b.bad[:3]}')

sys.exit(1 if failed else 0)
