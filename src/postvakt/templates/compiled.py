"""A Word template prepared once and rendered many times.

docxtpl reloads the .docx, patches its XML for Jinja and writes the whole package again for
every letter (some 7 ms for the acknowledgment, ``benchmarks/letter_render.py``).  Here that work is done once per template: docxtpl's own
``patch_xml`` turns the body (and any part with tags: headers, footers, properties) into a
Jinja template, compiled once, and every part without tags is compressed once into a zip
prefix.  A letter then costs a Jinja render, docxtpl's post-processing of the result, and
appending the rendered parts (stored when small, else deflated at level 1) and the zip
directory to the prefix.

word/document.xml comes out byte for byte as docxtpl writes it (``DocxTemplate.render`` +
``save``), and so do headers and footers with tags: docxtpl parses the rendered body with
lxml (``fix_tables``, ``fix_docpr_ids``) and writes it back, which turns Jinja's escaping into
lxml's (``&#34;`` becomes ``"``) and ``<w:t></w:t>`` into ``<w:t/>``.  That round trip is
skipped when it cannot change anything: every value is a plain string, number or date (so
Jinja writes it escaped, never markup), the template has no ``|safe``, macro or include, the
rendered body is well-formed (checked with expat), has no drawing to renumber, no Jinja
statement sits inside a table (values only fill cells, so every table is one of the
template's, which ``fix_tables`` leaves as they are) and the only non-canonical forms left are
the two this module rewrites itself (quotes, empty elements).  Anything else (a row loop, a
picture, a value with a carriage return, a list of values) takes docxtpl's own path.
"""

from __future__ import annotations

import datetime
import decimal
import io
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.parsers import expat

import jinja2
from docx.opc.oxml import parse_xml, serialize_part_xml
from docxtpl import DocxTemplate
from lxml import etree

__all__ = ["CompiledTemplate"]

_TAG = re.compile(r"\{\{|\{%")
_BODY = re.compile(r"<w:body[ >].*</w:body>", re.DOTALL)
_MAIN = "word/document.xml"
# docxtpl's unit of ``resolve_listing``: it rewrites tabs and line breaks paragraph by paragraph.
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)
_LISTING = re.compile("[\t\a\n\f]")
_LISTED = ("\n", "\t", "\a", "\f")
_TABLE_EDGE = re.compile(r"<w:tbl[ >]|</w:tbl>")
_IN_TAG = re.compile(r"<[^<>]*\{[{%]")  # a tag written by Jinja (a value in an attribute)
# Jinja that can write markup, not just escaped values: such a template takes docxtpl's path.
_UNESCAPED = re.compile(
    r"\|\s*(?:safe|urlize|xmlattr)\b"
    r"|\{%[-+]?\s*(?:autoescape|macro|call|include|import|from|extends|block|filter)\b"
)
# An element whose content starts with a Jinja tag or comment (after blanks a "-" may strip)
# may render empty, ``<X ...></X>``; one that starts with anything else never does.
_JINJA_CONTENT = re.compile(r"<([^\s<>/!?]+)[^<>]*(?<!/)>\s*\{[{%#]")
_PLAIN = (str, int, bool, float, decimal.Decimal, type(None))
_PLAIN += (datetime.date, datetime.datetime, datetime.time)
_HEADER_FOOTER = (DocxTemplate.HEADER_URI, DocxTemplate.FOOTER_URI)
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
STORE_UP_TO = 16 * 1024
"""A letter's own part of at most this many bytes (a letter's text is about 4 KB) is stored,
not deflated: the letter grows by some 2.5 KB, and the intake saves the compressor's set-up
and a release of the interpreter's lock per letter, which costs up to the switch interval
when another thread (the draft placer) is busy.  Measured in a pass of 1,581 letters, deflating
cost 0.25 s of wall time (half of it waiting for the lock) and saved 4 MB in the Drafts
folders."""
_WINDOW_BITS = 12
"""A letter's parts are a few kilobytes: a 4 KB window (and a small hash table, ``memLevel``
4) finds the same repeats as 32 KB at half the cost of setting up the compressor, which is
most of the cost for parts this small.  Any inflater reads it: the window only bounds how far
back a repeat may point."""


