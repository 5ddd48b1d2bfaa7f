"""Each false-positive filter and the inline allow markers, on their own."""

from __future__ import annotations

import pytest

from secretsweep.core import filters
from secretsweep.core.entropy import charset, normalised, shannon
from secretsweep.core.fingerprint import fingerprint, mask, masked_line
from secretsweep.core.validators import base62, crc32_base62, jwt


@pytest.mark.parametrize("value", [b"AKIAIOSFODNN7EXAMPLE", b"changeme", b"xxxxxxxxxxxx", b"<your-api-key>",
                                   b"your_token_here", b"password", b"PLACEHOLDER_VALUE", b"REDACTED"])
def test_placeholders(value):
    assert filters.is_placeholder(value) or filters.is_template(value)


@pytest.mark.parametrize("value", [b"q8Jf2LmN4pR7sT9v", b"Tr0ub4dor&3x", b"ZBJQ6c1suD6ZgCST"])
def test_real_looking_values_are_not_placeholders(value):
    assert not filters.is_placeholder(value)
    assert not filters.is_template(value)
    assert not filters.is_repetitive(value)


@pytest.mark.parametrize("value", [b"${DB_PASSWORD}", b"{{ vault_password }}", b"%(password)s", b"$PASSWORD",
                                   b"<password>", b"{password}", b"%DB_PASS%", b"__TOKEN__",
                                   b"{{resolve:secretsmanager:prod/db:SecretString:password}}",
                                   b"vault:secret/data/db#password"])
def test_templates_and_references(value):
    assert filters.is_template(value)


@pytest.mark.parametrize("value", [b"aaaaaaaa", b"abababab", b"abcdefgh", b"12345678", b"qwertyui", b"87654321"])
def test_repetitive(value):
    assert filters.is_repetitive(value)


def test_long_random_value_keeps_chance_words():
    # A word inside a long random block (a key body) is chance, not a placeholder.
    assert not filters.is_placeholder(b"A" * 30 + b"todo" + b"B9x" * 20)


@pytest.mark.parametrize("line", [b'password = os.environ["DB_PASSWORD"]', b"const t = process.env.TOKEN",
                                  b'pw := os.Getenv("PW")', b'System.getenv("SECRET")'])
def test_environment_reads(line):
    assert filters.reads_environment(line)


def test_lock_files():
    assert filters.is_lock_file("frontend/package-lock.json")
    assert filters.is_lock_file("poetry.lock")
    assert not filters.is_lock_file("locksmith.py")
    assert not filters.is_lock_file(None)


def _allow(text: bytes, needle: bytes) -> str | None:
    start = text.index(needle)
    line_start = text.rfind(b"\n", 0, start) + 1
    line_end = text.find(b"\n", start)
    return filters.allow_marker(text, line_start, line_end if line_end != -1 else len(text))


@pytest.mark.parametrize("marker", [b"secretsweep:allow", b"gitleaks:allow", b"betterleaks:allow",
                                    b"trufflehog:ignore", b"kingfisher:ignore", b"pragma: allowlist secret",
                                    b"ggignore"])
def test_same_line_markers(marker):
    assert _allow(b"key = 'S3CR3T'  # " + marker + b"\n", b"S3CR3T")


def test_marker_reason_is_kept():
    assert _allow(b"key = 'S3CR3T'  # secretsweep:allow test fixture\n", b"S3CR3T") == \
        "secretsweep:allow test fixture"


@pytest.mark.parametrize("marker", [b"secretsweep:allow-next-line", b"pragma: allowlist nextline secret"])
def test_next_line_markers(marker):
    text = b"# " + marker + b"\nkey = 'S3CR3T'\nother = 'S3CR3U'\n"
    assert _allow(text, b"S3CR3T")
    assert _allow(text, b"S3CR3U") is None
    # A next-line marker does not allow its own line.
    assert _allow(b"key = 'S3CR3T' # " + marker + b"\n", b"S3CR3T") is None


def test_disable_block():
    text = b"a = 'S1'\n# secretsweep:disable vendored\nb = 'S2'\n# secretsweep:enable\nc = 'S3'\n"
    assert _allow(text, b"S1") is None
    assert _allow(text, b"S2") == "secretsweep:disable vendored"
    assert _allow(text, b"S3") is None


