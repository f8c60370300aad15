"""Project-wide template context."""


def csp_nonce(request) -> dict:
    """`csp_nonce`: this response's Content-Security-Policy nonce (django-csp), under the
    name django-htmx's {% htmx_script %} and base.html's <script nonce> read."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
