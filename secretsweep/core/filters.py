"""False-positive filters and inline allow markers: small pure predicates with plain signatures."""

from __future__ import annotations

import functools
import re

# --- the value itself -----------------------------------------------------------------------------

_PLACEHOLDER_WORDS = (
    b"example", b"changeme", b"change_me", b"change-me", b"placeholder", b"your_", b"your-", b"yourkey",
    b"your key", b"redacted", b"replace_me", b"replaceme", b"dummy", b"sample", b"<your", b"insert_",
    b"insert-", b"xxxx", b"****", b"todo", b"fixme", b"notasecret", b"not_a_secret",
    b"not-a-secret", b"...", b"secret_here", b"password_here", b"token_here", b"key_here", b"mysecret",
    b"mypassword", b"supersecret", b"lorem", b"hunter2", b"hunter4",
)
_TEMPLATE = re.compile(
    rb"""^(?:
        \$\{[^}]*\}            # ${VAR}
      | \$\([^)]*\)            # $(command)
      | \$[A-Za-z_][A-Za-z0-9_]*  # $VAR
      | \{\{.*\}\}             # {{ var }} / {{resolve:...}}
      | \{%.*%\}               # {% tag %}
      | %\([^)]*\)[sdr]         # %(var)s
      | %[A-Za-z_][A-Za-z0-9_]*%  # %VAR% (Windows)
      | <[^<>]{1,64}>          # <your-key>
      | \{[^{}\s]{1,80}\}       # {var}, {obj.attr()} (str.format, f-strings)
      | @[A-Za-z_][A-Za-z0-9_.]*@   # @var@ (autoconf)
      | __[A-Z0-9_]+__          # __TOKEN__
    )$""",
    re.VERBOSE | re.DOTALL,
)
_REFERENCE_PREFIXES = (b"vault:", b"ssm:", b"arn:aws:secretsmanager:", b"secretsmanager:", b"env:", b"file:")


# Values that are a word standing in for a secret, not a secret: `password = "password"`.
_PLACEHOLDER_VALUES = frozenset({
    b"password", b"passwd", b"secret", b"token", b"apikey", b"api_key", b"api-key", b"pass", b"test",
    b"testing", b"none", b"null", b"nil", b"undefined", b"true", b"false", b"string", b"value", b"hidden",
    b"default", b"required", b"optional", b"empty", b"unknown", b"unset", b"secret_key", b"access_key",
    b"private_key", b"client_secret", b"my_password", b"your_password", b"foobar", b"foo", b"bar",
})
_LONG_PLACEHOLDERS = (b"example", b"x" * 12, b"." * 3, b"*" * 6, b"0" * 16)


# Claims of the token every JWT tutorial shows (jwt.io's sample: sub 1234567890, name John Doe).
_SAMPLE_CLAIMS = (b'"sub":"1234567890"', b'"name":"John Doe"')


def is_sample_jwt(secret: bytes) -> bool:
    """A documentation JWT: its payload holds the tutorial claims."""
    parts = secret.split(b".")
    if len(parts) != 3 or not parts[0].startswith(b"eyJ"):
        return False
    import base64
    import binascii

    try:
        payload = base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4))
    except (binascii.Error, ValueError):
        return False
    compact = payload.replace(b" ", b"")
    return any(c in compact for c in _SAMPLE_CLAIMS)


def is_placeholder(secret: bytes) -> bool:
    """Documentation and template stand-ins: EXAMPLE, changeme, xxxx, your-key...

    In a long value (a key block) a short word can occur by chance, so only strong markers count there.
    """
    low = secret.lower()
    if low.strip(b"\"'") in _PLACEHOLDER_VALUES or is_sample_jwt(secret):
        return True
    words = _PLACEHOLDER_WORDS if len(secret) <= 64 else _LONG_PLACEHOLDERS
    return any(w in low for w in words)


def is_template(secret: bytes) -> bool:
    """A value that is a variable to be filled in later, not a value: ${VAR}, {{ var }}, %(var)s."""
    return _TEMPLATE.match(secret.strip()) is not None or secret.lower().startswith(_REFERENCE_PREFIXES)


