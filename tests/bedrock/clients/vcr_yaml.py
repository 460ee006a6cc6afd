# SPDX-License-Identifier: MIT
"""A small YAML reader for VCR cassettes, so the test clients need no PyYAML.

It covers what vcrpy (and the project's cassette generator) write: block mappings and
sequences (a sequence may sit at its parent key's indentation), plain scalars folded over
several lines, single- and double-quoted scalars, literal and folded block scalars with
chomping indicators, the `!!binary` tag (decoded to bytes), other `!!` tags (ignored) and
simple one-line flow collections ({}, [], [a, b], {k: v}). Anchors, aliases and multiple
documents are not used by cassettes and are rejected.
"""

import base64
import re

__all__ = ["load", "load_file", "YamlError"]


class YamlError(ValueError):
    pass


_KEY_RE = re.compile(
    r"""^(?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)"|([^\s'"\[\]{},#&*!|>%@`-][^#]*?|-[^\s#][^#]*?))"""
    r"""\s*:(?:\s+|$)"""
)
_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_FLOAT_RE = re.compile(r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _strip_comment(text):
    """Removes a trailing ` # comment` from plain text (a # right after a non-space stays)."""
    m = re.search(r"(^|\s)#", text)
    return text[: m.start()].rstrip() if m else text.rstrip()


def _resolve_plain(text):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text.replace("_", ""))
    if _FLOAT_RE.match(text):
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    if text in (".inf", "+.inf", ".Inf"):
        return float("inf")
    if text in ("-.inf", "-.Inf"):
        return float("-inf")
    if text in (".nan", ".NaN"):
        return float("nan")
    return text


def _fold(lines):
    """Line folding of plain and quoted multi-line scalars: a line break becomes a space,
    each empty line a newline."""
    out = ""
    pending_breaks = 0
    first = True
    for ln in lines:
        s = ln.strip()
        if s == "":
            pending_breaks += 1
            continue
        if first:
            out = s
            first = False
        elif pending_breaks:
            out += "\n" * pending_breaks + s
        else:
            out += " " + s
        pending_breaks = 0
    return out


