"""Expected answer types (TREC-QA style): what a question asks for, and whether a quote contains it.

Rules for the question (:func:`expected_type`). Each rule is a pattern over the question; the one that
starts earliest wins ("How do I find which version ..." asks for steps), ties go to the order below.

========== ====================================================================== ==========================
type       question form                                                          a quote must contain
========== ====================================================================== ==========================
version    which/what (...) version/release                                        ``v2``, ``1.29``, ``version 18``
duration   how long / how often / how many days... / what (...) retention,        a number with a time unit
           timeout, TTL, interval, period, SLA, cadence                           (``30 days``), ``daily``,
                                                                                  ``every Monday``, ``an hour``
number     how many / how much / how big... / what (...) limit, threshold,        a number (digits or a number
           number, size, cost, rate, quota, salary, allowance, fee, wage, bonus   word), with its unit if any
date       when is/was/did/will/does / what date, day, year, time                 a date, year, weekday, clock
                                                                                  time, ``Q3``, ``end of month``
place      where (asking; not "the outage where ...": see ``_ASKS``)              a URL, path, ``#channel``, a
                                                                                  repo/dashboard/bucket word or
                                                                                  "in/at/on" + a proper name
person     who is/was/owns/approves... (asking; not "a customer who is ...") /   a full name, ``@handle`` or a
           which person, team, engineer                                           role (owner, lead, on-call)
steps      how do/can/should I (we, you) / how to / what are the steps,           a list item or an
           procedure, process; a yes-no form that asks for a way ("does anyone    imperative or sequence
           know how to ...", "is there a way to ...")                             (``first``, ``then``,
                                                                                  a command in backticks,
                                                                                  a shell command with an
                                                                                  option or a pipe, "you
                                                                                  can install ...")
list       what are/were the ...s / which ...s are / list / name the /            a list item, a table row
           what kinds, types of                                                   or "A, B and C"
polarity   yes-no: the question starts with is/are/can/do/does/should/...         a modal or a negation
                                                                                  (must, may, not, never,
                                                                                  only, allowed, required)
========== ====================================================================== ==========================

"How does X work?", "why ...", "what is X?" and "when do I ..." (a condition, not a date) expect no
particular type: :func:`expected_type` returns ``None`` and every quote passes.

A quote is tested near the question's focus terms (:func:`type_match`): the type must be found within
:data:`WINDOW` words of a focus term in the quote (score 1.0); found with the focus only in the quote's
context - its page title, section or the sentence before it - (0.6); found with no focus anywhere (0.2);
not found (0.0). Lists and steps are judged by the unit's structure (a list item, a table row), so an
item that does not repeat the question's words still passes when its context carries the focus.
"""

from __future__ import annotations

import re
from enum import StrEnum

from rag.text import stem, words

WINDOW = 12


class AnswerType(StrEnum):
    """What an answer must contain."""

    NUMBER = "number"
    DURATION = "duration"
    VERSION = "version"
    DATE = "date"
    PLACE = "place"
    PERSON = "person"
    POLARITY = "polarity"
    LIST = "list"
    STEPS = "steps"


_I = re.IGNORECASE
_FILL = r"(?:[\w'-]+\s+){0,4}?"
_TIME_UNIT = (r"(?:ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|working\s+days|"
              r"business\s+days|weeks?|fortnights?|months?|quarters?|years?|sprints?)")
_NUM_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
             r"forty|fifty|sixty|ninety|hundred|thousand|dozen|a|an|half\s+an?)")

# "where" and "who is" ask only where a clause starts: at the start of the question, after a clause break or a
# conjunction, after a verb of knowing or telling ("do you know where", "tell me who is"), or after a
# preposition ("for where user workloads run"). After a noun they are relative pronouns and ask nothing: "the
# outage where the hub said ...", "a fleet customer who is disputing an invoice ...".
_ASKS = (r"(?:^\s*|[,;:.?!(]\s*|\b(?:and|or|but|so|then|know|knows|tell|telling|ask|asking|say|said|sure|idea|see|"
         r"find|found|out|check|remember|wonder|wondering|decide|decided|show|explain|clear|unclear|about|for|to|from|"
         r"of|on|in|me|us|is|was)\s+)")

