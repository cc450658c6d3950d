"""Contact and handoff: the responsible department with phone, place and office hours,
and whether the office is open now (Asia/Tokyo, holidays and 年末年始 included)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.replies import link, send
from retrieval import office_hours
from retrieval.departments import SWITCHBOARD, Department
from retrieval.office_hours import CLOSED_REASONS, jp_datetime

ONLINE_HINT = "よくある質問やオンラインでできる手続きは、ホームページから24時間ご利用いただけます。"


def contact_text(department: Department) -> str:
    """Several short lines: who, phone, hours, and whether they are open right now."""
    hours = context.office_hours()
    name = "習志野市役所 代表" if department.name == SWITCHBOARD else department.name
    lines = [f"{name}{'（' + department.place + '）' if department.place else ''}",
             f"電話：{department.phone}"]
    if department.hours:  # hours of their own (e.g. a library): shown, not evaluated
        lines.append(f"受付時間：{department.hours}")
        return "\n".join(lines)
    lines.append(f"受付時間：{hours.describe()}")
    status = hours.status(office_hours.now())
    if status.open:
        lines.append("ただいま受付時間内です。お気軽にお電話ください。")
    else:
        reason = CLOSED_REASONS[status.reason]
        if status.holiday_name:
            reason = f"本日は祝日（{status.holiday_name}）のため閉庁しています"
        lines.append(f"ただいま受付時間外です（{reason}）。次の受付開始は{jp_datetime(status.next_open)}です。")
        lines.append(ONLINE_HINT)
    return "\n".join(lines)


def department_of_topic(tracker: Tracker) -> str | None:
    """The department responsible for the current topic (an FAQ or a procedure), if any."""
    topic = tracker.get_slot("topic") or ""
    kind, _, key = topic.partition(":")
    if kind == "procedure":
        procedure = context.procedures().get(key)
        return procedure.department if procedure else None
    if kind == "faq":
        try:
            entry = context.registry().get(context.audience_of(tracker)).get(key)
        except Exception:
            return None
        return entry.department if entry else None
    return None


class ActionHandoff(Action):
    """「担当の人と話したい」: the department of the current topic, else the switchboard."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        department = context.departments().get(department_of_topic(tracker))
        intro = ("担当の窓口をご案内します。" if department.name != SWITCHBOARD
                 else "担当の職員がお答えします。次の窓口へお問い合わせください。")
        send(dispatcher, tracker, f"{intro}\n{contact_text(department)}", "handoff",
             link=link(department.online_url, department.name), department=department.name)
        return [SlotSet("failures", 0.0)]
