"""Regenerate the ``.eml`` test corpus: ``python tests/data/eml/make_corpus.py``.

Every message is spelled out here as exact bytes: bodies are encoded with the charset the
test needs (which is not always the one the message declares), headers are ASCII unless a
line is given as ``bytes`` on purpose (raw 8-bit headers), and every line ends in CRLF as
on the wire.  The only non-CRLF file is the truncated one, which stops mid-line.

The messages are invented; addresses use ``exempel.se`` (the municipality) and the reserved
``example``/``.example`` names for everybody else.
"""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- helpers


def crlf(data: bytes) -> bytes:
    """Every line break as CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def lines(*parts: str) -> str:
    """Text lines joined with newlines, ending in a newline."""
    return "\n".join(parts) + "\n"


def hdr(*header_lines: str | bytes) -> bytes:
    """Header lines; ``str`` lines must be ASCII, ``bytes`` lines are written as they are."""
    out = []
    for line in header_lines:
        out.append(line.encode("ascii") if isinstance(line, str) else line)
    return b"\r\n".join(out) + b"\r\n"


def text(body: str, charset: str) -> bytes:
    """The body as bytes in ``charset`` with CRLF line breaks (for 8bit/7bit parts)."""
    return crlf(body.encode(charset))


def qp(data: bytes) -> bytes:
    """Quoted-printable of text bytes (line breaks stay line breaks), CRLF."""
    return crlf(quopri.encodestring(data.replace(b"\r\n", b"\n")))


def b64(data: bytes) -> bytes:
    """Base64 in 76-character lines, CRLF."""
    return crlf(base64.encodebytes(data))


def q(value: str, charset: str, label: str | None = None) -> str:
    """An RFC 2047 Q encoded word (conservative: safe inside a display name too)."""
    out = []
    for byte in value.encode(charset):
        char = chr(byte)
        if byte == 0x20:
            out.append("_")
        elif char.isascii() and (char.isalnum() or char in "!*+-/"):
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return f"=?{label or charset}?Q?{''.join(out)}?="


def b(value: str, charset: str, label: str | None = None) -> str:
    """An RFC 2047 B encoded word."""
    encoded = base64.b64encode(value.encode(charset)).decode("ascii")
    return f"=?{label or charset}?B?{encoded}?="


def part(headers: bytes, body: bytes) -> bytes:
    return headers + b"\r\n" + body


def multipart(boundary: str, parts: list[bytes], *, close: bool = True) -> bytes:
    out = b""
    for chunk in parts:
        out += b"--" + boundary.encode("ascii") + b"\r\n" + chunk
        if not out.endswith(b"\r\n"):
            out += b"\r\n"
    if close:
        out += b"--" + boundary.encode("ascii") + b"--\r\n"
    return out


# Tiny fake files: right magic numbers, nothing more.
JPEG = (
    bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
    + b"\xff\xdb\x00\x43\x00"
    + bytes(range(64))
    + b"\xff\xd9"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
DOCX = (
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
    + b"\x00" * 16
    + b"[Content_Types].xml"
    + b'<?xml version="1.0"?><Types/>'
    + b"PK\x05\x06"
    + b"\x00" * 18
)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# ----------------------------------------------------------------------------- messages


def utf8_8bit_snorojning() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Snöröjningen på Ängsvägen har inte skett på fyra dagar. Plogbilen kör förbi",
        "vår gata men vänder vid återvinningsstationen. Min mamma som är 84 år kan inte",
        "ta sig till vårdcentralen.",
        "",
        "Kan ni skicka en plogbil i dag?",
        "",
        "Med vänliga hälsningar",
        "Åsa Lindström",
        "Ängsvägen 12, 123 45 Exempelby",
    )
    return part(
        hdr(
            "Return-Path: <asa.lindstrom@example.com>",
            "Received: from mail.example.com (mail.example.com [192.0.2.10])",
            "\tby mx1.exempel.se (Postfix) with ESMTPS id 4TDq2L0x1Zz9sWQ",
            "\tfor <kontaktcenter@exempel.se>; Mon, 15 Jan 2024 07:48:02 +0100 (CET)",
            f"From: {q('Åsa Lindström', 'utf-8', 'UTF-8')} <Asa.Lindstrom@Example.com>",
            "To: kontaktcenter@exempel.se",
            f"Subject: {q('Snöröjningen på Ängsvägen', 'utf-8', 'UTF-8')}",
            "Date: Mon, 15 Jan 2024 07:47:55 +0100",
            "Message-ID: <20240115064755.GA4711@example.com>",
            "User-Agent: Mutt/2.2.12 (2023-09-09)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Disposition: inline",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def utf8_qp_hemtjanst() -> bytes:
    body = lines(
        "Hej,",
        "",
        "Min far, Gunnar Håkansson, har beviljats hemtjänst tre gånger om dagen. I söndags "
        "kom ingen personal alls på förmiddagen, och han fick vänta på sina mediciner till "
        "klockan fyra på eftermiddagen. Det är inte första gången det händer.",
        "",
        "Jag vill att ni utreder varför besöket uteblev och att någon ringer mig.",
        "",
        "Karl-Erik Håkansson",
        "070-987 65 43",
    )
    return part(
        hdr(
            f"From: {q('Karl-Erik Håkansson', 'utf-8')} <ke.hakansson@example.net>",
            "Content-Type: text/plain;",
            "\tcharset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))",
            f"Subject: {q('Hemtjänsten kom inte i söndags', 'utf-8')}",
            "Message-Id: <8C1F2E7A-3B5D-4E21-9A0C-6D7E1F2A3B4C@example.net>",
            "Date: Mon, 10 Jun 2024 21:15:03 +0200",
            "To: kontaktcenter@exempel.se",
            "X-Mailer: Apple Mail (2.3774.600.62)",
        ),
        qp(text(body, "utf-8")),
    )


def utf8_base64_skola() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Vår dotter går i årskurs 4 på Björkbackens skola och har blivit utsatt för",
        "kränkningar på rasten sedan höstlovet. Vi har pratat med mentorn två gånger",
        "men ingenting har hänt.",
        "",
        "Vi vill att skolan gör en anmälan till huvudmannen enligt skollagen.",
        "",
        "Leila Öztürk",
    )
    return part(
        hdr(
            "MIME-Version: 1.0",
            "Date: Tue, 5 Nov 2024 16:44:21 +0100",
            "Message-ID: <PAWP195MB2204F1E0A1B2C3D4E5F6@PAWP195MB2204.EURP195.PROD.OUTLOOK.COM>",
            f"Subject: {b('Mobbning på Björkbackens skola – åk 4', 'utf-8', 'utf-8')}",
            f"From: {b('Leila Öztürk', 'utf-8', 'utf-8')} <leila.ozturk@example.org>",
            'To: "kontaktcenter@exempel.se" <kontaktcenter@exempel.se>',
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
        ),
        b64(text(body, "utf-8")),
    )


def latin1_qp_bibliotek() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Jag har fått en påminnelse om att jag har två försenade böcker, men jag",
        "lämnade tillbaka båda i bokinkastet på Stadsbiblioteket den 28 februari.",
        "Jag tänker inte betala förseningsavgiften.",
        "",
        "Ingrid Söderberg",
        "Lånekort 2001 4711",
    )
    return part(
        hdr(
            "Message-ID: <65E3244F.2090608@example.com>",
            "Date: Sat, 02 Mar 2024 14:05:11 +0100",
            f"From: {q('Ingrid Söderberg', 'iso-8859-1', 'iso-8859-1')} "
            "<ingrid.soderberg@example.com>",
            "User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; sv-SE; rv:1.8.1.23) "
            "Gecko/20090812 Thunderbird/2.0.0.23",
            "MIME-Version: 1.0",
            "To: Biblioteket <biblioteket@exempel.se>",
            f"Subject: Sv: {q('Påminnelse om försenat lån', 'iso-8859-1', 'ISO-8859-1')}",
            "In-Reply-To: 20240302.0815.4411@bibliotek.exempel.se",
            'Content-Type: text/plain; charset="iso-8859-1"; format=flowed',
            "Content-Transfer-Encoding: quoted-printable",
        ),
        qp(text(body, "iso-8859-1")),
    )


def latin9_8bit_parkering() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Jag är på besök från Mariehamn och parkerade vid färjeterminalen i lördags.",
        "Jag betalade 12 € med kort i parkeringsautomaten men fick ändå en",
        "kontrollavgift. Kvittot har jag kvar.",
        "",
        "Hälsningar",
        "Mikael Sjöblom",
    )
    return part(
        hdr(
            "From: Mikael Sjoblom <mikael.sjoblom@aland.example>",
            "To: parkering@exempel.se",
            f"Subject: {q('Kontrollavgift trots betalning (12 €)', 'iso-8859-15', 'ISO-8859-15')}",
            "Date: Mon, 19 Aug 2024 09:30:00 +0300",
            "Message-ID: <20240819063000.7F3A1C2B@aland.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=ISO-8859-15",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "iso-8859-15"),
    )


def cp1252_smart_quotes_parkering() -> bytes:
    body = lines(
        "Hej,",
        "",
        "Parkeringsvakten skrev “felparkering” på min bil trots att skylten säger att",
        "parkering är tillåten 8–18 på vardagar. Min bil har tyska skyltar men jag",
        "betalade 3 € i parkeringsappen – kvittot bifogas gärna.",
        "",
        "Det känns som att ’utländska’ bilar får böter oftare.",
        "",
        "Med vänlig hälsning",
        "Per Jönsson",
    )
    return part(
        hdr(
            f"From: {q('Jönsson, Per', 'cp1252', 'Windows-1252')} <per.jonsson@foretag.example>",
            'To: "parkering@exempel.se" <parkering@exempel.se>',
            "Subject: "
            + q("SV: Felparkeringsavgift – ärende P-2024-1187", "cp1252", "Windows-1252"),
            "Thread-Topic: Felparkeringsavgift - P-2024-1187",
            "Thread-Index: AdqtJ3Y0m8hN2pQ1S0m3Yq0vYk9b5A==",
            "Date: Thu, 23 May 2024 16:02:37 +0000",
            "Message-ID:",
            " <AM0PR07MB6178A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6@AM0PR07MB6178.eurprd07.prod.outlook.com>",
            "In-Reply-To: <P-2024-1187.1@parkering.exempel.se>",
            "References: <P-2024-1187.1@parkering.exempel.se>",
            "Accept-Language: sv-SE, en-US",
            "Content-Language: sv-SE",
            "X-MS-Has-Attach:",
            "X-MS-TNEF-Correlator:",
            'Content-Type: text/plain; charset="Windows-1252"',
            "Content-Transfer-Encoding: quoted-printable",
            "MIME-Version: 1.0",
        ),
        qp(text(body, "cp1252")),
    )


def utf8_declared_latin1_avfall() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Sophämtningen har uteblivit två veckor i rad på Björkvägen. Kärlet för",
        "matavfall är överfullt och det luktar illa på hela gården.",
        "",
        "/Jonas Ek, Björkvägen 3",
    )
    return part(
        hdr(
            "From: Jonas Ek <jonas.ek@example.org>",
            "To: avfall@exempel.se",
            # UTF-8 bytes inside an encoded word that claims to be Latin-1.
            "Subject: =?iso-8859-1?q?Soph=C3=A4mtning_uteblev?=",
            "Date: Wed, 14 Feb 2024 08:15:00 +0100",
            "Message-ID: <1707894900.318224@webmail.example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: 8bit",
            "X-Mailer: Roundcube Webmail/1.4.15",
        ),
        text(body, "utf-8"),
    )


def latin1_declared_ascii_bibliotek() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Varför är biblioteket i Älvsby stängt på lördagar? Jag arbetar måndag",
        "till fredag och kan bara låna böcker på helgen.",
        "",
        "Bengt Öhman",
    )
    return part(
        hdr(
            "From: bengt.ohman@example.net (Bengt Ohman)",
            "To: biblioteket@exempel.se",
            "Subject: Oppettider biblioteket i Alvsby",
            "Date: Fri, 12 Apr 2024 18:40:02 +0200",
            "Message-Id: <200404121840.i3CGe2x01234@example.net>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "iso-8859-1"),
    )


def latin1_declared_utf8_skola() -> bytes:
    body = lines(
        "Hej,",
        "",
        "Maten i skolmatsalen på Ekbackens skola är ofta kall och portionerna räcker",
        "inte till eleverna i årskurs 9. Flera föräldrar har märkt att barnen kommer",
        "hem hungriga.",
        "",
        "Annika Strömberg, förälder",
    )
    return part(
        hdr(
            'From: "Annika Stromberg" <annika.stromberg@example.com>',
            "To: skola@exempel.se",
            "Subject: Skolmaten pa Ekbacken",
            "Date: Tue, 17 Sep 2024 07:05:44 +0200",
            "Message-ID: <20240917050544.3C2B1A@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "iso-8859-1"),
    )


def no_charset_utf8_belysning() -> bytes:
    body = lines(
        "Gatlyktorna på Åkervägen har varit släckta sedan i måndags. Det är",
        "beckmörkt när barnen går till skolan på morgonen.",
        "",
        "Lars Nordström",
    )
    return part(
        hdr(
            "From: Lars Nordstrom <lars@nordstrom.example>",
            "To: kontaktcenter@exempel.se",
            "Subject: Gatubelysning Akervagen",
            "Date: Thu, 28 Nov 2024 06:58:10 +0100",
            "Message-ID: <Z0gGcvLq9m2x@nordstrom.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def no_mime_latin1_halka() -> bytes:
    body = lines(
        "Trottoaren utanför vårdcentralen på Östra Kyrkogatan är spegelblank.",
        "Två äldre personer har halkat där i dag. Sanda!",
        "",
        "Gunilla",
    )
    return part(
        hdr(
            "From: gunilla.berglund@example.net",
            "To: kontaktcenter@exempel.se",
            "Subject: Halka",
            "Date: Thu, 8 Feb 2024 11:20:00 +0100",
            "Message-Id: <E1rY2pQ-0004aB-7K@example.net>",
        ),
        text(body, "iso-8859-1"),
    )


def unknown_charset_hemtjanst() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Matlådorna från hemtjänsten levereras numera efter klockan två, och då har",
        "min man redan hoppat över lunchen. Kan leveranserna komma före tolv igen?",
        "",
        "Märta Lundqvist",
    )
    return part(
        hdr(
            "From: Marta Lundqvist <marta.lundqvist@example.org>",
            "To: kontaktcenter@exempel.se",
            "Subject: Matleveranser hemtjansten",
            "Date: Mon, 22 Apr 2024 10:10:10 +0200",
            "Message-ID: <a1b2c3d4.5e6f@example.org>",
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="x-mac-nordic-typo"',
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def rfc2047_headers_cykelbana() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Cykelbanan längs ån har inte plogats på hela veckan och jag har sett flera",
        "cyklister välta vid bron. Jag skriver för hela föreningen.",
        "",
        "Anna Berg",
        "Ordförande, BRF Sjöutsikten nr 3",
    )
    return part(
        hdr(
            "From: =?utf-8?q?Berg=2C_Anna?= <anna.berg@example.com>",
            "To: kontaktcenter@exempel.se",
            f"Cc: {b('Östen Ågren', 'iso-8859-1', 'ISO-8859-1')} <osten.agren@example.com>,",
            f" {q('Berg, Lars', 'utf-8')} <lars.berg@example.com>",
            # Three adjacent encoded words: the whitespace between them is not text.
            "Subject: =?utf-8?q?Klagom=C3=A5l_p=C3=A5?= =?utf-8?q?_sn=C3=B6r=C3=B6jningen?=",
            f" {b(' – cykelbanan längs ån', 'utf-8', 'UTF-8')}",
            # Plain text around an encoded word: that whitespace is text.
            "Organization: BRF =?utf-8?q?Sj=C3=B6utsikten?= nr 3",
            "Date: Wed, 24 Jan 2024 20:31:07 +0100",
            "Message-ID: <d4f1e2c3-0b9a-4c8d-9e7f-6a5b4c3d2e1f@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: quoted-printable",
            "User-Agent: Mozilla Thunderbird",
        ),
        qp(text(body, "utf-8")),
    )


def raw_8bit_headers_latin1() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Varför får vi som bor vid Östra torget inte parkera utanför vår egen port",
        "under julmarknaden? Vi har boendeparkering och betalar för den.",
        "",
        "Göran Åkesson",
    )
    return part(
        hdr(
            "Message-ID: <000a01db4671$5c2e1f40$148a5dc0@GORANPC>",
            "From: Göran Åkesson <goran.akesson@example.net>".encode("iso-8859-1"),
            "To: <parkering@exempel.se>",
            "Subject: Parkeringsförbud på Östra torget under julmarknaden".encode("iso-8859-1"),
            "Date: Wed, 4 Dec 2024 19:22:10 +0100",
            "MIME-Version: 1.0",
            "Content-Type: text/plain;",
            '\tcharset="iso-8859-1"',
            "Content-Transfer-Encoding: 8bit",
            "X-Priority: 3",
            "X-Mailer: Microsoft Outlook Express 6.00.2900.5931",
        ),
        text(body, "iso-8859-1"),
    )


def raw_8bit_headers_utf8() -> bytes:
    body = lines(
        "Hej,",
        "",
        "Jag beställde hämtning av grovavfall för tre veckor sedan. Soffan och",
        "kylskåpet står fortfarande vid soprummet på Lärkgatan 9.",
        "",
        "Zeynep Çelik",
    )
    return part(
        hdr(
            "From: Zeynep Çelik <zeynep.celik@example.org>".encode(),
            "To: Kontaktcenter Exempel kommun <kontaktcenter@exempel.se>",
            "Subject: Hämtning av grovavfall – när kommer ni?".encode(),
            "Date: Tue, 8 Oct 2024 13:13:13 +0200",
            "Message-ID: <7d1c0b9a8e7f6d5c4b3a2918@webmail.example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
            "User-Agent: SquirrelMail/1.4.22",
        ),
        text(body, "utf-8"),
    )


HTML_BIBLIOTEK = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style type="text/css">p { color: #333333; font-family: Calibri; } .dold { display:none }</style>
<script type="text/javascript">document.write("SKRIPTTEXT");</script>
</head>
<body>
<p>Hej Kontaktcenter,</p>
<p>Jag vill l&auml;mna synpunkter p&aring; biblioteket i Ekbacken:</p>
<ul>
<li>&Ouml;ppettiderna &auml;r f&ouml;r korta</li>
<li>Datorerna i l&auml;sesalen &auml;r trasiga</li>
<li>Toaletten &auml;r l&aring;st</li>
</ul>
<table border="1">
<tr><th>Dag</th><th>&Ouml;ppet</th></tr>
<tr><td>M&aring;ndag</td><td>10&ndash;16</td></tr>
<tr><td>L&ouml;rdag</td><td>st&auml;ngt</td></tr>
</table>
<p>Barn &amp; unga beh&ouml;ver en plats att vara p&aring;.<br>Tack p&aring; f&ouml;rhand!</p>
<p>Med vänlig hälsning<br>Sofia Wästberg</p>
<script>alert('SKRIPT2');</script>
</body></html>
"""


