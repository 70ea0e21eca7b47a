"""Documents a test makes: DOCX files and e-mails, zip archives, many small files, a corpus
of random notes with rare words among common ones, an annual report with a statement table."""

from __future__ import annotations

import random
import zipfile
from email.message import EmailMessage
from pathlib import Path

from tests.helpers.pdfmaker import styled_pdf

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"  # DOCX's main namespace

RARE = (
    "acme tolsvik payment invoice draft ledger harbour Müller café Zoë jean-luc x.ray@acme.com 2,500 10-K "
    "audit minister bank paid"
).split()
COMMON = "the of and to in a was by for on shipment vessel cargo director transfer".split()


def write_corpus(folder: Path, files: int = 30, seed: int = 5) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        paragraphs = [
            " ".join(
                rng.choice(RARE) if rng.random() < 0.08 else rng.choice(COMMON) for _ in range(rng.randint(20, 150))
            )
            for _ in range(3)
        ]
        (folder / f"note-{n:02d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


def many_files(folder: Path, count: int) -> Path:
    """``count`` small files, one passage each (many files, little to embed: the runs stop on files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        words = " ".join(f"w{i}x{j}" for j in range(16))
        (folder / f"file-{i:04d}.txt").write_text(f"File {i} mentions the marker mk{i}q. {words}\n")
    return folder


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def make_docx(path: Path, paragraphs: list[tuple[str, str]]) -> Path:
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>'
        if style
        else f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
        for style, text in paragraphs
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr(
            "word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
        )
    return path


def make_message(
    subject: str, body: str, attachment: tuple[str, bytes] | None = None, date: str = "Mon, 02 Nov 2026 10:00:00 +0000"
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "Ada <ada@example.org>"
    msg["To"] = "bob@example.org"
    if date:
        msg["Date"] = date
    msg.set_content(body)
    if attachment:
        name, data = attachment
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("text", "plain")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


OPERATIONS = [
    "Consolidated Statements of Operations",
    "(In thousands) 2021 2020 2019",
    "Product revenue $ 48,210 $ 41,907 $ 38,115",
    "Service revenue 13,090 13,105 12,875",
    "Total revenue 61,300 55,012 50,990",
    "Cost of product revenue (21,554) (19,020) (17,441)",
    "Research and development 9,412 8,860 7,301",
    "Gross margin 47 % 46 % 44 %",
    "Balance at December 31, 2020 1,200 900",
]

CONTINUED = ["Depreciation and amortization 3,115 2,980 2,644", "Interest expense 412 398 377"]


def statement_pdf(folder: Path) -> Path:
    """An invented company's annual report: a statement of operations (``OPERATIONS``) that runs on
    to the next page (``CONTINUED``), between pages of prose."""
    body = 10
    pages = [
        [
            ("Harrowgate Instruments Annual Report", 16, True),
            ("We build survey instruments for harbours.", body, False),
        ],
        [("Consolidated Statements of Operations", 12, True), *((line, body, False) for line in OPERATIONS[1:8])],
        [(line, body, False) for line in CONTINUED],  # the statement runs on to the next page
        [("Our people", 12, True), ("Our engineers grew in number, and so did our customers in Norway.", body, False)],
    ]
    path = folder / "harrowgate-annual-report.pdf"
    path.write_bytes(styled_pdf(pages))
    return path