class CompiledTemplate:
    """One .docx template, ready to render.  Immutable after construction; thread-safe."""

    def __init__(self, path: Path, env: jinja2.Environment):
        self.path = path
        self._tpl = DocxTemplate(str(path))
        self._tpl.init_docx()
        self._tpl.render_init()
        with zipfile.ZipFile(path) as source:
            infos = source.infolist()
            contents = {info.filename: source.read(info) for info in infos}
        document = contents[_MAIN].decode("utf-8")
        if not _BODY.search(document):
            raise ValueError("word/document.xml has no <w:body>")
        self._document = document
        source_body = self._tpl.patch_xml(self._tpl.get_xml())
        self._body = env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", source_body))
        self._open = source_body[: source_body.index(">") + 1]
        # What docxtpl writes around the body: python-docx's serialisation of the document.
        written = self._tpl.docx.part.blob.decode("utf-8")
        start, end = written.find("<w:body>"), written.rfind("</w:body>")
        self._frame = (written[:start], written[end + 9 :]) if 0 <= start < end else None
        self._fast = self._frame is not None and not _UNESCAPED.search(source_body)
        self._text_only = not _IN_TAG.search(source_body)
        self._tables_fixed = _tables_are_fixed(self._tpl, source_body)
        self._may_be_empty = tuple(sorted(set(_JINJA_CONTENT.findall(source_body))))
        # Headers and footers docxtpl renders and writes back through python-docx; other parts
        # with tags (core properties, footnotes) are rendered as they are.
        rendered_by_docx = {
            rel.target_part.partname.lstrip("/"): rel.target_part
            for rel in self._tpl.docx.part.rels.values()
            if rel.reltype in _HEADER_FOOTER and not rel.is_external
        }
        self._parts: dict[str, tuple[jinja2.Template, bool]] = {}
        for name, data in contents.items():
            if name == _MAIN or not name.endswith(".xml"):
                continue
            text = data.decode("utf-8", "replace")
            if not _TAG.search(text):
                continue
            reserialised = name in rendered_by_docx
            if reserialised:
                part = rendered_by_docx[name]
                text = self._tpl.get_part_xml(part)
            patched = self._tpl.patch_xml(text) if name.startswith("word/") else text
            template = env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", patched))
            self._parts[name] = (template, reserialised)
        self._zip = _Package(
            [(info, contents[info.filename]) for info in infos if info.filename != _MAIN],
            skip=set(self._parts),
            stamp=next(info.date_time for info in infos if info.filename == _MAIN),
        )
        self._ids = threading.Lock()
        """``fix_docpr_ids`` counts drawing ids on the shared DocxTemplate: one letter at a
        time, or two mailboxes' letters in the sweep's threads could share an id."""

    def variables(self, env: jinja2.Environment) -> set[str]:
        """The template's undeclared variables (what it expects in the context)."""
        return set(self._tpl.get_undeclared_template_variables(env))

    def _finish(self, rendered: str) -> str:
        """docxtpl's ``render_xml_part`` after the Jinja render, to the character."""
        rendered = rendered.replace("\n<w:p>", "<w:p>").replace("\n<w:p ", "<w:p ")
        if "{_" in rendered or "_}" in rendered:
            rendered = (
                rendered.replace("{_{", "{{")
                .replace("}_}", "}}")
                .replace("{_%", "{%")
                .replace("%_}", "%}")
            )
        found = [at for at in map(rendered.find, _LISTED) if at >= 0]
        if not found:
            return rendered  # resolve_listing rewrites only tabs, line and page breaks
        # resolve_listing paragraph by paragraph, only where those are: a paragraph (docxtpl's
        # regex match) never holds a "</w:p>", so the text after one starts a new match.
        first, last = min(found), max(map(rendered.rfind, _LISTED))
        start = rendered.rfind("</w:p>", 0, first)
        start = 0 if start < 0 else start + 6
        end = rendered.find("</w:p>", last)
        end = len(rendered) if end < 0 else end + 6
        resolve = self._tpl.resolve_listing
        window = _PARAGRAPH.sub(
            lambda m: resolve(m.group(0)) if _LISTING.search(m.group(0)) else m.group(0),
            rendered[start:end],
        )
        return rendered[:start] + window + rendered[end:]

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The letter as .docx bytes: ``context``'s values in the template's tags."""
        body = self._finish(self._body.render(context))
        document = None
        if self._fast and all(type(value) in _PLAIN for value in context.values()):
            document = self._canonical(body)
        if document is None:
            document = self._through_lxml(body)
        members = [(_MAIN, document.encode("utf-8"))]
        for name, (template, reserialised) in self._parts.items():
            data = self._finish(template.render(context)).encode("utf-8")
            members.append((name, _reserialised(data) if reserialised else data))
        return self._zip.finish(members)

    def _through_lxml(self, body: str) -> str:
        """docxtpl's own path: parse, fix tables and drawing ids, write back."""
        tree = self._tpl.fix_tables(body)
        with self._ids:
            self._tpl.docx_ids_index = 1000
            self._tpl.fix_docpr_ids(tree)
        body = etree.tostring(tree, encoding="unicode")
        if self._frame is not None and body.startswith(self._open):
            # In the document, the body's namespaces are the root's: lxml declares them once.
            return f"{self._frame[0]}<w:body>{body[len(self._open) :]}{self._frame[1]}"
        return _BODY.sub(lambda _m: body, self._document, count=1)

    def _canonical(self, body: str) -> str | None:
        """The document as ``_through_lxml`` writes it, without lxml; None when unsure."""
        assert self._frame is not None
        if "\r" in body or "\t" in body or "\n" in body or "docPr" in body:
            return None  # line ends and attribute whitespace are normalised by the parser
        if not body.startswith(self._open):
            return None
        if not self._tables_fixed and "<w:tbl" in body:
            return None
        if "&#" in body:
            if not self._text_only:
                return None  # in an attribute lxml writes &quot;, in text a plain quote
            body = body.replace("&#34;", '"').replace("&#39;", "'")
            if "&#" in body:
                return None
        try:
            expat.ParserCreate().Parse(body, True)  # prefixes are bound: all declared on <w:body>
        except (expat.ExpatError, UnicodeEncodeError):  # a lone surrogate: lxml drops it
            return None
        for name in self._may_be_empty:
            body = _close_empty(body, name)
        return f"{self._frame[0]}<w:body>{body[len(self._open) :]}{self._frame[1]}"