def html_only_bibliotek() -> bytes:
    return part(
        hdr(
            "From: Sofia Wastberg <sofia.wastberg@example.com>",
            "To: kontaktcenter@exempel.se",
            f"Subject: {q('Synpunkter på biblioteket i Ekbacken', 'utf-8')}",
            "Date: Sat, 16 Mar 2024 11:02:45 +0100",
            "Message-ID: <DB9PR10MB5F1A2B3C4D5E6F@DB9PR10MB.EURPRD10.PROD.OUTLOOK.COM>",
            "MIME-Version: 1.0",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ),
        qp(text(HTML_BIBLIOTEK, "utf-8")),
    )


def alternative_plain_wins_bygglov() -> bytes:
    plain = lines(
        "Hej!",
        "",
        "Min bygglovsansökan för en *carport* på Granvägen 7 har legat hos er i tolv",
        "veckor utan beslut. Enligt plan- och bygglagen ska ni ha beslutat inom tio.",
        "",
        "Vänliga hälsningar",
        "Tomas Ångström",
    )
    html = (
        '<div dir="ltr"><div>Hej!</div><div><br></div><div>Min bygglovsansökan för en '
        "<b>carport</b> på Granvägen 7 har legat hos er i tolv veckor utan beslut. Enligt "
        "plan- och bygglagen ska ni ha beslutat inom tio.</div><div><br></div>"
        "<div>Vänliga hälsningar</div><div>Tomas Ångström</div></div>\n"
    )
    boundary = "000000000000a1b2c3d4e5f60718"
    return part(
        hdr(
            "MIME-Version: 1.0",
            "Date: Mon, 8 Apr 2024 09:41:17 +0200",
            "Message-ID: <CAJx8r+Q1w2E3r4T5y6U7i8O9p0A-bygglov@mail.gmail.com>",
            f"Subject: {q('Bygglovsansökan Granvägen 7 – dröjsmål', 'utf-8', 'UTF-8')}",
            f"From: {q('Tomas Ångström', 'utf-8', 'UTF-8')} <tomas.angstrom@example.com>",
            "To: bygglov@exempel.se",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        'Content-Type: text/plain; charset="UTF-8"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(plain, "utf-8")),
                ),
                part(
                    hdr(
                        'Content-Type: text/html; charset="UTF-8"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(html, "utf-8")),
                ),
            ],
        ),
    )