class _Parser:
    def __init__(self, text):
        self.lines = text.replace("\r\n", "\n").split("\n")
        self.i = 0

    # -- line helpers --
    def _skip_blank(self):
        while self.i < len(self.lines):
            s = self.lines[self.i].strip()
            if s == "" or s.startswith("#") or s == "---":
                self.i += 1
                continue
            if s == "...":
                self.i = len(self.lines)
                break
            if s.startswith("%"):  # directive
                self.i += 1
                continue
            break

    def _eof(self):
        return self.i >= len(self.lines)

    def _err(self, msg):
        return YamlError(f"line {self.i + 1}: {msg}")

    # -- nodes --
    def parse_document(self):
        self._skip_blank()
        if self._eof():
            return None
        v = self._node(_indent(self.lines[self.i]))
        self._skip_blank()
        if not self._eof():
            raise self._err("unexpected content")
        return v

    def _node(self, ind):
        """The node starting at the current line, whose indentation is `ind`."""
        self._skip_blank()
        if self._eof():
            return None
        line = self.lines[self.i]
        text = line.strip()
        if text == "-" or text.startswith("- "):
            return self._seq(_indent(line))
        if _KEY_RE.match(text):
            return self._map(_indent(line))
        self.i += 1
        return self._value_rest(text, ind - 1)

    def _seq(self, ind):
        out = []
        while True:
            self._skip_blank()
            if self._eof():
                break
            line = self.lines[self.i]
            text = line.strip()
            if _indent(line) != ind or not (text == "-" or text.startswith("- ")):
                break
            rest = text[1:].lstrip(" ")
            if rest == "" or rest.startswith("#"):
                self.i += 1
                self._skip_blank()
                if not self._eof() and _indent(self.lines[self.i]) > ind:
                    out.append(self._node(_indent(self.lines[self.i])))
                else:
                    out.append(None)
                continue
            # "- key: v" or "- - x" or "- scalar": re-read the rest as a line of its own.
            col = ind + (len(text) - len(rest))
            self.lines[self.i] = " " * col + rest
            if rest.startswith("- ") or rest == "-" or _KEY_RE.match(rest):
                out.append(self._node(col))
            else:
                self.i += 1
                out.append(self._value_rest(rest, ind))
        return out

    def _map(self, ind):
        out = {}
        while True:
            self._skip_blank()
            if self._eof():
                break
            line = self.lines[self.i]
            if _indent(line) != ind:
                if _indent(line) > ind:
                    raise self._err("bad indentation")
                break
            text = line.strip()
            m = _KEY_RE.match(text)
            if not m:
                break
            if m.group(1) is not None:
                key = m.group(1).replace("''", "'")
            elif m.group(2) is not None:
                key = self._dq_unescape(m.group(2))
            else:
                key = _resolve_plain(m.group(3).strip())
                if isinstance(key, float):
                    key = m.group(3).strip()
            rest = text[m.end():]
            self.i += 1
            if rest.strip() == "" or rest.strip().startswith("#"):
                self._skip_blank()
                if self._eof():
                    out[key] = None
                    continue
                nxt = self.lines[self.i]
                nt = nxt.strip()
                if _indent(nxt) > ind:
                    out[key] = self._node(_indent(nxt))
                elif _indent(nxt) == ind and (nt == "-" or nt.startswith("- ")):
                    out[key] = self._seq(ind)
                else:
                    out[key] = None
            else:
                out[key] = self._value_rest(rest.strip(), ind)
        return out

    def _value_rest(self, text, ind):
        """A value whose text starts on an already consumed line; continuation lines must be
        indented more than `ind`."""
        tag = None
        if text.startswith("!"):
            parts = text.split(None, 1)
            tag = parts[0]
            text = parts[1] if len(parts) > 1 else ""
        if text.startswith("&") or text.startswith("*"):
            raise self._err("anchors and aliases are not supported")
        if text == "" or text.startswith("#"):
            self._skip_blank()
            if not self._eof() and _indent(self.lines[self.i]) > ind:
                val = self._node(_indent(self.lines[self.i]))
            else:
                val = None
        elif text[0] in "|>":
            val = self._block_scalar(text, ind)
        elif text[0] == "'":
            val = self._quoted(text, ind, "'")
        elif text[0] == '"':
            val = self._quoted(text, ind, '"')
        elif text[0] in "[{":
            val = self._flow_text(text, ind)
        else:
            parts = [_strip_comment(text)]
            while not self._eof():
                ln = self.lines[self.i]
                if ln.strip() == "":
                    # an empty line inside a plain scalar only if more text follows
                    j = self.i
                    while j < len(self.lines) and self.lines[j].strip() == "":
                        j += 1
                    if j < len(self.lines) and _indent(self.lines[j]) > ind and not self.lines[j].strip().startswith("#"):
                        parts.extend([""] * (j - self.i))
                        self.i = j
                        continue
                    break
                if _indent(ln) <= ind or ln.strip().startswith("#"):
                    break
                s = ln.strip()
                if _KEY_RE.match(s) or s.startswith("- "):
                    break
                parts.append(_strip_comment(s))
                self.i += 1
            folded = _fold(parts)
            val = folded if tag else _resolve_plain(folded)
        return self._apply_tag(tag, val)

    def _apply_tag(self, tag, val):
        if tag in (None, "!"):
            return val
        if tag == "!!binary":
            if isinstance(val, bytes):
                return val
            return base64.b64decode(re.sub(r"\s+", "", str(val or "")))
        if tag == "!!str":
            return "" if val is None else str(val)
        if tag == "!!int":
            return int(val)
        if tag == "!!float":
            return float(val)
        return val  # other tags (e.g. !!python/unicode) carry no meaning for cassettes

    def _block_scalar(self, header, ind):
        m = re.match(r"^([|>])([+-]?)([1-9]?)([+-]?)\s*(#.*)?$", header)
        if not m:
            raise self._err(f"bad block scalar header {header!r}")
        style = m.group(1)
        chomp = m.group(2) or m.group(4)
        explicit = int(m.group(3)) if m.group(3) else None
        body_ind = ind + explicit if explicit is not None and ind >= 0 else None
        if explicit is not None and ind < 0:
            body_ind = explicit
        raw = []
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if ln.strip() == "":
                raw.append("")
                self.i += 1
                continue
            li = _indent(ln)
            if body_ind is None:
                if li <= ind:
                    break
                body_ind = li
            if li < body_ind:
                break
            raw.append(ln[body_ind:])
            self.i += 1
        # trailing empty lines belong to the scalar only for keep chomping
        trailing = 0
        while raw and raw[-1] == "":
            raw.pop()
            trailing += 1
        if style == "|":
            text = "\n".join(raw)
        else:
            text = ""
            prev_more = True
            breaks = 0
            for k, ln in enumerate(raw):
                more = ln.startswith(" ") or ln.startswith("\t")
                if ln == "":
                    breaks += 1
                    continue
                if k == 0 or text == "" and breaks == 0:
                    text += "\n" * breaks + ln
                elif breaks:
                    text += "\n" * (breaks + (1 if (more or prev_more) else 0)) + ln
                elif more or prev_more:
                    text += "\n" + ln
                else:
                    text += " " + ln
                breaks = 0
                prev_more = more
        if not raw:
            return "\n" * trailing if chomp == "+" else ""
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" + "\n" * trailing
        return text + "\n"

    def _quoted(self, text, ind, q):
        buf = text
        while True:
            end = self._quote_end(buf, q)
            if end >= 0:
                break
            if self._eof():
                raise self._err("unterminated quoted scalar")
            buf += "\n" + self.lines[self.i]
            self.i += 1
        inner, after = buf[1:end], buf[end + 1:].strip()
        if after and not after.startswith("#"):
            raise self._err(f"text after quoted scalar: {after!r}")
        if q == "'":
            lines = inner.split("\n")
            s = _fold(lines) if len(lines) > 1 else inner
            return s.replace("''", "'")
        # double-quoted: fold unescaped line breaks, then unescape
        lines = inner.split("\n")
        if len(lines) > 1:
            joined = lines[0].rstrip(" \t")
            breaks = 0
            for k, ln in enumerate(lines[1:], 1):
                s = ln.strip(" \t") if k < len(lines) - 1 else ln.lstrip(" \t")
                if joined.endswith("\\") and not joined.endswith("\\\\"):
                    joined = joined[:-1] + s
                    continue
                if s == "" and k < len(lines) - 1:
                    breaks += 1
                    continue
                joined += ("\\n" * breaks if breaks else " ") + s
                breaks = 0
            inner = joined
        return self._dq_unescape(inner)

    @staticmethod
    def _quote_end(buf, q):
        k = 1
        while k < len(buf):
            c = buf[k]
            if q == '"' and c == "\\":
                k += 2
                continue
            if c == q:
                if q == "'" and k + 1 < len(buf) and buf[k + 1] == "'":
                    k += 2
                    continue
                return k
            k += 1
        return -1

    @staticmethod
    def _dq_unescape(s):
        out = []
        k = 0
        while k < len(s):
            c = s[k]
            if c != "\\":
                out.append(c)
                k += 1
                continue
            e = s[k + 1] if k + 1 < len(s) else ""
            if e in _DQ_ESCAPES:
                out.append(_DQ_ESCAPES[e])
                k += 2
            elif e in "xuU":
                n = {"x": 2, "u": 4, "U": 8}[e]
                out.append(chr(int(s[k + 2:k + 2 + n], 16)))
                k += 2 + n
            else:
                raise YamlError(f"bad escape \\{e}")
        return "".join(out)

    def _flow_text(self, text, ind):
        buf = text
        while True:
            try:
                val, pos = _flow_value(buf, 0)
                rest = buf[pos:].strip()
                if rest and not rest.startswith("#"):
                    raise YamlError(f"text after flow collection: {rest!r}")
                return val
            except _Incomplete:
                if self._eof():
                    raise self._err("unterminated flow collection")
                buf += " " + self.lines[self.i].strip()
                self.i += 1