def is_repetitive(secret: bytes) -> bool:
    """One or two characters repeated, or a run along the alphabet, digits or keyboard."""
    if len(set(secret)) <= 2:
        return True
    return is_sequential(secret)


_SEQUENCES = (
    b"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    b"0123456789012345678901234567890123456789",
    b"qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    b"0123456789abcdef0123456789abcdef",
)
_BOTH_WAYS = _SEQUENCES + tuple(seq[::-1] for seq in _SEQUENCES)
# Every run of eight along the alphabet, digits or keyboard (each sequence repeats itself once).
_RUNS_OF_EIGHT = frozenset(seq[i : i + 8] for seq in _SEQUENCES[:3] for i in range(len(seq) // 2))


def is_sequential(secret: bytes) -> bool:
    """The value (case-folded, separators dropped) is a slice of a well-known sequence, or holds a run
    of eight or more of one (`BECOME-SUCCESS-abcdefghijklmnop`)."""
    s = secret.lower().replace(b"-", b"").replace(b"_", b"")
    if len(s) < 6:
        return False
    if any(s in seq for seq in _BOTH_WAYS):
        return True
    return any(s[i : i + 8] in _RUNS_OF_EIGHT for i in range(len(s) - 7))


# --- generic values: what a real secret does not look like -----------------------------------------

_WORD = rb"(?:[A-Z]?[a-z]{1,15}|[A-Z]{1,15})"
_WORDS = re.compile(rb"^" + _WORD + rb"(?:[-_ .]?" + _WORD + rb"){0,5}$")
_SECRET_WORDS = re.compile(rb"(?i)passw(?:or)?d|passwd|secret|token|api[_-]?key|credential")


def is_word_like(value: bytes) -> bool:
    """Short, letters only, in words (lower case, Capitalised or ALL CAPS, maybe joined): a word or a name
    (`shadow`, `foo-bar`, `DontShowMe`), not a generated secret, whose case flips at random."""
    if len(value) >= 16 or _WORDS.match(value) is None:
        return False
    # Words are about 40% vowels; random letters about 20%.
    letters = [c for c in value.lower() if 97 <= c <= 122]
    return sum(c in b"aeiouy" for c in letters) >= 0.3 * len(letters)


def is_foreign_word(value: bytes) -> bool:
    """Letters only, some outside ASCII: a word in another script (`암호`, `contraseña`), as in a list of
    password prompts, not a generated secret."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isalpha() and not text.isascii()


def names_a_secret(value: bytes) -> bool:
    """The value names what it stands for (`KRB5_PASSWORD`, `vault-password`, `test1@secret`)."""
    return _SECRET_WORDS.search(value) is not None


_PUBLIC_PREFIXES = (b"pk_live_", b"pk_test_", b"pk.eyj", b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")


def is_public(value: bytes) -> bool:
    """Keys that are public by design: Stripe publishable keys, Mapbox public tokens, SSH public keys."""
    return value.lower().startswith(_PUBLIC_PREFIXES)


# A lower-case or dotted name, then a call or an index that closes or ends the value (a generated
# password such as `aB3$dE(fG` has a mixed-case run before its bracket).
_CALL_OR_INDEX = re.compile(
    rb"^(?:[a-z_][a-z0-9_]*(?:\([^()]*\)|\[[^\[\]]*\]|\([a-z_][a-z0-9_]*=)"
    rb"|[a-z_]+[(\[]$"
    rb"|[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)+(?:[(\[]$|\([^()]*\)|\[[^\[\]]*\]))"
)


def is_not_a_value(value: bytes) -> bool:
    """Shapes that are code or markup, not a value: CLI flags, decorators and casts, format strings, URLs
    (the URL rule judges those), a name called or indexed (`dict(default=None)`, `module.params[`,
    `spwd.getspnam(user)[1]`), AWS resource names."""
    return (
        value[:1] in (b"-", b"@", b"(", b")", b"[", b".")
        or b"%s" in value or b"%d" in value or b"{}" in value or b"://" in value
        or value.startswith(b"arn:") or _CALL_OR_INDEX.match(value) is not None
    )


_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "fixtures", "fixture", "testdata",
                        "test_data", "testing", "mocks", "__mocks__", "__fixtures__", "e2e"})


@functools.lru_cache(maxsize=4096)
def is_test_path(path: str | None) -> bool:
    """Tests and fixtures, where values assigned to `password` are mostly made up for the test."""
    if not path:
        return False
    parts = path.lower().split("/")
    name = parts[-1]
    return (
        any(p in _TEST_DIRS for p in parts[:-1])
        or name.startswith(("test_", "tests_")) or name.endswith(("_test.py", "_test.go", ".test.js",
                                                                  ".test.ts", ".spec.js", ".spec.ts", "_spec.rb"))
    )


_IDENTIFIER = re.compile(
    rb"^[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::|:|->|/)[A-Za-z_$][A-Za-z0-9_$]*)*(?:\([A-Za-z0-9_.,\s]{0,40}\))?[,;]?$"
)
_CAMEL_OR_SNAKE = re.compile(
    rb"^_*(?:[a-z]+(?:_[a-z]+)+|[a-z]+(?:[A-Z][a-z]+)+|[A-Z][a-z]+(?:[A-Z][a-z]+)+|[A-Z]+(?:_[A-Z]+)+)$"
)
# snake_case whose every part starts with a letter, digits allowed after it: `ec2_access_key`, not
# `db_pass_2019`; at least two parts of three letters, so `a1b2_c3d4` stays a possible secret. (Not
# kebab-case: `blue-horse-river` may be a passphrase.)
_SNAKE_WITH_DIGITS = re.compile(rb"^_*[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+$")


def looks_like_identifier(value: bytes) -> bool:
    """A name from code rather than a value: `args.show_secrets`, `settings.DB_PASSWORD`, `getToken()`,
    `user_password`, `accessToken`. Digits are rare in names and common in secrets, so a value with a
    digit only counts as a name when it is dotted."""
    if _IDENTIFIER.match(value) is None:
        return False
    dotted = any(sep in value for sep in (b".", b"::", b"->", b"("))
    if dotted:
        # Names are short or plain words; a JWT's base64 parts are long runs of mixed case.
        parts = [p for p in re.split(rb"[.:/()>,;\s-]+", value) if p]
        return all(len(p) <= 24 or p.islower() or p.isupper() for p in parts)
    name = value.rstrip(b",;")
    if not any(c in b"0123456789" for c in value):
        return _CAMEL_OR_SNAKE.match(name) is not None
    return (_SNAKE_WITH_DIGITS.match(name) is not None
            and sum(len(p) >= 3 and p.isalpha() for p in name.split(b"_")) >= 2)


_PATH_SEGMENT = re.compile(rb"^[A-Za-z0-9_.~@-]{1,80}$")


def looks_like_path(value: bytes) -> bool:
    """A file path or URL path without credentials: `config/.env`, `/etc/ssl/key.pem`, `~/.aws/config`."""
    if b"/" not in value and b"\\" not in value or b"+" in value or b"=" in value:
        return False
    segments = [s for s in re.split(rb"[/\\]", value) if s]
    if not segments or not all(_PATH_SEGMENT.match(s) for s in segments):
        return False
    digits = sum(c in b"0123456789" for c in value)
    if digits * 5 > len(value):
        return False
    if all(re.fullmatch(rb"[A-Za-z_.-]+", s) for s in segments) and len(segments) >= 2:
        return True  # every part a plain word: config/settings, deploy/id_rsa
    anchored = value.startswith((b"/", b"./", b"../", b"~/")) or len(segments) >= 3
    has_extension = re.search(rb"\.[A-Za-z][A-Za-z0-9]{0,5}$", value) is not None
    return anchored or has_extension


# --- the line around it ---------------------------------------------------------------------------

_NAME = re.compile(rb"^[A-Za-z_][A-Za-z0-9_.]*$")


def is_called(value: bytes, following: bytes) -> bool:
    """A name the text goes on to call, `dict` in `snmpcommunity=dict(type='str')`: code, not a value."""
    return following[:1] == b"(" and _NAME.match(value) is not None


_AFTER_QUOTED_ITEM = re.compile(rb"""["'`]\s*,\s*$""")


def in_string_list(data: bytes, match_start: int, match_end: int) -> bool:
    """A match that starts at a quoted name and sits among other quoted items, a previous one before it
    and a comma or bracket after it: `['name', 'password', 'protect', ...]` lists names, where
    `("password", "hunter2")` or `set("password", "hunter2")` pairs a name with its value."""
    if data[match_start : match_start + 1] not in (b'"', b"'", b"`"):
        return False
    before = data[max(0, match_start - 200) : match_start]
    after = data[match_end : match_end + 200].lstrip()
    return _AFTER_QUOTED_ITEM.search(before) is not None and after[:1] in (b",", b"]", b")", b"}")


_ENV_READS = (
    b"os.environ", b"os.getenv", b"getenv(", b"process.env", b"env::var", b"system.getenv",
    b"environment.getenvironmentvariable", b"env[", b"$env:", b"import.meta.env",
)


_ENV_WRITE = re.compile(rb"(?i)\$env:[A-Za-z0-9_]+\s*=")


def reads_environment(line: bytes) -> bool:
    """The value on this line is read from the environment rather than written into the code
    (PowerShell's `$env:NAME = "..."` writes it, so it does not count)."""
    low = line.lower()
    return any(r in low for r in _ENV_READS) and _ENV_WRITE.search(line) is None


_LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile.lock",
    "cargo.lock", "go.sum", "composer.lock", "gemfile.lock", "podfile.lock", "pubspec.lock", "mix.lock",
    "packages.lock.json", "flake.lock", "uv.lock", "pdm.lock", "bun.lockb", "gradle.lockfile",
})


