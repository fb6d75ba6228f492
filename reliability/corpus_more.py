"""The rest of the bad-input corpus: database URLs, configuration files, command arguments and
web query strings (see corpus.py for the shape of a case)."""

from __future__ import annotations

from .corpus import LINE, Case

STATUS = ("status",)


def _urls() -> list[Case]:
    """(URL, exit code, what the message must name). Malformed or unsupported: 2. Well-formed
    but naming no reachable database: 3."""
    host = "u:s3cret@127.0.0.1"
    rows = [
        (f"postgresql+asyncpg://{host}/x", 2, "asyncpg"),
        (f"postgresql+psycopg2://{host}/x", 2, "psycopg2"),
        (f"postgresql+pg8000://{host}/x", 2, "pg8000"),
        (f"postgresql+pygresql://{host}/x", 2, "pygresql"),
        (f"mysql+mysqldb://{host}/x", 2, "mysqldb"),
        (f"mysql+aiomysql://{host}/x", 2, "aiomysql"),
        (f"mysql+asyncmy://{host}/x", 2, "asyncmy"),
        (f"mysql+mysqlconnector://{host}/x", 2, "mysqlconnector"),
        (f"mariadb+mariadbconnector://{host}/x", 2, "mariadbconnector"),
        (f"oracle+oracledb://{host}/x", 2, "oracle"),
        (f"mssql+pyodbc://{host}/x", 2, "mssql"),
        (f"cockroachdb://{host}/x", 2, "cockroachdb"),
        (f"mongodb://{host}/x", 2, "mongodb"),
        (f"http://{host}/x", 2, "http"),
        (f"postgresql+psycopg://{host}:abc/x", 2, "port"),
        (f"postgresql+psycopg://{host}:54x32/x", 2, "port"),
        (f"postgresql+psycopg://{host}:-1/x", 2, "port"),
        (f"postgresql+psycopg://{host}:99999/x", 2, "port"),
        (f"mysql+pymysql://{host}:port/x", 2, "port"),
        (f"postgresql+psycopg://{host}:/x", 3, "127.0.0.1"),
        ("not a url", 2, "URL"),
        ("", 2, "URL"),
        ("://", 2, "URL"),
        ("sqlite://", 2, "sqlite"),
        ("sqlite:///:memory:", 2, "memory"),
        ("sqlite:///{dir}", 3, "{dir}"),
        ("sqlite:////", 3, "/"),
        ("sqlite:///{dir}/nope.db", 3, "nope.db"),
        ("sqlite:////dev/null", 3, "/dev/null"),
        ("sqlite:////dev/zero", 3, "/dev/zero"),
        ("sqlite:///{dir}/text.db", 3, "text.db"),
        ("sqlite:///{dir}/empty.db", 3, "empty.db"),
        (f"postgresql+psycopg://{host}:1/x", 3, "127.0.0.1"),
        ("postgresql+psycopg://u@/nosuchdb?host=/nonexistent", 3, "nosuchdb"),
    ]
    out = []
    for i, (url, code, where) in enumerate(rows):
        out.append(Case(f"url_opt_{i}", "url", ("--db", url, *STATUS), code, (where,)))
    for i in (0, 1, 4, 14, 20, 24):  # the same URLs through the environment
        url, code, where = rows[i]
        out.append(
            Case(f"url_env_{i}", "url", STATUS, code, ("GOVGATE_DB",), env={"GOVGATE_DB": url})
        )
    for i in (0, 14, 24):  # and as the agent's URL
        url, code, where = rows[i]
        out.append(
            Case(
                f"url_agent_{i}",
                "url",
                ("--db", "{db}", "--agent-db", url, "apply"),
                code,
                (where,),
            )
        )
    # A read-only database file: reading works, writing is an environment error naming it.
    out.append(
        Case(
            "url_read_only_propose",
            "url",
            ("--db", "sqlite:///{dir}/readonly.db", "propose", "{dir}/valid.yaml"),
            3,
            ("readonly.db",),
        )
    )
    return out