# Question rules, in tie-break order.
QUESTION_RULES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (AnswerType.VERSION, re.compile(rf"\b(?:which|what)\s+{_FILL}(?:versions?|releases?)\b", _I)),
    (AnswerType.DURATION, re.compile(
        rf"\bhow\s+(?:long|often|soon|frequently)\b|\bhow\s+many\s+{_TIME_UNIT}\b|\bhow\s+much\s+time\b"
        rf"|\b(?:what|which)\s+{_FILL}(?:retention|timeout|ttl|interval|frequency|period|duration|sla|rpo|"
        rf"rto|cadence|expiry|lifetime|notice)\b", _I)),
    (AnswerType.NUMBER, re.compile(
        rf"\bhow\s+(?:many|much|big|large|high|low|fast|far|small)\b"
        rf"|\b(?:what|which)\s+{_FILL}(?:number|percentage|percent|limit|threshold|quota|rate|size|cost|price|"
        rf"budget|amount|count|capacity|maximum|minimum|max|min|ratio|score|"
        # money a person is paid: an amount ("What on-call allowance are engineers paid?")
        rf"salary|salaries|allowances?|fees?|wages?|bonus|bonuses|stipend)\b", _I)),
    (AnswerType.DATE, re.compile(
        r"^\s*when\s+(?:is|was|did|will|were|are|does)\b|\bsince\s+when\b|\bby\s+when\b"
        r"|\b(?:what|which)\s+(?:date|day|year|month|time|week|quarter)\b|\bwhat\s+time\b", _I)),
    (AnswerType.PLACE, re.compile(rf"{_ASKS}where\b", _I)),
    (AnswerType.PERSON, re.compile(
        # "Who knows / should I ask / can help ..." asks for people to ask: the expert ranking answers it.
        r"^\s*who\b(?!(?:'s|\s+is|\s+are)?\s+(?:knows?|should|can|could|would|do|the\s+right|the\s+best|"
        r"the\s+go-to|the\s+expert|to\s+ask|has\s+context))|"
        + _ASKS + r"who\s+(?:is|was|are|owns|runs|approves|decides|signs|leads)\b"
        r"(?!\s+(?:the\s+)?(?:right|best|go-to|expert))"
        r"|\bwhich\s+(?:person|people|engineer|team|manager|lead|owner)\b", _I)),
    (AnswerType.STEPS, re.compile(
        r"^\s*how\s+(?:do|can|should|would|could|shall)\s+(?:i|we|you|one|a\s+new\s+\w+)\b|\bhow\s+to\b"
        r"|\b(?:what|which)\s+(?:are\s+|is\s+)?(?:the\s+)?(?:steps|procedure|process|checklist|runbook)\b"
        r"|\bwhat\s+(?:do|should|must|can|would)\s+(?:i|we|you)\s+do\b"
        r"|\bsteps\s+(?:to|for)\b", _I)),
    (AnswerType.LIST, re.compile(
        rf"\b(?:what|which)\s+(?:are|were)\s+(?:the\s+|our\s+|its\s+|their\s+)?{_FILL}[\w-]+s\b"
        r"|\b(?:what|which)\s+(?:kinds?|types?|sorts?)\s+of\b|^\s*(?:list|name)\s+(?:the|all)\b", _I)),
    (AnswerType.POLARITY, re.compile(
        r"^\s*(?:is|are|am|can|could|do|does|did|should|will|would|was|were|has|have|had|may|must)\b", _I)),
]