def mixed_pdf_jpeg_avfall() -> bytes:
    boundary = "Apple-Mail-4F2C1D7E-8A9B-4C3D-9E1F-0A1B2C3D4E5F"
    first = lines(
        "Hej!",
        "",
        "Vi har fått en faktura för sophämtning varannan vecka, men kärlet har inte",
        "tömts sedan januari. Bilden visar hur det ser ut i dag. Fakturan bifogas.",
    )
    last = lines("", "Skickat från min iPhone")
    return part(
        hdr(
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
            "Content-Transfer-Encoding: 7bit",
            f"From: {q('Hanna Lindqvist', 'utf-8')} <hanna.lindqvist@example.com>",
            "Mime-Version: 1.0 (1.0)",
            "Date: Thu, 21 Mar 2024 17:48:03 +0100",
            f"Subject: {q('Faktura för sophämtning – kärlet töms inte', 'utf-8')}",
            "Message-Id: <5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9@example.com>",
            "To: avfall@exempel.se",
            "X-Mailer: iPhone Mail (21D61)",
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        "Content-Type: text/plain; charset=utf-8",
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(first, "utf-8")),
                ),
                part(
                    hdr(
                        "Content-Type: image/jpeg; name=IMG_4711.jpeg",
                        "Content-Disposition: inline; filename=IMG_4711.jpeg",
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(JPEG),
                ),
                part(
                    hdr(
                        'Content-Type: application/pdf; name="Faktura avfall mars.pdf"',
                        'Content-Disposition: attachment; filename="Faktura avfall mars.pdf"',
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(PDF),
                ),
                part(
                    hdr(
                        "Content-Type: text/plain; charset=utf-8",
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(last, "utf-8")),
                ),
            ],
        ),
    )


