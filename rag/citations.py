"""Citations in the document's own structure.

Examples: 《标题》第二章 第十条, 《标题》三、（二）, 《标题》第3段.
"""

from __future__ import annotations

from .schema import Document


def full_title(doc: Document) -> str:
    """Title with a dash subtitle attached (the side report's ——…侧记 says what it is)."""
    if doc.subtitle.startswith(("——", "──", "—")):
        return f"{doc.title}{doc.subtitle}"
    return doc.title


def cite(doc: Document, paragraph: int) -> str:
    """Chinese citation of one body paragraph.

    Numbered sections cite by their numbers (``第二章 第十条``, ``三、（二）``); the paragraph
    number is added only when that path does not identify the paragraph alone. Unnumbered
    section headings are quoted in 「」 before the paragraph number.

    Example:
        >>> cite(resolution, 3)
        '《十一届市委十一次全会决议》第3段'
    """
    para = doc.paragraph(paragraph)
    numbered = tuple(ref.label for ref in para.section if ref.label)
    head = f"《{full_title(doc)}》"
    if numbered:
        shared = sum(
            1
            for p in doc.paragraphs
            if tuple(ref.label for ref in p.section if ref.label) == numbered
        )
        path = " ".join(numbered)
        return f"{head}{path}" if shared == 1 else f"{head}{path} 第{paragraph}段"
    titled = [ref.title for ref in para.section if ref.title]
    if titled:
        return f"{head}「{titled[-1]}」第{paragraph}段"
    return f"{head}第{paragraph}段"


__all__ = ["cite", "full_title"]