def is_lock_file(path: str | None) -> bool:
    """Dependency lock files: full of integrity hashes, never of credentials."""
    if not path:
        return False
    return path.rsplit("/", 1)[-1].lower() in _LOCK_FILES


# --- inline allow markers -------------------------------------------------------------------------

# Markers honoured on the same line as the secret; the first is ours, the rest are other tools'.
SAME_LINE_MARKERS = (
    b"secretsweep:allow", b"gitleaks:allow", b"betterleaks:allow", b"trufflehog:ignore",
    b"kingfisher:ignore", b"pragma: allowlist secret", b"ggignore",
)
NEXT_LINE_MARKERS = (b"secretsweep:allow-next-line", b"pragma: allowlist nextline secret")
BLOCK_START = b"secretsweep:disable"
BLOCK_END = b"secretsweep:enable"
# Every marker contains one of these; plain substring search is far faster than a regex here.
_MARKER_STEMS = (b"allow", b"ignore", BLOCK_START)


def has_any_marker(data: bytes) -> bool:
    """Cheap check that lets a blob without markers skip the per-match marker work."""
    return any(stem in data for stem in _MARKER_STEMS)


def _marker_with_reason(line: bytes, marker: bytes) -> str:
    after = line[line.find(marker) + len(marker) :].strip(b" \t:-#*/>").strip()
    label = marker.decode()
    return f"{label} {after.decode('utf-8', 'replace')}".strip() if after else label


def allow_marker(data: bytes, line_start: int, line_end: int) -> str | None:
    """The inline allow marker (with its reason) covering the line data[line_start:line_end], if any."""
    line = data[line_start:line_end]
    for marker in NEXT_LINE_MARKERS:
        if marker in line:
            break  # a next-line marker on this line speaks of the next line, not this one
    else:
        for marker in SAME_LINE_MARKERS:
            if marker in line:
                return _marker_with_reason(line, marker)
    if line_start > 0:
        prev_start = data.rfind(b"\n", 0, line_start - 1) + 1
        prev = data[prev_start : line_start - 1]
        for marker in NEXT_LINE_MARKERS:
            if marker in prev:
                return _marker_with_reason(prev, marker)
    opened = data.rfind(BLOCK_START, 0, line_start)
    if opened != -1 and data.rfind(BLOCK_END, opened, line_start) == -1:
        eol = data.find(b"\n", opened)
        return _marker_with_reason(data[opened : eol if eol != -1 else len(data)], BLOCK_START)
    return None
