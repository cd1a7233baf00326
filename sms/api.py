"""``POST /api/sms/webhook/{assistantId}`` and ``POST /api/sms/status/{assistantId}``: Twilio's calls (SPEC §7).

Twilio, not a signed-in browser, calls these: no session, no CSRF token, no API
key. Each request is checked in this order, and refused with nothing stored:

1. the assistant named in the URL exists (404 ``not_found``: no token to check with);
2. ``X-Twilio-Signature`` verifies with its auth token (403 ``invalid_signature``);
3. the fields Parley needs are there and well formed (400 ``invalid_request``);
4. ``AccountSid`` is the assistant's account, and its number (or Messaging Service)
   is the one texted or texting (403 ``invalid_signature``).

Refusals of 1, 2 and 4 count per client IP: past ``API_AUTH_FAILURE_RATE`` they answer 429
``rate_limited`` instead (a signed request still gets through).

Answers are TwiML (``text/xml``); errors are the JSON envelope like everywhere under ``/api/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from accounts.actors import Actor
from assistants.models import Assistant, Message
from core.errors import InvalidInput, InvalidSignature, NotFound, RateLimited, ServiceError, service_error_response
from core.net import client_ip
from core.phones import E164
from sms.selectors import sms_assistant_get
from sms.services import sms_receive, sms_status_update
from sms.signatures import verify_addressee, verify_signature
from sms.twiml import CONTENT_TYPE, twiml

REQUIRED = "This field is required."
TWILIO_SID = re.compile(r"^[A-Za-z0-9]{1,64}$")
ERROR_CODE = re.compile(r"^[A-Za-z0-9]{1,16}$")
REFUSED_GROUP = "sms.refused"
TOO_MANY_REFUSED = "Too many refused Twilio webhook requests."


def _form(params: QueryDict, *, required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, str]:
    """The named fields (Twilio's names; unknown ones are ignored, Twilio adds fields), or a 400 naming each bad one."""
    values = {name: params.get(name, "") for name in (*required, *optional)}
    refused = {name: [REQUIRED] for name in required if not values[name]}
    refused.update({name: ["Null characters are not allowed."] for name, value in values.items() if "\x00" in value})
    if refused:
        raise InvalidInput(refused)
    return values


def _texter(phone: str, request: HttpRequest) -> Actor:
    """Who wrote a text, as events and the audit log name them: never the whole number."""
    return Actor.for_visitor(visitor_id=f"sms …{phone[-4:]}", ip=client_ip(request))


@method_decorator(csrf_exempt, name="dispatch")
class TwilioView(View):
    """POST only; a refusal is the JSON envelope, an answer is TwiML."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, assistant_id: str) -> HttpResponse:
        try:
            assistant = sms_assistant_get(public_id=assistant_id)
            verify_signature(request, assistant)
            reply = self.answer(request, assistant)
        except (NotFound, InvalidSignature) as exc:
            return service_error_response(request, _refusal_counted(request, exc))
        except ServiceError as exc:
            return service_error_response(request, exc)
        return HttpResponse(twiml(reply), content_type=CONTENT_TYPE)

    def answer(self, request: HttpRequest, assistant: Assistant) -> str | None:
        """The text to answer with (``None``: an empty ``<Response/>``)."""
        raise NotImplementedError


def _refusal_counted(request: HttpRequest, refusal: ServiceError) -> ServiceError:
    """``refusal``, or a 429 once this IP's refused requests (unknown assistant, bad signature) pass
    ``API_AUTH_FAILURE_RATE``, as failed API keys and visitor tokens do. Twilio's own signed
    requests are never counted: a busy number is never limited."""
    usage = get_usage(
        request,
        group=REFUSED_GROUP,
        key=lambda group, req: client_ip(req),
        rate=settings.API_AUTH_FAILURE_RATE,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        return RateLimited(retry_after=usage["time_left"], message=TOO_MANY_REFUSED)
    return refusal


class InboundSmsApi(TwilioView):
    """A text to the assistant: stored once per ``MessageSid``, answered with the reply as TwiML."""

    def answer(self, request: HttpRequest, assistant: Assistant) -> str | None:
        form = _form(
            request.POST,
            required=("MessageSid", "From", "To"),
            optional=("AccountSid", "MessagingServiceSid", "Body"),
        )
        refused: dict[str, list[str]] = {}
        if not TWILIO_SID.match(form["MessageSid"]):
            refused["MessageSid"] = ["Not a Twilio message SID."]
        try:
            E164(form["From"])
        except ValidationError as exc:
            refused["From"] = list(exc.messages)
        if len(form["Body"]) > Message.MAX_BODY_LENGTH:
            refused["Body"] = [f"At most {Message.MAX_BODY_LENGTH} characters."]
        if refused:
            raise InvalidInput(refused)
        verify_addressee(
            assistant,
            account_sid=form["AccountSid"],
            number=form["To"],
            messaging_service_sid=form["MessagingServiceSid"],
        )
        answer = sms_receive(
            assistant=assistant,
            actor=_texter(form["From"], request),
            message_sid=form["MessageSid"],
            phone=form["From"],
            body=form["Body"],
        )
        return answer.reply


class SmsStatusApi(TwilioView):
    """Twilio's report on a message the assistant sent: its ``delivery_status`` moves forward, never back."""

    def answer(self, request: HttpRequest, assistant: Assistant) -> str | None:
        form = _form(
            request.POST,
            required=("MessageSid",),
            optional=("MessageStatus", "SmsStatus", "ErrorCode", "AccountSid", "From", "MessagingServiceSid"),
        )
        status = form["MessageStatus"] or form["SmsStatus"]
        refused: dict[str, list[str]] = {}
        if not status:
            refused["MessageStatus"] = [REQUIRED]
        if not TWILIO_SID.match(form["MessageSid"]):
            refused["MessageSid"] = ["Not a Twilio message SID."]
        if form["ErrorCode"] and not ERROR_CODE.match(form["ErrorCode"]):
            refused["ErrorCode"] = ["Not a Twilio error code."]
        if refused:
            raise InvalidInput(refused)
        verify_addressee(
            assistant,
            account_sid=form["AccountSid"],
            number=form["From"],
            messaging_service_sid=form["MessagingServiceSid"],
        )
        sms_status_update(
            assistant=assistant,
            actor=Actor.system("Twilio"),
            message_sid=form["MessageSid"],
            status=status.lower(),
            error_code=form["ErrorCode"],
        )
        return None