def _configs() -> list[Case]:
    bodies = [
        ("not_toml", b"[agent\ninterval = 2\n", (LINE,)),
        ("unknown_section", b"[agents]\ninterval = 2\n", (LINE, "agents")),
        ("unknown_key", b"[agent]\nintervall = 2\n", (LINE, "intervall")),
        ("interval_string", b'[agent]\ninterval = "fast"\n', (LINE, "interval")),
        ("interval_negative", b"[agent]\ninterval = -1\n", (LINE, "interval")),
        ("interval_zero", b"[agent]\ninterval = 0\n", (LINE, "interval")),
        ("interval_nan", b"[agent]\ninterval = nan\n", (LINE, "interval")),
        ("interval_inf", b"[agent]\ninterval = inf\n", (LINE, "interval")),
        ("interval_huge", b"[agent]\ninterval = 1e309\n", (LINE, "interval")),
        ("enabled_string", b'[directus]\nenabled = "no"\n', (LINE, "enabled")),
        ("enabled_number", b"[directus]\nenabled = 0\n", (LINE, "enabled")),
        ("valid_days_zero", b"[approvals]\nvalid_days = 0\n", (LINE, "valid_days")),
        ("valid_days_big", b"[approvals]\nvalid_days = 367\n", (LINE, "valid_days")),
        ("valid_days_string", b'[approvals]\nvalid_days = "14"\n', (LINE, "valid_days")),
        ("valid_days_float", b"[approvals]\nvalid_days = 1.5\n", (LINE, "valid_days")),
        ("report_dir_list", b"[agent]\nreport_dir = [1]\n", (LINE, "report_dir")),
        ("identity_table", b"[agent]\nidentity = {a = 1}\n", (LINE, "identity")),
        ("url_number", b"[database]\nurl = 5\n", (LINE, "url")),
        ("url_malformed", b'[database]\nurl = "not a url"\n', (LINE, "url")),
        ("directus_url_ftp", b'[directus]\nurl = "ftp://x"\n', (LINE, "url")),
        (
            "require_signature_str",
            b'[approvals]\nrequire_signature = "yes"\n',
            (LINE, "require_signature"),
        ),
        ("duplicate_key", b"[agent]\ninterval = 1\ninterval = 2\n", (LINE,)),
        ("duplicate_section", b'[agent]\ninterval = 1\n[agent]\nidentity = "x"\n', (LINE,)),
        ("section_is_value", b"agent = 1\n", ("agent",)),
        ("bom_utf16", b"\xff\xfe[\x00a\x00", ()),
        ("invalid_utf8", b'[agent]\nidentity = "\xff\xfe"\n', (LINE,)),
        ("control_char", b'[agent]\nidentity = "a\x1b[2Jb"\n', (LINE,)),
        ("nul_char", b'[agent]\nidentity = "a\x00b"\n', (LINE,)),
        ("token_in_file", b'[directus]\ntoken = "abc"\n', (LINE, "token")),
        ("deep_array", b"[agent]\nidentity = " + b"[" * 5000 + b"]" * 5000 + b"\n", (LINE,)),
    ]
    out = [
        Case(
            f"config_{i}",
            "config",
            ("--config", "{file}", "--db", "{db}", "status"),
            2,
            ("{file}", *w),
            body,
            "toml",
        )
        for i, body, w in bodies
    ]
    # (An unreadable file is test_config.py's: the suite may run as root, who reads it anyway.)
    for i, path in (("missing", "{dir}/nope.toml"), ("folder", "{dir}"), ("dev_zero", "/dev/zero")):
        out.append(
            Case(
                f"config_{i}",
                "config",
                ("--config", "{file}", "--db", "{db}", "status"),
                2,
                ("{file}",),
                path=path,
            )
        )
    out.append(
        Case(
            "config_env_missing",
            "config",
            ("--db", "{db}", "status"),
            2,
            ("nope.toml",),
            env={"GOVGATE_CONFIG": "{dir}/nope.toml"},
        )
    )
    return out


