"""Say what is wrong with a filter that does not parse, where, and how to fix it.

The grammar's own messages name a token object (``Parsing error at: Token(type=
'ATTRNAME', …)``), which tells a client nothing. ``explain`` re-reads the filter token by
token and describes the first problem: its character position, what RFC 7644 §3.4.2.2's
grammar expected there, and the fix for the usual mistakes — unquoted or single-quoted
strings, ``==`` and other programming-language operators, a missing operator, an
unbalanced parenthesis or bracket, a dangling ``and``/``or``.
"""

from __future__ import annotations

from typing import Any

from scim_server.scim.errors import excerpt
from scim_server.scim.paths import FilterLexer

_COMPARISONS = {"EQ", "NE", "CO", "SW", "EW", "GT", "GE", "LT", "LE"}
_OPERATORS = "eq, ne, co, sw, ew, gt, ge, lt, le or pr"
_LITERALS = {"TRUE", "FALSE", "NULL", "NUMBER", "COMP_VALUE"}
_ENDS_EXPRESSION = {*_LITERALS, "PR", "RPAREN", "RBRACKET"}
_EXAMPLE = 'a filter reads like userName eq "bjensen" and active eq true.'
_ATTRIBUTE = {"ATTRNAME", "SUBATTR", "SCHEMA_URI"}
# Characters from other languages' operators, and what SCIM spells instead.
_SYMBOLS = {
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">=": "ge",
    "<=": "le",
    "=": "eq",
    ">": "gt",
    "<": "lt",
    "&&": "and",
    "&": "and",
    "||": "or",
    "|": "or",
    "!": "not",
}


class _IllegalCharacter(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class _Lexer(FilterLexer):
    """The filter lexer, reporting where an illegal character stands."""

    tokens = FilterLexer.tokens

    def error(self, t: Any) -> None:
        raise _IllegalCharacter(int(t.index))


def explain(text: str) -> str:
    """One sentence (or two) about the first problem in ``text``, which did not parse.

    Never raises: a diagnosis that fails itself falls back to a general hint, so a
    malformed filter is always a 400, never a 500.
    """
    try:
        return _explain(text)
    except Exception:  # the filter is wrong either way; only the hint is lost
        return f"it does not follow the filter grammar (RFC 7644 §3.4.2.2); {_EXAMPLE}"


def _explain(text: str) -> str:
    if not text.strip():
        return 'The filter is empty; write for example userName eq "bjensen".'
    try:
        tokens = list(_Lexer().tokenize(text))
    except _IllegalCharacter as error:
        return _illegal(text, error.index)
    return _grammar(text, tokens)


def _at(text: str, index: int) -> str:
    return f"at character {index + 1}"


def _illegal(text: str, index: int) -> str:
    for symbol in sorted(_SYMBOLS, key=len, reverse=True):
        if text.startswith(symbol, index):
            return (
                f"{_at(text, index)}: {symbol!r} is not a SCIM operator; "
                f"write {_SYMBOLS[symbol]!r} (operators are words: {_OPERATORS}, and, or, not)."
            )
    char = text[index]
    if char == "'":
        return (
            f"{_at(text, index)}: strings must be in double quotes, not single quotes: "
            'userName eq "bjensen".'
        )
    return f"{_at(text, index)}: unexpected character {char!r}."


def _grammar(text: str, tokens: list[Any]) -> str:
    """The first token the grammar cannot accept, judged with the one before it."""
    depth = {"paren": 0, "bracket": 0}
    previous, attribute = None, "userName"
    for token in tokens:
        problem = _pair(text, previous, token, attribute) or _balance(text, token, depth)
        if problem:
            return problem
        if token.type == "ATTRNAME":
            attribute = str(token.value)
        previous = token
    return _end(text, previous, depth)


def _pair(text: str, prev: Any, tok: Any, attribute: str) -> str | None:
    """The problem with ``tok`` after ``prev`` (``attribute``: the last name, for fixes)."""
    kind, where = tok.type, _at(text, tok.index)
    shown = excerpt(str(tok.value), 60)
    if prev is None:
        if kind in _ATTRIBUTE or kind in ("LPAREN", "NOT"):
            return None
        return f"{where}: a filter starts with an attribute name, '(' or 'not', found {shown!r}."
    before = prev.type
    if before in _COMPARISONS:
        if kind in _LITERALS:
            return None
        if kind == "ATTRNAME":
            return (
                f"{where}: string values must be quoted: write "
                f'{attribute} {prev.value} "{shown}" instead of {attribute} {prev.value} {shown}.'
            )
        return f"{where}: expected a value after {prev.value!r}, found {shown!r}."
    if before == "SUBATTR" and kind == "SUBATTR":
        return f"{where}: an attribute path has one sub-attribute at most (name.givenName)."
    if before == "NOT" and kind != "LPAREN":
        rest = excerpt(text[tok.index :].strip(), 80)
        return f"{where}: 'not' takes a filter in parentheses: write not ({rest})."
    if before in _ATTRIBUTE:
        if kind in _COMPARISONS or kind in ("PR", "SUBATTR", "LBRACKET"):
            return None
        if kind == "ATTRNAME":
            return f"{where}: {shown!r} is not an operator; expected one of {_OPERATORS}."
        return (
            f"{where}: expected an operator ({_OPERATORS}) after {prev.value!r}, found "
            f"{shown!r}: write for example {prev.value} eq {_value_text(tok)}."
        )
    if before in _ENDS_EXPRESSION:
        if kind in ("AND", "OR", "RPAREN", "RBRACKET", "SUBATTR"):
            return None
        return f"{where}: expected 'and', 'or' or the end of the filter, found {shown!r}."
    if before in ("AND", "OR", "NOT", "LPAREN", "LBRACKET"):
        if kind in _ATTRIBUTE or kind in ("LPAREN", "NOT"):
            return None
        return f"{where}: expected an attribute name or '(' after {prev.value!r}, found {shown!r}."
    return None


def _value_text(tok: Any) -> str:
    return f'"{tok.value}"' if tok.type == "COMP_VALUE" else str(tok.value)


def _balance(text: str, tok: Any, depth: dict[str, int]) -> str | None:
    pairs = {"LPAREN": ("paren", 1), "RPAREN": ("paren", -1)}
    pairs.update({"LBRACKET": ("bracket", 1), "RBRACKET": ("bracket", -1)})
    if tok.type not in pairs:
        return None
    name, step = pairs[tok.type]
    depth[name] += step
    if depth[name] < 0:
        return (
            f"{_at(text, tok.index)}: {tok.value!r} closes nothing; remove it or add its opening."
        )
    return None


def _end(text: str, last: Any, depth: dict[str, int]) -> str:
    end = f"at the end (character {len(text) + 1})"
    if last is not None and last.type in _COMPARISONS:
        return f'{end}: expected a value after {last.value!r}, such as "bjensen", 42 or true.'
    if last is not None and last.type in ("AND", "OR", "NOT"):
        return f"{end}: expected an expression after {last.value!r}."
    if last is not None and last.type in _ATTRIBUTE:
        return f"{end}: expected an operator ({_OPERATORS}) after {last.value!r}."
    if depth["paren"] > 0:
        return f"{end}: {depth['paren']} '(' not closed; add ')'."
    if depth["bracket"] > 0:
        return f"{end}: '[' not closed; add ']'."
    return f"{end}: the filter is incomplete."
