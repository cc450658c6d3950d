"""Garbage days and garbage sorting.

- ``action_validate_slot_mappings`` (runs after every user message) fills ``district``
  and ``garbage_category`` from the text when the message is about garbage days or
  answers the district question, so 「谷津の燃えるごみは何曜日？」 needs no question back;
- ``garbage_day_form`` asks for the district when it is still unknown;
  an answer naming no known district is met by a rule (utter_district_unknown);
- ``action_garbage_day`` answers the collection days, ``action_garbage_sorting``
  looks an item up in the sorting dictionary and falls back to search.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.context import intent_of, response_text, text_of
from actions.replies import feedback_buttons, link, send
from actions.search import answer_by_search
from retrieval.garbage import District, describe_days

DAY_INTENTS = ("garbage_day", "inform_district")
GARBAGE_PAGE = "https://www.city.example.jp/kurashi/gomi/shushubi.html"
SORTING_PAGE = "https://www.city.example.jp/kurashi/gomi/bunbetsu.html"
FOLLOW_UP_CHARS = 20  # 「では、不燃ごみは何曜日ですか？」 fits; a whole new question does not


def _asking_district(tracker: Tracker) -> bool:
    return tracker.active_loop.get("name") == "garbage_day_form" and tracker.get_slot("requested_slot") == "district"


class ActionValidateSlotMappings(ValidationAction):
    """Global slot extraction for the garbage slots (other slots are set by actions only)."""

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        return ["district", "garbage_category"]

    async def extract_district(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if intent_of(tracker) not in DAY_INTENTS and not _asking_district(tracker):
            return {}
        district = context.garbage().find_district(text_of(tracker))
        return {"district": district.name} if district else {}

    async def extract_garbage_category(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict) -> dict:
        if intent_of(tracker) != "garbage_day":
            return {}
        # a new garbage-day question names its category, or asks for all of them
        return {"garbage_category": context.garbage().find_category(text_of(tracker))}


def send_garbage_day(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict, district: District,
                     category: str | None) -> list:
    """The collection days of one category, or of every category, for a district."""
    if category in district.days:
        text = f"{district.name}の{category}の収集日は、{describe_days(district.days[category])}です。"
    else:
        rows = "\n".join(f"・{c}：{describe_days(days)}" for c, days in district.days.items())
        text = f"{district.name}の収集日は次のとおりです。\n{rows}"
    text += "\n" + response_text(domain, "utter_garbage_day_note")
    ref = f"garbage_day:{district.name}"
    send(dispatcher, tracker, text, "answer", link=link(GARBAGE_PAGE, "ごみの収集日"),
         buttons=feedback_buttons(ref), ref=ref)
    return [SlotSet("topic", ref), SlotSet("failures", 0.0), SlotSet("garbage_category", None)]


def garbage_day_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict,
                          text: str) -> list | None:
    """「不燃ごみは？」 right after a collection-day answer: the same district, another category.
    None when the message is not such a short follow-up."""
    kind, _, name = (tracker.get_slot("topic") or "").partition(":")
    if kind != "garbage_day" or len(text) > FOLLOW_UP_CHARS:
        return None
    guide = context.garbage()
    district, category = guide.district(name), guide.find_category(text)
    if district is None or category is None or guide.find_item(text) is not None:
        return None
    return send_garbage_day(dispatcher, tracker, domain, guide.find_district(text) or district, category)


class ActionGarbageDay(Action):
    def name(self) -> str:
        return "action_garbage_day"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        district = context.garbage().district(tracker.get_slot("district") or "")
        if district is None:
            send(dispatcher, tracker, response_text(domain, "utter_district_unknown"), "scripted")
            return []
        return send_garbage_day(dispatcher, tracker, domain, district, tracker.get_slot("garbage_category"))


class ActionGarbageSorting(Action):
    def name(self) -> str:
        return "action_garbage_sorting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        guide = context.garbage()
        text = text_of(tracker)
        item = guide.find_item(text)
        if item is None:
            item = guide.find_item_by_reading(context.registry().normalizer.reading(text))
        if item is None:  # not in the dictionary: the FAQ and the homepage may still know
            return answer_by_search(dispatcher, tracker, domain, text)
        answer = f"「{item.name}」は「{item.category}」です。"
        if item.notes:
            answer += item.notes
        district = guide.district(tracker.get_slot("district") or "")
        if district and item.category in district.days:
            answer += f"\n{district.name}の{item.category}の収集日は、{describe_days(district.days[item.category])}です。"
        ref = f"garbage:{item.name}"
        send(dispatcher, tracker, answer, "answer", link=link(SORTING_PAGE, "ごみの分け方・出し方"),
             buttons=feedback_buttons(ref), ref=ref)
        return [SlotSet("topic", ref), SlotSet("failures", 0.0)]