def mixed_docx_rfc2231_detaljplan() -> bytes:
    boundary = "------------7aQ0bWk3ZrH1sN4y2xL9vC5e"
    body = lines(
        "Hej,",
        "",
        "Här kommer föreningens synpunkter på samrådsförslaget för detaljplanen för",
        "Norra ängen, samt vårt förslag till åtgärd för dagvattnet.",
        "",
        "Eva Holmqvist",
        "Sekreterare, Norra ängens villaägarförening",
    )
    return part(
        hdr(
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
            "Message-ID: <7c9e1a2b-3d4f-5a6b-8c9d-0e1f2a3b4c5d@example.org>",
            "Date: Fri, 31 May 2024 22:14:09 +0200",
            "MIME-Version: 1.0",
            "User-Agent: Mozilla Thunderbird",
            "Content-Language: sv-SE",
            "To: bygglov@exempel.se",
            "From: Eva Holmqvist <eva.holmqvist@example.org>",
            f"Subject: {q('Samrådsyttrande detaljplan Norra ängen', 'utf-8', 'UTF-8')}",
        ),
        b"This is a multi-part message in MIME format.\r\n"
        + multipart(
            boundary,
            [
                part(
                    hdr(
                        "Content-Type: text/plain; charset=UTF-8; format=flowed",
                        "Content-Transfer-Encoding: 8bit",
                    ),
                    text(body, "utf-8"),
                ),
                part(
                    hdr(
                        f"Content-Type: {DOCX_TYPE};",
                        " name*0*=utf-8''Synpunkter%20p%C3%A5%20detaljplan%20f%C3%B6r;",
                        " name*1*=%20Norra%20%C3%A4ngen.docx",
                        "Content-Disposition: attachment;",
                        " filename*0*=utf-8''Synpunkter%20p%C3%A5%20detaljplan%20f%C3%B6r;",
                        " filename*1*=%20Norra%20%C3%A4ngen.docx",
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(DOCX),
                ),
                part(
                    hdr(
                        "Content-Type: application/pdf;",
                        " name*=utf-8''f%C3%B6rslag%20till%20%C3%A5tg%C3%A4rd.pdf",
                        "Content-Disposition: attachment;",
                        " filename*=utf-8''f%C3%B6rslag%20till%20%C3%A5tg%C3%A4rd.pdf",
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(PDF),
                ),
            ],
        ),
    )


def rfc2047_filename_bygglov() -> bytes:
    boundary = "_004_VI1PR0702MB3487ABCDEF0123456789VI1PR0702MB3487eurp_"
    body = lines(
        "Hej,",
        "",
        "Bifogar kompletteringen till bygglovsansökan för garaget på Östergården:",
        "ritningen och fasadritningen mot söder.",
        "",
        "Mvh",
        "Olof Bäckström",
    )
    ritning = q("Ritning garage Östergården.pdf", "iso-8859-1", "iso-8859-1")
    fasad = b("Fasadritning söder.png", "utf-8", "utf-8")
    return part(
        hdr(
            f"From: {q('Bäckström, Olof', 'iso-8859-1', 'iso-8859-1')} <olof@backstrom.example>",
            'To: "bygglov@exempel.se" <bygglov@exempel.se>',
            f"Subject: {q('Komplettering bygglov Östergården 1:4', 'iso-8859-1', 'iso-8859-1')}",
            "Date: Tue, 14 May 2024 08:03:00 +0000",
            "Message-ID: <VI1PR0702MB3487ABCDEF0123456789@VI1PR0702MB3487.eurprd07.prod.outlook.com>",
            "Content-Language: sv-SE",
            "X-MS-Has-Attach: yes",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
            "MIME-Version: 1.0",
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        'Content-Type: text/plain; charset="iso-8859-1"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(body, "iso-8859-1")),
                ),
                part(
                    hdr(
                        f'Content-Type: application/pdf; name="{ritning}"',
                        f"Content-Description: {ritning}",
                        f'Content-Disposition: attachment; filename="{ritning}"; size={len(PDF)};',
                        '\tcreation-date="Tue, 14 May 2024 08:02:10 GMT";',
                        '\tmodification-date="Tue, 14 May 2024 08:02:10 GMT"',
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(PDF),
                ),
                part(
                    # Only the Content-Type names this one; there is no Content-Disposition.
                    hdr(
                        f'Content-Type: image/png; name="{fasad}"',
                        "Content-Transfer-Encoding: base64",
                    ),
                    b64(PNG),
                ),
            ],
        ),
    )


def forwarded_rfc822_hemtjanst() -> bytes:
    boundary = "_002_DB7PR02MB4F0A9E8D7C6B5A4DB7PR02MB4F0Aeurp_"
    outer = lines(
        "Hej Kontaktcenter,",
        "",
        "Det här kom till fel brevlåda hos oss på socialtjänsten. Kan ni registrera",
        "det som ett klagomål och skicka det vidare till hemtjänsten i Norrby?",
        "",
        "Lena Fransson",
        "Socialtjänsten, Exempel kommun",
    )
    inner_body = lines(
        "Hej,",
        "",
        "Personalen från hemtjänsten i Norrby stannar bara fem minuter hos min mor",
        "och hinner inte hjälpa henne med duschen.",
        "",
        "Sven Olofsson",
    )
    inner = part(
        hdr(
            "From: Sven Olofsson <sven.olofsson@example.com>",
            "To: socialtjansten@exempel.se",
            f"Subject: {q('Klagomål på hemtjänsten i Norrby', 'utf-8')}",
            "Date: Mon, 29 Jan 2024 10:00:00 +0100",
            "Message-ID: <20240129090000.ABCD1234@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(inner_body, "utf-8"),
    )
    return part(
        hdr(
            "From: Lena Fransson <Lena.Fransson@exempel.se>",
            "To: Kontaktcenter <kontaktcenter@exempel.se>",
            f"Subject: VB: {q('Klagomål på hemtjänsten i Norrby', 'iso-8859-1', 'iso-8859-1')}",
            "Date: Mon, 29 Jan 2024 13:37:12 +0000",
            "Message-ID: <DB7PR02MB4F0A9E8D7C6B5A4@DB7PR02MB4F0A.eurprd02.prod.outlook.com>",
            "Content-Language: sv-SE",
            "X-MS-Has-Attach: yes",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
            "MIME-Version: 1.0",
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        'Content-Type: text/plain; charset="iso-8859-1"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(outer, "iso-8859-1")),
                ),
                part(
                    hdr(
                        "Content-Type: message/rfc822",
                        'Content-Disposition: attachment; filename="klagomal-hemtjanst.eml"',
                    ),
                    inner,
                ),
            ],
        ),
    )


