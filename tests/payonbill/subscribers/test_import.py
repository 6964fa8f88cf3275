"""The operator subscriber file (docs/operators.md, "Subscriber file"): all or nothing, every error,
idempotent, Argon2id."""

from __future__ import annotations

import pytest

from guichet.audit.models import AuditEvent
from guichet.cli import main
from guichet.payonbill.subscribers.account import mailbox_personalise
from guichet.payonbill.subscribers.importing import subscribers_import
from guichet.payonbill.subscribers.models import Contract, Mailbox
from guichet.payonbill.subscribers.passwords import password_verify
from guichet.payonbill.subscribers.signin import mailbox_signin
from tests.payonbill.subscribers.factories import subscriber_file

pytestmark = pytest.mark.django_db

GOOD = subscriber_file(
    "LG-1,lagon0001,Init-0001,false,Jean Wahnyamalla,203.0.113.10",
    "LG-2,marie@lagon.example,Marie-2026,true,Famille Kafeat,203.0.113.20",
    "LG-2,Paul@Lagon.example,Paul-2026,TRUE,Famille Kafeat,203.0.113.20",
)


COLUMNS = "contract,login,password,personalized and optionally name,line_ip"
EMPTY = f"empty file: expected the header {COLUMNS}"
BAD_HEADER = f"header must be the columns {COLUMNS}"


def counts(report) -> tuple[int, int, int, int, int, int]:
    return (
        report.contracts_created,
        report.contracts_updated,
        report.mailboxes_created,
        report.mailboxes_updated,
        report.mailboxes_unchanged,
        report.passwords_hashed,
    )


def hashes() -> dict[str, str]:
    return dict(Mailbox.objects.values_list("imported_login", "password_hash"))


def signs_in(login: str, password: str) -> bool:
    result = mailbox_signin(login=login, password=password, ip="198.51.100.1", language="fr")
    return result.mailbox is not None


def test_a_valid_file_creates_contracts_with_their_mailboxes():
    # when
    report = subscribers_import(data=GOOD, source="subscribers.csv")
    # then
    assert report.ok
    assert counts(report) == (2, 0, 3, 0, 0, 3)
    mono = Contract.objects.get(number="LG-1")
    assert (mono.holder_name, mono.line_ip, mono.pay_on_bill_blocked) == (
        "Jean Wahnyamalla",
        "203.0.113.10",
        False,
    )
    assert [(m.login, m.personalised, m.address) for m in mono.mailboxes.all()] == [("lagon0001", False, "")]
    multi = Contract.objects.get(number="LG-2")
    assert [(m.login, m.personalised, m.address) for m in multi.mailboxes.all()] == [
        ("marie@lagon.example", True, "marie@lagon.example"),
        ("paul@lagon.example", True, "paul@lagon.example"),
    ]
    # and passwords are Argon2id hashes that verify, never the clear password
    for mailbox, password in zip(
        Mailbox.objects.order_by("pk"), ["Init-0001", "Marie-2026", "Paul-2026"], strict=True
    ):
        assert mailbox.password_hash.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
        assert password not in mailbox.password_hash
        assert password not in mailbox.import_digest
        assert password_verify(mailbox.password_hash, password)
        assert not password_verify(mailbox.password_hash, password + "x")
    [event] = AuditEvent.objects.filter(event="subscribers:file:import")
    assert (event.subject, event.outcome) == ("subscribers.csv", "success")
    assert event.detail == {
        "contracts_created": 2,
        "contracts_updated": 0,
        "mailboxes_created": 3,
        "mailboxes_updated": 0,
        "mailboxes_unchanged": 0,
    }


def test_the_optional_columns_may_be_absent_and_in_any_order():
    # when
    report = subscribers_import(
        data=subscriber_file(
            "true,Marie-2026,marie@lagon.example,LG-2", header="personalized,password,login,contract"
        )
    )
    # then
    assert report.ok
    contract = Contract.objects.get()
    assert (contract.number, contract.holder_name, contract.line_ip) == ("LG-2", "", None)
    assert contract.mailboxes.get().login == "marie@lagon.example"


