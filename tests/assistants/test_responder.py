"""The default responder answers from the assistant's FAQ, or offers a human follow-up."""

import pytest

from assistants.models import Conversation
from assistants.responders import FOLLOW_UP_REPLY, FaqResponder, faq_matches, words
from tests import factories

pytestmark = pytest.mark.django_db

FAQ = (
    ("What are your opening hours?", "We are open 9:00–17:00, Monday to Friday."),
    ("How do refunds work?", "Refunds go back to the card you paid with within 5 working days."),
    ("Do you ship abroad?", "We ship to the EU and the UK; shipping takes 3–5 days."),
)


@pytest.fixture
def assistant(workspace):
    return factories.make_assistant(workspace, faq=FAQ)


def ask(assistant, text):
    conversation = Conversation(workspace=assistant.workspace, assistant=assistant, channel="app")
    return FaqResponder().reply(assistant=assistant, conversation=conversation, text=text)


@pytest.mark.parametrize(
    ("question", "answer_starts"),
    [
        ("When are you open? opening hours please", "We are open"),
        ("refund", "Refunds go back"),
        ("Can I get my REFUNDS?", "Refunds go back"),
        ("do you ship to the UK", "We ship to the EU"),
        ("how long does shipping take", "We ship to the EU"),  # found in the answer, not the question
    ],
)
def test_best_match_answers(assistant, question, answer_starts):
    assert ask(assistant, question).startswith(answer_starts)


@pytest.mark.parametrize("question", ["What is the meaning of life?", "", "???", "the and of"])
def test_no_good_match_offers_a_human(assistant, question):
    assert ask(assistant, question) == FOLLOW_UP_REPLY


def test_matches_are_ranked_best_first_with_scores(assistant):
    matches = faq_matches(assistant.faq_entries.all(), "refunds opening hours")
    assert [m.entry.question for m in matches][:2] == ["What are your opening hours?", "How do refunds work?"]
    assert matches[0].score > matches[1].score


def test_words_drop_stopwords_case_and_plurals():
    assert words("What ARE your Opening Hours?") == {"opening", "hour"}
    assert words("Address class") == {"address", "class"}
