#!/usr/bin/env python3
"""Each list of kinds has one source, and the texts that name the kinds say
exactly that list, in its order:
  - the stages of include/demographer/stages.def: run --help's stage list and
    --skip, run's refusal of a stage, and the man page's run section;
  - the tables of src/schema.c (dg_tables): --file in load --help and its
    refusal, and the man page's data options;
  - the targets of dg_target_name (src/labelled.c): train --targets, export-sql
    --target, and their refusals.
Prints TAP.  lists_one_source.py DEMOGRAPHER SOURCE_ROOT MANPAGE"""
import os
import re
import subprocess
import sys

binary, root, man = sys.argv[1:4]
env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE')
results = []


def check(ok, what):
    results.append((bool(ok), what))


def run(*args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=60, cwd='/')
    return p.returncode, p.stdout, p.stderr


def words(text):
    """The names in a list written 'a, b, c and d' or 'a,b,c'."""
    return [w for w in re.split(r'\s*(?:,|\band\b|\bor\b)\s*', text.strip()) if w]


def src(path):
    return open(os.path.join(root, path), encoding='utf-8').read()


def flat(text):
    return ' '.join(text.split())


page = src_man = open(man, encoding='utf-8').read()
roff = lambda s: re.sub(r'\\-', '-', s)

# ---- stages
stages = re.findall(r'^DG_STAGE\(\w+, "([a-z]+)", ([01]), \w+\)', src('include/demographer/stages.def'), re.M)
names = [n for n, _ in stages]
skippable = [n for n, s in stages if s == '1']
check(len(names) >= 10, f'stages.def lists {len(names)} stages')
_, helptext, _ = run('run', '--help')
block = helptext.split('writes into DIR:\n', 1)[1].split('Each stage prints', 1)[0]
listed = [w for line in block.split('\n') if re.match(r'^  [a-z]', line)
          for w in words(re.match(r'^  ([a-z, ]+?)(?:\s{2,}|$)', line).group(1))]
check(listed == names, f'run --help lists the stages of stages.def ({listed})')
skip = flat(re.search(r'--skip LIST\s+(.*?)\n {2,6}-', helptext, re.S).group(1))
skip_names = words(re.match(r'stages not to run: (.*?) \(', skip).group(1))
check(skip_names == skippable, f'run --help: --skip names the skippable stages ({skip_names})')
_, _, err = run('run', 'd', '--out', 'o', '--skip', 'nothing')
check(words(re.search(r'skipped \((.*?)\)', err).group(1)) == skippable,
      f'run --skip refuses naming the skippable stages ({err.strip()})')
section = roff(page.split('.Ss run\n', 1)[1].split('\n.Ss ', 1)[0])
man_skip = flat(re.search(r'\.Fl -skip\ntakes (.*?);', section, re.S).group(1))
check(words(man_skip) == skippable, f'man: run --skip takes the skippable stages ({man_skip})')
opening = flat(re.sub(r'^\.\w+ ?', '', section.split('.Pa dir/report.json', 1)[0], flags=re.M))
named = [n for n in names if re.search(rf'\b{n}\b', opening)]
check(named == names, f'man: run names every stage in its opening ({named})')

# ---- tables
tables = re.findall(r'^    \[DG_T_\w+\] = \{"([a-z_]+)"', src('src/schema.c'), re.M)
check(len(tables) == 8, f'schema.c names {len(tables)} tables')
_, helptext, _ = run('load', '--help')
file_help = flat(re.search(r'--file TABLE=PATH\s+(.*?)\n {2,6}-', helptext, re.S).group(1))
check(words(file_help.split('tables:', 1)[1]) == tables, f'load --help: --file names the tables ({file_help})')
_, _, err = run('load', '--file', 'nope=x', 'd')
check(words(re.search(r'tables: (.*?)\)', err).group(1)) == tables,
      f'--file refuses naming the tables ({err.strip()})')
data = roff(page.split('.Ss Data options\n', 1)[1].split('\n.Ss ', 1)[0])
man_tables = flat(re.search(r'\.Ar table\n\((.*?)\) from', data, re.S).group(1))
check(words(man_tables) == tables, f'man: --file names the tables ({man_tables})')

# ---- targets
targets = words(re.search(r'target_names\[DG_TARGET_COUNT\] = \{(.*?)\}', src('src/labelled.c')).group(1).replace('"', ''))
check(len(targets) == 4, f'design.c names {len(targets)} targets')
_, helptext, _ = run('train', '--help')
t_help = flat(re.search(r'--targets LIST\s+(.*?)\n {2,6}-', helptext, re.S).group(1))
check(words(re.match(r'of (.*?) \(', t_help).group(1)) == targets, f'train --help: --targets ({t_help})')
_, _, err = run('train', 'd', '--out', 'o', '--targets', 'nope')
check(words(re.search(r'\((.*?)\)', err).group(1)) == targets, f'train --targets refuses naming the targets ({err.strip()})')
_, helptext, _ = run('export-sql', '--help')
t_help = flat(re.search(r'--target T\s+(.*?)\n {2,6}-', helptext, re.S).group(1))
check(words(re.match(r'only (.*)', t_help).group(1)) == targets, f'export-sql --help: --target ({t_help})')
_, _, err = run('export-sql', '--models', 'm', '--out', 'o', '--target', 'nope')
check(words(re.search(r'one of (.*?), found', err).group(1)) == targets,
      f'export-sql --target refuses naming the targets ({err.strip()})')

print(f'1..{len(results)}')
for i, (ok, what) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {what.replace(chr(10), " | ")}')
sys.exit(0 if all(ok for ok, _ in results) else 1)
