"""The widget's pages: ``/widget/demo/``, the script embedded as a customer's site would."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.templatetags.static import static

from core.framing import allow_framing
from core.origins import origin_allowed
from widget.demo import demo_assistant, demo_questions


def demo(request: HttpRequest) -> HttpResponseBase:
    """The demo page: ``?assistant=ast_…``, else the demo workspace's first widget-enabled assistant.

    Framable by the assistant's allowed origins (every origin when it has none): SPEC §10.
    ``allow_framing`` rather than ``@framable_by``, as core/framing.py advises for a view that
    loads the assistant deciding the origins itself.
    """
    requested = request.GET.get("assistant", "").strip()
    assistant = demo_assistant(public_id=requested)
    if assistant is None:
        return render(request, "widget/demo_missing.html", {"requested": requested}, status=404)
    script_url = request.build_absolute_uri(static("widget/parley-widget.js"))
    page_origin = f"{request.scheme}://{request.get_host()}"
    context = {
        "assistant": assistant,
        "questions": demo_questions(assistant),
        "snippet": f'<script src="{script_url}" data-assistant="{assistant.public_id}" async></script>',
        "page_origin": page_origin,
        "origin_refused": not origin_allowed(page_origin, assistant.allowed_origins),
    }
    response = render(request, "widget/demo.html", context)
    return allow_framing(response, assistant.allowed_origins or ["*"])
