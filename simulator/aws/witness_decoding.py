"""Decoding a z3 model into a witness request.

The context keys the question constrains as the model sets them (typed values printed back as
AWS reads them), an action of the chosen class that accepts the witness resource, and a value
for a resource pattern's variable that makes the resource match it, or not.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import z3

from simulator.aws.arn_formats import format_matches, formats_by_service
from simulator.aws.context_keys import KeyVar, Slot
from simulator.aws.question import Question
from simulator.aws.values import (
    IpValue,
    Lit,
    Pattern,
    Star,
    Var,
    format_date,
    format_ip,
)
from simulator.core.z3text import string_value


def decode_context(q: Question, model: Any) -> dict[str, Any]:
    """The context keys the question constrains, as the model sets them (absent keys omitted)."""
    out: dict[str, Any] = {}
    for name, var in sorted(q.keys.items()):
        if not var.free:
            if var.slots:
                out[name] = [string_value(s.text) for s in var.slots] if var.multi else string_value(var.slots[0].text)
            continue
        count = model.eval(var.count, model_completion=True).as_long()
        if count == 0:
            continue
        values = [_decode_slot(q, model, var, slot) for slot in var.slots[:count]]
        out[name] = values if var.multi else values[0]
    return out


def _decode_slot(q: Question, model: Any, var: KeyVar, slot: Slot) -> str:
    if var.sort == "string":
        return string_value(model.eval(slot.text, model_completion=True))
    valid, value = slot.typed[var.sort]
    if not z3.is_true(model.eval(valid, model_completion=True)):
        return "not-a-" + var.sort
    if var.sort == "numeric":
        number = Fraction(model.eval(value, model_completion=True).as_long(), q.numeric_scale)
        return _decimal(number)
    if var.sort == "date":
        return format_date(model.eval(value, model_completion=True).as_long())
    if var.sort == "epoch":
        return str(model.eval(value, model_completion=True).as_long())
    if var.sort == "bool":
        return "true" if z3.is_true(model.eval(value, model_completion=True)) else "false"
    version, bits = value
    v = model.eval(version, model_completion=True).as_long()
    return format_ip(IpValue(v, model.eval(bits, model_completion=True).as_long()))


def _decimal(number: Fraction) -> str:
    if number.denominator == 1:
        return str(number.numerator)
    sign = "-" if number < 0 else ""
    number = abs(number)
    whole, rest = divmod(number.numerator, number.denominator)
    digits = ""
    while rest and len(digits) < 30:
        rest *= 10
        digit, rest = divmod(rest, number.denominator)
        digits += str(digit)
    return f"{sign}{whole}.{digits}"


def decode_action(q: Question, model: Any, resource: str) -> tuple[str, bool]:
    """The witness action: an action of the chosen class that accepts ``resource``."""
    if q.action_concrete is not None:
        info = q.catalog.action(q.action_concrete)
        return (info.name if info else q.action_concrete), info is None
    k = q.classes[model.eval(q.action_var, model_completion=True).as_long()]
    if k.unknown:
        return k.actions[0], True
    # The class's formats the resource has, found by its service (a class may hold thousands of
    # actions: each is then tested by set intersection, not by regex).
    fields = resource.split(":", 3)
    service = fields[2] if len(fields) == 4 else ""
    fits = {f for f in formats_by_service(k.formats).get(service, ()) if format_matches(f, resource)}
    for name in k.actions:
        info = q.catalog.actions[name]
        if resource == "*" and info.any_resource:
            return info.name, False
        if fits and not fits.isdisjoint(info.formats):
            return info.name, False
    return q.catalog.actions[k.actions[0]].name, False


def variable_value(pattern: Pattern, resource: str, hit: bool) -> str:
    """A value for the pattern's one variable that makes ``resource`` match it (``hit``) or not:
    the substring the variable covers, or a value longer than the resource (it cannot occur)."""
    if not hit:
        return "iamdrift-" + "x" * (len(resource) + 1)
    regex = "".join(
        re.escape(p.text)
        if isinstance(p, Lit)
        else "(.*)"
        if isinstance(p, Var)
        else ".*"
        if isinstance(p, Star)
        else "."
        for p in pattern
    )
    match = re.fullmatch(regex, resource, re.S)
    return match.group(1) if match else ""
