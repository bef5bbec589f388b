"""Write the demo messages that ``postvakt demo`` delivers into its two Maildir mailboxes.

Run ``python make_messages.py`` to (re)write the ``.eml`` files beside this script, or
``python make_messages.py --check`` to verify that the committed files are exactly what this
script produces (exit status 1 if not).  Only the standard library is used, and the output is
byte-for-byte deterministic: every header, boundary and Message-ID is written out here.

The file name says which mailbox receives the message: ``NN-kontaktcenter-<slug>.eml`` goes to
kontaktcenter@exempel.se and ``NN-anna-<slug>.eml`` to anna.berg@exempel.se.  Every file has
CRLF line endings.  The people, addresses and telephone numbers are invented (the mobile numbers
are from the 070-174 06 xx series that PTS keeps free for fiction).  See README.md for what
Postvakt is expected to do with each message.
"""

from __future__ import annotations

import base64
import quopri
import struct
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- building blocks

_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def encoded_words(
    text: str, charset: str = "utf-8", encoding: str = "Q", *, lower_hex: bool = False
) -> str:
    """``text`` as RFC 2047 encoded words, folded onto continuation lines when long.

    Words are split between characters (never inside a multi-byte sequence) and kept at most
    66 characters long, so a header line stays under 78 characters.
    """
    prefix = f"=?{charset}?{encoding}?"
    budget = 66 - len(prefix) - 2
    words: list[str] = []
    current = ""
    pending = ""
    for char in text:
        candidate = _encode_chunk(pending + char, charset, encoding, lower_hex)
        if pending and len(candidate) > budget:
            words.append(current)
            pending = char
            current = _encode_chunk(pending, charset, encoding, lower_hex)
        else:
            pending += char
            current = candidate
    if pending:
        words.append(current)
    return "\n ".join(f"{prefix}{word}?=" for word in words)


def _encode_chunk(text: str, charset: str, encoding: str, lower_hex: bool) -> str:
    data = text.encode(charset)
    if encoding == "B":
        return base64.b64encode(data).decode("ascii")
    out = []
    for byte in data:
        if byte == 0x20:
            out.append("_")
        elif byte in _Q_SAFE:
            out.append(chr(byte))
        else:
            out.append(f"={byte:02x}" if lower_hex else f"={byte:02X}")
    return "".join(out)


def qp(text: str, charset: str = "utf-8") -> bytes:
    """Quoted-printable body bytes (soft line breaks at 76 characters, as mail clients do)."""
    return quopri.encodestring(text.encode(charset))


def b64(data: bytes) -> bytes:
    """Base64 body bytes in 76-character lines."""
    return base64.encodebytes(data)


def message(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """Headers (ASCII, already folded with "\\n ") and body bytes -> the message, CRLF ends.

    Everything is written with bare LF and every LF becomes CRLF at the end, so no part may
    contain a CR of its own.
    """
    lines = [f"{name}: {value}" for name, value in headers]
    head = "\n".join(lines).encode("ascii")
    raw = head + b"\n\n" + body
    if b"\r" in raw:
        raise ValueError("write messages with LF line ends; CRLF is added at the end")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    return raw.replace(b"\n", b"\r\n")


def lines(*text: str) -> str:
    """One line per argument, LF-separated, with a final line end."""
    return "\n".join(text) + "\n"


def tiny_jpeg(width: int, height: int) -> bytes:
    """A small but complete baseline JPEG: one grey component, every 8x8 block mid-grey.

    Both Huffman tables hold a single one-bit code ``0``: DC category 0 (no change) and AC
    end-of-block, so each block is two zero bits and the scan is all zero bytes.
    """
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    scan = bytes((2 * blocks + 7) // 8)  # two zero bits a block; padding bits of 1 not needed
    if (2 * blocks) % 8:
        scan = scan[:-1] + bytes((0xFF >> ((2 * blocks) % 8),))

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    counts = bytes((1,) + (0,) * 15)
    return b"".join(
        [
            b"\xff\xd8",  # SOI
            segment(0xE0, b"JFIF\x00\x01\x01\x01\x00\x48\x00\x48\x00\x00"),  # APP0, 72 dpi
            segment(0xDB, b"\x00" + bytes((1,) * 64)),  # DQT 0: all ones
            segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),  # SOF0
            segment(0xC4, b"\x00" + counts + b"\x00"),  # DHT DC 0: code 0 -> category 0
            segment(0xC4, b"\x10" + counts + b"\x00"),  # DHT AC 0: code 0 -> end of block
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),  # SOS
            scan,
            b"\xff\xd9",  # EOI
        ]
    )


# --------------------------------------------------------------------------- the messages

KONTAKTCENTER = "kontaktcenter@exempel.se"
ANNA = "anna.berg@exempel.se"