class _Incomplete(Exception):
    pass


def _flow_value(s, k):
    k = _ws(s, k)
    if k >= len(s):
        raise _Incomplete()
    c = s[k]
    if c == "[":
        out = []
        k += 1
        while True:
            k = _ws(s, k)
            if k >= len(s):
                raise _Incomplete()
            if s[k] == "]":
                return out, k + 1
            v, k = _flow_value(s, k)
            out.append(v)
            k = _ws(s, k)
            if k >= len(s):
                raise _Incomplete()
            if s[k] == ",":
                k += 1
    if c == "{":
        out = {}
        k += 1
        while True:
            k = _ws(s, k)
            if k >= len(s):
                raise _Incomplete()
            if s[k] == "}":
                return out, k + 1
            key, k = _flow_value(s, k)
            k = _ws(s, k)
            if k < len(s) and s[k] == ":":
                v, k = _flow_value(s, k + 1)
            else:
                v = None
            out[key] = v
            k = _ws(s, k)
            if k >= len(s):
                raise _Incomplete()
            if s[k] == ",":
                k += 1
    if c in "'\"":
        end = _Parser._quote_end(s[k:], c)
        if end < 0:
            raise _Incomplete()
        inner = s[k + 1:k + end]
        v = inner.replace("''", "'") if c == "'" else _Parser._dq_unescape(inner)
        return v, k + end + 1
    m = re.match(r"[^,\[\]{}]*?(?=\s*(?:[,\]}]|:\s|:$|$))", s[k:])
    text = m.group(0) if m else ""
    return _resolve_plain(text.strip()), k + len(text)


def _ws(s, k):
    while k < len(s) and s[k] in " \t\n":
        k += 1
    return k


def load(text):
    """Parses one YAML document of the cassette subset; raises YamlError on what it can't read."""
    return _Parser(text).parse_document()


def load_file(path):
    with open(path, encoding="utf-8") as f:
        return load(f.read())