def test_entropy_by_class():
    assert shannon(b"") == 0.0
    assert shannon(b"aaaa") == 0.0
    assert shannon(b"abcd") == 2.0
    assert charset(b"deadbeef00") == "hex"
    assert charset(b"Zq9xR8") == "alnum"
    assert charset(b"Zq9+/=") == "base64"
    assert charset(b"p@ss!") == "other"
    assert 0.0 <= normalised(b"q8Jf2LmN4pR7sT9v") <= 1.0


def test_fingerprint_depends_on_rule_and_secret_only():
    a = fingerprint("aws.access-key-id", b"AKIAFHSG4A7UNZQWWYEV")
    assert a == fingerprint("aws.access-key-id", b"AKIAFHSG4A7UNZQWWYEV")
    assert a != fingerprint("aws.secret-access-key", b"AKIAFHSG4A7UNZQWWYEV")
    assert a.startswith("v1:") and "AKIAFHSG4A7UNZQWWYEV" not in a


@pytest.mark.parametrize("secret", [b"ab", b"abcdefgh", b"AKIAFHSG4A7UNZQWWYEV", b"x" * 200])
def test_mask_shows_at_most_a_quarter(secret):
    shown = mask(secret).split("\u2026")[0]
    assert len(shown) <= len(secret) // 4
    assert f"({len(secret)})" in mask(secret)


def test_masked_line_hides_the_secret():
    data = b"first\nkey = 'Zq9xR8wLp2Tm' # note\nlast"
    start = data.index(b"Zq9")
    line = masked_line(data, start, start + 12, mask(b"Zq9xR8wLp2Tm"))
    assert line == "key = 'Zq9\u2026(12)' # note"


def test_masked_line_shows_control_characters_as_question_marks():
    data = b"\x1b[1mkey = 'Zq9xR8wLp2Tm'\x07\tend\r\n"
    start = data.index(b"Zq9")
    line = masked_line(data, start, start + 12, mask(b"Zq9xR8wLp2Tm"))
    assert line == "?[1mkey = 'Zq9\u2026(12)'? end"


def test_github_checksum():
    body = b"u8jzPde0IgxLd6GncfBAepfJBd0Kh8"
    import binascii

    token = b"ghp_" + body + base62(binascii.crc32(body), 6)
    assert crc32_base62(token)
    assert not crc32_base62(token[:-1] + (b"A" if token[-1:] != b"A" else b"B"))


def test_jwt_validator():
    assert jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
    assert not jwt(b"abc.def.ghi")


@pytest.mark.parametrize("value", [b"shadow", b"infoblox", b"foo-bar", b"DONTSHOWME", b"Interactive"])
def test_word_like_values(value):
    assert filters.is_word_like(value)


@pytest.mark.parametrize("value", [b"ptgUzEjfebzJ", b"kQzTrWbYpLmN", b"Tr0ub4dor3x", b"averyveryverylongpassphrase"])
def test_random_or_long_values_are_not_words(value):
    assert not filters.is_word_like(value)


@pytest.mark.parametrize("value", [b"KRB5_PASSWORD", b"vault-password", b"test1@secret", b"my_api_key"])
def test_values_naming_a_secret(value):
    assert filters.names_a_secret(value)


@pytest.mark.parametrize("value", [b"--api-key", b"@KEY_FILE", b"(UInt64)stats", b"__omit__%s", b"http://x:y@h"])
def test_not_a_value(value):
    assert filters.is_not_a_value(value)


@pytest.mark.parametrize("value", [b"args.show_secrets", b"settings.DB_PASSWORD", b"getToken()", b"user_password",
                                   b"accessToken", b"make_token(5)"])
def test_identifiers(value):
    assert filters.looks_like_identifier(value)


@pytest.mark.parametrize("value", [b"Tr0ub4dor3x", b"ZBJQ6c1suD6ZgCST", b"hunter"])
def test_values_are_not_identifiers(value):
    assert not filters.looks_like_identifier(value)


@pytest.mark.parametrize("value", [b"config/.env", b"deploy/id_rsa", b"/etc/ssl/key.pem", b"~/.aws/credentials"])
def test_paths(value):
    assert filters.looks_like_path(value)


@pytest.mark.parametrize("value", [b"lLK6sNdVU72lZ+o2/YH19dCqgn28s9Dp68GZN9Z3", b"ab12/cd34", b"Zq9x/R8wL"])
def test_base64_with_slashes_is_not_a_path(value):
    assert not filters.looks_like_path(value)


@pytest.mark.parametrize("path", ["tests/test_app.py", "src/__tests__/a.js", "pkg/foo_test.go", "test_x.py",
                                  "spec/models/user_spec.rb", "a/fixtures/creds.yml"])
