"""Demo subscribers, seeded by `guichet demo`: one of each kind of contract."""

from __future__ import annotations

from guichet.payonbill.subscribers.importing import subscribers_import
from guichet.payonbill.subscribers.models import Mailbox

# A mono-BAL contract not yet personalised (signs in with the operator's initial login), and a
# multi-BAL contract whose mailboxes sign in directly. Demo passwords only. Both have an internet
# line, without which internet+ refuses to charge the bill; the lines are documentation addresses
# (RFC 5737) that no browser of the demo comes from, so each purchase goes through the sign-in.
DEMO_FILE = """contract,login,password,personalized,name,line_ip
LG-100001,lagon100001,Bienvenue-1,false,Jean Wahnyamalla,192.0.2.101
LG-200002,marie.kafeat@lagon.example,Lagon-2026,true,Famille Kafeat,192.0.2.102
LG-200002,paul.kafeat@lagon.example,Lagon-2026,true,Famille Kafeat,192.0.2.102
"""


def demo_seed(base_url: str) -> list[str]:
    """Create the demo subscribers (idempotent); return the lines to print in the demo banner."""
    report = subscribers_import(data=DEMO_FILE.encode(), source="demo")
    assert report.ok, report.errors
    mono = Mailbox.objects.get(imported_login="lagon100001")
    mono_line = (
        f"mono-BAL {mono.login} (personalised, own password)"
        if mono.personalised
        else "mono-BAL lagon100001 / Bienvenue-1 (must personalise first)"
    )
    return [
        f"Customer space     {base_url}/account/",
        f"Demo subscribers:  {mono_line};",
        "                   multi-BAL marie.kafeat@lagon.example, paul.kafeat@lagon.example / Lagon-2026",
    ]