def _arguments() -> list[Case]:
    db = ("--db", "{db}")
    rows = [
        ((*db, "agent", "--once", "--interval", "abc"), "interval"),
        ((*db, "agent", "--once", "--interval", "-1"), "interval"),
        ((*db, "agent", "--once", "--interval", "nan"), "interval"),
        ((*db, "agent", "--once", "--interval", "inf"), "interval"),
        ((*db, "agent", "--once", "--interval", "0"), "interval"),
        ((*db, "audit", "--limit", "abc"), "limit"),
        ((*db, "audit", "--limit", "-5"), "limit"),
        ((*db, "audit", "--limit", "0"), "limit"),
        ((*db, "audit", "--limit", "9" * 30), "limit"),
        ((*db, "audit", "--limit", "\u0661\u0662"), "limit"),
        ((*db, "report", "--format", "pdf"), "format"),
        ((*db, "nosuchcommand"), "nosuchcommand"),
        ((*db, "status", "--nosuchoption"), "nosuchoption"),
        ((*db, "propose"), "PLAN"),
        ((*db, "propose", "{dir}"), "{dir}"),
        ((*db, "ratify"), "PROPOSAL"),
        ((*db, "serve", "--port", "abc"), "port"),
        ((*db, "serve", "--port", "99999"), "port"),
        ((*db, "serve", "--port", "-1"), "port"),
        ((*db, "serve", "--host", "0.0.0.0", "--port", "x"), "port"),
        ((*db, "audit", "verify", "--checkpoint", "/dev/zero"), "/dev/zero"),
        ((*db, "audit", "verify", "--checkpoint", "{dir}"), "{dir}"),
        ((*db, "audit", "verify", "--checkpoint", "{dir}/nope.json"), "nope.json"),
        ((*db, "audit", "verify", "--checkpoint", "/etc/passwd"), "/etc/passwd"),
        ((*db, "audit", "verify", "--checkpoint", "{dir}/list.json"), "list.json"),
        ((*db, "audit", "export", "/dev/null"), "/dev/null"),
        ((*db, "directus", "extension", "/dev/null"), "/dev/null"),
        ((*db, "rehearse", "{dir}/nope.yaml"), "nope.yaml"),
        ((*db, "rehearse", "/dev/zero"), "/dev/zero"),
        ((*db, "status", "--json", "--json", "--why", "--bogus"), "bogus"),
        (("--db",), "--db"),
        (("--config",), "--config"),
    ]
    return [Case(f"arg_{i}", "argument", argv, 2, (w,)) for i, (argv, w) in enumerate(rows)]


# Web query strings: (path and query, HTTP status, what the JSON or page must name).
WEB = [
    ("/audit.json?limit=\u0661\u0662", 400, "limit"),  # Arabic-Indic digits
    ("/audit.json?limit=\u0967\u0968", 400, "limit"),  # Devanagari digits
    ("/audit.json?limit=\uff11\uff12", 400, "limit"),  # full-width digits
    ("/audit.json?limit=\u00b2", 400, "limit"),  # superscript two: isdigit() but not int()
    ("/audit.json?limit=\u2460", 400, "limit"),  # circled one
    ("/audit.json?limit=" + "9" * 5000, 400, "limit"),  # beyond int()'s 4300 digits
    ("/audit.json?limit=" + "9" * 100, 400, "limit"),
    ("/audit.json?limit=100001", 400, "limit"),
    ("/audit.json?limit=0", 400, "limit"),
    ("/audit.json?limit=-1", 400, "limit"),
    ("/audit.json?limit=1e3", 400, "limit"),
    ("/audit.json?limit=%2B5", 400, "limit"),
    ("/audit.json?limit=%205", 400, "limit"),
    ("/audit.json?limit=0x10", 400, "limit"),
    ("/audit.json?limit=ALL", 400, "limit"),
    ("/audit.json?limit=%00", 400, "limit"),
    ("/audit.json?limit=", 400, "limit"),
    ("/audit.json?limit=" + "x" * 30_000, 400, "limit"),
    ("/audit?limit=\u0661\u0662", 400, "limit"),
    ("/audit?limit=\u00b2", 400, "limit"),
    ("/audit?limit=" + "9" * 5000, 400, "limit"),
    ("/audit?limit=-1", 400, "limit"),
    ("/approval-payload.json", 400, "approval_id"),
    ("/approval-payload.json?approval_id=A", 400, "approver"),
    ("/approval-payload.json?approval_id=" + "A" * 300 + "&approver=x", 400, "approval_id"),
    ("/approval-payload.json?approval_id=A&approver=" + "b" * 30_000, 400, "approver"),
]
WEB_GOOD = ("/audit.json?limit=12", "/status.json", "/audit?limit=all")


def cases() -> list[Case]:
    return _urls() + _configs() + _arguments()
