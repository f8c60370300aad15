"""`{% load links %}`: `value|web_link` is True only for a link core.web_links accepts, so
a template never makes an href of stored data that is not http(s) (docs/rules.md#input-links)."""
from django import template

from core.web_links import is_web_link

register = template.Library()


@register.filter
def web_link(value) -> bool:
    """True when `value` is an absolute http(s) URL that may be an href."""
    return is_web_link(value)