def test_test_paths(path):
    assert filters.is_test_path(path)


@pytest.mark.parametrize("path", ["src/app.py", "contest/main.py", "latest/x.py", None])
def test_non_test_paths(path):
    assert not filters.is_test_path(path)


def test_sequential_run_inside_a_value():
    assert filters.is_sequential(b"BECOME-SUCCESS-abcdefghijklmnopqrstuvxyz")
    assert not filters.is_sequential(b"ZBJQ6c1suD6ZgCST")


def test_verdicts_remembered_per_value_still_judge_each_place():
    # The value filters' verdict is kept per (rule, value); the path and the line are judged every time.
    import string

    from secretsweep.core.detect import Detector
    from secretsweep.rules import load_rules
    from tests.conftest import fake_token

    value = fake_token(24, string.ascii_letters + string.digits, seed=5)
    detector = Detector(load_rules([], builtins=True, only=["generic.password-assignment"], disable=[]))
    plain = f'db_password = "{value}"\n'.encode()
    from_env = f'db_password = "{value}" if os.environ.get("X") else None\n'.encode()
    for _ in range(2):  # the second round is answered from the remembered verdict
        assert [m.rule_id for m in detector.detect(plain, "app/settings.py").matches] == ["generic.password-assignment"]
        assert detector.detect(plain, "poetry.lock").matches == []
        assert detector.detect(from_env, "app/settings.py").matches == []
    assert len(detector._verdicts) == 1


@pytest.mark.parametrize("value", [b"dict(default=None),", b"dict(required=True)", b"spwd.getspnam(user)[1]",
                                   b"consul.acl.update(", b"module.params[", b"dict(aliases=[",
                                   b"get_callback(module))", b"):].split(", b"arn:aws:kms:us-east-1:123123:alias/x"])
def test_code_and_resource_names_are_not_values(value):
    # Found by auditing ansible's history: each was reported as a password before.
    assert filters.is_not_a_value(value)


@pytest.mark.parametrize("value", [b"aB3$dE(fG", b"Xk9pQ2[zz", b"Tr0ub4(dor)", b"hunter2(", b"p@ss(w0rd"])
def test_generated_passwords_with_brackets_are_still_values(value):
    assert not filters.is_not_a_value(value)


@pytest.mark.parametrize("value", [b"ec2_access_key", b"ec2_access_key,", b"_vars_plugins", b"s3_bucket_name"])
def test_snake_case_names_with_digits_or_leading_underscores(value):
    assert filters.looks_like_identifier(value)


@pytest.mark.parametrize("value", [b"db_pass_2019", b"a1b2_c3d4", b"blue-horse-river", b"correct-horse7-staple"])
def test_passwords_that_only_resemble_names(value):
    assert not filters.looks_like_identifier(value)


def test_words_in_other_scripts():
    assert filters.is_foreign_word("암호".encode())
    assert filters.is_foreign_word("contraseña".encode())
    assert not filters.is_foreign_word(b"hunter")  # ASCII words are is_word_like's to judge
    assert not filters.is_foreign_word("pässwörd1".encode())  # a digit: not a word


@pytest.mark.parametrize(("template", "listed"), [
    ("opts = ['name', 'password', '{v}', 'proxy']", True),
    ("opts = ['name', 'password', '{v}',\n        'proxy']", True),
    ('$set = @("none", "password", "{v}", "both")', True),
    ('creds = ("password", "{v}")', False),  # a name paired with its value
    ('cfg.set("password", "{v}")', False),
    ("connect('db', password='{v}', port=5432)", False),  # a keyword argument, not a quoted name
])
def test_quoted_names_in_a_list_of_names(template, listed):
    import string

    from secretsweep.core.detect import Detector
    from secretsweep.rules import load_rules
    from tests.conftest import fake_token

    value = fake_token(14, string.ascii_letters + string.digits, seed=11)
    detector = Detector(load_rules([], builtins=True, only=["generic.password-assignment"], disable=[]))
    found = detector.detect(template.format(v=value).encode(), "app/settings.py").matches
    assert (found == []) is listed


def test_a_name_the_text_calls_is_code():
    assert filters.is_called(b"dict", b"(")
    assert filters.is_called(b"module.params.get", b"(")
    assert not filters.is_called(b"dict", b",")
    assert not filters.is_called(b"Tr0ub4dor&3", b"(")  # not a name
