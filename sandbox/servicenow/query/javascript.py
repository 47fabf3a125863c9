"""``javascript:`` operands: a whitelist of ``gs.*`` helpers, parsed and evaluated here, never eval'd.

Helpers answer in UTC against an injectable clock; ``gs.getUserID()``/``gs.getUserName()`` come
from the query context (the requesting user), empty when the caller did not say who that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sandbox.servicenow.errors import EncodedQueryError
from sandbox.servicenow.query import dates

PREFIX = "javascript:"
Argument = int | str
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class QueryContext:
    """What ``javascript:`` helpers may read: the clock (UTC) and the requesting user."""

    clock: Clock = field(default=_utc_now)
    user_name: str = ""
    user_id: str = ""


@dataclass(frozen=True)
class HelperCall:
    """One ``gs.<name>(<args>)`` call."""

    name: str
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True)
class _Helper:
    parameters: tuple[type, ...]
    run: Callable[[datetime, QueryContext, tuple[Argument, ...]], str]


def _ago(unit: timedelta, boundary: Callable[[datetime], datetime] | None = None) -> _Helper:
    def run(now: datetime, _: QueryContext, args: tuple[Argument, ...]) -> str:
        assert isinstance(args[0], int)
        moment = now - unit * args[0]
        return dates.format_date_time(boundary(moment) if boundary else moment)

    return _Helper((int,), run)


def _at(moment: Callable[[datetime], datetime]) -> _Helper:
    return _Helper((), lambda now, _, __: dates.format_date_time(moment(now)))


def _date_generate(_: datetime, __: QueryContext, args: tuple[Argument, ...]) -> str:
    day, time = str(args[0]), str(args[1])
    parsed = dates.parse_date_time(day)
    if parsed is None or dates.format_date(parsed) != day:
        raise EncodedQueryError(f"gs.dateGenerate: {day!r} is not a date YYYY-MM-DD")
    if time == "start":
        return dates.format_date_time(dates.start_of_day(parsed))
    if time == "end":
        return dates.format_date_time(dates.end_of_day(parsed))
    moment = dates.parse_date_time(f"{day} {time}")
    if moment is None or dates.format_date_time(moment) != f"{day} {time}":
        raise EncodedQueryError(f"gs.dateGenerate: {time!r} is not a time HH:MM:SS, 'start' or 'end'")
    return dates.format_date_time(moment)


_DAY, _HOUR, _MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)

HELPERS: dict[str, _Helper] = {
    "now": _Helper((), lambda now, _, __: dates.format_date(now)),
    "nowDateTime": _at(lambda now: now),
    "beginningOfToday": _at(dates.start_of_day),
    "endOfToday": _at(dates.end_of_day),
    "beginningOfYesterday": _at(lambda now: dates.start_of_day(now - _DAY)),
    "endOfYesterday": _at(lambda now: dates.end_of_day(now - _DAY)),
    "beginningOfThisWeek": _at(dates.start_of_week),
    "beginningOfThisMonth": _at(dates.start_of_month),
    "daysAgo": _ago(_DAY),
    "daysAgoStart": _ago(_DAY, dates.start_of_day),
    "daysAgoEnd": _ago(_DAY, dates.end_of_day),
    "hoursAgo": _ago(_HOUR),
    "hoursAgoStart": _ago(_HOUR, dates.start_of_hour),
    "hoursAgoEnd": _ago(_HOUR, dates.end_of_hour),
    "minutesAgo": _ago(_MINUTE),
    "minutesAgoStart": _ago(_MINUTE, dates.start_of_minute),
    "minutesAgoEnd": _ago(_MINUTE, dates.end_of_minute),
    "dateGenerate": _Helper((str, str), _date_generate),
    "getUserName": _Helper((), lambda _, context, __: context.user_name),
    "getUserID": _Helper((), lambda _, context, __: context.user_id),
}


class _Reader:
    """A cursor over the script text, raising errors that quote the script and the position."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.index = 0

    def fail(self, problem: str) -> EncodedQueryError:
        return EncodedQueryError(f"{PREFIX}{self.script}: {problem} at character {self.index}")

    def skip_spaces(self) -> None:
        while self.index < len(self.script) and self.script[self.index].isspace():
            self.index += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.script[self.index] if self.index < len(self.script) else ""

    def expect(self, text: str) -> None:
        self.skip_spaces()
        if not self.script.startswith(text, self.index):
            raise self.fail(f"expected {text!r}")
        self.index += len(text)

    def name(self) -> str:
        self.skip_spaces()
        start = self.index
        while self.index < len(self.script) and (self.script[self.index].isalnum() or self.script[self.index] == "_"):
            self.index += 1
        if start == self.index:
            raise self.fail("expected a helper name")
        return self.script[start : self.index]

    def argument(self) -> Argument:
        quote = self.peek()
        if quote in ("'", '"'):
            end = self.script.find(quote, self.index + 1)
            if end < 0:
                raise self.fail(f"unbalanced quote {quote}")
            text = self.script[self.index + 1 : end]
            self.index = end + 1
            return text
        start = self.index
        if self.peek() == "-":
            self.index += 1
        while self.index < len(self.script) and self.script[self.index].isdigit():
            self.index += 1
        digits = self.script[start : self.index]
        if digits in ("", "-"):
            raise self.fail("expected a whole number or a quoted string")
        return int(digits)


def parse_helper(script: str) -> HelperCall:
    """Read ``gs.<name>(<whole numbers or quoted strings>)`` (the text after ``javascript:``)."""
    reader = _Reader(script)
    reader.expect("gs")
    reader.expect(".")
    name = reader.name()
    reader.expect("(")
    arguments: list[Argument] = []
    if reader.peek() != ")":
        arguments.append(reader.argument())
        while reader.peek() == ",":
            reader.expect(",")
            arguments.append(reader.argument())
    reader.expect(")")
    if reader.peek() == ";":
        reader.expect(";")
    if reader.peek():
        raise reader.fail("unexpected text after the call")
    return HelperCall(name, tuple(arguments))


def evaluate_helper(call: HelperCall, context: QueryContext, now: datetime) -> str:
    """The helper's value as query text (date-times ``YYYY-MM-DD HH:MM:SS`` UTC)."""
    helper = HELPERS.get(call.name)
    if helper is None:
        supported = ", ".join(f"gs.{name}()" for name in HELPERS)
        raise EncodedQueryError(f"{PREFIX}gs.{call.name}(): not an emulated helper; supported: {supported}")
    kinds = tuple(type(argument) for argument in call.arguments)
    if kinds != helper.parameters:
        wanted = ", ".join("number" if kind is int else "'text'" for kind in helper.parameters)
        raise EncodedQueryError(f"{PREFIX}gs.{call.name}() takes ({wanted}), got {call.arguments!r}")
    return helper.run(dates.as_utc(now), context, call.arguments)


class ScriptResolver:
    """Evaluates the ``javascript:`` operands of one query against one reading of the clock."""

    def __init__(self, context: QueryContext) -> None:
        self.context = context
        self._now: datetime | None = None

    @property
    def now(self) -> datetime:
        """The clock, read once per query so that every helper of the query agrees on "now"."""
        if self._now is None:
            self._now = dates.as_utc(self.context.clock())
        return self._now

    def resolve(self, operand: str) -> str:
        """The operand itself, or the value of its helper when it starts with ``javascript:``."""
        if not operand.startswith(PREFIX):
            return operand
        return evaluate_helper(parse_helper(operand[len(PREFIX) :]), self.context, self.now)