# A month's name or its abbreviation, whole: not the start of another word ("10 decisions", "mark 2").
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
# Quote rules: what counts as an answer of each type inside a quote.
QUOTE_RULES: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.NUMBER: re.compile(
        r"(?<![\w-])\d+(?:[.,]\d+)*\s?(?:%|[a-z]{1,6}\b)?|\b(?:one|two|three|four|five|six|seven|eight|"
        r"nine|ten|eleven|twelve|twenty|thirty|fifty|hundred|thousand|million|dozen|half)\b", _I),
    AnswerType.DURATION: re.compile(
        # a number word needs a space or a hyphen and a unit of more than one letter: "as" is no "a s[econd]",
        # "ones" no "one s"
        rf"(?<![\w-])(?:\d+(?:[.,]\d+)?(?:\s?(?:-|–|to)\s?\d+(?:[.,]\d+)?)?(?:\s?-\s?|\s?){_TIME_UNIT}"
        rf"|{_NUM_WORD}(?:\s+|\s?-\s?)(?:to\s+\w+\s+)?(?!(?:s|h|ms)\b){_TIME_UNIT})\b"
        r"|\b(?:daily|weekly|nightly|hourly|monthly|quarterly|annually|yearly|fortnightly)\b"
        r"|\b(?:every|each|per|once\s+a)\s+(?:other\s+)?(?:day|week|month|quarter|year|hour|sprint|night|"
        r"\w+day)\b|\b(?:indefinitely|forever|until)\b", _I),
    AnswerType.VERSION: re.compile(
        r"\bv\d+(?:\.\d+)*\b|(?<![\w.])\d+\.\d+(?:\.\d+)*(?![\w.])|\b(?:version|release)\s+v?\d+", _I),
    AnswerType.DATE: re.compile(
        rf"\b\d{{4}}-\d{{2}}(?:-\d{{2}})?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:\s+\d{{4}})?\b"
        rf"|\b{_MONTH}\s+\d{{1,4}}\b|\b(?:19|20)\d{{2}}\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b"
        r"|\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b|\bq[1-4]\b|\b(?:end|start|beginning)\s+of\s+(?:the\s+|each\s+)?"
        r"(?:month|quarter|year|sprint|week|day)\b|\b(?:today|tomorrow|yesterday|tonight|weekend|midnight|noon)\b",
        _I),
    AnswerType.PLACE: re.compile(
        r"https?://\S+|\b\w+://\S+|(?<!\w)#[a-z][\w-]+|(?<![\w<])/?[\w.-]+/[\w./-]+|\b(?:repo|repository|folder|"
        r"directory|dashboard|bucket|channel|wiki|page|drive|vault|console|portal|region|office|server|namespace|"
        r"cluster|site|spreadsheet|sheet|confluence|notion|github|gitlab|grafana|jira|slack|1password|"
        r"tab|menu|settings|account|project|file|inbox|mailbox|room|floor|building)s?\b"
        # "in/at/on" + a proper name or a `code` name: case-sensitive, or "in the cluster" would be a place
        r"|\b(?:in|at|on|from|under|via)\s+(?:the\s+)?(?-i:[A-Z`])[\w`-]+", _I),
    AnswerType.PERSON: re.compile(
        r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z'-]+)+\b|(?<!\w)@[\w.-]+|\b(?:owners?|leads?|managers?|engineers?|"
        r"on-?call|oncall|commanders?|teams?|admins?|administrators?|director|head\s+of|cto|ceo|vp|"
        r"responsible|approvers?|reviewers?|maintainers?|champions?|squad)\b"),
    AnswerType.POLARITY: re.compile(
        r"\b(?:yes|no|not|never|always|only|must|cannot|can|may|allowed|permitted|forbidden|prohibited|"
        r"required|requires?|mandatory|optional|should|need|needs|enabled|disabled|supported|unsupported|"
        r"none|nobody|nothing)\b|n't\b", _I),
    AnswerType.STEPS: re.compile(
        # a chat reply may start by addressing someone ("jk_: sudo apt-get install ...", "bob, try ...")
        r"^\s*(?:[\w`|^\[\]{}-]{2,20}[:,]\s+)?(?:\d+[.)]\s*)?(?:run|try|open|go|click|add|create|set|check|merge|push|deploy|ask|raise|file|update|"
        r"rotate|restart|install|log|sign|request|make|use|copy|paste|edit|change|select|enter|type|wait|"
        r"confirm|post|page|notify|tag|apply|get|write|submit|approve|review|follow|call|email|message|ping|"
        r"trigger|roll|revert|delete|remove|disable|enable|upload|download|start|stop|scale|drain|cordon|"
        r"kubectl|terraform|git|generate|store|put|move|send|contact|visit|navigate|choose|fill|book|"
        r"escalate|announce|verify|test|tick|press|connect|join|invite|grant|revoke|export|import|"
        r"replace|reload|redeploy|re-run|rerun|upgrade|downgrade|backup|restore|snapshot|"
        # a shell command at the start of a line or a reply is a step
        r"sudo|apt|apt-get|aptitude|dpkg|snap|pip3?|npm|yarn|brew|yum|dnf|pacman|systemctl|service|cd|ls|cat|"
        r"chmod|chown|mkdir|cp|mv|rm|ln|echo|export|source|curl|wget|ssh|scp|rsync|docker|helm|make|"
        r"python3?|mount|umount|fdisk|gksudo|kdesu)\s|\byou\s+(?:need|have|want|will\s+need)\s+to\s+\w+"
        # a shell command after a bare nick ("bonhoffer netstat -ln | grep 3000"): a word, then an option
        # or a pipe; "you can/could/should <verb>", "try <something>" anywhere
        r"|(?<![\w-])(?:sudo|apt-get|apt|dpkg|aptitude|snap|systemctl|modprobe|netstat|lsof|grep|chmod|chown|"
        r"mount|fdisk|gparted|update-grub|grub-install|dmesg|lspci|lsusb|ifconfig|iwconfig|xrandr|ps|kill|"
        r"killall|ln|tar|gksu|gksudo|nano|vim?|gedit)\s+\S|(?<![\w-])[a-z][\w.-]*\s+--?[a-z][\w-]*"
        r"|\s\|\s*(?:grep|less|more|sort|head|tail|wc|sudo|tee)\b"
        r"|\byou\s+(?:can|could|should|might|may|must)\s+(?:\w+\s+)?(?:use|install|run|try|edit|add|set|"
        r"open|check|boot|enable|disable|remove|change|type|reinstall|download|get|look|read|go|load|modify|"
        r"put|create|mount|select|uncheck|click)\b|\btry\s+(?:to\s+)?\S+"
        r"|(?:^|[,;:]\s*|\.\s+)(?:first|then|next|finally|afterwards|after\s+that)\b|\bstep\s+\d+\b|```", _I),
    AnswerType.LIST: re.compile(
        r"[\w`'-]+(?:\s[\w`'-]+){0,3},\s[\w`'-]+(?:\s[\w`'-]+){0,3},?\s(?:and|or)\s[\w`'-]+"
        r"|\(\s?(?:1|a|i)\s?\).*\(\s?(?:2|b|ii)\s?\)|:\s*\S+(?:\s\S+){0,4},\s\S+"
        # a sentence announcing a list: "We use three severities.", "The checks are as follows:"
        r"|\b(?:we|there|you)\s+(?:use|have|are|need)\s+(?:\w+\s+)?(?:two|three|four|five|six|seven|eight|nine|"
        r"ten|\d+)\s+[\w-]+s\b|\bas\s+follows\b|:\s*$", _I),
}