def _close_empty(xml: str, name: str) -> str:
    """``xml`` (well-formed) with every empty ``<name ...></name>`` written ``<name .../>``."""
    closing = f"></{name}>"
    if closing not in xml:
        return xml
    out, at = [], 0
    while (found := xml.find(closing, at)) >= 0:
        tag = xml[xml.rfind("<", 0, found) + 1 : found]  # the tag that ends just before
        empty = tag == name or (tag.startswith(f"{name} ") and not tag.endswith("/"))
        out += [xml[at:found], "/>"] if empty else [xml[at : found + len(closing)]]
        at = found + len(closing)
    out.append(xml[at:])
    return "".join(out)


def _reserialised(data: bytes) -> bytes:
    """A header or footer as python-docx writes it back after docxtpl rendered it.

    docxtpl's parse is strict and fails on a value with a control character (a vertical tab
    in a subject line); such a part is parsed leniently instead, the character left out,
    as the body's parse (``fix_tables``) does."""
    try:
        return serialize_part_xml(parse_xml(data))
    except etree.XMLSyntaxError:
        lenient = etree.XMLParser(remove_blank_text=True, resolve_entities=False, recover=True)
        return serialize_part_xml(etree.fromstring(data, parser=lenient))


def _tables_are_fixed(tpl: DocxTemplate, source: str) -> bool:
    """Whether every rendering has the template's tables and ``fix_tables`` leaves them be.

    True when no Jinja statement is inside a table (a loop or condition there could add or
    drop rows and cells; values only fill cells) and the template's tables agree with their
    grids as they are."""
    depth, start = 0, 0
    for edge in _TABLE_EDGE.finditer(source):
        if edge.group(0) == "</w:tbl>":
            depth -= 1
            if depth == 0 and "{%" in source[start : edge.end()]:
                return False
        else:
            if depth == 0:
                start = edge.start()
            depth += 1
    if "<w:tbl" not in source:
        return True
    try:
        parsed = etree.fromstring(source, parser=etree.XMLParser(recover=True))
        fixed = tpl.fix_tables(source)
    except etree.XMLSyntaxError:
        return False
    return etree.tostring(parsed) == etree.tostring(fixed)


