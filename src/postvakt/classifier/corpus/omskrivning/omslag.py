"""Wrappers for make_omskrivning.py: how a rewritten text arrives as mail.

A citizen's letter (greeting, sign-off, signature, device line, disclaimer), a web form, a
reply quoting the municipality's earlier answer, and a staff forward inline or attached.
"""

from __future__ import annotations

import random
import re
from email.utils import format_datetime
from typing import Any

try:
    from . import regler as rg
except ImportError:  # run as a script: this folder is on sys.path
    import regler as rg  # type: ignore[no-redef]

MAILBOX = {
    "hemtjänst": "hemtjanst@exempel.se",
    "hemsjukvård": "hemtjanst@exempel.se",
    "äldreboende": "aldreomsorg@exempel.se",
    "korttidsboende": "aldreomsorg@exempel.se",
    "LSS": "lss@exempel.se",
    "bygglov": "bygglov@exempel.se",
    "skolskjuts": "skolskjuts@exempel.se",
    "skola": "utbildning@exempel.se",
    "förskola": "forskola@exempel.se",
    "fritidshem": "utbildning@exempel.se",
    "socialtjänst": "socialtjansten@exempel.se",
    "ekonomiskt bistånd": "socialtjansten@exempel.se",
    "avfall": "avfall@exempel.se",
    "vatten": "vatten@exempel.se",
    "bibliotek": "bibliotek@exempel.se",
    "miljö": "miljo@exempel.se",
    "fakturor": "fakturor@exempel.se",
    "fritid": "fritid@exempel.se",
}