_STRUCTURAL = {AnswerType.LIST, AnswerType.STEPS}
# Types a chat reply answers in open forms (a package, a link, a menu path, a bot command), not only in the
# forms of QUOTE_RULES: see :func:`type_match`.
_OPEN_IN_CHAT = {AnswerType.LIST, AnswerType.STEPS, AnswerType.POLARITY}


# A yes-no form that asks for a way ("Does anyone know how to ...?", "Is there a way to ...?", "Can you
# explain how you added a PPA?"): the answer is the way, not a yes. Chat asks like this more than it asks
# "How do I"; read as yes-no, its answer was tested for a modal or a negation.
_INDIRECT_STEPS = re.compile(
    r"\bhow\s+(?:to|(?:do|can|could|should|would)\s+(?:i|we|you|one)|you\s+\w+)\b"
    r"|\bis\s+there\s+(?:a|any|an)\s+(?:\w+\s+)?(?:way|how-?to|tool|program|app|command|utility|setting|option)s?\b"
    r"|\b(?:what|which)\s+(?:command|package|program|tool|app|setting|option)s?\b", _I)


def expected_type(question: str) -> AnswerType | None:
    """The answer type the question's form asks for, or ``None`` (module docstring: the rules)."""
    best: tuple[int, int, AnswerType] | None = None
    for order, (kind, pattern) in enumerate(QUESTION_RULES):
        m = pattern.search(question)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, kind)
    if best and best[2] is AnswerType.POLARITY and _INDIRECT_STEPS.search(question):
        return AnswerType.STEPS
    return best[2] if best else None


