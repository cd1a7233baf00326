"""Who answers a message sent to an assistant: a pluggable responder (SPEC §5).

``settings.ASSISTANT_RESPONDER`` names a class with ``reply(*, assistant,
conversation, text) -> str``. The default answers from the assistant's FAQ
entries — the best match over question and answer words — and offers a human
follow-up when nothing matches well. ``faq_matches`` is also what a FAQ search uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from assistants.models import Assistant, Conversation, FaqEntry

FOLLOW_UP_REPLY = (
    "I'm not sure about that one. Someone from the team can follow up: leave your email or phone number "
    "and we'll get back to you."
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "the",
        "to",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


class Responder(Protocol):
    def reply(self, *, assistant: Assistant, conversation: Conversation, text: str) -> str: ...


def words(text: str) -> set[str]:
    """Lower-cased content words, a plural ``s`` dropped: "Refunds?" → {"refund"}."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        found.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return found


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float  # 0..1: the share of the query's words found, question words counting double


def faq_matches(entries: Iterable[FaqEntry], query: str) -> list[FaqMatch]:
    """Entries that share a word with ``query``, best first."""
    wanted = words(query)
    if not wanted:
        return []
    matches = []
    for entry in entries:
        in_question = wanted & words(entry.question)
        in_answer = (wanted - in_question) & words(entry.answer)
        score = (2 * len(in_question) + len(in_answer)) / (2 * len(wanted))
        if score > 0:
            matches.append(FaqMatch(entry=entry, score=round(score, 3)))
    return sorted(matches, key=lambda m: (-m.score, m.entry.position, m.entry.pk))


class FaqResponder:
    """The best-matching FAQ answer, or an offer of a human follow-up."""

    # Below this, a match is a coincidence of words, not an answer.
    MIN_SCORE = 0.3

    def reply(self, *, assistant: Assistant, conversation: Conversation, text: str) -> str:
        matches = faq_matches(assistant.faq_entries.all(), text)
        if matches and matches[0].score >= self.MIN_SCORE:
            return matches[0].entry.answer
        return FOLLOW_UP_REPLY


def get_responder() -> Responder:
    responder: Responder = import_string(settings.ASSISTANT_RESPONDER)()
    return responder
