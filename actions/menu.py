"""「何ができるの？」: a short menu of topics as buttons; a topic lists its frequent questions."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.context import audience_of, response_text
from actions.replies import button, send

#: button title -> FAQ category2 values it lists (resident FAQ); staff get their own categories
MENU: dict[str, tuple[str, ...]] = {
    "ごみ・リサイクル": ("ごみ・リサイクル", "粗大ごみ"),
    "住民票・戸籍・マイナンバー": ("住民票・戸籍・印鑑登録", "マイナンバーカード", "引越し（転入・転出・転居）"),
    "税金": ("税金",),
    "子育て": ("児童手当", "保育所・幼稚園", "妊娠・出産"),
    "健康・保険・介護": ("国民健康保険", "国民年金", "介護保険"),
    "防災": ("避難所・ハザードマップ", "罹災証明書"),
    "施設": ("図書館", "スポーツ施設・施設予約", "公園"),
}
QUESTIONS_PER_TOPIC = 5


def _categories(audience: str) -> dict[str, tuple[str, ...]]:
    if audience == "resident":
        return MENU
    entries = context.registry().get(audience).entries
    return {c: (c,) for c in dict.fromkeys(e.category2 for e in entries if e.category2)}


class ActionMenu(Action):
    def name(self) -> str:
        return "action_menu"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        try:
            categories = _categories(audience_of(tracker))
        except Exception:
            categories = {}
        buttons = [button(title, "choose_category", kind="menu", category=title) for title in categories]
        send(dispatcher, tracker, response_text(domain, "utter_menu"), "scripted", buttons=buttons)
        return []


class ActionChooseCategory(Action):
    def name(self) -> str:
        return "action_choose_category"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        audience = audience_of(tracker)
        title = next(tracker.get_latest_entity_values("category"), None)
        try:
            wanted = _categories(audience).get(title or "")
            entries = context.registry().get(audience).entries if wanted else []
        except Exception:
            wanted, entries = None, []
        picked = [e for e in entries if e.category2 in (wanted or ())][:QUESTIONS_PER_TOPIC]
        if not picked:
            send(dispatcher, tracker, response_text(domain, "utter_ask_rephrase"), "scripted")
            return []
        buttons = [button(e.question, "choose_faq", faq_id=e.faq_id) for e in picked]
        if title == "ごみ・リサイクル":
            buttons.insert(0, button(response_text(domain, "utter_garbage_day_button"), "garbage_day", kind="menu"))
        send(dispatcher, tracker, response_text(domain, "utter_category").format(category=title), "scripted",
             buttons=buttons)
        return []
