"""A Word template prepared once and rendered many times.

docxtpl reloads the .docx, patches its XML for Jinja and writes the whole package again for
every letter, some 45 ms a letter.  Here that work is done once per template: docxtpl's own
``patch_xml`` turns the body (and any part with tags: headers, footers, properties) into a
Jinja template, compiled once, and every part without tags is compressed once into a zip
prefix.  A letter then costs a Jinja render, docxtpl's post-processing of the result
(``resolve_listing`` for line breaks in values, ``fix_tables``, ``fix_docpr_ids``) and
appending the rendered parts to a copy of the prefix.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from lxml import etree

__all__ = ["CompiledTemplate"]

_TAG = re.compile(r"\{\{|\{%")
_BODY = re.compile(r"<w:body[ >].*</w:body>", re.DOTALL)
_MAIN = "word/document.xml"


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
        body = self._tpl.patch_xml(self._tpl.get_xml())
        self._body = env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", body))
        # Other XML parts that carry tags (headers, footers, core properties).
        self._parts: dict[str, jinja2.Template] = {}
        for name, data in contents.items():
            if name == _MAIN or not name.endswith(".xml"):
                continue
            text = data.decode("utf-8", "replace")
            if _TAG.search(text):
                patched = self._tpl.patch_xml(text) if name.startswith("word/") else text
                self._parts[name] = env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", patched))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as prefix:
            for info in infos:
                if info.filename != _MAIN and info.filename not in self._parts:
                    prefix.writestr(info.filename, contents[info.filename])
        self._prefix = buffer.getvalue()
        self._ids = threading.Lock()
        """``fix_docpr_ids`` counts drawing ids on the shared DocxTemplate: one letter at a
        time, or two mailboxes' letters in the sweep's threads could share an id."""

    def variables(self, env: jinja2.Environment) -> set[str]:
        """The template's undeclared variables (what it expects in the context)."""
        return set(self._tpl.get_undeclared_template_variables(env))

    def _finish(self, rendered: str) -> str:
        rendered = re.sub(r"\n<w:p([ >])", r"<w:p\1", rendered)
        rendered = (
            rendered.replace("{_{", "{{")
            .replace("}_}", "}}")
            .replace("{_%", "{%")
            .replace("%_}", "%}")
        )
        return self._tpl.resolve_listing(rendered)

    def render(self, context: Mapping[str, Any]) -> bytes:
        body = self._finish(self._body.render(context))
        tree = self._tpl.fix_tables(body)
        with self._ids:
            self._tpl.docx_ids_index = 1000
            self._tpl.fix_docpr_ids(tree)
        body = etree.tostring(tree, encoding="unicode")
        document = _BODY.sub(lambda _m: body, self._document, count=1)
        buffer = io.BytesIO(self._prefix)
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as package:
            package.writestr(_MAIN, document.encode("utf-8"))
            for name, template in self._parts.items():
                package.writestr(name, self._finish(template.render(context)).encode("utf-8"))
        return buffer.getvalue()