def exchange_out_of_office() -> bytes:
    boundary = "_000_b7c1e2f0a9d84c3e8f1a2b3c4d5e6f70foretagetexample_"
    plain = lines(
        "Hej!",
        "",
        "Jag är tjänstledig till och med den 2 april och läser inte min e-post.",
        "Vid brådskande ärenden, kontakta växeln på 010-123 45 67.",
        "",
        "Erik Sjöström",
    )
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; '
        'charset=iso-8859-1"></head><body><p>Hej!</p><p>Jag &auml;r tj&auml;nstledig till '
        "och med den 2 april och l&auml;ser inte min e-post.</p></body></html>\n"
    )
    return part(
        hdr(
            f"From: {q('Sjöström, Erik', 'iso-8859-1', 'iso-8859-1')}"
            " <Erik.Sjostrom@foretaget.example>",
            "To: Kontaktcenter <kontaktcenter@exempel.se>",
            "Subject: Automatiskt svar: "
            + q("Ärende KC-2024-0113 - snöröjning", "iso-8859-1", "iso-8859-1"),
            f"Thread-Topic: {q('Ärende KC-2024-0113 - snöröjning', 'iso-8859-1', 'iso-8859-1')}",
            "Thread-Index: AQHaU2vN1ZmJ0ZqKQkWc8J2lX3hEQrDwKpXA",
            "Date: Sun, 31 Mar 2024 01:30:12 +0000",
            "Message-ID: <b7c1e2f0a9d84c3e8f1a2b3c4d5e6f70@foretaget.example>",
            "In-Reply-To: <KC-2024-0113.1@kontaktcenter.exempel.se>",
            "References: <KC-2024-0113.1@kontaktcenter.exempel.se>",
            "Auto-Submitted: auto-replied",
            "X-Auto-Response-Suppress: All",
            "X-MS-Exchange-Inbox-Rules-Loop: Erik.Sjostrom@foretaget.example",
            "Content-Language: sv-SE",
            "X-MS-Has-Attach:",
            "X-MS-TNEF-Correlator:",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        'Content-Type: text/plain; charset="iso-8859-1"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(plain, "iso-8859-1")),
                ),
                part(
                    hdr(
                        'Content-Type: text/html; charset="iso-8859-1"',
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(html, "iso-8859-1")),
                ),
            ],
        ),
    )


def sieve_vacation() -> bytes:
    body = lines(
        "Hej! Jag är bortrest till den 4 november och har begränsad tillgång till",
        "e-post. Ditt meddelande läses när jag kommer hem.",
        "",
        "/Birgitta",
    )
    return part(
        hdr(
            "Return-Path: <>",
            "Message-ID: <dovecot-sieve-1729992600-123456-0@mail.nystrom.example>",
            "Date: Sun, 27 Oct 2024 01:30:00 +0000",
            "X-Sieve: Pigeonhole Sieve 0.5.21 (f6cd4b8e)",
            "From: Birgitta =?utf-8?q?Nystr=C3=B6m?= <birgitta@nystrom.example>",
            "To: <kontaktcenter@exempel.se>",
            "Subject: =?utf-8?q?Fr=C3=A5nvarande=3A_Re=3A_Ditt_=C3=A4rende_om_hemtj=C3=A4nsten?=",
            "In-Reply-To: <KC-2024-2207.2@kontaktcenter.exempel.se>",
            "References: <KC-2024-2207.1@kontaktcenter.exempel.se>",
            " <KC-2024-2207.2@kontaktcenter.exempel.se>",
            "Auto-Submitted: auto-replied (vacation)",
            "Precedence: bulk",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def dsn_bounce() -> bytes:
    boundary = "4TDq9X2Lk3z9sX1.1708419835/mx1.exempel.se"
    notification = lines(
        "Det här är e-postsystemet på mx1.exempel.se.",
        "",
        "Ditt meddelande kunde tyvärr inte levereras till en eller flera mottagare.",
        "Felmeddelandet från mottagarens server finns nedan.",
        "",
        "                   E-postsystemet",
        "",
        "<per.svensson@gammal-doman.example>: host mx.gammal-doman.example[198.51.100.7]",
        "    said: 550 5.1.1 <per.svensson@gammal-doman.example>: Recipient address",
        "    rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
    )
    status = lines(
        "Reporting-MTA: dns; mx1.exempel.se",
        "X-Postfix-Queue-ID: 4TDq9X2Lk3z9sX1",
        "X-Postfix-Sender: rfc822; kontaktcenter@exempel.se",
        "Arrival-Date: Tue, 20 Feb 2024 10:03:52 +0100 (CET)",
        "",
        "Final-Recipient: rfc822; per.svensson@gammal-doman.example",
        "Original-Recipient: rfc822;per.svensson@gammal-doman.example",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.gammal-doman.example",
        "Diagnostic-Code: smtp; 550 5.1.1 <per.svensson@gammal-doman.example>: Recipient",
        "    address rejected: User unknown in virtual mailbox table",
    )
    original = lines(
        "Return-Path: <kontaktcenter@exempel.se>",
        "From: Kontaktcenter <kontaktcenter@exempel.se>",
        "To: per.svensson@gammal-doman.example",
        "Subject: =?utf-8?q?Ditt_=C3=A4rende_KC-2024-0412?=",
        "Message-ID: <KC-2024-0412.1@kontaktcenter.exempel.se>",
        "Date: Tue, 20 Feb 2024 10:03:50 +0100",
    )
    return part(
        hdr(
            "Return-Path: <>",
            "Received: by mx1.exempel.se (Postfix)",
            "\tid 4TDq9X2Lk3z9sX1; Tue, 20 Feb 2024 10:03:55 +0100 (CET)",
            "Date: Tue, 20 Feb 2024 10:03:55 +0100 (CET)",
            "From: MAILER-DAEMON@mx1.exempel.se (Mail Delivery System)",
            "Subject: Undelivered Mail Returned to Sender",
            "To: kontaktcenter@exempel.se",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            f'\tboundary="{boundary}"',
            "Content-Transfer-Encoding: 8bit",
            "Message-Id: <20240220090355.4TDq9X2Lk3z9sX1@mx1.exempel.se>",
        ),
        b"This is a MIME-encapsulated message.\r\n\r\n"
        + multipart(
            boundary,
            [
                part(
                    hdr(
                        "Content-Description: Notification",
                        "Content-Type: text/plain; charset=utf-8",
                        "Content-Transfer-Encoding: 8bit",
                    ),
                    text(notification, "utf-8"),
                ),
                part(
                    hdr(
                        "Content-Description: Delivery report",
                        "Content-Type: message/delivery-status",
                    ),
                    text(status, "ascii"),
                ),
                part(
                    hdr(
                        "Content-Description: Undelivered Message Headers",
                        "Content-Type: text/rfc822-headers",
                        "Content-Transfer-Encoding: 8bit",
                    ),
                    text(original, "ascii"),
                ),
            ],
        ),
    )


def newsletter() -> bytes:
    boundary = "----=_Part_558213_1442079391.1729989000000"
    plain = lines(
        "NYHETSBREV OKTOBER 2024",
        "",
        "Ny avfallstaxa från den 1 januari: hushåll som sorterar matavfall får lägre avgift.",
        "",
        "Öppet hus på återvinningscentralen lördag den 9 november kl. 10–14.",
        "",
        "Avregistrera dig: https://kommunforbundet.example/avregistrera?id=8f3a2c",
    )
    html = (
        "<html><body><h1>Nyhetsbrev oktober 2024</h1><p>Ny avfallstaxa fr&aring;n den 1 "
        'januari.</p><img src="https://kommunforbundet.example/p.gif?id=8f3a2c" width="1" '
        'height="1" alt=""></body></html>\n'
    )
    return part(
        hdr(
            f"From: {q('Kommunförbundet Väst', 'utf-8')} <nyheter@kommunforbundet.example>",
            "To: kontaktcenter@exempel.se",
            "Subject: "
            + q(
                "Nyhetsbrev oktober: Ny avfallstaxa och öppet hus på återvinningscentralen",
                "utf-8",
            ),
            "Date: Sun, 27 Oct 2024 00:30:00 +0000",
            "Message-ID: <558213.1729989000000.JavaMail.app@utskick.kommunforbundet.example>",
            f"List-Id: {q('Nyheter från Kommunförbundet', 'utf-8')} "
            "<nyheter.kommunforbundet.example>",
            "List-Unsubscribe: <mailto:avregistrera@kommunforbundet.example?subject=8f3a2c>,",
            " <https://kommunforbundet.example/avregistrera?id=8f3a2c>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Precedence: Bulk",
            "X-Campaign: 2024-10",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        "Content-Type: text/plain; charset=UTF-8",
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(plain, "utf-8")),
                ),
                part(
                    hdr(
                        "Content-Type: text/html; charset=UTF-8",
                        "Content-Transfer-Encoding: quoted-printable",
                    ),
                    qp(text(html, "utf-8")),
                ),
            ],
        ),
    )


