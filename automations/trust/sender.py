"""Sender verification for e-mail requests (VER-01..07, VER-09 ``Date``): is the sender who the headers claim?

Evidence is only what the organisation's own receiving server wrote: ``Authentication-Results`` (RFC 8601) whose
authserv-id is configured. A receiving server prepends its header and strips copies claiming its id (§5), so the
trusted block is the topmost header with our id and those with our id below it up to the next ``Received``
(the previous hop); any other header with our id is a forgery (``FORGED_AR``) and is not read.

The automated path needs, from that block: ``dmarc=pass`` for ``header.from`` = the ``From`` domain, and a
``dkim=pass`` whose ``header.d`` is the ``From`` domain or a parent of it (relaxed alignment). SPF-only alignment
counts only for a partner whose registry entry sets ``accept_spf_only`` (a documented risk acceptance). The
published DMARC policy (``p=none``) plays no part: the pass itself is required. Results that conflict inside the
trusted block fail closed. ``Reply-To`` is never used: a different domain there sends the request to a human.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime

from automations.registry import Partner, PartnerRegistry
from automations.request import Request
from automations.trust import Refusal
from automations.trust.lookalike import TWO_LEVEL_SUFFIXES, ascii_domain, lookalike_of

NO_AUTH_RESULTS = "NO_AUTH_RESULTS"
FORGED_AR = "FORGED_AR"
DMARC_FAIL = "DMARC_FAIL"
DKIM_NOT_ALIGNED = "DKIM_NOT_ALIGNED"
SPF_ONLY_NOT_ACCEPTED = "SPF_ONLY_NOT_ACCEPTED"
MULTIPLE_FROM = "MULTIPLE_FROM"
SENDER_MISMATCH = "SENDER_MISMATCH"
DOMAIN_NOT_PARTNER = "DOMAIN_NOT_PARTNER"
REPLYTO_MISMATCH = "REPLYTO_MISMATCH"
LOOKALIKE_DOMAIN = "LOOKALIKE_DOMAIN"
REPLAY = "REPLAY"

REASONS = (NO_AUTH_RESULTS, FORGED_AR, DMARC_FAIL, DKIM_NOT_ALIGNED, SPF_ONLY_NOT_ACCEPTED, MULTIPLE_FROM,
           SENDER_MISMATCH, DOMAIN_NOT_PARTNER, REPLYTO_MISMATCH, LOOKALIKE_DOMAIN, REPLAY)


@dataclass(frozen=True)
class SenderPolicy:
    """What counts as evidence: our receiving servers' authserv-ids, the ``Date`` window, the domains to guard."""

    authserv_ids: frozenset[str]
    max_age_seconds: int = 86400
    max_future_seconds: int = 900
    protected_domains: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not any(i.strip() for i in self.authserv_ids):
            raise ValueError("sender verification needs the authserv-id of at least one of our receiving servers")
        if self.max_age_seconds <= 0 or self.max_future_seconds < 0:
            raise ValueError("the Date window needs a positive maximum age and a non-negative allowance ahead")


def protected_domains(registry: PartnerRegistry, agency_domains: Iterable[str] = ()) -> frozenset[str]:
    """The domains look-alikes are checked against: every partner's (or its correspondents') and the agency's."""
    domains = {d.strip().lower() for d in agency_domains if d.strip()}
    for partner in registry.partners:
        domains |= set(partner.domains) or {c.rpartition("@")[2] for c in partner.correspondents}
    return frozenset(domains)


