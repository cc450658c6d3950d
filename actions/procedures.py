"""Guided procedures (児童手当, 保育, 妊娠届, 介護保険, 罹災証明) and follow-ups in context.

``action_procedure`` gives the short guided answer and sets the topic; ``action_follow_up``
answers 「それはオンラインでできますか？」「必要なものは？」 against the topic in the slot —
a follow-up that names a procedure starts that topic instead, and a follow-up after an
FAQ answer searches with that FAQ's question as context.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.context import audience_of, response_text, text_of
from actions.replies import button, feedback_buttons, link, send
from actions.search import answer_by_search
from retrieval.fusion import ANSWER
from retrieval.index import SearchResult
from retrieval.procedures import ASPECT_LABELS, Procedure, aspect_of


def _guided_text(p: Procedure) -> str:
    lines = [f"【{p.name}】", p.summary, f"・対象：{p.who}", f"・必要なもの：{'、'.join(p.bring)}",
             f"・窓口：{p.where}", f"・期限：{p.when}"]
    if p.online_note:
        lines.append(f"・オンライン：{p.online_note}")
    return "\n".join(lines)


def _aspect_text(p: Procedure, aspect: str) -> str:
    if aspect == "online":
        head = (f"{p.name}は、オンラインでも申請できます。" if p.online_available
                else f"{p.name}は、現在オンラインでは申請できません。窓口：{p.where}")
        return f"{head}\n{p.online_note}".strip()
    if aspect == "bring":
        return f"{p.name}に必要なものは、次のとおりです。\n" + "\n".join(f"・{item}" for item in p.bring)
    value = {"where": p.where, "who": p.who, "when": p.when}[aspect]
    return f"{p.name}の{ASPECT_LABELS[aspect]}：{value}"


def _follow_up_buttons(p: Procedure) -> list[dict[str, str]]:
    return [button(ASPECT_LABELS[a], "follow_up", kind="follow_up", aspect=a) for a in ("bring", "online", "where")]


def send_procedure(dispatcher: CollectingDispatcher, tracker: Tracker, p: Procedure,
                   aspect: str | None = None) -> list:
    ref = f"procedure:{p.key}"
    text = _aspect_text(p, aspect) if aspect else _guided_text(p)
    online = link(p.online_url, f"オンライン申請（{p.name}）") if p.online_available else None
    primary = online if aspect == "online" and online else link(p.url, p.name)
    extra = [online] if online and primary is not online else []
    buttons = (_follow_up_buttons(p) if aspect is None else []) + feedback_buttons(ref)
    send(dispatcher, tracker, text, "answer", link=primary, links=extra or None, buttons=buttons, ref=ref,
         procedure=p.key)
    return [SlotSet("topic", ref), SlotSet("failures", 0.0)]


def _ask_which(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
    buttons = [button(p.name, "start_procedure", kind="menu", procedure=p.key) for p in context.procedures().procedures]
    send(dispatcher, tracker, response_text(domain, "utter_which_procedure"), "scripted", buttons=buttons)
    return []


class ActionProcedure(Action):
    def name(self) -> str:
        return "action_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        catalogue = context.procedures()
        key = next(tracker.get_latest_entity_values("procedure"), None)
        procedure = catalogue.get(key) or catalogue.find(text_of(tracker))
        if procedure is None:
            return _ask_which(dispatcher, tracker, domain)
        return send_procedure(dispatcher, tracker, procedure)


class ActionFollowUp(Action):
    def name(self) -> str:
        return "action_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        text = text_of(tracker)
        aspect = next(tracker.get_latest_entity_values("aspect"), None) or aspect_of(text)
        catalogue = context.procedures()
        named = catalogue.find(text)
        if named is not None:  # a new topic resets the context
            return send_procedure(dispatcher, tracker, named, aspect)
        kind, _, key = (tracker.get_slot("topic") or "").partition(":")
        if kind == "procedure" and (procedure := catalogue.get(key)):
            if aspect:
                return send_procedure(dispatcher, tracker, procedure, aspect)
            return answer_by_search(dispatcher, tracker, domain, f"{procedure.name} {text}")
        if kind == "faq":
            try:
                entry = context.registry().get(audience_of(tracker)).get(key)
            except Exception:
                entry = None
            if entry is not None:
                return answer_by_search(dispatcher, tracker, domain, f"{entry.question} {text}")
        if kind == "garbage":
            return answer_by_search(dispatcher, tracker, domain, f"{key} {text}")
        # no topic in context: a follow-up that names its subject (「〇〇の窓口はどこですか」) is a
        # question search can answer; a bare one (「それはオンラインでできますか？」) needs the topic
        if aspect is None:
            return answer_by_search(dispatcher, tracker, domain, text)
        result = _search(tracker, text)
        if result is not None and result.tier == ANSWER:
            return answer_by_search(dispatcher, tracker, domain, text, result)
        return _ask_which(dispatcher, tracker, domain)


def _search(tracker: Tracker, text: str) -> SearchResult | None:
    try:
        return context.registry().get(audience_of(tracker)).search(text, k=5)
    except Exception:  # answer_by_search reports a broken index; here it only means "not confident"
        return None
