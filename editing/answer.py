"""Read a model's answer into edits.

The format the prompt asks for (configs/prompts/edit_generate.j2):

    <edit path="pkg/mod.py" unit="Class.method">
    def method(self):
        ...
    </edit>

`unit` may also name a module-level statement (`DEFAULT_FORMAT`, `if TYPE_CHECKING`),
`<imports>`, `<file>` (the whole file; a new file) or `<delete>`. Lines of any text file change
by search/replace, one or more blocks in an <edit> without a unit:

    <edit path="setup.cfg">
    <<<<<<< SEARCH
    exact old lines
    =======
    new lines
    >>>>>>> REPLACE
    </edit>

Tolerated slips: a code fence inside the block, prose after the fence, a missing closing
tag, single quotes or `file=` for `path`, `path::unit` in `unit`, `a/` or `./` before a path.
A missing class wrapper (or an unneeded one) is the engine's business (editing.code).
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from editing.models import DELETE_UNIT, FILE_UNIT, Edit

_OPEN = re.compile(r"""<edit\b((?:"[^"]*"|'[^']*'|[^>"'])*)>""", re.I)  # quoted values may hold ">" (unit="<imports>")
_CLOSE = re.compile(r"</edit\s*>", re.I)
_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_SEARCH_REPLACE = re.compile(r"^[ \t]*<{5,9} ?SEARCH[^\n]*\n(.*?)^[ \t]*={5,9}[ \t]*\n(.*?)^[ \t]*>{5,9} ?REPLACE[^\n]*$", re.S | re.M)
_FENCE = re.compile(r"^[ \t]*(```|~~~)[\w+-]*[ \t]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
# A header line naming `path::Unit` followed by a fenced block: the usual markdown slip.
_HEADER_FENCE = re.compile(r"^[#*\s`]*(?:EDIT\s+)?([\w./-]+\.py)\s*(?:::|\s)\s*([\w.<>]+)[`*\s:]*\n+[ \t]*(```|~~~)[\w+-]*[ \t]*\n(.*?)^[ \t]*\3[ \t]*$", re.S | re.M)


class AnswerError(Exception):
    """The answer holds no usable edit; the message says what the model should fix."""


def clean_path(path: str) -> str:
    path = path.strip().strip("`'\"").replace("\\", "/")
    for prefix in ("a/", "b/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    return path.lstrip("/")


def _body(text: str) -> str:
    """The code of a block: the first fenced part if there is one (prose around it dropped)."""
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(2)
    return text.strip("\n")


def _edit(attrs: str, body: str) -> list[Edit]:
    values = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(attrs)}
    path = values.get("path") or values.get("file") or ""
    unit = (values.get("unit") or values.get("name") or "").strip().strip("`")
    if "::" in unit:
        unit_path, _, unit = unit.partition("::")
        path = path or unit_path
    path = clean_path(path)
    blocks = _SEARCH_REPLACE.findall(body)
    if path and blocks:  # search/replace blocks: a unit named beside them is only a label
        try:
            return [Edit(path=path, search=search, replace=replace) for search, replace in blocks]
        except ValidationError:
            raise AnswerError(f"a SEARCH part for {path} is empty: give the exact old lines (a new file goes whole, unit=\"{FILE_UNIT}\")") from None
    if not path or not unit:
        raise AnswerError(f'an <edit> block lacks its path or unit attribute: <edit{attrs}>; write <edit path="..." unit="...">, '
                          "or SEARCH/REPLACE blocks inside <edit path=\"...\">")
    code = _body(body)
    if not code.strip() and unit not in (FILE_UNIT, DELETE_UNIT):
        raise AnswerError(f"the <edit> block for {path} {unit} holds no code")
    if unit == FILE_UNIT and code:
        code += "\n"  # a whole file ends with a newline (the block's text before </edit>)
    return [Edit(path=path, unit=unit, code="" if unit == DELETE_UNIT else code)]


def parse_edits(answer: str) -> list[Edit]:
    opens = list(_OPEN.finditer(answer))
    edits: list[Edit] = []
    for i, m in enumerate(opens):
        end = opens[i + 1].start() if i + 1 < len(opens) else len(answer)
        close = _CLOSE.search(answer, m.end(), end)
        body = answer[m.end() : close.start() if close else end]
        edits.extend(_edit(m.group(1), body))
    if not edits:
        for m in _HEADER_FENCE.finditer(answer):
            edits.append(Edit(path=clean_path(m.group(1)), unit=m.group(2), code=m.group(4)))
    if not edits:
        raise AnswerError('the answer holds no <edit path="..." unit="..."> block and no <edit path="..."> with SEARCH/REPLACE')
    return edits
