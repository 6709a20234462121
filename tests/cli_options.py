#!/usr/bin/env python3
"""The command line against its option tables, over every command that
`demographer --help` lists (a new command is covered without a change here):
  - -h, --help and `demographer help CMD` print the same help and exit 0;
  - every option the help names is accepted, by its long and its short name
    (the table and the command's handler agree: an option without a handler
    exits 70), and no name is listed twice;
  - an unknown option is refused with exit 2 and one line that names it and
    the command.
And the manual's EXIT STATUS gives every status of exit_status.h.
Prints TAP.  cli_options.py DEMOGRAPHER EXIT_STATUS_H MANPAGE"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

binary, header, man = sys.argv[1:4]
results = []
# Set, so that the program does not re-execute itself for OpenMP (main.c).
env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE')


def check(ok, what):
    results.append((bool(ok), what))


def run(*args):
    # In an empty folder, stdin closed: nothing a parse error stops can write anything.
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([binary, *args], capture_output=True, text=True, cwd=d,
                           stdin=subprocess.DEVNULL, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


OPTION = re.compile(r'^  (?:-(\w), )?\s*--([a-z][a-z0-9-]*)(?: (\S+))?(?:  |$)')

rc, top, _ = run('--help')
commands = re.findall(r'^  ([a-z][a-z-]*)  ', top.split('Commands:', 1)[1], re.M)
check(len(commands) >= 19, f'--help lists the commands ({len(commands)})')
for c in commands:
    rc_long, help_long, err = run(c, '--help')
    rc_short, help_short, _ = run(c, '-h')
    rc_help, help_cmd, _ = run('help', c)
    check(rc_long == 0 and help_long.startswith(f'Usage: demographer {c}'),
          f'{c} --help exits 0 with its usage ({rc_long}, {err.strip()[:80]})')
    check(rc_short == 0 and help_short == help_long, f'{c} -h is --help ({rc_short})')
    check(rc_help == 0 and help_cmd == help_long, f'demographer help {c} is {c} --help')
    opts = [m.groups() for m in map(OPTION.match, help_long.split('\n')) if m]
    longs = [o[1] for o in opts]
    shorts = [o[0] for o in opts if o[0]]
    check('help' in longs and 'h' in shorts, f'{c}: --help lists -h, --help')
    check(len(set(longs)) == len(longs) and len(set(shorts)) == len(shorts),
          f'{c}: no option listed twice ({longs}, {shorts})')
    # A value the option may refuse (exit 2, naming it), then an unknown
    # option that stops the command before any work.
    tries = [(spelling, [c, spelling] + (['x'] if arg else []) + ['--not-an-option'])
             for short, name, arg in opts if name != 'help'
             for spelling in [f'--{name}'] + ([f'-{short}'] if short else [])]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda t: run(*t[1]), tries))
    for (spelling, _), (rc, out, err) in zip(tries, answers):
        check(rc == 2 and f"'{spelling}'" not in err and 'no handler' not in err,
              f'{c} {spelling} is accepted (exit {rc}: {err.strip()[:100]})')
    rc, out, err = run(c, '--not-an-option')
    lines = err.strip().split('\n')
    check(rc == 2 and len(lines) == 1 and lines[0].startswith(f'demographer {c}: ') and
          "'--not-an-option'" in lines[0],
          f'{c}: an unknown option is one line naming it ({lines})')

# An unknown letter inside a cluster of short options is named as itself,
# not as the long option before it.
rc, out, err = run('load', '--quiet', '-xq', 'd')
check(rc == 2 and "unknown option '-x'" in err, f'load --quiet -xq names -x ({err.strip()})')

# The exit statuses: every value of the enum in the manual's EXIT STATUS.
statuses = re.findall(r'DG_EXIT_\w+ = (\d+)', open(header, encoding='utf-8').read())
page = open(man, encoding='utf-8').read()
section = page.split('.Sh EXIT STATUS', 1)[1].split('\n.Sh ', 1)[0]
check(len(statuses) >= 5, f'exit_status.h names {len(statuses)} statuses')
for s in statuses:
    check(re.search(rf'(^|\W){s}(\W|$)', section), f'man EXIT STATUS gives {s}')

print(f'1..{len(results)}')
for i, (ok, what) in enumerate(results, 1):
    what = what.replace('\n', ' | ')
    print(f'{"ok" if ok else "not ok"} {i} - {what}')
sys.exit(0 if all(ok for ok, _ in results) else 1)
