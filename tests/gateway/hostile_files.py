"""Real documents made in the test, and hostile ones made from them: a .docx whose document.xml inflates to a
gigabyte, a PDF that declares an oversized stream, and a seeded mutator that damages .docx, .pdf and .txt files
the way a fuzzer would (bit flips, cuts, splices, and changes inside the archive or the PDF objects)."""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator

import docx

MIB = 1 << 20
WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def minimal_pdf(text: str, *, stream: bytes | None = None, declared_length: int | None = None) -> bytes:
    """A one-page PDF with `text` in Helvetica, built by hand (with a correct xref table). `stream` replaces
    the page's content stream and `declared_length` its /Length."""
    content = stream if stream is not None else f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    length = len(content) if declared_length is None else declared_length
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % length + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def flate_pdf(text: str, inflated_bytes: int) -> bytes:
    """A PDF whose (FlateDecode) content stream inflates to `inflated_bytes` of spaces after `text`."""
    head = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n".encode()
    compressed = _repeated_deflate(head, b" " * MIB, inflated_bytes // MIB, b"\n", raw=False)
    pdf = minimal_pdf(text, stream=compressed)
    length = b"<< /Length %d" % len(compressed)
    return pdf.replace(length + b" >>", length + b" /Filter /FlateDecode >>")


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(inflated_bytes: int = 1 << 30) -> bytes:
    """A .docx whose word/document.xml inflates to about `inflated_bytes` (one paragraph of 'A's), every other
    part that of a real document. About 1 MB per GB inflated; made in a second, not by compressing a GB."""
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{WORD_NS}">'
        "<w:body><w:p><w:r><w:t>"
    ).encode()
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    chunks = inflated_bytes // MIB
    deflated = _repeated_deflate(head, b"A" * MIB, chunks, tail, raw=True)
    crc = zlib.crc32(head)
    chunk = b"A" * MIB
    for _ in range(chunks):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + chunks * MIB + len(tail)
    source = zipfile.ZipFile(io.BytesIO(docx_bytes("placeholder")))
    members = []
    for info in source.infolist():
        if info.filename == "word/document.xml":
            members.append((info.filename, deflated, crc, size))
        else:
            data = source.read(info.filename)
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            members.append((info.filename, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)))
    return _zip_of_deflated(members)


def _repeated_deflate(head: bytes, chunk: bytes, times: int, tail: bytes, *, raw: bool) -> bytes:
    """A deflate stream of head + chunk * times + tail, compressing `chunk` once: after a full flush the
    compressor starts afresh, so the chunk's compressed bytes are the same every time and can be repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.compress(tail) + packer.flush()
    if not raw:  # the zlib trailer is the Adler-32 of everything: recompute it for the repeated stream
        adler = zlib.adler32(head)
        for _ in range(times):
            adler = zlib.adler32(chunk, adler)
        adler = zlib.adler32(tail, adler)
        end = end[:-4] + struct.pack(">I", adler)
    return start + repeated * times + end


def _zip_of_deflated(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive of already deflated members (name, deflated bytes, CRC-32, inflated size)."""
    out = io.BytesIO()
    central = io.BytesIO()
    for name, data, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + encoded)
    directory = central.getvalue()
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), start, 0))
    return out.getvalue()


# --- the mutator ------------------------------------------------------------------------------------------


def seed_files() -> list[tuple[str, bytes]]:
    """Small real documents of every supported type: what the mutator starts from."""
    table = docx.Document()
    table.add_paragraph("Platform engineer")
    grid = table.add_table(rows=2, cols=2)
    grid.cell(0, 0).text, grid.cell(1, 1).text = "Kubernetes", "Terraform"
    out = io.BytesIO()
    table.save(out)
    return [
        ("resume.docx", docx_bytes("Data engineer", "Kafka, Spark and SQL")),
        ("table.docx", out.getvalue()),
        ("resume.pdf", minimal_pdf("Kubernetes engineer with Go")),
        ("flate.pdf", flate_pdf("Python developer", MIB)),
        ("resume.txt", b"Senior analyst: Excel, Power BI, SQL\n"),
        ("utf16.txt", "Résumé: Python".encode("utf-16")),
    ]


def mutated_files(count: int, seed: int = 10) -> Iterator[tuple[str, bytes]]:
    """`count` damaged copies of the seed files, the same for the same seed."""
    rng = random.Random(seed)
    seeds = seed_files()
    for _ in range(count):
        name, data = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            data = _mutate(rng, name, data)
        yield name, data


def _mutate(rng: random.Random, name: str, data: bytes) -> bytes:
    kind = rng.randrange(8)
    if kind == 0 and name.endswith(".docx"):
        return _mutate_docx_member(rng, data)
    if kind == 1 and name.endswith(".docx"):
        return _patch_zip_sizes(rng, data)
    if kind == 2 and name.endswith(".pdf"):
        return _mutate_pdf_number(rng, data)
    if kind == 3 and data:  # cut
        return data[: rng.randrange(len(data))]
    if kind == 4 and data:  # splice a piece of the file elsewhere
        start = rng.randrange(len(data))
        piece = data[start : start + rng.randint(1, 512)]
        at = rng.randrange(len(data))
        return data[:at] + piece + data[at:]
    if kind == 5:  # random bytes inserted
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]
    if kind == 6 and data:  # interesting bytes overwritten
        at = rng.randrange(len(data))
        return data[:at] + rng.choice([b"\x00", b"\xff", b"\x7f", b"\x80", b"\xfe\xff", b"%%EOF"]) + data[at + 1 :]
    out = bytearray(data)  # bit flips
    for _ in range(rng.randint(1, 16)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _mutate_docx_member(rng: random.Random, data: bytes) -> bytes:
    """Damages one member's content but rebuilds a valid archive, so the XML parsers see the damage."""
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        members = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    except Exception:  # the archive is already broken: damage it some other way
        return data[: len(data) // 2]
    index = rng.randrange(len(members))
    member_name, content = members[index]
    out = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        if out:
            at = rng.randrange(len(out))
            out[at : at + 1] = rng.choice([b"<", b">", b"&", b'"', b"\x00", b"<w:p>", b"</w:t>", b"\xc3", b""])
    members[index] = (member_name, bytes(out))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, body in members:
            archive.writestr(member, body)
    return buffer.getvalue()


def _patch_zip_sizes(rng: random.Random, data: bytes) -> bytes:
    """Lies about a member's sizes or method in the central directory."""
    offsets = [m.start() for m in re.finditer(re.escape(struct.pack("<I", 0x02014B50)), data)]
    if not offsets:
        return data
    at = rng.choice(offsets)
    field, width = rng.choice([(10, 2), (20, 4), (24, 4), (16, 4)])  # method, compressed, inflated size, CRC
    value = rng.choice([0, 1, 0xFFFF, 0xFFFFFFFF, rng.randrange(1 << 31)]) & ((1 << (8 * width)) - 1)
    packed = value.to_bytes(width, "little")
    return data[: at + field] + packed + data[at + field + width :]


def _mutate_pdf_number(rng: random.Random, data: bytes) -> bytes:
    """Changes one number in the PDF (a length, a count, an offset, an object number)."""
    numbers = list(re.finditer(rb"\d+", data))
    if not numbers:
        return data
    match = rng.choice(numbers)
    value = rng.choice([b"0", b"-1", b"99999999999", b"2147483648", b"1e308", str(rng.randrange(10**6)).encode()])
    return data[: match.start()] + value + data[match.end() :]