def test_a_file_with_bad_lines_imports_nothing_and_lists_every_error():
    # given: good lines 2 and 14, one distinct error on each line in between
    data = subscriber_file(
        "LG-1,lagon0001,Init-0001,false,Jean,203.0.113.10",  # 2 ok
        "LG 3,lagon0003,Init-0003,false,,",  # 3
        "LG-4,la,Init-0004,false,,",  # 4
        "LG-5,lagon0005,Init-0005,maybe,,",  # 5
        "LG-6,not-an-address,Init-0006,true,,",  # 6
        "LG-7,lagon0007,short,false,,",  # 7
        "LG-8,lagon0008,Init-0008,false," + "x" * 101 + ",",  # 8
        "LG-9,lagon0009,Init-0009,false,,999.1.2.3",  # 9
        "LG-10,lagon0010,Init-0010,false",  # 10
        "LG-11,LAGON0001,Init-0011,false,,",  # 11
        "LG-1,lagon0012,Init-0012,false,Jean,203.0.113.99",  # 12
        "LG-13,lagon0013,Init-0013,false,,203.0.113.10",  # 13
        "LG-14,lagon0014,Init-0014,false,,",  # 14 ok
    )
    # when
    report = subscribers_import(data=data, source="subscribers.csv")
    # then
    assert not report.ok
    assert report.errors == [
        (3, "contract: must be 1 to 32 letters, digits or . _ / -"),
        (4, "login: must be 3 to 254 characters without spaces, commas or quotes"),
        (5, "personalized: must be true or false"),
        (6, "login: a personalized mailbox's login is its address, which is not valid"),
        (7, "password: must be 6 to 128 characters, without spaces at either end"),
        (8, "name: at most 100 characters"),
        (9, "line_ip: not an IPv4 or IPv6 address"),
        (10, "expected 6 fields, found 4"),
        (11, "login: same login as line 2"),
        (12, "contract: same contract as line 2 but another name or line_ip"),
        (13, "line_ip: already the line of contract LG-1 (line 2)"),
    ]
    assert counts(report) == (0, 0, 0, 0, 0, 0)
    assert (Contract.objects.count(), Mailbox.objects.count()) == (0, 0)
    [event] = AuditEvent.objects.filter(event="subscribers:file:import")
    assert (event.outcome, event.detail) == ("refused", {"errors": 11})


def test_one_row_may_have_several_errors_all_listed():
    # when
    report = subscribers_import(data=subscriber_file(" ,x,abc,perhaps,,nowhere"))
    # then
    assert report.errors == [
        (2, "contract: must be 1 to 32 letters, digits or . _ / -"),
        (2, "login: must be 3 to 254 characters without spaces, commas or quotes"),
        (2, "personalized: must be true or false"),
        (2, "password: must be 6 to 128 characters, without spaces at either end"),
        (2, "line_ip: not an IPv4 or IPv6 address"),
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            b"",
            [
                (
                    1,
                    EMPTY,
                )
            ],
        ),
        (
            b"contract,login,password\nLG-1,a@b.c,secret1\n",
            [
                (
                    1,
                    BAD_HEADER,
                )
            ],
        ),
        (
            b"contract,login,password,personalized,phone\nLG-1,a@b.c,secret1,true,1\n",
            [
                (
                    1,
                    BAD_HEADER,
                )
            ],
        ),
        (
            b"contract,login,login,password,personalized\n",
            [
                (
                    1,
                    BAD_HEADER,
                )
            ],
        ),
        (b"contract,login,password,personalized\n\n", [(1, "no subscriber rows after the header")]),
        (b"contract,login,password,personalized\nLG-1,caf\xe9,secret1,false\n", [(2, "not UTF-8 text")]),
    ],
    ids=["empty", "missing-column", "unknown-column", "duplicate-column", "no-rows", "not-utf8"],
)
def test_a_file_that_is_not_a_subscriber_file_is_refused(data, errors):
    # when
    report = subscribers_import(data=data)
    # then
    assert report.errors == errors
    assert Contract.objects.count() == 0


