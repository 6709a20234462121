#!/usr/bin/python3
"""The package lists against the binary: for every library $DG_BIN links
directly (readelf -d: NEEDED),
- scripts/deps.sh installs the package of its unversioned .so (the -dev
  package the build links against; dpkg -S), and
- the Dockerfile's runtime stage installs the package of its soname file.
deps.sh must name each -dev package itself (only build-essential's own
dependencies, libc6-dev, count unnamed); for the runtime stage, the packages a
listed package depends on count (read from this machine's dpkg database), and
the base image's essential packages (libc6). Sanitizer runtimes are skipped (the image builds
without). Prints TAP-like lines; exits 1 on a miss, 77 (meson: skipped) without
dpkg or readelf (not Debian).
$DG_DEPS_SH and $DG_DOCKERFILE replace the two files (to test the guard)."""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

from dockerfile import instructions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DG_BIN", os.path.join(ROOT, "build", "demographer"))
DEPS_SH = os.environ.get("DG_DEPS_SH", os.path.join(ROOT, "scripts", "deps.sh"))
DOCKERFILE = os.environ.get("DG_DOCKERFILE", os.path.join(ROOT, "Dockerfile"))
SANITIZER = re.compile(r"lib(a|ub|l|t|hwa)san\.so")
# The dynamic loader (NEEDED once the code has thread-local variables:
# __tls_get_addr) is libc6's, an essential package like libc itself.
LOADER = re.compile(r"ld-linux[-.\w]*\.so")
results = []


def check(name, ok, why=()):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    for line in why:
        print("# " + line)


def deps_sh_packages(path):
    """The packages of deps.sh's first pkgs=( ... ) array: what building needs
    (the test-only packages are appended later with pkgs+=)."""
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^\s*pkgs=\((.*?)\)", text, re.S | re.M)
    if not m:
        sys.exit("Bail out! no pkgs=( ... ) array in %s" % path)
    words = re.sub(r"#[^\n]*", "", m.group(1)).split()
    return set(words)


def runtime_packages(path):
    """The packages the last stage's RUN lines give to apt-get install."""
    ins = instructions(path)
    last = max(i for i, (kw, _) in enumerate(ins) if kw == "FROM")
    pkgs = set()
    for kw, arg in ins[last:]:
        if kw != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", arg):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                rest = words[words.index("install") + 1:]
                pkgs |= {w for w in rest if not w.startswith("-") and "=" not in w}
    return pkgs


class Dpkg:
    """The installed packages' Depends, Pre-Depends, Provides and Essential."""

    def __init__(self):
        fmt = "${db:Status-Abbrev}\t${Package}\t${Depends}\t${Pre-Depends}\t${Provides}\t${Essential}\n"
        out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True,
                             text=True, check=True).stdout
        self.deps, self.providers, self.essential = {}, {}, set()
        for line in out.splitlines():
            status, pkg, dep, pre, prov, ess = (line.split("\t") + [""] * 6)[:6]
            if not status.startswith("ii"):
                continue
            self.deps.setdefault(pkg, set()).update(self.names(dep + "," + pre))
            for p in self.names(prov):
                self.providers.setdefault(p, set()).add(pkg)
            if ess.strip() == "yes":
                self.essential.add(pkg)

    @staticmethod
    def names(field):
        """Every package name of a Depends-like field, each alternative of a | too."""
        out = set()
        for alt in re.split(r"[,|]", field):
            name = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
            if name:
                out.add(name)
        return out

    def closure(self, pkgs):
        """pkgs and everything installed here that they depend on, recursively."""
        seen, todo = set(), list(pkgs)
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            todo.extend(self.deps.get(p, ()))
            todo.extend(self.providers.get(p, ()))
        return seen


def lib_dirs():
    """The directories of this architecture's libraries, where a -dev package puts
    its .so (not lib32, not another architecture's multiarch folder)."""
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    if not arch and shutil.which("gcc"):
        arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                              text=True).stdout.strip()
    dirs = {"/lib", "/usr/lib", "/lib64", "/usr/lib64"}
    if arch:
        dirs |= {"/lib/" + arch, "/usr/lib/" + arch}
    return dirs


def owners(files, dirs):
    """file name -> the packages (dpkg -S) that ship it in one of dirs. Exact paths,
    one dpkg call: a glob per file costs seconds each."""
    paths = sorted({os.path.join(d, f) for f in files for d in dirs
                    if os.path.lexists(os.path.join(d, f))})
    out = subprocess.run(["dpkg", "-S"] + paths, capture_output=True, text=True).stdout \
        if paths else ""
    found = {f: set() for f in files}
    for line in out.splitlines():
        pkgs, _, path = line.rpartition(": ")
        if line.startswith("diversion ") or os.path.dirname(path) not in dirs:
            continue
        name = os.path.basename(path)
        if name in found:
            found[name] |= {p.strip().split(":")[0] for p in pkgs.split(",")}
    return found


def main():
    for tool in ("dpkg", "dpkg-query", "readelf"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s is not installed (not a Debian system?)" % tool)
            return 77
    needed = subprocess.run(["readelf", "-d", BIN], capture_output=True, text=True)
    if needed.returncode != 0:
        print("Bail out! readelf -d %s: %s" % (BIN, needed.stderr.strip()))
        return 1
    libs = [l for l in re.findall(r"\(NEEDED\).*\[(.+)\]", needed.stdout) if not SANITIZER.match(l) and not LOADER.match(l)]
    check("the binary links libraries (readelf -d %s)" % BIN, bool(libs))
    db = Dpkg()
    dirs = lib_dirs()

    # Development packages: deps.sh, with what its packages depend on.
    # Named, not pulled in by another package: a dependency of a dependency can
    # go away in the next Debian release. Only build-essential's own closure
    # (libc6-dev: libc, libm) counts without a name.
    listed = deps_sh_packages(DEPS_SH)
    have = listed | (db.closure({"build-essential"}) if "build-essential" in listed else set())
    dev = {l: re.sub(r"\.so\..*$", ".so", l) for l in libs}
    owner = owners(set(dev.values()) | set(libs), dirs)
    missing = []
    for lib in libs:
        pkgs = owner[dev[lib]]
        if not pkgs:
            missing.append("%s: no installed package ships %s (install its -dev package and "
                           "add it to scripts/deps.sh)" % (lib, dev[lib]))
        elif not pkgs & have:
            missing.append("%s: scripts/deps.sh does not install %s (it ships %s)"
                           % (lib, " or ".join(sorted(pkgs)), dev[lib]))
    check("scripts/deps.sh installs the development package of every linked library",
          not missing, missing)

    # Runtime packages: the Dockerfile's last stage, on the base image's essentials.
    runtime = runtime_packages(DOCKERFILE)
    have = db.closure(runtime | db.essential)
    missing = []
    for lib in libs:
        pkgs = owner[lib]
        if not pkgs:
            missing.append("%s: no installed package ships it" % lib)
        elif not pkgs & have:
            missing.append("%s: the Dockerfile's runtime stage does not install %s"
                           % (lib, " or ".join(sorted(pkgs))))
    check("the Dockerfile's runtime stage installs the package of every linked library",
          not missing, missing)
    dev_in_runtime = sorted(p for p in runtime if p.endswith("-dev"))
    check("no -dev package in the Dockerfile's runtime stage", not dev_in_runtime,
          dev_in_runtime)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
