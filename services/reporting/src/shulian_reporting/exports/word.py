"""DOCX documents (python-docx): a city's annual work summary, in official-document style.

Title in 方正小标宋简体 (二号), headings in 黑体, body in 仿宋_GB2312 (三号) with a two-character
first-line indent, the figures as a bordered table — the layout of GB/T 9704 documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.run import Run

from shulian_reporting.domain.compute import IndicatorResult
from shulian_reporting.domain.summaries import SECTIONS
from shulian_reporting.exports.tables import indicator_table

NUMERALS = "一二三四五六七八九十"


def _font(run: Run, name: str, size: float, *, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    properties = run._element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def summary_docx(
    *,
    city: str,
    year: int,
    status_label: str,
    sections: dict[str, str],
    comment: str | None,
    results: Sequence[IndicatorResult],
) -> bytes:
    """The summary: title, its status, the city's indicator table, the narrative, any comment."""
    document = Document()
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        title.add_run(f"{city}{year}年度人力资源服务赋能产业专项行动工作总结"), "方正小标宋简体", 22
    )
    meta = document.add_paragraph()
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        meta.add_run(f"报送单位：{city}人力资源和社会保障局　　状态：{status_label}"),
        "楷体_GB2312",
        14,
    )

    _heading(document, f"{NUMERALS[0]}、主要指标完成情况")
    table = indicator_table(results)
    grid = document.add_table(rows=1, cols=len(table.header))
    grid.style = "Table Grid"
    for cell, heading in zip(grid.rows[0].cells, table.header, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(heading), "黑体", 10.5, bold=True)
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            _font(
                cell.paragraphs[0].add_run("" if value is None else str(value)), "仿宋_GB2312", 10.5
            )

    # In the order of the template (a JSONB column keeps no key order).
    for i, heading in enumerate(SECTIONS, start=1):
        text = sections.get(heading, "")
        _heading(document, f"{NUMERALS[i]}、{heading}")
        for line in (text or "（未填写）").splitlines() or ["（未填写）"]:
            _body(document, line)
    if comment:
        _heading(document, "省级审核意见")
        _body(document, comment)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _heading(document: object, text: str) -> None:
    paragraph = document.add_paragraph()  # type: ignore[attr-defined]
    _font(paragraph.add_run(text), "黑体", 16)


def _body(document: object, text: str) -> None:
    paragraph = document.add_paragraph()  # type: ignore[attr-defined]
    paragraph.paragraph_format.first_line_indent = Pt(32)
    _font(paragraph.add_run(text), "仿宋_GB2312", 16)