def test_a_bad_file_leaves_existing_subscribers_untouched():
    # given
    subscribers_import(data=GOOD)
    before = hashes()
    # when: line 2 would change a password and a name, line 3 is bad
    report = subscribers_import(
        data=subscriber_file(
            "LG-1,lagon0001,Changed-01,false,Jean W.,203.0.113.10",
            "LG-3,lagon0003,Init-0003,false,,nowhere",
        )
    )
    # then
    assert report.errors == [(3, "line_ip: not an IPv4 or IPv6 address")]
    assert report.passwords_hashed == 0
    assert hashes() == before
    assert Contract.objects.get(number="LG-1").holder_name == "Jean Wahnyamalla"
    assert not Contract.objects.filter(number="LG-3").exists()


def test_reimporting_the_same_file_changes_nothing_and_hashes_nothing():
    # given
    subscribers_import(data=GOOD)
    before = hashes()
    epochs = list(Mailbox.objects.values_list("session_epoch", flat=True))
    # when
    report = subscribers_import(data=GOOD)
    # then
    assert report.ok
    assert counts(report) == (0, 0, 0, 0, 3, 0)
    assert hashes() == before
    assert list(Mailbox.objects.values_list("session_epoch", flat=True)) == epochs


def test_reimporting_updates_what_changed_and_a_new_password_ends_the_sessions():
    # given
    subscribers_import(data=GOOD)
    before = hashes()
    # when: Jean's password and name change, Paul's line moves to a new contract, a mailbox is added
    report = subscribers_import(
        data=subscriber_file(
            "LG-1,lagon0001,Changed-01,false,Jean W.,203.0.113.10",
            "LG-2,marie@lagon.example,Marie-2026,true,Famille Kafeat,",
            "LG-2,paul@lagon.example,Paul-2026,true,Famille Kafeat,",
            "LG-2,lea@lagon.example,Lea-20266,true,Famille Kafeat,",
            "LG-3,lagon0003,Init-0003,false,Nina,203.0.113.20",
        )
    )
    # then
    assert report.ok
    assert counts(report) == (1, 2, 2, 1, 2, 3)
    after = hashes()
    assert after["marie@lagon.example"] == before["marie@lagon.example"]
    assert after["lagon0001"] != before["lagon0001"]
    jean = Mailbox.objects.get(login="lagon0001")
    assert jean.session_epoch == 1
    assert jean.contract.holder_name == "Jean W."
    assert signs_in("lagon0001", "Changed-01")
    assert not signs_in("lagon0001", "Init-0001")
    assert Contract.objects.get(number="LG-2").line_ip is None
    assert Contract.objects.get(number="LG-3").line_ip == "203.0.113.20"
    assert Contract.objects.get(number="LG-2").mailboxes.count() == 3


def test_lines_may_swap_between_contracts_of_one_file():
    # given
    subscribers_import(data=GOOD)
    # when
    report = subscribers_import(
        data=subscriber_file(
            "LG-1,lagon0001,Init-0001,false,Jean Wahnyamalla,203.0.113.20",
            "LG-2,marie@lagon.example,Marie-2026,true,Famille Kafeat,203.0.113.10",
        )
    )
    # then
    assert report.ok
    assert counts(report) == (0, 2, 0, 0, 2, 0)
    assert dict(Contract.objects.values_list("number", "line_ip")) == {
        "LG-1": "203.0.113.20",
        "LG-2": "203.0.113.10",
    }


def test_reimporting_keeps_what_the_subscriber_personalised():
    # given: Jean (mono-BAL) chose his own login and password
    subscribers_import(data=GOOD)
    jean = Mailbox.objects.select_related("contract").get(login="lagon0001")
    mailbox_personalise(
        mailbox=jean,
        login="jean.w@lagon.example",
        password="Mon-choix-42",
        confirmation="Mon-choix-42",
        ip="::1",
    )
    # when: the operator's file still has the initial login and password
    report = subscribers_import(data=GOOD)
    # then: the mailbox is found again, and what Jean chose stays
    assert report.ok
    assert counts(report) == (0, 0, 0, 0, 3, 0)
    jean = Mailbox.objects.get(pk=jean.pk)
    assert (jean.login, jean.imported_login, jean.personalised) == ("jean.w@lagon.example", "lagon0001", True)
    assert signs_in("jean.w@lagon.example", "Mon-choix-42")
    assert not signs_in("lagon0001", "Init-0001")


