"""Baseline: the least a functions-framework HTTP function can do."""
import functions_framework


@functions_framework.http
def trivial(request):
    return {"ok": True, "items": []}