class Wrappers:
    """Mixin: ``self.t`` holds the frames and word lists of ``mallar.toml``."""

    t: dict[str, Any]

    # -- wrappers

    def letter(
        self, s: dict[str, Any], r: dict[str, Any], p: dict[str, str], rng: random.Random
    ) -> str:
        """The citizen's text with or without greeting, sign-off, signature, device line."""
        w, text = self.t["wrap"], r["text"]
        style = r["rules"][-1] if r["register"] else ""
        formal, casual = style == "register-formal", style == "register-colloquial"
        if casual:
            text = text[:1].lower() + text[1:]
        if r["lang"] == "en":
            greet = rng.choice(w["greeting_en"]) if rng.random() < 0.7 else ""
        elif formal:
            greet = rng.choice(w["greeting_formal"])
        else:
            greet = rng.choice(w["greeting_sv"]) if rng.random() < 0.6 and not casual else ""
        if re.match(r"(?i)(hej|hi|hello|hallå|god dag)\b", text):
            greet = ""
        if greet:
            inline = greet[-1] in "!." and rng.random() < 0.4
            text = greet + (" " if inline else "\n\n") + text
        closing = rng.choice(w["closing_en" if r["lang"] == "en" else "closing_sv"])
        signs = [
            "",
            f"/{p['first']}",
            f"{closing}\n{p['name']}",
            f"{closing} {p['first']}",
            f"{closing}\n{p['name']}\n{p['street']}\n{p['phone']}",
        ]
        if formal:
            sign = f"Med vänlig hälsning\n\n{p['name']}\n{p['street']}\nTel. {p['phone']}"
        elif casual:
            sign = rng.choice(["", f"/{p['first'].lower()}", p["first"].lower()])
        else:
            sign = rng.choice(signs).replace("/\n", "/")
        body = text + ("\n\n" + sign if sign else "")
        if not formal and rng.random() < 0.15:
            body += "\n\n" + rng.choice(w["device"])
        elif rng.random() < 0.05:
            body += "\n\n" + rng.choice(w["disclaimer"])
        return body

    def subject(self, s: dict[str, Any], r: dict[str, Any], rng: random.Random) -> str:
        base, topic = s.get("subject") or rg.cap(s["topic"]), s["topic"]
        if r["lang"] == "en":
            options = {
                "complaint": ["Complaint", "Problem", "Not happy", base],
                "opinion": ["Feedback", "Suggestion", "My opinion", base],
                "other": ["Question", "Enquiry", base],
            }[s["label"]]
            if s.get("kind") == "praise":
                options = ["Thank you", "Thanks!", base]
            return s.get("en_subject", rng.choice(options))
        options = [base, base, base]
        if s["label"] == "complaint":
            options += [f"Angående {topic}", f"Klagomål – {topic}", "Klagomål", "Synpunkt", ""]
            if r["category"] == "complaint-question":
                options.append(f"Fråga om {topic}")
            if r["tone"] == "arg":
                options.append(base.upper() + "!!")
        elif s["label"] == "opinion":
            options += ["Synpunkt", f"Synpunkt på {topic}"] + {
                "sharp": ["Åsikt", "Synpunkt!!"],
                "proposal": ["Förslag", "Medborgarförslag", f"Förslag om {topic}"],
                "praise": ["Tack!", "Beröm", "Ett stort tack"],
            }[s["kind"]]
        elif s["kind"] == "question":
            options += ["Fråga", f"Fråga om {topic}", "Fundering"]
        elif s["kind"] == "booking":
            options += [f"Angående {topic}", rg.cap(topic)]
        return rng.choice(options)

    def envelope(self, s: dict[str, Any], r: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        p = rg.person(rng, self.t["namn"])
        sender = s.get("sender")
        mailbox = MAILBOX.get(s["service"], "kontaktcenter@exempel.se")
        to = mailbox if sender or rng.random() < 0.5 else "kontaktcenter@exempel.se"
        subject = s.get("subject", "") if sender else self.subject(s, r, rng)
        if sender and r["lang"] == "en":
            subject = s.get("en_subject", subject)
        body = r["text"] if sender else self.letter(s, r, p, rng)
        if sender:
            p["from"] = sender
        channel = r.get("channel")
        if not channel:
            roll = rng.random()
            channel = "email"
            if not sender and roll < 0.17:
                channel = "webform"
            elif 0.9 < roll < 0.95:
                channel = "forward-inline"
            elif roll >= 0.95:
                channel = "forward-attached"
        rec: dict[str, Any] = {"channel": channel, "anonymous": False, "headers": {}}
        rec |= {"from": p["from"], "to": to, "subject": subject, "body": body, "forwarded": None}
        if channel == "webform":
            rec |= self.webform(s, r, p, rng)
        elif channel == "reply":
            rec |= self.reply(s, r, p, rng, subject, body)
        elif channel.startswith("forward"):
            rec |= self.forward(s, channel, p, rng, subject, body, mailbox)
        self.rules[f"wrap-{channel}"] += 1
        return rec

    def webform(
        self, s: dict[str, Any], r: dict[str, Any], p: dict[str, str], rng: random.Random
    ) -> dict[str, Any]:
        w = self.t["wrap"]
        anonymous = s["label"] != "other" and rng.random() < 0.4
        right = {"complaint": "Klagomål", "opinion": "Synpunkt", "other": "Fråga"}[s["label"]]
        if s.get("kind") == "praise":
            right = "Beröm"
        kind = right if rng.random() < 0.6 else rng.choice(w["webform_types"])
        name, email, phone = ("", "", "") if anonymous else (p["name"], p["email"], p["phone"])
        if not anonymous and rng.random() < 0.3:
            phone = ""
        lines = [f"Ärendetyp: {kind}"]
        if rng.random() < 0.5:
            lines.append(f"Verksamhetsområde: {rg.cap(s['service'])}")
        lines += [f"Namn: {name}", f"E-post: {email}", f"Telefon: {phone}"]
        sep = "\n" if rng.random() < 0.5 else " "
        text = r["text"] + (f"\n\n/{p['first']}" if not anonymous and rng.random() < 0.2 else "")
        lines.append(f"Meddelande:{sep}{text}")
        if rng.random() < 0.4:
            lines.append(f"Vill bli kontaktad: {'Nej' if anonymous else rng.choice(['Ja', 'Nej'])}")
        sender = rng.choice(["noreply@exempel.se", "e-tjanst@exempel.se"])
        return {
            "from": sender,
            "subject": rng.choice(w["webform_subject"]),
            "body": "\n".join(lines),
            "anonymous": anonymous,
        }

    def reply(
        self,
        s: dict[str, Any],
        r: dict[str, Any],
        p: dict[str, str],
        rng: random.Random,
        subject: str,
        body: str,
    ) -> dict[str, Any]:
        w = self.t["wrap"]
        st, d = rg.staff(rng, self.t["namn"]), rg.a_date(rng)
        unit = s.get("unit", "berörd verksamhet")
        answers = w[f"municipal_answer_{s['label']}"]
        answer = rg.fill(rng.choice(answers), rg.Ctx(topic=s["topic"], unit=unit))
        answer = answer[:1].upper() + answer[1:]
        answer += f"\n\nMed vänlig hälsning\n{st['name']}\n{rng.choice(w['staff_titles'])}\nExempel kommun"
        orig = subject or rg.cap(s["topic"])
        style = rng.randrange(3)
        if style == 0:
            quoted = "\n".join("> " + line if line else ">" for line in answer.split("\n"))
            quote = f"Den {rg.gmail_date(d)} skrev {st['from']}:\n{quoted}"
        elif style == 1:
            quote = (
                f"________________________________\nFrån: {st['from']}\nSkickat: {rg.sv_date(d)}\n"
                f"Till: {p['email']}\nÄmne: {orig}\n\n{answer}"
            )
        else:
            quoted = "\n".join("> " + line if line else ">" for line in answer.split("\n"))
            month = rg.MONTHS.split()[d.month - 1][:3]
            quote = f"{d.day} {month}. {d.year} kl. {d:%H:%M} skrev {st['from']}:\n\n{quoted}"
        prefix = rng.choice(["SV: ", "Re: ", "RE: ", "Sv: "])
        return {
            "subject": prefix + orig,
            "body": f"{body}\n\n{quote}",
            "headers": {"In-Reply-To": f"<{rng.getrandbits(48):012x}@exempel.se>"},
            "followup": bool(r.get("followup")),
        }

    def forward(
        self,
        s: dict[str, Any],
        channel: str,
        p: dict[str, str],
        rng: random.Random,
        subject: str,
        body: str,
        mailbox: str,
    ) -> dict[str, Any]:
        w = self.t["wrap"]
        st, d = rg.staff(rng, self.t["namn"]), rg.a_date(rng)
        note = rng.choice(w["staff_note"])
        note += "\n\n" + rng.choice([st["name"].split()[0], f"/{st['name']}", f"Mvh {st['name']}"])
        if rng.random() < 0.3:
            note += f"\n{rng.choice(w['staff_titles'])}\nExempel kommun"
        orig_to = st["email"] if rng.random() < 0.6 else "info@exempel.se"
        fwd_subject = rng.choice(["VB: ", "Fwd: ", "FW: "]) + (subject or "(inget ämne)")
        if channel == "forward-attached":
            inner = {"from": p["from"], "to": orig_to, "date": format_datetime(d)}
            inner |= {"subject": subject, "body": body}
            return {
                "from": st["from"],
                "to": mailbox,
                "subject": fwd_subject,
                "body": note,
                "forwarded": inner,
            }
        style = rng.randrange(4)
        if style == 0:
            head = f"---------- Forwarded message ---------\nFrån: {p['from']}\nDate: {rg.gmail_date(d)}\nSubject: {subject}\nTo: <{orig_to}>"
        elif style == 1:
            head = f"-----Ursprungligt meddelande-----\nFrån: {p['from']}\nSkickat: {rg.sv_date(d)}\nTill: {orig_to}\nÄmne: {subject}"
        elif style == 2:
            head = f"________________________________\nFrån: {p['from']}\nSkickat: {rg.sv_date(d)}\nTill: {orig_to}\nÄmne: {subject}"
        else:
            stamp = f"{d.day} {rg.MONTHS.split()[d.month - 1]} {d.year} {d:%H:%M:%S} CET"
            head = f"Början på vidarebefordrat brev:\n\nFrån: {p['from']}\nÄmne: {subject}\nDatum: {stamp}\nTill: {orig_to}"
        return {
            "from": st["from"],
            "to": mailbox,
            "subject": fwd_subject,
            "body": f"{note}\n\n{head}\n\n{body}",
        }