def contains_type(kind: AnswerType, text: str, *, is_item: bool = False) -> bool:
    """Does ``text`` contain an answer of type ``kind`` anywhere? A list item or table row is a list
    answer (and a step answer) by its structure."""
    if is_item and kind in _STRUCTURAL:
        return True
    return bool(QUOTE_RULES[kind].search(text))


def type_match(kind: AnswerType | None, text: str, *, focus: list[str], context: str = "",
               is_item: bool = False, reply: bool = False) -> float:
    """How well ``text`` answers a question expecting ``kind``, near the question's ``focus`` terms.

    1.0: the type within :data:`WINDOW` words of a focus term of the quote (for a list or steps, a
    focus term in the quote or its context); 0.6: the type, with the focus only in ``context``;
    0.2: the type, with no focus term anywhere; 0.0: no answer of that type. ``None`` (no expected
    type) scores 1.0. ``focus`` holds stemmed terms (:func:`rag.answers.focus.focus_terms`).

    ``reply``: the text is a thread reply and ``context`` the question it answers. A reply is about that
    question by the thread's structure, not by repeating its words ("jk_: sudo apt-get install ..."), so a
    focus term in the question counts as near (1.0). Measured on ../shared/threadset (its 282 answerable
    questions and 21 near-miss ones): mean type match 0.80 -> 0.86 answerable, 0.30 -> 0.30 near-miss.
    For steps, a list or yes-no, such a reply answers whether or not it holds the expected type, unless it is
    itself a question ("what notifications?"): chat answers are a package, a link, a menu path or a bot
    command ("!info readpst", "system->preferences->main menu", "dans guardian and squid") more often than
    a sentence of the type.
    Measured the same way: answerable 0.86 -> 0.98, near-miss 0.32 -> 0.32 (written from the threadset's
    answerable questions that scored 0: in-sample there).
    """
    if kind is None:
        return 1.0
    wanted = set(focus)
    in_context = bool(wanted & {stem(w) for w in words(context)})
    if reply and in_context and kind in _OPEN_IN_CHAT and not text.rstrip().endswith("?"):
        return 1.0
    in_text = [i for i, t in enumerate(stem(w) for w in words(text)) if t in wanted]
    if kind in _STRUCTURAL:
        if not contains_type(kind, text, is_item=is_item):
            return 0.0
        return 1.0 if in_text or in_context else 0.2
    # The question's own focus word is no answer to it: "annually" is a duration, but not one that answers
    # "How many days of annual leave ...?".
    spans = [m for m in QUOTE_RULES[kind].finditer(text) if not _only_focus(m.group(), wanted)]
    if not spans:
        return 0.0
    if in_text and _near(text, spans, in_text):
        return 1.0
    if reply and in_context:
        return 1.0
    if in_text or in_context:
        return 0.6
    return 0.2


def _only_focus(match: str, focus: set[str]) -> bool:
    """Is every word of a type match one of the question's focus terms (the question's own word)?"""
    found = [stem(w) for w in words(match)]
    return bool(found) and all(w in focus for w in found)


def _near(text: str, spans: list[re.Match[str]], focus_positions: list[int]) -> bool:
    """Is some type match (``spans``, of ``text``) within WINDOW words of a focus position?"""
    for m in spans:
        at = len(words(text[: m.start()]))
        if any(abs(at - p) <= WINDOW for p in focus_positions):
            return True
    return False
