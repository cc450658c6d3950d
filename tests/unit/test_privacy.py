"""Masking personal data in what residents type: what is masked, what must stay, and idempotence."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest

from bot.privacy import TOKENS, Masked, mask

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is optional
    given = None

MY, TEL, MAIL, ADDR, CARD, DOB, NAME = (
    TOKENS[k] for k in ("mynumber", "phone", "email", "address", "card", "birthdate", "name")
)

# (input, expected masked text)
MASKED = [
    # マイナンバー: 12 digits, spaced, hyphenated, 全角
    ("マイナンバーは123456789012です", f"マイナンバーは{MY}です"),
    ("マイナンバー「1234 5678 9012」を入力しました", f"マイナンバー「{MY}」を入力しました"),
    ("個人番号 1234-5678-9012 の通知カード", f"個人番号 {MY} の通知カード"),
    ("マイナンバーは１２３４　５６７８　９０１２です", f"マイナンバーは{MY}です"),
    ("１２３４－５６７８－９０１２", MY),
    # phone numbers
    ("電話番号は090-1234-5678です", f"電話番号は{TEL}です"),
    ("携帯は０９０－１２３４－５６７８です", f"携帯は{TEL}です"),
    ("090ー1234ー5678に折り返してください", f"{TEL}に折り返してください"),
    ("08012345678まで連絡ください", f"{TEL}まで連絡ください"),
    ("070 1234 5678", TEL),
    ("自宅は03-1234-5678です", f"自宅は{TEL}です"),
    ("047-123-4567に電話しました", f"{TEL}に電話しました"),
    ("0120-123-456はフリーダイヤルですか", f"{TEL}はフリーダイヤルですか"),
    ("(047)123-4567", TEL),
    ("ＴＥＬ：０４７（１２３）４５６７", f"ＴＥＬ：{TEL}"),
    ("+81 90-1234-5678", TEL),
    ("+81-3-1234-5678までお願いします", f"{TEL}までお願いします"),
    ("0474531234", TEL),
    ("電話 453-1234", f"電話 {TEL}"),
    # e-mail
    ("メールはyamada.taro@example.co.jp です", f"メールは{MAIL} です"),
    ("ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍに送ってください", f"{MAIL}に送ってください"),
    ("連絡先：taro-y+city@mail.example.ne.jp", f"連絡先：{MAIL}"),
    # postal codes and addresses
    ("〒275-0016 千葉県習志野市津田沼1-2-3に住んでいます", f"{ADDR}に住んでいます"),
    ("〒２７５－００１６　千葉県習志野市津田沼１－２－３", ADDR),
    ("〒2750016", ADDR),
    ("275-0016 千葉県習志野市津田沼1-2-3です", f"{ADDR}です"),
    ("郵便番号は275-0016です", f"郵便番号は{ADDR}です"),
    ("習志野市谷津3丁目5番7号に住んでいます", f"{ADDR}に住んでいます"),
    ("住所は習志野市谷津3丁目5番7号です", f"住所は{ADDR}です"),
    ("鷺沼台2丁目3-4から引っ越します", f"{ADDR}から引っ越します"),
    ("習志野市大久保1丁目1番1号", ADDR),
    ("実籾123番地の4", ADDR),
    ("習志野市津田沼1-2-3", ADDR),
    # card numbers
    ("カード番号は4111 1111 1111 1111です", f"カード番号は{CARD}です"),
    ("4111-1111-1111-1111で払えますか", f"{CARD}で払えますか"),
    ("3782 822463 10005", CARD),
    ("4111111111111111", CARD),
    # dates of birth
    ("生年月日は1985年4月1日です", f"生年月日は{DOB}です"),
    ("昭和60年4月1日生まれです", f"{DOB}生まれです"),
    ("令和元年5月1日生まれの子ども", f"{DOB}生まれの子ども"),
    ("誕生日：1985/04/01", f"誕生日：{DOB}"),
    ("生年月日 S60.4.1", f"生年月日 {DOB}"),
    ("生年月日：１９８５年０４月０１日", f"生年月日：{DOB}"),
    ("誕生日は4月1日です", f"誕生日は{DOB}です"),
    ("生年月日19850401", f"生年月日{DOB}"),
    ("平成2年3月4日", DOB),
    # names
    ("私の名前は山田太郎です", f"私の名前は{NAME}です"),
    ("山田太郎と申します", f"{NAME}と申します"),
    ("氏名：山田 太郎", f"氏名：{NAME}"),
    ("名前は やまだ たろう", f"名前は {NAME}"),
    ("はじめまして、やまだたろうともうします", f"はじめまして、{NAME}ともうします"),
    ("私は山田と申しますが、住民票について", f"私は{NAME}と申しますが、住民票について"),
    ("ヤマダ・タロウと申します", f"{NAME}と申します"),
    ("子どもの名前は花子です", f"子どもの名前は{NAME}です"),
    ("山田たろうと申します", f"{NAME}と申します"),
    # several kinds in one message
    (
        "山田太郎と申します。電話は090-1234-5678、メールはa@b.jp",
        f"{NAME}と申します。電話は{TEL}、メールは{MAIL}",
    ),
    ("名前は山田で、住所は谷津3丁目5番7号です", f"名前は{NAME}で、住所は{ADDR}です"),
    ("1234 5678 9012 090-1234-5678", f"{MY} {TEL}"),
]

# Ordinary numbers and words that FAQ questions are about: must stay exactly as typed.
UNCHANGED = [
    "2026年度の児童手当はいくらですか",
    "2026年から制度が変わりますか",
    "住民票の写しは300円です",
    "手数料は3,000円ですか",
    "児童手当は月額15,000円です",
    "10万円の給付金",
    "2人目の子どもの保育料",
    "第3子の保育料は無料ですか",
    "ごみは8時30分までに出してください",
    "市役所は平日8:30〜17:15です",
    "8時30分から17時15分まで",
    "令和8年度から変わります",
    "2026年4月1日から受付開始",
    "2025年10月1日に制度が変わりました",
    "4月1日から申請できますか",
    "2026/04/01に申請しました",
    "第2・第4土曜日は休みですか",
    "谷津1丁目のごみ収集日はいつですか",
    "1丁目から3丁目まで",
    "国道16号の渋滞",
    "3番窓口はどこですか",
    "市役所の電話番号を教えてください",
    "電話で予約できますか",
    "0120から始まる番号は無料ですか",
    "納付書番号は1234-5678です",
    "名前は変更できますか",
    "名前は何ですか",
    "名前が変わったので手続きしたい",
    "子どもの名前は決まっていません",
    "これは何といいますか",
    "もっといい方法はありますか",
    "郵便番号を調べたい",
    "マイナンバーカードの更新方法",
    "粗大ごみは1回何個まで出せますか",
    "19850401",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_masks_personal_data(text, expected):
    assert mask(text).text == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_keeps_what_faq_questions_are_about(text):
    result = mask(text)
    assert result.text == text
    assert result.counts == {}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("マイナンバーは123456789012です", {"mynumber": 1}),
        ("4111 1111 1111 1111", {"card": 1}),  # 16 digits: a card, not a マイナンバー
        ("012345678901", {"mynumber": 1}),  # 12 digits starting with 0: not a phone number
        ("1234567890123456789012345", {"card": 1}),  # any long run is masked
        ("電話090-1234-5678と03-1234-5678", {"phone": 2}),
        ("〒275-0016 千葉県習志野市津田沼1-2-3 090-1234-5678", {"address": 1, "phone": 1}),
        (
            "山田太郎と申します。生年月日は1985年4月1日、yamada@example.jp",
            {"name": 1, "birthdate": 1, "email": 1},
        ),
        ("特にありません", {}),
    ],
)
def test_counts_by_kind(text, kinds):
    assert mask(text).counts == kinds


def test_masked_is_frozen_and_totals():
    result = mask("090-1234-5678と03-1234-5678")
    assert isinstance(result, Masked) and result.total == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "x"  # type: ignore[misc]


def test_raw_values_never_survive():
    text = (
        "山田太郎と申します。マイナンバー1234 5678 9012、電話０９０－１２３４－５６７８、"
        "yamada@example.jp、〒275-0016 千葉県習志野市津田沼1-2-3、生年月日1985年4月1日"
    )
    out = mask(text).text
    for raw in ("山田", "1234", "５６７８", "yamada", "275", "津田沼", "1985"):
        assert raw not in out


FRAGMENTS = [
    "0",
    "1",
    "9",
    "０",
    "５",
    "-",
    "－",
    "ー",
    " ",
    "　",
    "(",
    ")",
    "+81",
    "〒",
    "@",
    "＠",
    ".",
    "年",
    "月",
    "日",
    "丁目",
    "番",
    "号",
    "番地",
    "生年月日",
    "誕生日",
    "名前は",
    "私の名前は",
    "氏名：",
    "と申します",
    "です",
    "山田",
    "太郎",
    "やまだ",
    "ヤマダ",
    "市",
    "谷津",
    "090",
    "1234",
    "5678",
    "生まれ",
    "電話",
    "郵便番号",
    "昭和",
    "S",
    "a",
    "x",
    "、",
    "。",
    TEL,
    NAME,
    "から",
    "\n",
]


def _check_properties(text: str) -> None:
    once = mask(text).text
    assert mask(once).text == once
    assert not re.search(r"\d{12}", once)


def test_properties_on_seeded_random_text():
    rng = random.Random(20260401)
    for _ in range(3000):
        if rng.random() < 0.3:
            text = "".join(rng.choice("0123456789０１２ -ー") for _ in range(rng.randint(0, 40)))
        else:
            text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 20)))
        _check_properties(text)


if given is not None:

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=20).map(
            "".join
        )
    )
    def test_properties_hold_for_any_text(text):
        _check_properties(text)

else:

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_properties_hold_for_any_text():
        pass


def test_long_input_is_fast():
    import time

    text = "あ" * 100 + "電話は090-1234-5678、" * 1000 + "a" * 5000 + "@" + "0" * 5000
    started = time.perf_counter()
    result = mask(text)
    assert result.counts["phone"] == 1000
    assert time.perf_counter() - started < 5
