"""Product-safety signal: injury, fire/burn, choking, defect, illness and recall language, with a severity.

A hazard needs evidence *and* context. Harm words ("burned", "swallowed", "hospital") count when
they are not negated ("no one was hurt"). Words that are ambiguous in ordinary talk ("fire", "crash",
"killed", "sick", "recall", "broke") count only next to a product/consumer context (a product,
part, vehicle or child word, or a configured entity named in the mention), so news about a forest
fire or "this movie killed me" is not a product-safety signal.

Severity: 3 death, hospital, emergency care, or a fire/choking that happened; 2 harm without
emergency care; 1 a hazard, defect or recall without reported harm; 0 none.

`keyword_baseline` is the naive keyword list the evaluation prints beside this detector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from groundswell.mention import SAFETY_HAZARDS


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


# Harm that needs no product context: these words rarely mean anything else.
_STRONG: dict[str, re.Pattern[str]] = {
    "injury": _rx(
        r"\blacerat\w*",
        r"\bbleed\w*|\bbled\b|\bbloody (?:nose|lip|mouth)",
        r"\bstitches\b",
        r"\bbruis\w*",
        r"\bconcussion",
        r"\bsprain\w*",
        r"\bblack eye\b",
        r"\bbroken (?:arm|leg|wrist|nose|tooth|teeth|bone|finger|toe|ankle|collarbone)",
        r"\bbroke (?:his|her|my|their|a) (?:arm|leg|wrist|nose|tooth|bone|finger|toe|ankle)",
        r"\b(?:pinch|trap|crush|smash|sever)(?:ed|ing)? (?:his|her|my|their|a) (?:finger|hand|toe|foot|skin)",
        r"\bstrangl\w*|\bsuffocat\w*|\bentrap\w*",
        r"\bhurt (?:his|her|my|their|him|herself|himself|myself)\b|\bgot hurt\b|\bwas hurt\b",
        r"\bscratch(?:ed)? (?:his|her|my|their) (?:eye|cornea|face)",
        r"\bcut (?:his|her|my|their) (?:finger|hand|lip|mouth|face|foot|leg|arm|head)",
        r"\burgent care\b|\bambulance\b|\bparamedic",
        r"\bstrangulation\b|\b(?:around|wrapped around|tight around) (?:his|her|their|the child's|the baby's) neck\b",
        r"\b(?:pinch|trap|crush|smash|caught|stuck)(?:ed|ing)? (?:his|her|my|their|the child's|the baby's|a child's|children's|kids?'?s?) (?:finger|fingers|hand|toe|foot|skin|hair|arm|leg)",
        r"\bfingers? (?:got |was |were )?(?:stuck|caught|pinched|trapped|pulled into|smashed)",
        r"\b(?:tipped|tilted|fell) (?:over )?on (?:him|her|them|top of)\b",
    ),
    "fire_burn": _rx(
        r"\bcaught (?:on )?fire\b|\bburst into flames?\b|\bburn(?:ed|t|s)? (?:his|her|my|their|him|me)\b",
        r"\b(?:first|second|third)[- ]degree burns?\b",
        r"\bscald\w*",
        r"\boverheat\w*",
        r"\bsmok(?:ed|ing) (?:from|out of|came)|\bsmoke (?:came|coming|poured)|\bsmell of (?:smoke|burning)|\bburnt? (?:smell|plastic|odor)",
        r"\bmelt(?:ed|ing)?\b(?! (?:my|your|his|her) heart)|\bmeltdown\b",
        r"\b(?:too|very|extremely|really) hot\b(?! (?:guy|girl|day|weather|outside))",
        r"\bblister\w*",
        r"\b(?:hot|warm) to the touch\b",
        r"\bspark(?:s|ed|ing)\b",
    ),
    "choking": _rx(
        r"\bchok(?:e|ed|es|ing)\b",
        r"\bswallow(?:ed|ing|s)?\b",
        r"\bingest\w*",
        r"\baspirat\w*",
        r"\blodged in\b",
        r"\bgag(?:ged|ging)\b",
        r"\bsmall parts?\b",
        r"\bbutton batter(?:y|ies)\b",
        r"\b(?:in|into) (?:his|her|their|the baby's|the child's) (?:mouth|throat|nose|ear|airway)\b",
        r"\binhal(?:ed|ing)\b",
        r"\bmagnets?\b.{0,80}\b(?:fell|fall|came|come|pop|popped|loose|out|off|remove|swallow\w*)\b|\b(?:loose|small|tiny) magnets?\b",
        r"\bwater beads?\b",
        r"\b(?:pieces?|parts?|bits?|eyes?|beads?|buttons?) (?:\w+ ){0,2}(?:came off|come off|broke off|chipped off|fell off|fell out|popped (?:off|out)|pulled off)",
    ),
    "illness": _rx(
        r"\bfood poisoning\b",
        r"\bdiarrh\w*|\bnause\w*|\bhives\b|\ballergic reaction\b",
        r"\blead (?:paint|content|levels?)\b|\bcontaminat\w*|\bsalmonella\b|\be\.? ?coli\b|\blisteria\b",
        r"\btoxic\b|\bmold(?:y)?\b|\bmould\b",
        r"\btest(?:ed)? positive for lead\b|\bcontains? lead\b|\bhigh (?:levels? of )?lead\b",
        r"\bseizures?\b|\bseizing\b",
    ),
    "recall": _rx(
        r"\b(?:was|were|been|being|is|are|be|get|got) recalled\b",
        r"\brecall(?:s)? (?:notice|campaign|repair|number|letter|remedy|on|for)\b",
        r"\b(?:the|a|safety|product|voluntary) recall\b",
        r"\bunder recall\b|\b\d{2}[ve]-?\d{3}\b",
    ),
    "defect": _rx(
        r"\bsafety (?:hazard|issue|concern|problem|risk|defect)s?\b",
        r"\b(?:is|was|are|a|very|extremely|serious|potential) (?:hazard|hazardous|unsafe|dangerous)\b",
        r"\bsharp (?:edges?|points?|pieces?|metal|plastic|object|wire|nail|spike)s?\b|\bshards?\b|\bprotrud\w*",
        r"\bexposed (?:wires?|wiring|metal|nails?|screws?)\b|\bwiring (?:was |is )?exposed\b",
        r"\bdangerously\b|\bchoking hazard\b|\brecalled\b",
        r"\bdefect(?:s|ive)?\b",
        r"\bmalfunction\w*",
    ),
}

# Words that mean harm or a defect only in a product/consumer context.
_CONTEXTUAL: dict[str, re.Pattern[str]] = {
    "injury": _rx(
        r"\binjur(?:y|ies|ed|ing)\b",
        r"\bemergency (?:room|department)",
        r"\bfractur\w*",
        r"\bhurt\b",
        r"\bcuts?\b",
        r"\bcrash(?:ed|es)?\b|\baccident\b|\bcollision\b|\brear[- ]ended\b",
        r"\bhit (?:him|her|me|them|his|my|her)\b",
    ),
    "fire_burn": _rx(
        r"\bexplod\w*|\bexplosion\b",
        r"\bfire\b|\bflames?\b",
        r"\bburn(?:s|ed|t|ing)?\b",
        r"\bsmok(?:e|ed|ing)\b",
        r"\b(?:very|extremely|so|too) hot\b|\bgot hot\b",
    ),
    "illness": _rx(
        r"\bsick\b(?! of)",
        r"\bill\b(?!-)",
        r"\breaction\b",
        r"\birritat\w*",
        r"\bvomit\w*|\bthrew up\b|\bthrowing up\b",
        r"\bfever\b",
        r"\brash(?:es)?\b",
        r"\bpoison(?:ed|ing|ous)\b",
    ),
    "recall": _rx(r"(?<!\bi )(?<!\bwe )(?<!\byou )(?<!\bto )(?<!\bcan )\brecall(?:ed|s)?\b"),
    "defect": _rx(
        r"\b(?:broke|broken|came|fell|comes|coming) (?:off|apart|loose)\b|\bbroke into\b|\bdetach\w*|\bshatter\w*|\bsnapped\b",
        r"\bshut (?:off|down) while\b",
    ),
}

_CONTEXT = _rx(
    r"\b(?:child|children|kid|kids|son|daughter|baby|babies|toddler|infant|grandson|granddaughter|boy|girl|victim|consumer)s?\b",
    r"\b(?:product|toy|item|unit|device|battery|batteries|charger|cable|plug|outlet|appliance|model|manufacturer|warranty|dealer|dealership)s?\b",
    r"\b(?:vehicle|car|truck|van|suv|engine|brakes?|airbags?|steering|transmission|accelerat\w*|throttle|seat ?belts?|tires?|tyres?|wheels?|axle|suspension|driveshaft|ignition|fuel|mph|miles|driving|drove)\b",
    r"\b(?:phone|laptop|headset|earbuds?|tablet|screen|heater|stove|oven|dryer|crib|stroller|car ?seat|helmet|bike|scooter|hoverboard|vape|magnets?)\b",
    r"\b(?:bought|purchased|ordered|used|using|plugged|charging|installed)\b",
)

_VEHICLE = _rx(
    r"\b(?:vehicle|car|truck|van|suv|engine|brakes?|braking|airbags?|steering|transmission|accelerat\w*|throttle|seat ?belts?|tires?|tyres?|wheels?|axle|suspension|driveshaft|ignition|mph|driving|dealer|abs|speedometer|car seat|tether)\b",
    r"\b(?:driver|passenger)'?s? (?:side|seat|door)\b|\bfuel (?:gauge|pump|line|tank)\b",
)
_CHILD = _rx(
    r"\b(?:child|children|kid|kids|son|daughter|baby|babies|toddler|infant|grandson|granddaughter|grandchild\w*|nephew|niece|preschool\w*)\b|\b(?:year|month|yr)s?[- ]old\b|\btoys?\b",
)
# Defect and harm language that marks a safety incident when a vehicle or a child/toy is involved.
_INCIDENT: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "defect": (
        _VEHICLE,
        _rx(
            r"\b(?:does|did|do|would|will) not (?:work|function|engage|respond|rev|start|stop|deploy)\b|\b(?:doesn't|didn't|won't|wouldn't) (?:work|function|engage|respond|rev|start|stop|deploy)\b",
            r"\bnot (?:function|work)(?:ing)? properly\b|\bseparated\b|\bbroke\b|\buncontroll?ab\w*|\blost control\b|\bvibrat\w*",
            # a machine that stops or lets go while in use (worded for vehicles, e-bikes, scooters)
            r"\bloss of (?:all )?(?:power|control|steering|brakes?|braking|acceleration)\b",
            r"\b(?:shut|stop|die|died|dies|stall|accelerat|brak|swerv|lock|turn(?:ed|s)? off|cut(?:s)? out)\w* (?:\w+ ){0,2}without (?:any )?warning\b",
            r"\b(?:stops?|stopped|stopping|dies|died|quits?|shut(?:s|ting)? (?:down|off)|shutdown) (?:\w+ ){0,3}while (?:i was |i'm |we were )?(?:driving|in motion|moving|on the (?:road|highway|freeway))\b",
            r"\b(?:completely|suddenly|randomly) (?:stop(?:s|ped)?|shut ?(?:s )?(?:down|off)|shutdown|die[sd]?)\b|\b(?:stop(?:s|ped)?|quit) working\b",
            r"\b(?:comes?|came|flies|flew|swings?|swung|pops?|popped) open\b",
            r"\bpowered (?:down|off)\b|\bdropped to zero\b|\b(?:check engine|warning|esc|abs|airbag) light\b|\bsudden(?:ly)? (?:accelerat|decelerat|stopp)\w*",
            r"\bfail(?:s|ed|ure|ing)?\b|\bwent out\b|\bstall(?:s|ed|ing)?\b|\blost (?:all )?power\b|\bseized\b|\blocked up\b|\bleak(?:s|ed|ing)?\b",
            r"\b(?:installed|mounted) (?:upside down|backwards|incorrectly|wrong)\b|\bhit (?:a|the|another)\b",
            r"\b(?:problem|issue|noise|grinding|shudder\w*|jerk\w*|hesitat\w*|surg(?:e|ed|es|ing)|knock\w*|rattl\w*|squeal\w*|jammed|stuck|malfunction\w*|repair\w*|replac\w*|mechanic|warranty|recall\w*)\b",
        ),
    ),
    "hazard": (
        _CHILD,
        _rx(
            r"\b(?:broke|broken|breaks|cracked|loose|sharp|pointy|hazard\w*|danger\w*|unsafe|concern\w*|warning|risk|injur\w*|hurt|burn\w*)\b",
        ),
    ),
    "injury": (
        _CHILD,
        _rx(
            r"\b(?:got|get|gets|became|become|was|were) (?:\w+ )?(?:stuck|caught|trapped|wedged)\b|\bstuck (?:in|on|inside|to)\b|\bcaught in\b",
            r"\b(?:en)?tangled\b|\bsliced\b|\bstabbed\b|\bimpaled\b|\bcorneal\b|\binto (?:his|her|their) eye\b|\bpointy\b|\bscreaming in pain\b",
            r"\bswollen\b|\bswelling\b|\bsplinters?\b|\bslivers?\b|\bpinch\w*|\bwelts?\b",
            r"\bhit (?:herself|himself|themselves|him|her) in the\b|\bstruck (?:him|her)\b|\bin the (?:eye|face|head)\b",
            r"\b(?:string|cord|strap|loop|rope)s?\b.{0,60}\b(?:neck|wrapped|tight)\b",
            r"\bfell (?:off|out|over|down)\b.{0,40}\b(?:hit|hurt|head|face)\b",
        ),
    ),
    "choking": (
        _CHILD,
        _rx(
            r"\bchew(?:ed|ing)? (?:off|on|through)\b|\bpulled off\b|\bpried\b|\bspit (?:it )?out\b|\bcomes? out (?:easily|on its own)\b",
            r"\bbattery (?:cover|door|compartment)\b.{0,60}\b(?:off|open|loose|fell|fall)\b|\b(?:off|open|loose)\b.{0,30}\bbattery (?:cover|door)\b",
            r"\bbroke (?:into|open|apart)\b|\b(?:popped|pops|came|comes|fell|falls) (?:open|apart|off|out)\b|\bsnapped off\b|\bchooking\b",
            r"\bput (?:it|one|them) in (?:his|her|my) mouth\b|\bmouth\b",
        ),
    ),
    "illness": (
        _CHILD,
        _rx(
            r"\bchemicals?\b|\b(?:strong|chemical|toxic|bad) (?:odou?r|smell)\b|\bpaint thinner\b|\btoluene\b|\bcarcinogen\w*|\bphthalate\w*|\bdehp\b|\btoxicity\b",
            r"\b(?:lead|cadmium|mercury|arsenic)\b.{0,20}\bppm\b|\bppm\b.{0,30}\b(?:lead|cadmium|mercury)\b",
            r"\blead\b.{0,30}\b(?:test|positive|exposed|levels?)\b|\b(?:test|positive|exposed)\b.{0,30}\blead\b",
        ),
    ),
}

_ESCALATE = _rx(
    r"\bdied\b|\bdeath\b|\bdead\b|\bfatal\w*|\bkilled\b",
    r"\bhospital\w*|\bemergency (?:room|department)|\b(?:the|to) er\b|\burgent care\b|\bambulance\b|\bparamedic\w*|\b911\b|\bicu\b|\bsurgery\b",
    r"\bunconscious\b|\bstopped breathing\b|\bturned blue\b|\bcould(?:n't| not) breathe\b|\bseizure\w*|\blife[- ]threatening\b",
    r"\bhouse fire\b|\bburned down\b|\bengulfed\b|\bfire department\b",
)
_NEGATED = re.compile(
    r"\b(?:no|not|nobody|without|never|nothing|wasn't|weren't|didn't|no one)\b(?:\W+\w+){0,2}\W*$", re.I
)

_BASE_SEVERITY = {"injury": 2, "fire_burn": 2, "choking": 2, "illness": 2, "defect": 1, "recall": 1}


@dataclass
class SafetySignal:
    hazards: list[str] = field(default_factory=list)
    severity: int = 0
    evidence: dict[str, str] = field(default_factory=dict)


def _first_unnegated(pattern: re.Pattern[str], text: str) -> str | None:
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        if not _NEGATED.search(before):
            return match.group(0)
    return None


def detect_safety(text: str, *, product_context: bool = False) -> SafetySignal:
    """Hazards (ordered as SAFETY_HAZARDS), a 0-3 severity and the phrase that triggered each hazard.

    `product_context`: the caller knows the text is about a product (e.g. a configured product was
    named); otherwise the text itself must contain a product/consumer word for ambiguous terms to count.
    """
    found: dict[str, str] = {}
    for hazard, pattern in _STRONG.items():
        hit = _first_unnegated(pattern, text)
        if hit:
            found[hazard] = hit
    if product_context or _CONTEXT.search(text):
        for hazard, pattern in _CONTEXTUAL.items():
            if hazard not in found:
                hit = _first_unnegated(pattern, text)
                if hit:
                    found[hazard] = hit
    for hazard, (context, pattern) in _INCIDENT.items():
        name = "defect" if hazard == "hazard" else hazard
        if name not in found and context.search(text):
            hit = _first_unnegated(pattern, text)
            if hit:
                found[name] = hit
    if not found:
        return SafetySignal()
    severity = max(_BASE_SEVERITY[h] for h in found)
    if _first_unnegated(_ESCALATE, text):
        severity = 3
    elif severity == 1 and re.search(r"\b(?:hazard|dangerous|unsafe)\b", text, re.I) and len(found) > 1:
        severity = 2
    hazards = [h for h in SAFETY_HAZARDS if h in found]
    return SafetySignal(hazards=hazards, severity=severity, evidence={h: found[h] for h in hazards})


_BASELINE = re.compile(
    r"\b(?:injur\w*|hurt|burn\w*|fire|smoke|chok\w*|swallow\w*|sick|ill|vomit\w*|recall\w*|defect\w*|hazard\w*|danger\w*|broke|broken)\b",
    re.I,
)


def keyword_baseline(text: str) -> bool:
    """The naive baseline: any safety keyword anywhere, no context, no negation."""
    return bool(_BASELINE.search(text))