class _Package:
    """A .docx zip whose fixed parts are compressed once: each letter appends its own.

    Written to the zip specification (APPNOTE 4.3) with the stdlib's struct and zlib: the
    prefix holds the fixed parts as zipfile wrote them; a letter adds a local header and its
    bytes per part (stored when small, see :data:`STORE_UP_TO`; else deflated), then the
    directory (the prefix's entries and its own)."""

    def __init__(
        self,
        parts: list[tuple[zipfile.ZipInfo, bytes]],
        skip: set[str],
        stamp: tuple[int, int, int, int, int, int],
    ):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as prefix:
            for info, data in parts:
                if info.filename not in skip:
                    prefix.writestr(info.filename, data)
        raw = buffer.getvalue()
        end = raw[-_END.size :]
        _sig, _disk, _disk_cd, _here, count, size, offset, _comment = _END.unpack(end)
        self._data = raw[:offset]
        self._directory = raw[offset : offset + size]
        self._count = count
        year, month, day, hour, minute, second = stamp
        self._date = (year - 1980) << 9 | month << 5 | day
        self._time = hour << 11 | minute << 5 | second // 2

    def finish(self, members: list[tuple[str, bytes]]) -> bytes:
        """The whole package: the prefix, ``members`` (name, bytes; stored up to
        :data:`STORE_UP_TO`, else deflated), the directory."""
        out = [self._data]
        directory = [self._directory]
        offset = len(self._data)
        for name, data in members:
            encoded = name.encode("utf-8")
            flags = 0x800 if not name.isascii() else 0
            if len(data) <= STORE_UP_TO:
                method, packed = zipfile.ZIP_STORED, data
            else:
                deflate = zlib.compressobj(1, zlib.DEFLATED, -_WINDOW_BITS, memLevel=4)
                method, packed = zipfile.ZIP_DEFLATED, deflate.compress(data) + deflate.flush()
            crc = zlib.crc32(data)
            sizes = (crc, len(packed), len(data), len(encoded))
            local = _LOCAL.pack(b"PK\x03\x04", 20, flags, method, self._time, self._date, *sizes, 0)
            out += [local, encoded, packed]
            directory += [
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    3 << 8 | 20,  # made on Unix by zip 2.0, as zipfile writes it
                    20,
                    flags,
                    method,
                    self._time,
                    self._date,
                    *sizes,
                    0,
                    0,
                    0,
                    0,
                    0o600 << 16,
                    offset,
                ),
                encoded,
            ]
            offset += len(local) + len(encoded) + len(packed)
        central = b"".join(directory)
        count = self._count + len(members)
        out += [central, _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), offset, 0)]
        return b"".join(out)