@dataclass(frozen=True)
class AuthResult:
    """One ``method=result`` statement of an ``Authentication-Results`` header, with its ``ptype.property`` values."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResultsHeader:
    """A parsed ``Authentication-Results`` header: who wrote it (authserv-id, "" if absent) and what it says."""

    authserv_id: str
    results: tuple[AuthResult, ...]


_TOKEN = re.compile(r'([^\s=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


def _strip_comments(value: str) -> str:
    """``value`` without RFC 5322 comments (nested parentheses), quoted strings left intact."""
    out, depth, quoted, escaped = [], 0, False, False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    return "".join(out)


def parse_authentication_results(value: str) -> AuthResultsHeader:
    """Parse one header value; a header that starts with a result (Exchange Online's) has no authserv-id."""
    parts = [part.strip() for part in _strip_comments(value).split(";")]
    head = parts[0] if parts else ""
    authserv_id = "" if "=" in head else (head.split() or [""])[0].lower()
    statements = parts if "=" in head else parts[1:]
    results = []
    for statement in statements:
        tokens = [(key.lower(), val.strip('"')) for key, val in _TOKEN.findall(statement)]
        if not tokens:
            continue  # "none": no method was evaluated
        method, result = tokens[0]
        properties = {key: val.lower() for key, val in tokens[1:]}
        results.append(AuthResult(method.split("/")[0], result.lower(), properties))
    return AuthResultsHeader(authserv_id, tuple(results))


def trusted_results(request: Request, authserv_ids: frozenset[str]) -> tuple[list[AuthResult], int, int]:
    """Results of our own servers' topmost block, the number of headers with our id outside it (forgeries),
    and the number of ``Authentication-Results`` headers with another or no authserv-id."""
    ours = {i.strip().lower() for i in authserv_ids}
    trusted: list[AuthResult] = []
    forged = foreign = 0
    state = "before"  # before the block, inside it, after it
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "received" and state == "inside":
            state = "after"
        if lowered != "authentication-results":
            continue
        header = parse_authentication_results(value)
        if header.authserv_id not in ours:
            foreign += 1
        elif state == "after":
            forged += 1
        else:
            state = "inside"
            trusted.extend(header.results)
    return trusted, forged, foreign


def _addresses(values: Iterable[str]) -> list[str]:
    return [address.strip().lower() for _, address in getaddresses(list(values)) if address.strip()]


def _domain(address: str) -> str:
    return ascii_domain(address.rpartition("@")[2]) if "@" in address else ""


def _aligned(domain: str, from_domain: str) -> bool:
    """``domain`` is the From domain or a parent of it that is not a public suffix (relaxed alignment)."""
    domain = ascii_domain(domain)
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return True
    return from_domain.endswith("." + domain) and "." in domain and domain not in TWO_LEVEL_SUFFIXES


def _dkim_domain(result: AuthResult) -> str:
    return result.properties.get("header.d") or result.properties.get("header.i", "").rpartition("@")[2]


def _authentication(request: Request, partner: Partner | None, policy: SenderPolicy,
                    from_domain: str) -> list[Refusal]:
    trusted, forged, foreign = trusted_results(request, policy.authserv_ids)
    refusals = []
    if forged:
        refusals.append(Refusal(FORGED_AR, f"{forged} Authentication-Results header(s) claim our authserv-id below "
                                           "our receiving server's own: a forged header, ignored", alert=True))
    if not trusted:
        if foreign:
            refusals.append(Refusal(FORGED_AR, f"only Authentication-Results from servers that are not ours "
                                               f"({foreign}); our receiving server's verdict "
                                               f"({', '.join(sorted(policy.authserv_ids))}) is missing"))
        else:
            refusals.append(Refusal(NO_AUTH_RESULTS, "the message carries no authentication verdict "
                                                     "(Authentication-Results) from our receiving server: its "
                                                     "origin cannot be checked"))
        return refusals
    by_method: dict[str, list[AuthResult]] = {}
    for result in trusted:
        by_method.setdefault(result.method, []).append(result)
    dmarc = by_method.get("dmarc", [])
    # DMARC is evaluated on the From domain by definition: a verdict that does not repeat it (no header.from)
    # speaks of that domain; one that names another domain does not.
    dmarc_domains = {ascii_domain(r.properties.get("header.from") or from_domain) for r in dmarc}
    if not dmarc or any(r.result != "pass" for r in dmarc) or dmarc_domains != {from_domain}:
        said = ", ".join(f"dmarc={r.result} header.from={r.properties.get('header.from', '?')}" for r in dmarc)
        refusals.append(Refusal(DMARC_FAIL, f"DMARC did not pass for the From domain {from_domain}: "
                                            f"{said or 'no DMARC result'}"))
    compauth = by_method.get("compauth", [])
    if any(r.result != "pass" for r in compauth):
        refusals.append(Refusal(DMARC_FAIL, f"Exchange Online composite authentication did not pass: "
                                            f"compauth={', '.join(r.result for r in compauth)}"))
    dkim_pass = [r for r in by_method.get("dkim", []) if r.result == "pass"]
    if any(_aligned(_dkim_domain(r), from_domain) for r in dkim_pass):
        return refusals
    # Our server verified a signature but did not name its domain: with DMARC passed for the From domain (checked
    # above), that signature is the alignment evidence there is. Real receiving servers write header.d.
    if dkim_pass and not refusals and all(not _dkim_domain(r) for r in dkim_pass):
        return refusals
    spf_aligned = any(r.result == "pass" and _aligned(r.properties.get("smtp.mailfrom", "").rpartition("@")[2],
                                                      from_domain) for r in by_method.get("spf", []))
    if spf_aligned and bool(getattr(partner, "accept_spf_only", False)):
        return refusals
    signed = ", ".join(sorted({_dkim_domain(r) or "?" for r in dkim_pass})) or "none"
    if spf_aligned:
        refusals.append(Refusal(SPF_ONLY_NOT_ACCEPTED, f"{from_domain} passed SPF but has no aligned DKIM signature "
                                                       f"(valid signatures: {signed}), and the partner's registry "
                                                       "entry does not accept SPF-only alignment"))
    else:
        refusals.append(Refusal(DKIM_NOT_ALIGNED, f"no valid DKIM signature aligned with {from_domain} "
                                                  f"(valid signatures: {signed})"))
    return refusals


def _headers(request: Request, partner: Partner | None) -> tuple[list[Refusal], str]:
    """Refusals about From/Sender/Reply-To, and the From address ("" when there is not exactly one)."""
    refusals = []
    from_headers = request.header("From")
    senders = _addresses(from_headers)
    if len(from_headers) != 1 or len(senders) != 1:
        what = f"{len(from_headers)} From header(s) naming {len(senders)} address(es)" if from_headers else "none"
        refusals.append(Refusal(MULTIPLE_FROM, f"exactly one From address is required; the message has {what}"))
        return refusals, ""
    address = senders[0]
    if request.sender_address and address != request.sender_address.strip().lower():
        refusals.append(Refusal(SENDER_MISMATCH, f"the From header ({address}) differs from the sender the mailbox "
                                                 f"reported ({request.sender_address})"))
    sender_headers = request.header("Sender")
    sender = _addresses(sender_headers)
    if sender_headers and (len(sender_headers) != 1 or sender != [address]):
        refusals.append(Refusal(SENDER_MISMATCH, f"the Sender header ({', '.join(sender) or 'unreadable'}) differs "
                                                 f"from the From address {address}"))
    from_domain = _domain(address)
    reply_to = _addresses(request.header("Reply-To"))
    strangers = [a for a in reply_to if _domain(a) != from_domain]
    if strangers or (request.header("Reply-To") and not reply_to):
        refusals.append(Refusal(REPLYTO_MISMATCH, f"Reply-To ({', '.join(strangers) or 'unreadable'}) is outside "
                                                  f"the From domain {from_domain}; it is never used for answers"))
    if partner is not None:
        domains = {ascii_domain(d) for d in partner.domains} or {_domain(c) for c in partner.correspondents}
        if from_domain not in domains:
            refusals.append(Refusal(DOMAIN_NOT_PARTNER, f"{from_domain} is not a domain of partner {partner.id} "
                                                        f"({', '.join(sorted(domains))})"))
    return refusals, address


def _lookalikes(request: Request, address: str, policy: SenderPolicy) -> list[Refusal]:
    claimed = [address, *_addresses(request.header("Sender")), *_addresses(request.header("Reply-To"))]
    refusals, seen = [], set()
    for domain in (_domain(a) for a in claimed if a):
        imitated = lookalike_of(domain, policy.protected_domains)
        if imitated is not None and domain not in seen:
            seen.add(domain)
            refusals.append(Refusal(LOOKALIKE_DOMAIN, f"{domain} imitates the protected domain {imitated}: "
                                                      "no action and no reply; security team alerted", alert=True))
    return refusals


def date_refusal(request: Request, policy: SenderPolicy, now: datetime) -> Refusal | None:
    """``REPLAY`` when the ``Date`` is missing, repeated, unreadable, older than allowed or too far ahead."""
    dates = request.header("Date")
    if len(dates) != 1:
        return Refusal(REPLAY, f"exactly one Date header is required to check the message's age; found {len(dates)}")
    try:
        sent = parsedate_to_datetime(dates[0])
    except (TypeError, ValueError):
        return Refusal(REPLAY, f"the Date header {dates[0][:60]!r} cannot be read, so the message's age is unknown")
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    if sent < now - timedelta(seconds=policy.max_age_seconds):
        return Refusal(REPLAY, f"sent {sent.isoformat()}, more than {policy.max_age_seconds} s before "
                               f"{now.isoformat()}: an old message replayed or delayed")
    if sent > now + timedelta(seconds=policy.max_future_seconds):
        return Refusal(REPLAY, f"dated {sent.isoformat()}, more than {policy.max_future_seconds} s in the future")
    return None


def verify_sender(request: Request, partner: Partner | None, policy: SenderPolicy, *, now: datetime) -> list[Refusal]:
    """Every reason not to trust the e-mail's sender, most serious first (look-alikes, then authentication,
    headers and age); an empty list means the origin is proven for the automated path."""
    header_refusals, address = _headers(request, partner)
    refusals = _lookalikes(request, address, policy) if address else []
    if address:
        refusals += _authentication(request, partner, policy, _domain(address))
    refusals += header_refusals
    late = date_refusal(request, policy, now)
    return refusals + ([late] if late else [])
