#!/usr/bin/env python3
"""The manual's command sections: every command that `demographer --help`
lists has exactly one `.Ss` section in DESCRIPTION, and it opens with its own
text, a sentence that starts with a capital (not an empty heading, not the
middle of another section's sentence). Prints TAP.
    man_sections.py MANPAGE DEMOGRAPHER"""
import re
import subprocess
import sys

man, binary = sys.argv[1], sys.argv[2]
helptext = subprocess.run([binary, '--help'], capture_output=True, text=True).stdout
commands = re.findall(r'^  ([a-z][a-z-]*)  ', helptext.split('Commands:', 1)[1], re.M)
lines = open(man, encoding='utf-8').read().split('\n')
start = lines.index('.Sh DESCRIPTION')
end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith('.Sh '))
sections = {}
order = []
for i in range(start + 1, end):
    if lines[i].startswith('.Ss '):
        name = lines[i][4:].replace('\\-', '-')
        body = []
        for j in range(i + 1, end):
            if lines[j].startswith(('.Ss ', '.Sh ')):
                break
            body.append(lines[j])
        sections.setdefault(name, []).append(body)
        order.append(name)

n = 0
failed = 0
print(f'1..{len(commands) * 2}')
for c in commands:
    bodies = sections.get(c, [])
    n += 1
    if len(bodies) == 1:
        print(f'ok {n} - {c}: one section')
    else:
        failed += 1
        print(f'not ok {n} - {c}: {len(bodies)} sections')
    n += 1
    text = [l for l in (bodies[0] if bodies else []) if l and not l.startswith('.\\"')]
    if text and re.match(r'[A-Z]', text[0]):
        print(f'ok {n} - {c}: opens with its own sentence')
    else:
        failed += 1
        print(f'not ok {n} - {c}: opens with {text[0] if text else "nothing"!r}')
sys.exit(1 if failed else 0)