def test_the_file_may_give_the_personalised_login_of_a_mailbox():
    # given
    subscribers_import(data=GOOD)
    jean = Mailbox.objects.select_related("contract").get(login="lagon0001")
    mailbox_personalise(
        mailbox=jean,
        login="jean.w@lagon.example",
        password="Mon-choix-42",
        confirmation="Mon-choix-42",
        ip="::1",
    )
    # when: the operator now knows the new login, with a new password
    report = subscribers_import(data=subscriber_file("LG-1,jean.w@lagon.example,Reset-2027,true,,"))
    # then: the same mailbox, its password reset by the operator
    assert report.ok
    assert counts(report) == (0, 1, 0, 1, 0, 1)
    assert Mailbox.objects.filter(contract__number="LG-1").count() == 1
    assert signs_in("jean.w@lagon.example", "Reset-2027")


def test_logins_and_lines_of_other_contracts_are_refused():
    # given
    subscribers_import(data=GOOD)
    # when: LG-9 takes Marie's login, LG-8 takes LG-1's line (LG-1 is not in the file)
    report = subscribers_import(
        data=subscriber_file(
            "LG-9,marie@lagon.example,Other-2026,true,,",
            "LG-8,lagon0008,Init-0008,false,,203.0.113.10",
        )
    )
    # then
    assert report.errors == [
        (2, "login: already a mailbox of contract LG-2"),
        (3, "line_ip: already the line of contract LG-1"),
    ]
    assert not Contract.objects.filter(number__in=["LG-8", "LG-9"]).exists()


def test_cli_imports_and_prints_the_counts(tmp_path, capsys, settings):
    # given
    settings.LOGGING_CONFIG = None
    path = tmp_path / "subscribers.csv"
    path.write_bytes(GOOD)
    # when
    first = main(["subscribers", "import", str(path)])
    first_out = capsys.readouterr()
    second = main(["subscribers", "import", str(path)])
    second_out = capsys.readouterr()
    # then
    assert (first, first_out.err) == (0, "")
    assert first_out.out == (
        "contracts: 2 created, 0 updated; mailboxes: 3 created, 0 updated, 0 unchanged; passwords hashed: 3\n"
    )
    assert (second, second_out.err) == (0, "")
    assert second_out.out == (
        "contracts: 0 created, 0 updated; mailboxes: 0 created, 0 updated, 3 unchanged; passwords hashed: 0\n"
    )


def test_cli_lists_every_error_without_any_password_and_imports_nothing(tmp_path, capsys, settings):
    # given
    settings.LOGGING_CONFIG = None
    path = tmp_path / "subscribers.csv"
    path.write_bytes(
        subscriber_file("LG-1,lagon0001,Secret-77,false,,", "LG-2,x y,Secret-88,false,,", "LG-3,z")
    )
    # when
    status = main(["subscribers", "import", str(path)])
    out = capsys.readouterr()
    # then
    assert status == 1
    assert out.out == ""
    assert out.err.splitlines() == [
        "subscribers.csv:3: login: must be 3 to 254 characters without spaces, commas or quotes",
        "subscribers.csv:4: expected 6 fields, found 2",
        "guichet: 2 error(s); nothing was imported",
    ]
    assert "Secret" not in out.err
    assert Contract.objects.count() == 0


def test_cli_reports_a_missing_file(tmp_path, capsys, settings):
    settings.LOGGING_CONFIG = None
    status = main(["subscribers", "import", str(tmp_path / "nowhere.csv")])
    out = capsys.readouterr()
    assert status == 1
    assert out.err == f"guichet: cannot read {tmp_path / 'nowhere.csv'}: No such file or directory\n"