def reply_threading() -> bytes:
    body = lines(
        "Tack för svaret, men det har fortfarande inte plogats på Ängsvägen.",
        "Nu har det gått en hel vecka.",
        "",
        "Åsa",
        "",
        "Den ons 17 jan. 2024 kl 09:12 skrev Kontaktcenter <kontaktcenter@exempel.se>:",
        "> Hej Åsa! Vi har skickat ditt ärende vidare till gatuenheten.",
    )
    return part(
        hdr(
            "MIME-Version: 1.0",
            "References: <CAHk7p2Zf1V9qL0x3e@mail.gmail.com>",
            " KC-2024-0113.1@kontaktcenter.exempel.se",
            "\t<KC-2024-0113.2@kontaktcenter.exempel.se>",
            "In-Reply-To: <KC-2024-0113.2@kontaktcenter.exempel.se>",
            "From: =?UTF-8?B?w4VzYSBMaW5kc3Ryw7Zt?= <asa.lindstrom@example.com>",
            "Date: Wed, 17 Jan 2024 12:01:09 +0100",
            "Message-ID: <CAHk7p2Zf1V9qL0x3e-svar2@mail.gmail.com>",
            "Subject: Re: " + q("Ditt ärende KC-2024-0113 – snöröjning", "utf-8", "UTF-8"),
            "To: Kontaktcenter <kontaktcenter@exempel.se>",
            'Content-Type: text/plain; charset="UTF-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ),
        qp(text(body, "utf-8")),
    )


def webform_anonymous() -> bytes:
    body = lines(
        "Ärendetyp: Klagomål",
        "Namn:",
        "E-post:",
        "Telefon:",
        "Meddelande: Det ligger glas och skräp överallt vid återvinningsstationen på",
        "Tallbacken. Containrarna för färgat glas har varit fulla i över en vecka.",
        "",
        "Inskickat: 2024-02-01 08:00",
        "Formulär-id: SK-2024-00311",
    )
    return part(
        hdr(
            f"From: {q('E-tjänster Exempel kommun', 'utf-8')} <noreply@e-tjanster.exempel.se>",
            "To: kontaktcenter@exempel.se",
            "Subject: " + q("Nytt ärende från e-tjänst Synpunkter och klagomål", "utf-8"),
            "Date: Thu, 01 Feb 2024 07:00:00 -0000",
            "Message-ID: <SK-2024-00311@e-tjanster.exempel.se>",
            "Auto-Submitted: auto-generated",
            "X-Form-Id: SK-2024-00311",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: quoted-printable",
        ),
        qp(text(body, "utf-8")),
    )


def webform_contact() -> bytes:
    body = lines(
        "Ärendetyp: Synpunkt",
        "Namn: Maria Öberg",
        "E-post: maria.oberg@example.com",
        "Telefon: 070-123 45 67",
        "Meddelande: Det finns bara en parkeringsplats för rörelsehindrade vid",
        "simhallen och den är nästan alltid upptagen. Kan ni göra fler?",
        "",
        "Inskickat: 2024-07-03 14:22",
        "Formulär-id: SK-2024-01877",
    )
    return part(
        hdr(
            f"From: {q('E-tjänster Exempel kommun', 'utf-8')} <noreply@e-tjanster.exempel.se>",
            f"Reply-To: {q('Maria Öberg', 'utf-8')} <maria.oberg@example.com>",
            "To: kontaktcenter@exempel.se",
            "Subject: " + q("Nytt ärende från e-tjänst Synpunkter och klagomål", "utf-8"),
            "Date: Wed, 03 Jul 2024 12:22:31 +0000",
            "Message-ID: <SK-2024-01877@e-tjanster.exempel.se>",
            "Auto-Submitted: auto-generated",
            "X-Form-Id: SK-2024-01877",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def english_parking() -> bytes:
    body = lines(
        "Hello,",
        "",
        "I received a parking fine (kontrollavgift) on Östra Hamngatan on 8 August even",
        "though I had paid for two hours in the app. I am a tourist from Ireland and do",
        "not understand how to appeal. Could you please explain the process in English?",
        "",
        "Kind regards,",
        "John O'Brien",
    )
    return part(
        hdr(
            'From: "John O\'Brien" <john.obrien@example.com>',
            "To: parkering@exempel.se",
            "Subject: " + q("Parking fine on Östra Hamngatan – I paid via the app", "utf-8"),
            "Date: Fri, 9 Aug 2024 14:30:00 GMT",
            "Message-ID: <66b6281e.050a0220.3c1f.4d2a@mx.example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "X-Mailer: PHP/8.1.2",
        ),
        qp(text(body, "utf-8")),
    )


def english_school_html_first() -> bytes:
    boundary = "b1_3f9c2e7a4d5b6c8e9f0a1b2c3d4e5f6a"
    plain = lines(
        "Dear Sir or Madam,",
        "",
        "Our son starts in year 3 at Solbackens skola next week. We do not yet know",
        "which after-school club (fritidshem) he has been given a place in.",
        "",
        "Best regards,",
        "Sarah Miller",
    )
    html = (
        "<html><body><p>Dear Sir or Madam,</p><p>HTML VERSION: Our son starts in year 3 "
        "at Solbackens skola next week.</p></body></html>\n"
    )
    return part(
        hdr(
            "From: Sarah Miller <sarah.miller@example.com>",
            "To: skola@exempel.se",
            "Subject: After-school club place for year 3",
            "Date: Tue, 10 Sep 2024 08:00:00 EDT",
            "Message-ID: <20240910120000.5f6a7b8c@example.com>",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ),
        # The HTML alternative comes first here; the plain text must still win.
        multipart(
            boundary,
            [
                part(
                    hdr("Content-Type: text/html; charset=us-ascii"),
                    text(html, "ascii"),
                ),
                part(
                    hdr("Content-Type: text/plain; charset=us-ascii"),
                    text(plain, "ascii"),
                ),
            ],
        ),
    )


def rfc2047_split_multibyte() -> bytes:
    subject = "Klagomål på parkeringsautomaten vid Sjöängen".encode()
    cut = subject.index("ö".encode()) + 1  # inside the two bytes of "ö"
    first = base64.b64encode(subject[:cut]).decode("ascii")
    second = base64.b64encode(subject[cut:]).decode("ascii")
    body = lines(
        "Parkeringsautomaten vid Sjöängen tar inte kort och visar bara ett felmeddelande.",
        "",
        "Rolf Lindh",
    )
    return part(
        hdr(
            "From: Rolf Lindh <rolf.lindh@example.net>",
            "To: parkering@exempel.se",
            # A careless mailer split the UTF-8 bytes of "ö" over two encoded words.
            f"Subject: =?UTF-8?B?{first}?=",
            f" =?UTF-8?B?{second}?=",
            "Date: Mon, 4 Mar 2024 12:00:00 +0100",
            "Message-ID: <20240304110000.2b3c4d5e@example.net>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
            "X-Mailer: PHP/5.2.17",
        ),
        text(body, "utf-8"),
    )


# ----------------------------------------------------------------------------- broken


def broken_no_closing_boundary() -> bytes:
    boundary = "----=_NextPart_000_0012_01DA5C3E.7F1A2B30"
    body = lines(
        "Hej!",
        "",
        "Bifogar bilder på hålet i vägen utanför Lindgården. Det är minst en meter brett.",
        "",
        "Kerstin Ahl",
    )
    attachment = b64(JPEG)
    return part(
        hdr(
            "From: Kerstin Ahl <kerstin.ahl@example.com>",
            "To: kontaktcenter@exempel.se",
            f"Subject: {q('Hål i vägen vid Lindgården', 'utf-8')}",
            "Date: Tue, 9 Apr 2024 15:45:00 +0200",
            "Message-ID: <000f01da8a8b$1c2d3e40$4f5a6b70@example.com>",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
        ),
        multipart(
            boundary,
            [
                part(
                    hdr(
                        "Content-Type: text/plain; charset=utf-8",
                        "Content-Transfer-Encoding: 8bit",
                    ),
                    text(body, "utf-8"),
                ),
                part(
                    hdr(
                        'Content-Type: image/jpeg; name="hal_i_vagen.jpg"',
                        'Content-Disposition: attachment; filename="hal_i_vagen.jpg"',
                        "Content-Transfer-Encoding: base64",
                    ),
                    attachment,
                ),
            ],
            close=False,
        ),
    )


def broken_no_boundary_param() -> bytes:
    body = lines(
        "Jag vill klaga på bullret från byggarbetsplatsen på Kvarngatan. De börjar",
        "borra klockan sex på morgonen.",
        "",
        "Nils Hedlund",
    )
    return part(
        hdr(
            "From: Nils Hedlund <nils.hedlund@example.org>",
            "To: bygglov@exempel.se",
            f"Subject: {q('Buller från bygget på Kvarngatan', 'utf-8')}",
            "Date: Wed, 5 Jun 2024 06:12:00 +0200",
            "Message-ID: <20240605041200.77aa@example.org>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed",
        ),
        b"--Boundary_(ID_x9Yq2Lr7)\r\n"
        + part(
            hdr("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"),
            text(body, "utf-8"),
        )
        + b"--Boundary_(ID_x9Yq2Lr7)--\r\n",
    )


def broken_invalid_base64() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Skolskjutsen till Västerbyskolan har varit försenad varje morgon den här",
        "veckan. Barnen står och fryser vid hållplatsen i en halvtimme.",
        "",
        "Ulrika Falk",
    )
    encoded = base64.b64encode(text(body, "utf-8")).decode("ascii")
    # Line it up as a mailer would, then damage it: junk characters in the middle and
    # the padding cut off at the end.
    chunks = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    chunks[1] = chunks[1][:30] + "%%##" + chunks[1][30:]
    chunks[-1] = chunks[-1].rstrip("=")
    return part(
        hdr(
            "From: Ulrika Falk <ulrika.falk@example.com>",
            "To: skola@exempel.se",
            f"Subject: {q('Försenad skolskjuts till Västerbyskolan', 'utf-8')}",
            "Date: Fri, 18 Oct 2024 07:31:00 +0200",
            "Message-ID: <20241018053100.4f5e6d@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ),
        ("\r\n".join(chunks) + "\r\n").encode("ascii"),
    )


def broken_truncated_header() -> bytes:
    # A download that stopped in the middle of the header block.
    return (
        hdr(
            "Received: from EX01.foretaget.example (10.1.2.3) by EX02.foretaget.example",
            " (10.1.2.4) with Microsoft SMTP Server id 15.2.1258.12; Mon, 11 Mar 2024",
            " 09:14:03 +0100",
            "From: Britt Svensson <britt.svensson@foretaget.example>",
            "To: kontaktcenter@exempel.se",
            f"Subject: {q('Felaktig faktura för vatten och avlopp', 'iso-8859-1', 'iso-8859-1')}",
            f"Thread-Topic: {q('Felaktig faktura för vatten och avlopp', 'iso-8859-1')}",
        )
        + b"Thread-Ind"
    )


def broken_headers_only() -> bytes:
    return hdr(
        "From: Ove Karlsson <ove.karlsson@example.net>",
        "To: kontaktcenter@exempel.se",
        f"Subject: {q('Soptunnan är trasig', 'utf-8')}",
        "Date: Sat, 20 Jul 2024 10:00:00 +0200",
        "Message-ID: <20240720080000.1a2b@example.net>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    )


def broken_no_separator() -> bytes:
    body = lines(
        "Hej, jag vill klaga på att återvinningscentralen stänger redan klockan 15",
        "på lördagar. Det går inte att hinna dit efter jobbet på vardagar.",
        "Mvh Pia",
    )
    return hdr(
        "From: Pia Sundberg <pia.sundberg@example.org>",
        "To: avfall@exempel.se",
        f"Subject: {q('Öppettider återvinningscentralen', 'utf-8')}",
        "Date: Mon, 16 Sep 2024 19:19:19 +0200",
        "Message-ID: <20240916171919.9f8e@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ) + text(body, "utf-8")


def broken_empty() -> bytes:
    return b""


def broken_date() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Bibliotekets bokbuss har inte kommit till Norrbyn på tre veckor.",
        "",
        "Elsa Grön",
    )
    return part(
        hdr(
            "From: Elsa Gron <elsa.gron@example.com>",
            "To: biblioteket@exempel.se",
            f"Subject: {q('Bokbussen till Norrbyn', 'utf-8')}",
            "Date: igår kl 14".encode(),
            "Message-ID: <20240201.elsa.7@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def broken_no_message_id() -> bytes:
    body = lines(
        "Hej!",
        "",
        "Det har stått en övergiven bil på besöksparkeringen vid Furuvägen 2 sedan",
        "midsommar. Den saknar registreringsskyltar.",
        "",
        "Stig Möller",
    )
    return part(
        hdr(
            "From: Stig Moller <stig.moller@example.net>",
            "To: parkering@exempel.se",
            f"Subject: {q('Övergiven bil på Furuvägen', 'utf-8')}",
            "Date: Thu, 15 Aug 2024 16:20:00 +0200",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def broken_garbage_from() -> bytes:
    body = lines(
        "Elevrådet på Solbackens skola önskar fler papperskorgar på skolgården.",
        "",
        "Skickat via skolportalen",
    )
    return part(
        hdr(
            "Return-Path: <skolportal@skolportal.example>",
            "From: <<<>>>",
            "To: skola@exempel.se",
            f"Subject: {q('Önskemål från elevrådet', 'utf-8')}",
            "Date: Wed, 2 Oct 2024 10:45:00 +0200",
            "Message-ID: <portal-20241002-0045@skolportal.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


LONG_TO = ["kontaktcenter@exempel.se"] + [
    f"registrator@kommun{i:02d}.example" for i in range(1, 80)
]


def broken_long_header() -> bytes:
    body = lines(
        "Härmed översänds remissen om den regionala avfallsplanen för 2025–2030.",
        "Svar önskas senast den 30 september.",
    )
    to_line = "To: " + ", ".join(LONG_TO)
    assert len(to_line) > 2000
    return part(
        hdr(
            f"From: {q('Regionförbundet Avfall', 'utf-8')} <remiss@avfallsregion.example>",
            to_line,
            f"Subject: {q('Remiss: Regional avfallsplan 2025–2030', 'utf-8')}",
            "Date: Mon, 1 Jul 2024 09:00:00 +0200",
            "Message-ID: <remiss-2024-07@avfallsregion.example>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


def broken_nul_bytes() -> bytes:
    body = (
        "Hej!\n\nJag vill anmäla att gatubelysningen på Sjövägen är trasig.\x00\x00\x00\n"
        "\nMvh\x00 Olle Wik\n\x00\x00\x00\x00"
    )
    return part(
        hdr(
            "From: Olle Wik <olle.wik@example.com>",
            "To: kontaktcenter@exempel.se",
            "Subject: Gatubelysning",
            "Date: Sun, 1 Dec 2024 18:00:00 +0100",
            "Message-ID: <20241201170000.0b1c@example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ),
        text(body, "utf-8"),
    )


CORPUS = {
    "01_utf8_8bit_snorojning.eml": utf8_8bit_snorojning,
    "02_utf8_qp_hemtjanst.eml": utf8_qp_hemtjanst,
    "03_utf8_base64_skola.eml": utf8_base64_skola,
    "04_latin1_qp_bibliotek.eml": latin1_qp_bibliotek,
    "05_latin9_8bit_parkering.eml": latin9_8bit_parkering,
    "06_cp1252_smart_quotes_parkering.eml": cp1252_smart_quotes_parkering,
    "07_utf8_declared_latin1_avfall.eml": utf8_declared_latin1_avfall,
    "08_latin1_declared_ascii_bibliotek.eml": latin1_declared_ascii_bibliotek,
    "09_latin1_declared_utf8_skola.eml": latin1_declared_utf8_skola,
    "10_no_charset_utf8_belysning.eml": no_charset_utf8_belysning,
    "11_no_mime_latin1_halka.eml": no_mime_latin1_halka,
    "12_unknown_charset_hemtjanst.eml": unknown_charset_hemtjanst,
    "13_rfc2047_headers_cykelbana.eml": rfc2047_headers_cykelbana,
    "14_raw_8bit_headers_latin1.eml": raw_8bit_headers_latin1,
    "15_raw_8bit_headers_utf8.eml": raw_8bit_headers_utf8,
    "16_html_only_bibliotek.eml": html_only_bibliotek,
    "17_alternative_plain_wins_bygglov.eml": alternative_plain_wins_bygglov,
    "18_mixed_pdf_jpeg_avfall.eml": mixed_pdf_jpeg_avfall,
    "19_mixed_docx_rfc2231_detaljplan.eml": mixed_docx_rfc2231_detaljplan,
    "20_rfc2047_filename_bygglov.eml": rfc2047_filename_bygglov,
    "21_forwarded_rfc822_hemtjanst.eml": forwarded_rfc822_hemtjanst,
    "22_exchange_out_of_office.eml": exchange_out_of_office,
    "23_sieve_vacation.eml": sieve_vacation,
    "24_dsn_bounce.eml": dsn_bounce,
    "25_newsletter.eml": newsletter,
    "26_reply_threading.eml": reply_threading,
    "27_webform_anonymous.eml": webform_anonymous,
    "28_webform_contact.eml": webform_contact,
    "29_english_parking.eml": english_parking,
    "30_english_school_html_first.eml": english_school_html_first,
    "31_rfc2047_split_multibyte.eml": rfc2047_split_multibyte,
    "40_broken_no_closing_boundary.eml": broken_no_closing_boundary,
    "41_broken_no_boundary_param.eml": broken_no_boundary_param,
    "42_broken_invalid_base64.eml": broken_invalid_base64,
    "43_broken_truncated_header.eml": broken_truncated_header,
    "44_broken_headers_only.eml": broken_headers_only,
    "45_broken_no_separator.eml": broken_no_separator,
    "46_broken_empty.eml": broken_empty,
    "47_broken_date.eml": broken_date,
    "48_broken_no_message_id.eml": broken_no_message_id,
    "49_broken_garbage_from.eml": broken_garbage_from,
    "50_broken_long_header.eml": broken_long_header,
    "51_broken_nul_bytes.eml": broken_nul_bytes,
}


def build() -> dict[str, bytes]:
    """Every corpus file name with its exact bytes."""
    return {name: make() for name, make in CORPUS.items()}


def main() -> None:
    for name, data in build().items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