def snorojning() -> bytes:
    """1 and 13: an elderly man's complaint, ISO-8859-1 8-bit body, To kontaktcenter, Cc Anna."""
    body = lines(
        "Hej!",
        "",
        "Jag vill lämna ett klagomål på snöröjningen på Björkvägen i Exempelby.",
        "",
        "Det snöade i torsdags och sedan dess har ingen plogbil varit på vår gata.",
        "Snön ligger en halv meter djup, och när plogbilen körde på Storgatan i",
        "lördags lämnade den en hård snövall precis framför min uppfart.",
        "",
        "Jag är 84 år och går med rollator. Jag har inte kommit ut sedan i torsdags,",
        "inte ens till brevlådan. Hemtjänsten fick pulsa i snön för att ta sig fram",
        "till min dörr i fredags. Om det skulle hända mig något undrar jag hur",
        "ambulansen ska komma fram.",
        "",
        "Förra vintern var det likadant, och då fick jag löfte om att det skulle bli",
        "bättre. Därför skickar jag en kopia till Anna Berg, som jag talade med då.",
        "",
        "Jag vill att ni plogar Björkvägen och tar bort vallarna vid infarterna så",
        "snart som möjligt, och gärna sandar också innan det blir halt.",
        "",
        "Med vänlig hälsning",
        "",
        "Göran Sjöberg",
        "Björkvägen 14",
        "123 45 Exempelby",
        "Tel. 070-174 06 12",
    ).encode("iso-8859-1")
    headers = [
        ("Message-ID", "<5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com>"),
        ("From", f"{encoded_words('Göran Sjöberg', 'iso-8859-1')} <goran.sjoberg@telia.com>"),
        ("To", f"<{KONTAKTCENTER}>"),
        ("Cc", f'"Anna Berg" <{ANNA}>'),
        ("Subject", encoded_words("Snöröjningen på Björkvägen", "iso-8859-1")),
        ("Date", "Mon, 23 Nov 2026 07:41:12 +0100"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain;\n\tcharset="iso-8859-1"'),
        ("Content-Transfer-Encoding", "8bit"),
        ("X-Priority", "3"),
        ("X-MSMail-Priority", "Normal"),
        ("Importance", "Normal"),
        ("X-Mailer", "Microsoft Windows Live Mail 16.4.3528.331"),
        ("X-MimeOLE", "Produced By Microsoft MimeOLE V16.4.3528.331"),
    ]
    return message(headers, body)


def bibliotek() -> bytes:
    """2: a formal opinion about the library's opening hours; Outlook.com, HTML only."""
    html = lines(
        "<html>",
        "<head>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>',
        "</head>",
        '<body dir="ltr">',
        '<div style="font-family: Calibri, Arial, Helvetica, sans-serif; font-size: 12pt; '
        'color: rgb(0, 0, 0);">',
        "<p>Till Kontaktcenter, Exempel kommun</p>",
        "<p>&nbsp;</p>",
        "<p>Jag skriver för att lämna en synpunkt på Stadsbibliotekets öppettider, och jag "
        "hoppas att den kan lämnas vidare till kultur- och fritidsförvaltningen.</p>",
        "<p>&nbsp;</p>",
        "<p>Sedan den 1 september stänger biblioteket redan kl. 17 på vardagar, och på "
        "söndagar är det helt stängt. För oss som arbetar dagtid, och för alla de skolelever "
        "som behöver en lugn plats för sina läxor, blir det i praktiken svårt att besöka "
        "biblioteket över huvud taget. Jag vill därför föreslå</p>",
        "<ul>",
        "<li>att biblioteket har öppet till kl. 20 åtminstone två kvällar i veckan,</li>",
        "<li>att söndagsöppet återinförs under vinterhalvåret, gärna kl. 12–16, och</li>",
        "<li>att kommunen utreder så kallat meröppet, där låntagare med lånekort och "
        "pinkod kan komma in även när biblioteket är obemannat.</li>",
        "</ul>",
        "<p>Jag är medveten om att detta är en fråga om resurser, och jag vill gärna "
        "understryka att personalen gör ett utmärkt arbete under de timmar biblioteket "
        "håller öppet.</p>",
        "<p>&nbsp;</p>",
        "<p>Jag ser fram emot ert svar.</p>",
        "<p>&nbsp;</p>",
        "<p>Med vänliga hälsningar</p>",
        "<p>Ingrid Wallén<br>",
        "Prästgårdsgatan 9<br>",
        "123 46 Exempelby</p>",
        "</div>",
        "</body>",
        "</html>",
    )
    headers = [
        ("From", f"{encoded_words('Ingrid Wallén', encoding='B')} <ingrid.wallen@outlook.com>"),
        ("To", f'"{KONTAKTCENTER}" <{KONTAKTCENTER}>'),
        ("Subject", encoded_words("Synpunkt på Stadsbibliotekets öppettider", encoding="B")),
        ("Thread-Topic", encoded_words("Synpunkt på Stadsbibliotekets öppettider", encoding="B")),
        ("Thread-Index", "AdtZ3kq1c8Rf0m4nSZ6pW2yXbV7gHQ=="),
        ("Date", "Tue, 17 Nov 2026 19:58:03 +0100"),
        (
            "Message-ID",
            "<GV1P189MB2215A3C9D0E4F61B27C8D5E0B1A2C3D4@GV1P189MB2215.EURP189.PROD.OUTLOOK.COM>",
        ),
        ("Accept-Language", "sv-SE, en-US"),
        ("Content-Language", "sv-SE"),
        ("X-MS-Has-Attach", ""),
        ("X-MS-TNEF-Correlator", ""),
        ("Content-Type", 'text/html; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("MIME-Version", "1.0"),
    ]
    return message(headers, qp(html))


def bygglov() -> bytes:
    """3: a plain question about building permits; Thunderbird, UTF-8 8-bit."""
    body = lines(
        "Hej,",
        "",
        "Vi funderar på att bygga ett fristående garage på ungefär 35 kvadratmeter",
        "på vår tomt på Lärkgatan 3 i Exempelby.",
        "",
        "Hur lång handläggningstid har ni för bygglov just nu? Vi skulle vilja börja",
        "bygga i april, så vi undrar när vi senast behöver skicka in ansökan.",
        "",
        "Räcker det med ritningar som vi gör själva, eller måste de vara gjorda av",
        "en arkitekt?",
        "",
        "Tack på förhand!",
        "",
        "Vänliga hälsningar",
        "Johan Nilsson",
    ).encode("utf-8")
    headers = [
        ("Message-ID", "<b7e2c9a4-3f1d-4e8b-a6c5-2d9f0e1b7a43@gmail.com>"),
        ("Date", "Wed, 18 Nov 2026 12:07:55 +0100"),
        ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", "sv-SE"),
        ("To", KONTAKTCENTER),
        ("From", "Johan Nilsson <johan.nilsson.exby@gmail.com>"),
        ("Subject", encoded_words("Fråga om bygglov för garage", "UTF-8", lower_hex=True)),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    return message(headers, body)


def autosvar() -> bytes:
    """4: an Outlook out-of-office reply from a supplier; base64 UTF-8 body."""
    text = lines(
        "Hej,",
        "",
        "Tack för ditt mejl. Jag är tjänstledig till och med den 30 november och läser "
        "inte min e-post under tiden.",
        "",
        "Gäller ditt ärende fakturor eller betalningar, kontakta vår ekonomiavdelning på "
        "ekonomi@nordkontor.se.",
        "",
        "Med vänlig hälsning",
        "Karin Lundqvist",
        "Kundansvarig offentlig sektor",
        "Nordkontor AB",
    )
    headers = [
        ("From", "Karin Lundqvist <karin.lundqvist@nordkontor.se>"),
        ("To", f"Kontaktcenter <{KONTAKTCENTER}>"),
        ("Subject", "Automatiskt svar: Ang. faktura"),
        ("Thread-Topic", "Ang. faktura"),
        ("Thread-Index", "AQHbW3Fq8k2dRm0Yr0uJ6vX1c2pLtQ=="),
        ("Date", "Thu, 19 Nov 2026 09:15:31 +0100"),
        (
            "Message-ID",
            "<AS8PR03MB7321F0C4A1B2D3E4F5A6B7C8D9E0A1B2@AS8PR03MB7321.eurprd03.prod.outlook.com>",
        ),
        ("In-Reply-To", "<8f41c2d7e0b94a6c9d3e5f1a2b7c0d84@exempel.se>"),
        ("References", "<8f41c2d7e0b94a6c9d3e5f1a2b7c0d84@exempel.se>"),
        ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-MS-Exchange-Inbox-Rules-Loop", "karin.lundqvist@nordkontor.se"),
        ("Content-Language", "sv-SE"),
        ("X-MS-Has-Attach", ""),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "base64"),
        ("MIME-Version", "1.0"),
    ]
    return message(headers, b64(text.encode("utf-8")))


def nyhetsbrev() -> bytes:
    """5: a trade association's newsletter (List-Id, List-Unsubscribe, Precedence: bulk)."""
    boundary = "_=_nb_20261118_8f3a2c91e4b7_=_"
    url = "https://kontaktcenterforeningen.se"
    text = lines(
        "KONTAKTCENTERFÖRENINGEN – NYHETSBREV NOVEMBER 2026",
        "",
        "Webbinarium 3 december: Så tar ni emot klagomål och synpunkter",
        "Hur ser en bra synpunktshantering ut, från första mejlet till svar och "
        "uppföljning? Tre kommuner berättar om sina arbetssätt. Anmäl dig senast den "
        "1 december.",
        f"{url}/webbinarier/synpunktshantering",
        "",
        "Nya mallar för klarspråk",
        "Vi har tagit fram nya svarsmallar för kontaktcenter, granskade av en "
        "språkkonsult. Medlemmar laddar ner dem kostnadsfritt.",
        f"{url}/mallar",
        "",
        "Årsmöte 2027",
        "Årsmötet hålls den 18 mars 2027 i Örebro. Motioner ska vara styrelsen till "
        "handa senast den 15 januari.",
        "",
        "--",
        "Du får det här nyhetsbrevet eftersom din organisation är medlem i "
        "Kontaktcenterföreningen.",
        f"Avregistrera dig: {url}/avregistrera?id=8f3a2c91e4b7",
    )
    html = lines(
        "<!DOCTYPE html>",
        '<html lang="sv"><head><meta charset="utf-8"><title>Nyhetsbrev november 2026</title>'
        "</head>",
        '<body style="margin:0;padding:0;background:#f4f4f4;">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>'
        '<td align="center">',
        '<table role="presentation" width="600" style="background:#ffffff;'
        'font-family:Arial,sans-serif;">',
        '<tr><td style="padding:24px;"><h1 style="font-size:20px;">Kontaktcenterföreningen '
        "– nyhetsbrev november 2026</h1></td></tr>",
        '<tr><td style="padding:0 24px;"><h2 style="font-size:16px;">Webbinarium 3 december: '
        "Så tar ni emot klagomål och synpunkter</h2>",
        "<p>Hur ser en bra synpunktshantering ut, från första mejlet till svar och "
        "uppföljning? Tre kommuner berättar om sina arbetssätt. Anmäl dig senast den "
        "1 december.</p>",
        f'<p><a href="{url}/webbinarier/synpunktshantering">Anmäl dig här</a></p></td></tr>',
        '<tr><td style="padding:0 24px;"><h2 style="font-size:16px;">Nya mallar för klarspråk</h2>',
        "<p>Vi har tagit fram nya svarsmallar för kontaktcenter, granskade av en "
        "språkkonsult. Medlemmar laddar ner dem kostnadsfritt.</p>",
        f'<p><a href="{url}/mallar">Till mallarna</a></p></td></tr>',
        '<tr><td style="padding:0 24px;"><h2 style="font-size:16px;">Årsmöte 2027</h2>',
        "<p>Årsmötet hålls den 18 mars 2027 i Örebro. Motioner ska vara styrelsen till "
        "handa senast den 15 januari.</p></td></tr>",
        '<tr><td style="padding:24px;font-size:12px;color:#666666;">Du får det här '
        "nyhetsbrevet eftersom din organisation är medlem i Kontaktcenterföreningen. "
        f'<a href="{url}/avregistrera?id=8f3a2c91e4b7">Avregistrera dig</a></td></tr>',
        "</table>",
        "</td></tr></table>",
        '<img src="https://kontaktcenterforeningen.se/o/8f3a2c91e4b7.gif" width="1" '
        'height="1" alt="">',
        "</body></html>",
    )
    headers = [
        (
            "From",
            f"{encoded_words('Kontaktcenterföreningen')} <nyhetsbrev@kontaktcenterforeningen.se>",
        ),
        ("Reply-To", "kansliet@kontaktcenterforeningen.se"),
        ("To", KONTAKTCENTER),
        (
            "Subject",
            encoded_words("Nyhetsbrev november: webbinarium om klagomål och synpunkter"),
        ),
        ("Date", "Wed, 18 Nov 2026 08:00:01 +0100"),
        ("Message-ID", "<20261118070001.4f2a9c1e8b7d6a50@mail.kontaktcenterforeningen.se>"),
        ("List-Id", "Nyhetsbrev <nyhetsbrev.kontaktcenterforeningen.se>"),
        (
            "List-Unsubscribe",
            f"<{url}/avregistrera?id=8f3a2c91e4b7>,\n"
            " <mailto:avregistrera@kontaktcenterforeningen.se?subject=avregistrera%208f3a2c91e4b7>",
        ),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
        ("X-Mailer", "Nyhetsbrevet 4.2"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\n boundary="{boundary}"'),
    ]
    body = b"".join(
        [
            f"--{boundary}\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\n",
            b"Content-Transfer-Encoding: quoted-printable\n\n",
            qp(text),
            f"\n--{boundary}\n".encode(),
            b"Content-Type: text/html; charset=utf-8\n",
            b"Content-Transfer-Encoding: quoted-printable\n\n",
            qp(html),
            f"\n--{boundary}--\n".encode(),
        ]
    )
    return message(headers, body)


def internt() -> bytes:
    """6: internal mail from a colleague at Kontaktcenter."""
    text = lines(
        "Hej Anna!",
        "",
        "Jag har fått förhinder på torsdag – Elias är sjuk och jag är hemma med honom "
        "resten av veckan.",
        "",
        "Kan du ta mötet med samhällsbyggnad om synpunktshanteringen på torsdag kl. 10.00 i "
        "stora sammanträdesrummet? Underlaget ligger i vår gemensamma mapp under "
        "”Synpunkter 2026”. Säg till om det inte går, så ber jag Lena att flytta mötet.",
        "",
        "Tack på förhand!",
        "",
        "/Per",
        "",
        "Per Lind",
        "Samordnare, Kontaktcenter",
        "Exempel kommun",
    )
    headers = [
        ("From", "Per Lind <per.lind@exempel.se>"),
        ("To", f"Anna Berg <{ANNA}>"),
        ("Subject", encoded_words("Kan du ta mötet på torsdag?")),
        ("Thread-Topic", encoded_words("Kan du ta mötet på torsdag?")),
        ("Thread-Index", "AdtdQm7Yk0bq9c3sR3eFvH1pZk2xWw=="),
        ("Date", "Mon, 23 Nov 2026 16:22:40 +0100"),
        (
            "Message-ID",
            "<HE1PR0701MB2891C4D2E6F7A8B9C0D1E2F3A4B5C6D7@HE1PR0701MB2891.eurprd07.prod.outlook.com>",
        ),
        ("Accept-Language", "sv-SE, en-US"),
        ("Content-Language", "sv-SE"),
        ("X-MS-Exchange-Organization-AuthAs", "Internal"),
        ("X-MS-Exchange-Organization-AuthSource", "HE1PR0701MB2891.eurprd07.prod.outlook.com"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("MIME-Version", "1.0"),
    ]
    return message(headers, qp(text))


def anonym_hemtjanst() -> bytes:
    """7: an anonymous complaint through the web form gateway; no name, address or phone."""
    text = lines(
        "Ärendetyp: Klagomål",
        "Verksamhet: Äldreomsorg",
        "Namn: ",
        "E-post: ",
        "Telefon: ",
        "Meddelande: Min mamma har hemtjänst i Norra Exempelby. Personalen ska komma kl. 8 "
        "på morgonen med frukost och hennes mediciner, men de senaste tre veckorna har de "
        "oftast kommit först vid halv elva. Då har hon suttit och väntat i flera timmar "
        "utan att ha ätit. Hon är 91 år och har diabetes, så det är inte bara obekvämt "
        "utan farligt. Ingen ringer och säger till när de blir sena. Jag vill inte uppge "
        "mitt namn, eftersom jag är rädd att det ska gå ut över mamma.",
    )
    headers = [
        ("Date", "Thu, 19 Nov 2026 21:47:19 +0100"),
        (
            "From",
            f"{encoded_words('E-tjänster Exempel kommun')} <noreply@e-tjanster.exempel.se>",
        ),
        ("To", KONTAKTCENTER),
        ("Subject", encoded_words("Nytt ärende från e-tjänsten Synpunkter och klagomål")),
        ("Message-ID", "<20261119204719.1a7c3e5f9b2d4860@e-tjanster.exempel.se>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("X-Mailer", "E-tjanster Exempel kommun"),
    ]
    return message(headers, qp(text))


def sophamtning() -> bytes:
    """8: a complaint in English about missed garbage collection; Gmail multipart/alternative."""
    boundary = "0000000000009a4f2c0633d1e2f7"
    paragraphs = [
        "Hello,",
        "I'm sorry to write in English, my Swedish is not good enough yet.",
        "I live at Ekvägen 7 in Exempelby. Our bins for household waste and food waste have "
        "not been emptied for two weeks. Our collection day is Thursday. Both last Thursday "
        "(12 November) and yesterday (19 November) the bins were standing by the road as "
        "usual, but nobody came. The bins of our neighbours at number 5 and 9 were emptied.",
        "The food waste bin is full and has started to smell, and we have two small "
        "children, so this is really not nice. I called the number on your website but only "
        "got a recorded message in Swedish.",
        "I would like to make a complaint about this. Could someone please make sure our "
        "bins are emptied as soon as possible, and tell me why they were skipped? We pay the "
        "waste fee like everyone else.",
    ]
    signature = ["Kind regards,", "Aoife Brennan", "Ekvägen 7, Exempelby", "+46 70 174 06 34"]
    text = "\n\n".join(paragraphs) + "\n\n" + "\n".join(signature) + "\n"
    html = (
        '<div dir="ltr">'
        + "".join(f"<div>{p}</div><div><br></div>" for p in paragraphs)
        + "<div>"
        + "<br>".join(signature)
        + "</div></div>\n"
    )
    headers = [
        ("MIME-Version", "1.0"),
        ("Date", "Fri, 20 Nov 2026 18:31:06 +0100"),
        ("Message-ID", "<CAH7v2XkR9pB4mQz7wL3tN8sFd1e0YhK6uJ5cG2aVxP9oE4bZ=w@mail.gmail.com>"),
        (
            "Subject",
            encoded_words("Garbage not collected again – Ekvägen 7", "UTF-8"),
        ),
        ("From", "Aoife Brennan <aoife.brennan@gmail.com>"),
        ("To", KONTAKTCENTER),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    body = b"".join(
        [
            f"--{boundary}\n".encode(),
            b'Content-Type: text/plain; charset="UTF-8"\n',
            b"Content-Transfer-Encoding: quoted-printable\n\n",
            qp(text),
            f"\n--{boundary}\n".encode(),
            b'Content-Type: text/html; charset="UTF-8"\n',
            b"Content-Transfer-Encoding: quoted-printable\n\n",
            qp(html),
            f"\n--{boundary}--\n".encode(),
        ]
    )
    return message(headers, body)


def leveransfel() -> bytes:
    """9: a Postfix delivery status notification for a reply Kontaktcenter sent."""
    boundary = "9D4B122E0F3.1795597407/mail.exempel.se"
    notification = lines(
        "This is the mail system at host mail.exempel.se.",
        "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients. It's attached below.",
        "",
        "For further assistance, please send mail to postmaster.",
        "",
        "If you do so, please include this problem report. You can",
        "delete your own text from the attached returned message.",
        "",
        "                   The mail system",
        "",
        "<karin.jonsson@hotmial.com>: Host or domain name not found. Name service error",
        "    for name=hotmial.com type=A: Host not found",
    )
    status = lines(
        "Reporting-MTA: dns; mail.exempel.se",
        "X-Postfix-Queue-ID: 9D4B122E0F3",
        "X-Postfix-Sender: rfc822; kontaktcenter@exempel.se",
        "Arrival-Date: Tue, 24 Nov 2026 10:03:25 +0100 (CET)",
        "",
        "Final-Recipient: rfc822; karin.jonsson@hotmial.com",
        "Original-Recipient: rfc822;karin.jonsson@hotmial.com",
        "Action: failed",
        "Status: 5.4.4",
        "Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error",
        "    for name=hotmial.com type=A: Host not found",
    )
    returned = lines(
        "Return-Path: <kontaktcenter@exempel.se>",
        "Received: from exchange.exempel.se (exchange.exempel.se [192.0.2.20])",
        "\tby mail.exempel.se (Postfix) with ESMTPS id 9D4B122E0F3",
        "\tfor <karin.jonsson@hotmial.com>; Tue, 24 Nov 2026 10:03:25 +0100 (CET)",
        "From: Kontaktcenter Exempel kommun <kontaktcenter@exempel.se>",
        "To: Karin Jonsson <karin.jonsson@hotmial.com>",
        "Subject: " + encoded_words("Sv: Fråga om färdtjänst"),
        "Date: Tue, 24 Nov 2026 10:03:21 +0100",
        "Message-ID: <0b6e2f91c4d84a7e8f3a1c5d9e2b7f40@exempel.se>",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
    )
    headers = [
        ("Date", "Tue, 24 Nov 2026 10:03:27 +0100 (CET)"),
        ("From", "MAILER-DAEMON@exempel.se (Mail Delivery System)"),
        ("Subject", "Undelivered Mail Returned to Sender"),
        ("To", KONTAKTCENTER),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
        (
            "Content-Type",
            f'multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"',
        ),
        ("Content-Transfer-Encoding", "8bit"),
        ("Message-Id", "<20261124090327.9D4B122E0F4@mail.exempel.se>"),
    ]
    body = b"".join(
        [
            b"This is a MIME-encapsulated message.\n\n",
            f"--{boundary}\n".encode(),
            b"Content-Description: Notification\n",
            b"Content-Type: text/plain; charset=utf-8\n",
            b"Content-Transfer-Encoding: 8bit\n\n",
            notification.encode("utf-8"),
            f"\n--{boundary}\n".encode(),
            b"Content-Description: Delivery report\n",
            b"Content-Type: message/delivery-status\n\n",
            status.encode("ascii"),
            f"\n--{boundary}\n".encode(),
            b"Content-Description: Undelivered Message Headers\n",
            b"Content-Type: text/rfc822-headers\n",
            b"Content-Transfer-Encoding: 8bit\n\n",
            returned.encode("ascii"),
            f"\n--{boundary}--\n".encode(),
        ]
    )
    return message(headers, body)


def parkering() -> bytes:
    """10: an angry complaint about a parking fine, to Anna; iPhone, photo attached inline."""
    boundary = "Apple-Mail-7C1D2E3F-4A5B-4C6D-8E9F-0A1B2C3D4E5F"
    text = lines(
        "Hej Anna",
        "",
        "Fick ditt namn av växeln. Jag fick en parkeringsbot på 700 kr i går utanför "
        "vårdcentralen på Kyrkogatan. Skylten om parkeringsförbud var helt täckt av snö, se "
        "bilden. Hur ska man kunna följa en skylt som inte syns?",
        "",
        "Det här är inte okej. Jag kräver att boten tas bort.",
        "",
        "Mikael Håkansson",
        "",
        "Skickat från min iPhone",
    )
    headers = [
        ("Content-Type", f"multipart/mixed; boundary={boundary}"),
        ("Content-Transfer-Encoding", "7bit"),
        ("From", f"{encoded_words('Mikael Håkansson')} <mikael.hakansson@gmail.com>"),
        ("Mime-Version", "1.0 (1.0)"),
        ("Date", "Wed, 25 Nov 2026 08:12:44 +0100"),
        ("Subject", encoded_words("Felaktig parkeringsbot på Kyrkogatan")),
        ("Message-Id", "<6F1E2D3C-4B5A-4978-8C6D-5E4F3A2B1C0D@gmail.com>"),
        ("To", f"Anna Berg <{ANNA}>"),
        ("X-Mailer", "iPhone Mail (22B91)"),
    ]
    body = b"".join(
        [
            f"\n--{boundary}\n".encode(),
            b"Content-Type: text/plain;\n\tcharset=utf-8\n",
            b"Content-Transfer-Encoding: quoted-printable\n\n",
            qp(text),
            f"\n--{boundary}\n".encode(),
            b"Content-Type: image/jpeg;\n\tname=IMG_4821.jpeg;\n\tx-apple-part-url=",
            b"A1B2C3D4-E5F6-4789-ABCD-EF0123456789\n",
            b"Content-Disposition: inline;\n\tfilename=IMG_4821.jpeg\n",
            b"Content-Transfer-Encoding: base64\n\n",
            b64(tiny_jpeg(48, 64)),
            f"--{boundary}--\n".encode(),
        ]
    )
    return message(headers, body)


def skolmaten() -> bytes:
    """11: a stressed parent's suggestion about school lunches, to Anna.

    The body is Windows-1252 (Word's typographic quotes, dash and ellipsis) but the client
    labels it us-ascii / 7bit.
    """
    text = lines(
        "Hej Anna!",
        "",
        "Skriver snabbt nu när barnen äntligen sover … Du sa på medborgardialogen i Folkets "
        "hus att man kunde mejla dig direkt med synpunkter, så här kommer en.",
        "",
        "Våra två barn går i årskurs 2 och 5 på Ekbackens skola. Båda äter vegetariskt, och "
        "det ”vegetariska alternativet” i matsalen är nästan alltid samma sak: pasta med "
        "tomatsås eller kall falafel. I går sa min dotter att hon ”bara åt knäckebröd” "
        "eftersom hon inte orkade med pastan igen – fjärde gången på två veckor.",
        "",
        "Mitt förslag är att skolorna serverar en riktig vegetarisk rätt varje dag, och "
        "gärna en helt vegetarisk dag i veckan för alla. Det är bättre för klimatet, och "
        "många kommuner gör redan så. Kanske vore det också en idé att låta eleverna tycka "
        "till om menyn i matrådet?",
        "",
        "Jag vet att kökspersonalen gör så gott de kan med de resurser de har, så det här är "
        "ingen kritik mot dem.",
        "",
        "Tack för att du lyssnar!",
        "",
        "Jenny Lindström",
        "mamma till Alva och Theo",
    )
    headers = [
        (
            "From",
            f"{encoded_words('Jenny Lindström', 'windows-1252')} <jenny.lindstrom@outlook.com>",
        ),
        ("To", f'"Anna Berg" <{ANNA}>'),
        ("Subject", encoded_words("Synpunkt på skolmaten – mer vegetariskt?", "windows-1252")),
        ("Date", "Tue, 24 Nov 2026 22:16:50 +0100"),
        ("Message-ID", "<000001db5e8f$3c2a9b10$b47fd130$@outlook.com>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain;\n\tcharset="us-ascii"'),
        ("Content-Transfer-Encoding", "7bit"),
        ("X-Mailer", "Microsoft Outlook 14.0"),
        ("Thread-Index", "AdteiNdFq3y7m0oHRjKkq0c2Yp1uNg=="),
        ("Content-Language", "sv"),
    ]
    return message(headers, text.encode("cp1252"))


def potthal() -> bytes:
    """12: a pothole complaint whose multipart/mixed body never closes its boundary."""
    boundary = "----=_Part_4821_1795511007.1795582478000"
    text = lines(
        "Hej!",
        "",
        "Jag vill klaga på ett stort potthål på gång- och cykelvägen längs Åvägen, ungefär",
        "50 meter söder om tunneln under järnvägen, i höjd med busshållplatsen Åbron.",
        "",
        "Hålet är ungefär en halv meter brett och minst tio centimeter djupt. Nu när det",
        "är mörkt på morgnarna syns det inte alls. I tisdags cyklade jag ner i det och var",
        "nära att vurpa, och i morse såg jag en annan cyklist göra samma sak. Hålet har",
        "funnits där sedan oktober, och jag felanmälde det redan då via er webbplats utan",
        "att något har hänt.",
        "",
        "Kan ni laga det, eller åtminstone sätta ut en varningsskylt, innan någon skadar",
        "sig på allvar? Jag bifogar en bild.",
        "",
        "Hälsningar",
        "Erik Åström",
        "070-174 06 55",
    )
    headers = [
        ("Date", "Thu, 26 Nov 2026 06:54:38 +0100"),
        ("From", f"{encoded_words('Erik Åström')} <erik.astrom@outlook.com>"),
        ("To", KONTAKTCENTER),
        ("Message-ID", "<1795582478000.4821.erik.astrom@outlook.com>"),
        ("Subject", encoded_words("Potthål på cykelvägen längs Åvägen")),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed;\n\tboundary="{boundary}"'),
        ("User-Agent", "Cykelpendlaren/2.3 (Android)"),
    ]
    body = b"".join(
        [
            f"--{boundary}\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\n",
            b"Content-Transfer-Encoding: 8bit\n\n",
            text.encode("utf-8"),
            f"\n--{boundary}\n".encode(),
            b"Content-Type: image/jpeg; name=potthal.jpg\n",
            b"Content-Transfer-Encoding: base64\n",
            b"Content-Disposition: attachment; filename=potthal.jpg\n\n",
            b64(tiny_jpeg(64, 48)),
            # The closing "--boundary--" line is missing on purpose.
        ]
    )
    return message(headers, body)


def tack() -> bytes:
    """14: a purely social thank-you note to Anna."""
    text = lines(
        "Hej Anna!",
        "",
        "Tack för hjälpen igår! Det var så skönt att få prata med någon som tog sig tid.",
        "Nu har jag fyllt i ansökan om färdtjänst och skickat in den, precis som du sa.",
        "",
        "Ha en riktigt fin helg!",
        "",
        "Varma hälsningar",
        "Birgitta Holm",
    )
    headers = [
        ("From", "Birgitta Holm <birgitta.holm@telia.com>"),
        ("Content-Type", "text/plain;\n\tcharset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3826.300.87.4.3\\))"),
        ("Subject", "Tack!"),
        ("Message-Id", "<4E8D1A2B-9C3F-4B7E-A6D5-0F1E2C3B4A59@telia.com>"),
        ("Date", "Fri, 27 Nov 2026 11:05:09 +0100"),
        ("To", f"Anna Berg <{ANNA}>"),
        ("X-Mailer", "Apple Mail (2.3826.300.87.4.3)"),
    ]
    return message(headers, qp(text))


def gatlyktor() -> bytes:
    """15: a complaint from September, long before the demo mailboxes' start (start_from)."""
    body = lines(
        "Hej!",
        "",
        "Jag vill klaga på att gatlyktorna längs Ekbacken har varit släckta i tre",
        "veckor. Det är kolsvart när barnen går till skolbussen på morgonen, och i",
        "går kväll var det nära att en bil körde på en cyklist vid övergångsstället.",
        "",
        "Jag anmälde felet på er webbplats för två veckor sedan men har inte hört något.",
        "Laga lyktorna innan mörkret kommer på allvar.",
        "",
        "Hälsningar",
        "Maria Ekholm",
        "070-174 06 27",
    ).encode("utf-8")
    headers = [
        ("Message-ID", "<CAH8x1mP4q9v2Rk7dWn3sTz6bLf0Ye5uJg2oKc8aXh1iNr4@mail.gmail.com>"),
        ("Date", "Mon, 14 Sep 2026 06:58:31 +0200"),
        ("MIME-Version", "1.0"),
        ("From", "Maria Ekholm <maria.ekholm.exby@gmail.com>"),
        ("To", KONTAKTCENTER),
        ("Subject", encoded_words("Trasiga gatlyktor på Ekbacken", "UTF-8")),
        ("Content-Type", 'text/plain; charset="UTF-8"'),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    return message(headers, body)


# --------------------------------------------------------------------------- the files

MESSAGES: dict[str, Callable[[], bytes]] = {
    "01-kontaktcenter-snorojning.eml": snorojning,
    "02-kontaktcenter-bibliotekets-oppettider.eml": bibliotek,
    "03-kontaktcenter-fraga-bygglov.eml": bygglov,
    "04-kontaktcenter-autosvar-faktura.eml": autosvar,
    "05-kontaktcenter-nyhetsbrev.eml": nyhetsbrev,
    "06-anna-internt-motet-torsdag.eml": internt,
    "07-kontaktcenter-anonymt-hemtjanst.eml": anonym_hemtjanst,
    "08-kontaktcenter-missed-garbage-collection.eml": sophamtning,
    "09-kontaktcenter-leveransfel.eml": leveransfel,
    "10-anna-parkeringsbot.eml": parkering,
    "11-anna-skolmaten.eml": skolmaten,
    "12-kontaktcenter-potthal-cykelvag.eml": potthal,
    # The same message as 01: the citizen wrote To kontaktcenter@ and Cc anna.berg@, so an
    # identical copy (same bytes, same Message-ID) lands in Anna's own mailbox as well.
    "13-anna-snorojning-kopia.eml": snorojning,
    "14-anna-tack.eml": tack,
    "15-kontaktcenter-gatlyktor-september.eml": gatlyktor,
}


def build() -> dict[str, bytes]:
    """File name -> the exact bytes of that file."""
    return {name: make() for name, make in MESSAGES.items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale: list[str] = []
    for name, data in build().items():
        path = HERE / name
        if check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
    if stale:
        sys.stderr.write("out of date: " + ", ".join(stale) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
