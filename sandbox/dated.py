"""Installs as of a date (an old commit's): pip's --uploaded-prior-to, with today's build tools.
What cannot be had as of then is tried requirement by requirement, each a year later, and
another, then as of now, saying so; so one missing release moves only itself, not its group."""

from __future__ import annotations

import shlex
from datetime import datetime

# The requirements of the tree installed (editable) from the working directory, for its extras
# (argv: the requirements file to write, the constraints file to write, the extras): what it
# declares, markers evaluated here; the constraint holds the tree itself, so that no requirement
# replaces it by a release of the same name (pytest's own tree needs pytest).
_TREE_REQUIRES = "; ".join([
    "import importlib.metadata as m, json, os, sys, urllib.parse, urllib.request",
    "from pip._vendor.packaging.requirements import Requirement",
    "out, held, extras = sys.argv[1], sys.argv[2], sys.argv[3:] or ['']",
    "url = lambda d: json.loads(d.read_text('direct_url.json') or '{}').get('url', '')",
    "here = lambda u: u.startswith('file:') and os.path.realpath(urllib.request.url2pathname(urllib.parse.urlparse(u).path)) == os.path.realpath('.')",
    "d = next((d for d in m.distributions() if here(url(d))), None)",
    "d is None and print('supercoder: the tree is not installed here: what it requires is not installed either')",
    "reqs = [Requirement(r) for r in d.requires or []] if d else []",
    "keep = [r for r in reqs if r.marker is None or any(r.marker.evaluate({'extra': e}) for e in extras)]",
    "[setattr(r, 'marker', None) for r in keep]",
    "open(out, 'w').write(''.join(f'{r}\\n' for r in keep))",
    "open(held, 'w').write(f\"{d.metadata['Name']}=={d.version}\\n\" if d else '')",
])


def later(cutoff: str, years: int) -> str:
    """An ISO datetime `years` after `cutoff` (a 29 February becomes the 28th)."""
    when = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
    return when.replace(year=when.year + years, day=min(when.day, 28) if when.month == 2 else when.day).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pip_as_of(when: str, held: str) -> str:
    return f"python -m pip install -q --uploaded-prior-to={shlex.quote(when)} {held}"


def dated_install(args: str, cutoff: str, fallback: str | None = None, relax_years: int = 0, held: str = "") -> str:
    """`pip install ARGS` as of `cutoff`: built with today's tools, else in an isolated build (whose
    build tools are of that time too); else as of a year later, and another, up to `relax_years`
    (preferring wheels: a release of then may have none for this Python, one a little later has);
    else, saying so, as of now (`pip install FALLBACK`). `held`: pip options every step keeps
    (`-c FILE `)."""
    # The requirements are shell words (`"$p"`): echoed as the shell reads them.
    told = shlex.quote(f"supercoder: not installable as uploaded before {cutoff}, installing the newest releases:") + f" {fallback or args}"
    steps = [f"{_pip_as_of(cutoff, held)}--no-build-isolation {args}", f"{_pip_as_of(cutoff, held)}{args}"]
    steps += [f"{_pip_as_of(later(cutoff, n), held)}--prefer-binary {args}" for n in range(1, relax_years + 1)]
    return " || ".join(steps + [f"{{ echo {told}; python -m pip install -q {held}{fallback or args}; }}"])


def one_at_a_time(head: str, install: str, tail: str = "") -> str:
    """Shell that runs `install` (which reads "$p") for each requirement the loop `head` gives
    ("for p in A B", or "while IFS= read -r p" with `tail` "< FILE"), naming those it cannot install."""
    return f"{head}; do {install} || echo \"supercoder: left out $p (pip cannot install it here)\"; done{' ' + tail if tail else ''}"


def dated_group(args: str, head: str, cutoff: str, relax_years: int = 0, held: str = "", tail: str = "") -> str:
    """The requirements `args` as of `cutoff`, all at once (pip resolves them together); else one
    at a time (the loop `head` ... `tail`, as one_at_a_time reads it), each through dated_install's steps."""
    whole = f"{_pip_as_of(cutoff, held)}--no-build-isolation {args} || {_pip_as_of(cutoff, held)}{args}"
    each = dated_install('"$p"', cutoff, relax_years=relax_years, held=held)
    return f"{{ {whole}; }} || " + one_at_a_time(head, f"{{ {each}; }}", tail)


def dated_project_install(extras: list[str], cutoff: str, relax_years: int = 0) -> list[str]:
    """An editable install of the working directory whose requirements are as of `cutoff`: the tree
    itself is built with today's tools (those of then lack the editable hook pip needs now, and the
    old packages already installed would break today's tools if they shared an environment), then
    what it declares is installed, as of `cutoff`, the tree held as it is."""
    q = shlex.quote
    wanted = "." + (f"[{','.join(extras)}]" if extras else "")
    # A build-system pinned to a setuptools before the editable hook (pylint of 2022: ~=62.6) is
    # built with the environment's own, today's, instead.
    return [f"python -m pip install -q --no-deps -e {q(wanted)} || python -m pip install -q --no-deps --no-build-isolation -e {q(wanted)}",
            'tree_requires=$(mktemp) tree_held=$(mktemp)',
            f'python -c {q(_TREE_REQUIRES)} "$tree_requires" "$tree_held" ' + " ".join(q(e) for e in extras),
            'test ! -s "$tree_requires" || { ' + dated_group('-r "$tree_requires"', "while IFS= read -r p", cutoff, relax_years,
                                                             held='-c "$tree_held" ', tail='< "$tree_requires"') + "; }",
            'rm -f "$tree_requires" "$tree_held"']
