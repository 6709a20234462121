"""The Dockerfile as (keyword, argument) instructions, for tests/docker_cmd.py
and tests/deps_guard.py."""


def instructions(path):
    """(keyword, argument) per Dockerfile instruction, continuation lines joined."""
    out, cur = [], ""
    for line in open(path, encoding="utf-8"):
        s = line.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        kw, _, arg = cur.strip().partition(" ")
        out.append((kw.upper(), arg.strip()))
        cur = ""
    return out
