"""The invented documents as files a person would have: Markdown, text and HTML as written,
the PDF and the DOCX made from their text sources (``src/*.pdf.txt``, ``src/*.docx.txt``).
Invented for ragkit's answer tests: no place, person or figure in them is real."""

from __future__ import annotations

import shutil
import textwrap
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from tests.helpers.pdfmaker import serialize

SRC = Path(__file__).with_name("src")
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def build(folder: Path) -> list[Path]:
    """Write every invented document into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for source in sorted(SRC.iterdir()):
        if source.name.endswith(".pdf.txt"):
            out.append(_pdf(source.read_text("utf-8"), folder / source.name.removesuffix(".txt")))
        elif source.name.endswith(".docx.txt"):
            out.append(_docx(source.read_text("utf-8"), folder / source.name.removesuffix(".txt")))
        else:
            out.append(Path(shutil.copy(source, folder / source.name)))
    return out


def _pdf(text: str, path: Path) -> Path:
    """One page, its lines wrapped at 80 characters as a word processor would, in Helvetica
    (the first line, the title, larger)."""
    lines: list[tuple[int, str]] = []
    for i, paragraph in enumerate(text.strip().splitlines()):
        size = 16 if i == 0 else 11
        lines += [(size, line) for line in textwrap.wrap(paragraph, 80)]
    ops = ["BT", "72 740 Td"]
    for size, line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops += [f"/F1 {size} Tf", f"({safe}) Tj", f"0 -{size + 6} Td"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    path.write_bytes(serialize(objects))
    return path


def _docx(text: str, path: Path) -> Path:
    """A Word document: "# " lines as Heading 1, the others as paragraphs."""
    body = []
    for line in text.strip().splitlines():
        style = '<w:pPr><w:pStyle w:val="Heading1"/></w:pPr>' if line.startswith("# ") else ""
        body.append(f"<w:p>{style}<w:r><w:t>{escape(line.removeprefix('# '))}</w:t></w:r></w:p>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        document = f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{"".join(body)}</w:body></w:document>'
        z.writestr("word/document.xml", document)
    return path
