"""Personal-data masking: ``mask(text)`` is applied before any user text is logged or stored.

It replaces マイナンバー, card numbers, phone numbers, e-mail addresses, postal codes with
their address, 丁目/番地 addresses, dates of birth and self-introduced names with readable
tokens (``［電話番号］`` …) and counts what it replaced per kind. Everything else — years,
amounts, counts, times, 「第3子」 — is left alone, because those are what FAQ questions are
about.

Matching runs on a *shadow* of the text with the same length: 全角 digits, letters and
symbols folded to ASCII, every dash (and ー between digits) to ``-`` and every space to
`` ``, so one set of ASCII patterns covers 「０９０－１２３４－５６７８」 and
「090-1234-5678」 alike while the replacement is made in the original text. All
candidates of all kinds are collected first and then chosen by priority, longer first,
so a 16-digit card never turns into a マイナンバー and a マイナンバー never into a phone
number. The pass is repeated until nothing changes, which makes ``mask`` idempotent, and a
last catch-all masks any run of 12 or more digits that no specific pattern took.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

TOKENS: dict[str, str] = {
    "mynumber": "［マイナンバー］",
    "phone": "［電話番号］",
    "email": "［メール］",
    "address": "［郵便番号・住所］",
    "card": "［カード番号］",
    "birthdate": "［生年月日］",
    "name": "［氏名］",
}

# Lower wins when candidates overlap; equal priorities prefer the longer span.
_PRIORITY = {
    "email": 0,
    "card": 1,
    "mynumber": 2,
    "phone": 3,
    "address": 4,
    "birthdate": 5,
    "name": 6,
}
_PRIORITY_POSTAL = 1  # 〒 + address outranks the numbers inside it (1-2-3 …)
_PRIORITY_CATCH_ALL = 9
_MAX_PASSES = 8


@dataclass(frozen=True)
class Masked:
    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- shadow text -------------------------------------------------------------------------------

_DASHES = frozenset("-‐‑‒–—―−－﹣⁃")
_LONG_VOWELS = frozenset("ーｰ")
_ASCII_DIGITS = frozenset("0123456789")


def _shadow(text: str) -> str:
    """Same length as ``text``; digits, letters, dashes, spaces and brackets folded to ASCII."""
    out: list[str] = []
    for ch in text:
        if ch in _DASHES:
            out.append("-")
            continue
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
            continue
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif ch == "﹫":
            out.append("@")
        elif ch != "\n" and unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            out.append(ch)
    for i in range(1, len(out) - 1):
        if out[i] in _LONG_VOWELS and out[i - 1] in _ASCII_DIGITS and out[i + 1] in _ASCII_DIGITS:
            out[i] = "-"
    return "".join(out)


# --- numeric patterns (on the shadow) -------------------------------------------------------------

_SEP = r"(?:[ ]?-[ ]?|[ ]{1,2})"  # one hyphen (maybe padded) or one or two spaces
_SEP_OPT = f"(?:{_SEP})?"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+[ ]?@[ ]?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)

_CARD = re.compile(
    rf"(?<![0-9])(?:"
    rf"[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{3}}(?:[ \-][0-9]{{3}})?"  # 4-4-4-4(-3): 16–19 digits
    rf"|[0-9]{{4}}{_SEP}[0-9]{{6}}{_SEP}[0-9]{{4,5}}"  # 4-6-5 / 4-6-4
    rf"|[0-9]{{13,19}}"
    rf")(?![0-9])"
)
_MYNUMBER = re.compile(rf"(?<![0-9])[0-9]{{4}}{_SEP_OPT}[0-9]{{4}}{_SEP_OPT}[0-9]{{4}}(?![0-9])")
_PHONE = re.compile(
    r"(?<![0-9])(?:\+81[ \-]?(?:\(0\)[ \-]?)?|\(0|0)"
    r"[0-9]{1,4}(?:\)[ \-]?|\(|[ \-])?[0-9]{1,4}(?:\)[ \-]?|[ \-])?[0-9]{3,4}(?![0-9])"
)
# A local number without area code only counts as a phone number after a label.
_PHONE_LABELLED = re.compile(
    r"(?<!\[)(?:電話|TEL|Tel|tel|携帯|ケータイ|FAX|Fax|fax|ファックス|ファクス|連絡先)(?:番号)?"
    r"[^0-9\n]{0,4}?(?<![0-9])([0-9]{2,4}-[0-9]{4})(?![0-9])"
)
_CATCH_ALL = re.compile(r"[0-9]{12,}")

_MOBILE_PREFIXES = ("050", "070", "080", "090", "0800")


def _valid_phone(s: str) -> bool:
    if s.count("(") != s.count(")"):
        return False
    if s.startswith("+81"):
        rest = re.sub(r"[^0-9]", "", s[3:].replace("(0)", ""))
        national = rest if rest.startswith("0") else "0" + rest
    else:
        national = re.sub(r"[^0-9]", "", s)
    if len(national) < 2 or national[1] == "0":
        return False
    if len(national) == 10:
        return True
    return len(national) == 11 and national.startswith(_MOBILE_PREFIXES)


# --- addresses ------------------------------------------------------------------------------------

_KANJI = "一-鿿々〆ヵヶ"
_KATAKANA = "ァ-ヺーｦ-ﾟ"
_HIRAGANA = "ぁ-ゖ"
_KNUM = "[一二三四五六七八九十〇]+"
_N = rf"(?:[0-9]+|{_KNUM})"
_NUM_SEP = "(?:丁目|番地の|番地|番|号|の|-)"
_NUM_TAIL = rf"[0-9]+(?:{_NUM_SEP}{_N})*(?:丁目|番地|番|号)?(?![0-9])"
_TOWN = rf"[{_KANJI}{_KATAKANA}]{{1,20}}(?:[がケヶの][{_KANJI}{_KATAKANA}]{{1,10}})?"
_ADDR_AFTER_POSTAL = (
    rf"(?:[ ]?(?:(?:[{_KANJI}{_KATAKANA}{_HIRAGANA}]|[ ](?=[{_KANJI}{_KATAKANA}0-9])){{1,30}}?"
    rf"[ ]?{_NUM_TAIL}|[{_KANJI}{_KATAKANA}]{{1,30}}))?"
)
_POSTAL = re.compile(
    rf"(?:〒[ ]?(?<![0-9])[0-9]{{3}}-?[0-9]{{4}}(?![0-9])"
    rf"|(?<![0-9\-])[0-9]{{3}}-[0-9]{{4}}(?![0-9\-])"
    rf"(?=[ ]?(?:[{_KANJI}]{{2,3}}[都道府県]|[{_KANJI}{_KATAKANA}]{{1,6}}[市区町村郡])))"
    rf"{_ADDR_AFTER_POSTAL}"
)
_POSTAL_LABELLED = re.compile(
    rf"(?<!\[)郵便番号[はがも:\s]{{0,3}}((?<![0-9])[0-9]{{3}}-?[0-9]{{4}}(?![0-9]){_ADDR_AFTER_POSTAL})"
)
# Without a postal code the house number must be specific: 丁目+番/号, 番地, 番+号, or 1-2-3.
_ADDRESS = re.compile(
    rf"{_TOWN}[ ]?(?:"
    rf"{_N}丁目[ ]?{_NUM_TAIL}"
    rf"|[0-9]+番地(?:の?[0-9]+)?(?![0-9])"
    rf"|[0-9]+番[0-9]+号?(?:[の\-][0-9]+)?(?![0-9])"
    rf"|[0-9]+-[0-9]+(?:-[0-9]+)+(?![0-9])"
    rf")"
)
_ADDRESS_LABELS = ("現住所", "住所", "所在地", "居所", "自宅", "実家", "住まい")

# --- dates of birth -------------------------------------------------------------------------------

_YEAR = r"(?<![0-9])(?:1[89][0-9]{2}|20[0-9]{2})"
_ERA = r"(?:明治|大正|昭和|平成|令和)[ ]?(?:元|[0-9]{1,2})"
_ERA_ABBR = r"(?<![A-Za-z])[MTSHRmtshr][ ]?(?:[0-9]{1,2})"
_ANY_YEAR = rf"(?:{_YEAR}|{_ERA}|{_ERA_ABBR})"
_JA_DATE = rf"{_ANY_YEAR}[ ]?年[ ]?[0-9]{{1,2}}[ ]?月[ ]?[0-9]{{1,2}}[ ]?日"
_NUM_DATE = rf"{_ANY_YEAR}(?P<s>[/.\-])[0-9]{{1,2}}(?P=s)[0-9]{{1,2}}(?![0-9])"
_COMPACT_DATE = rf"{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])(?![0-9])"
_MONTH_DAY = r"(?<![0-9])[0-9]{1,2}[ ]?月[ ]?[0-9]{1,2}[ ]?日"
_BIRTH_CONTEXT = re.compile(
    rf"(?<!\[)(?:生年月日|誕生日|お誕生日|出生日|生まれ(?:た日)?)[^0-9\n]{{0,6}}?"
    rf"(?P<d>{_JA_DATE}|{_NUM_DATE}|{_COMPACT_DATE}|{_MONTH_DAY})"
)
_BIRTH_AFTER = re.compile(rf"(?P<d>{_JA_DATE}|{_NUM_DATE})[ ]?(?:生まれ|生(?![活産]))")
_FULL_DATE = re.compile(_JA_DATE)
# A full date followed by one of these is a deadline or start date, not a birthday.
_EVENT_AFTER = re.compile(
    r"[ ]?(?:から|まで|以降|以後|以前|より|現在|時点|締切|締め切り|〆切|開始|施行|受付|予定"
    r"|に[^0-9\n]{0,6}?(?:変わ|始ま|終わ|開始|変更|改正|施行|開催|実施|締|廃止|受付|申請|提出))"
)

# --- names ----------------------------------------------------------------------------------------

_NAME_CHARS = f"{_KANJI}{_KATAKANA}{_HIRAGANA}・"
_NAME_CHAR = re.compile(f"[{_NAME_CHARS}]")
_NAME_STRONG = re.compile(
    r"(?:私|わたし|わたくし|僕|ぼく|俺|おれ|自分)の(?:名前|氏名|なまえ|フルネーム)(?:は|が|:)[ ]*"
)
_NAME_FORM = re.compile(r"(?<!\[)(?:氏名|お名前|名前|なまえ|フルネーム|Name|name|NAME)[ ]*:[ ]*")
_NAME_WEAK = re.compile(r"(?<!\[)(?:お名前|名前|氏名|なまえ)(?:は|が)(?P<sp>[ ]*)")
_NAME_BEFORE = re.compile(
    r"(?:と申します|ともうします|と申す者|と申しま|と言います|といいます|って言います|っていいます|って申します)"
)
_NAME_CUTS = (
    "なんです",
    "なのです",
    "でござ",
    "でした",
    "です",
    "と申",
    "ともうし",
    "と言",
    "といい",
    "って言",
    "っていい",
    "って申",
)
_NAME_STOP_SUBSTRINGS = (
    "何",
    "誰",
    "変更",
    "変わ",
    "訂正",
    "修正",
    "記入",
    "記載",
    "漢字",
    "旧姓",
    "通称",
    "必要",
    "不要",
    "同じ",
    "違",
    "書",
    "登録",
    "届",
    "手続",
    "読",
    "本名",
    "省略",
    "分から",
    "知ら",
    "表記",
    "入力",
    "自分",
    "未定",
    "不明",
    "子供",
    "子ども",
    "名義",
    "フリガナ",
    "カタカナ",
    "ローマ字",
    "アルファベット",
    "証明",
    "申請",
    "確認",
    "住民",
    "市役所",
    "窓口",
)
_NAME_STOP_WORDS = frozenset(
    {"なに", "なん", "だれ", "どう", "どこ", "どれ", "いつ", "ひらがな", "かたかな", "ふりがな"}
)
_NAME_QUESTION_ENDINGS = ("か", "ます", "ません", "たい", "ない", "ください", "でしょう")
_GREETINGS = (
    "おはようございます",
    "こんにちは",
    "こんばんは",
    "はじめまして",
    "すみません",
    "すいません",
    "もしもし",
    "わたくしは",
    "わたしは",
    "ぼくは",
)


_SCRIPTS = (
    ("kanji", re.compile(f"[{_KANJI}]")),
    ("katakana", re.compile(f"[{_KATAKANA}・]")),
    ("hiragana", re.compile(f"[{_HIRAGANA}]")),
)


def _script(ch: str) -> str:
    for script, pattern in _SCRIPTS:
        if pattern.fullmatch(ch):
            return script
    return ""


def _plausible_name(name: str) -> bool:
    if not name or len(name.replace(" ", "")) > 20:
        return False
    if name in _NAME_STOP_WORDS or any(word in name for word in _NAME_STOP_SUBSTRINGS):
        return False
    return not name.endswith(_NAME_QUESTION_ENDINGS)


def _name_after(s: str, start: int, *, weak: bool, spaced: bool) -> tuple[int, int] | None:
    """The name typed after 「名前は」/「氏名：」 starting at ``start``."""
    end, spaces = start, 0
    while end < len(s):
        if _NAME_CHAR.match(s, end):
            end += 1
        elif (
            s[end] == " "
            and spaces < 2
            and end > start
            and end + 1 < len(s)
            and _NAME_CHAR.match(s, end + 1)
        ):
            spaces += 1
            end += 1
        else:
            break
    token = s[start:end]
    cut = min((i for i in (token.find(c, 1) for c in _NAME_CUTS) if i > 0), default=-1)
    marked = cut > 0
    if marked:
        token = token[:cut]
    elif token.endswith("で") and len(token) > 1 and _script(token[-2]) != "hiragana":
        token, marked = token[:-1], True
    token = token.rstrip(" ")
    if not _plausible_name(token):
        return None
    if weak:
        at_end = end == len(s) or s[end] in "。.!?\n、,)」"
        if not (marked or " " in token or (spaced and at_end)):
            return None
    return start, start + len(token)


def _name_before(s: str, end: int) -> tuple[int, int] | None:
    """The name right before 「と申します」: one run of one script, two runs with a space, or a
    kanji surname directly followed by a kana given name."""
    while end > 0 and s[end - 1] == " ":
        end -= 1
    if end == 0 or not _script(s[end - 1]):
        return None
    start = _run_start(s, end)
    last_script = _script(s[start])
    if start >= 2 and s[start - 1] == " " and _script(s[start - 2]):
        start = _run_start(s, start - 1)
    elif (
        start >= 1
        and last_script != "kanji"
        and _script(s[start - 1]) == "kanji"
        and s[start] not in "はがもの"
    ):
        start = _run_start(s, start)
    for greeting in _GREETINGS:
        if s.startswith(greeting, start) and end - start > len(greeting):
            start += len(greeting)
            break
    if (
        end - start > 1
        and s[start] in "はがもの"
        and start > 0
        and _script(s[start - 1]) in ("kanji", "katakana")
    ):
        start += 1
    name = s[start:end]
    if not _plausible_name(name.strip(" ")):
        return None
    return start, end


def _run_start(s: str, end: int) -> int:
    """Start of the run of one script ending at ``end`` (ー belongs to the run it ends)."""
    script = _script(s[end - 1])
    start = end
    while start > 0 and (_script(s[start - 1]) == script or s[start - 1] == "ー"):
        start -= 1
    return start


# --- candidates and selection ---------------------------------------------------------------------


def _search_all(pattern: re.Pattern[str], s: str, valid=None):
    """Like ``finditer`` but a rejected match only skips one character, not its whole span."""
    pos = 0
    while pos <= len(s):
        m = pattern.search(s, pos)
        if m is None:
            return
        if valid is None or valid(m.group(0)):
            yield m
            pos = m.end() if m.end() > m.start() else m.start() + 1
        else:
            pos = m.start() + 1


def _candidates(s: str) -> list[tuple[int, int, str, int]]:
    found: list[tuple[int, int, str, int]] = []

    def add(start: int, end: int, kind: str, priority: int | None = None) -> None:
        if end > start:
            found.append((start, end, kind, _PRIORITY[kind] if priority is None else priority))

    for m in _EMAIL.finditer(s):
        add(m.start(), m.end(), "email")
    for m in _CARD.finditer(s):
        add(m.start(), m.end(), "card")
    for m in _MYNUMBER.finditer(s):
        add(m.start(), m.end(), "mynumber")
    for m in _search_all(_PHONE, s, _valid_phone):
        add(m.start(), m.end(), "phone")
    for m in _PHONE_LABELLED.finditer(s):
        add(m.start(1), m.end(1), "phone", _PRIORITY["phone"] + 1)
    for m in _POSTAL.finditer(s):
        add(m.start(), len(s[: m.end()].rstrip(" ")), "address", _PRIORITY_POSTAL)
    for m in _POSTAL_LABELLED.finditer(s):
        add(m.start(1), len(s[: m.end(1)].rstrip(" ")), "address", _PRIORITY_POSTAL)
    for m in _search_all(_ADDRESS, s):
        start = m.start()
        for label in _ADDRESS_LABELS:
            if s.startswith(label, start) and m.end() - start > len(label) + 2:
                start += len(label)
                break
        add(start, m.end(), "address")
    for m in _BIRTH_CONTEXT.finditer(s):
        add(m.start("d"), m.end("d"), "birthdate")
    for m in _BIRTH_AFTER.finditer(s):
        add(m.start("d"), m.end("d"), "birthdate")
    for m in _FULL_DATE.finditer(s):
        if not _EVENT_AFTER.match(s, m.end()):
            add(m.start(), m.end(), "birthdate")
    for pattern, weak in ((_NAME_STRONG, False), (_NAME_FORM, False), (_NAME_WEAK, True)):
        for m in pattern.finditer(s):
            spaced = bool(m.groupdict().get("sp"))
            span = _name_after(s, m.end(), weak=weak, spaced=spaced)
            if span:
                add(*span, "name")
    for m in _NAME_BEFORE.finditer(s):
        if s.startswith("か", m.end()):
            continue  # 「…といいますか」 is a question, not an introduction
        span = _name_before(s, m.start())
        if span:
            add(*span, "name")
    for m in _CATCH_ALL.finditer(s):
        add(
            m.start(),
            m.end(),
            "mynumber" if m.end() - m.start() == 12 else "card",
            _PRIORITY_CATCH_ALL,
        )
    return found


def _mask_once(text: str) -> tuple[str, Counter[str]]:
    shadow = _shadow(text)
    taken = bytearray(len(text))
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind, _ in sorted(_candidates(shadow), key=lambda c: (c[3], c[0] - c[1], c[0])):
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        chosen.append((start, end, kind))
    counts: Counter[str] = Counter()
    parts: list[str] = []
    pos = 0
    for start, end, kind in sorted(chosen):
        parts.append(text[pos:start])
        parts.append(TOKENS[kind])
        counts[kind] += 1
        pos = end
    parts.append(text[pos:])
    return "".join(parts), counts


def mask(text: str) -> Masked:
    """Replace personal data in ``text`` with ``TOKENS``; ``counts`` says how many of each kind."""
    counts: Counter[str] = Counter()
    for _ in range(_MAX_PASSES):
        masked, found = _mask_once(text)
        if not found:
            break
        counts.update(found)
        text = masked
    return Masked(text, dict(counts))
