"""Labelled corpus for the detection-quality benchmark: real-looking secrets and hard negatives.

    python benchmarks/quality_corpus.py OUT_DIR [--seed 2026] [--force]

Writes about 600 files, one sample each, under OUT_DIR/sNNNN/<realistic path> and OUT_DIR/labels.json
mapping each file's path (relative to OUT_DIR) to {"family", "positive", "kind", "note"}. Every value is
random in the right alphabet and length, drawn from a fixed seed: the corpus holds fake secrets, so it
is generated at run time and never committed. Negatives carry the family they are most easily confused
with (a publishable Stripe key is a "payments" negative); noise that no family owns (hashes, lock files,
bundles) is family "noise".
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import random
import shutil
import string
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = string.ascii_letters + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BASE32 = UPPER + "234567"
_BASE62 = DIGITS + UPPER + LOWER

ORGS = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell", "cyberdyne",
        "nakatomi", "soylent", "wonka", "gringotts", "monarch", "oscorp", "pied-piper", "aperture"]
APPS = ["billing", "orders", "notifier", "ingest", "reports", "gateway", "search", "checkout", "inventory",
        "auth", "scheduler", "analytics", "crm", "payroll", "mailer", "exporter", "webhooks", "catalog"]
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "us-west-2", "ap-southeast-2"]
WORDS = ["river", "maple", "copper", "falcon", "orbit", "delta", "harbor", "quartz", "ember", "willow",
         "cobalt", "summit", "lantern", "meadow", "glacier", "saffron", "thunder", "velvet", "juniper"]


def rnd(r: random.Random, alphabet: str, n: int) -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n, 62)
        out = _BASE62[rem] + out
    return out.rjust(width, "0")


def crc_token(r: random.Random, prefix: str) -> str:
    """GitHub classic / npm token: prefix + 30 random base62 + base62 CRC32 of those 30 (6 chars)."""
    body = rnd(r, ALNUM, 30)
    return prefix + body + base62(binascii.crc32(body.encode()), 6)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def rbytes(r: random.Random, n: int) -> bytes:
    return bytes(r.getrandbits(8) for _ in range(n))


def wrap64(text: str) -> str:
    return "\n".join(text[i:i + 64] for i in range(0, len(text), 64))


# --- name styles ----------------------------------------------------------------------------------

def snake(w: tuple[str, ...]) -> str:
    return "_".join(w).lower()


def upper(w: tuple[str, ...]) -> str:
    return snake(w).upper()


def camel(w: tuple[str, ...]) -> str:
    return w[0].lower() + "".join(x.capitalize() for x in w[1:])


def pascal(w: tuple[str, ...]) -> str:
    return "".join(x.capitalize() for x in w)


def dotted(w: tuple[str, ...]) -> str:
    return ".".join(x.lower() for x in w)


def kebab(w: tuple[str, ...]) -> str:
    return "-".join(x.lower() for x in w)


Pair = tuple[tuple[str, ...], str]


class Corpus:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.samples: list[tuple[str, str, dict]] = []

    # --- bookkeeping ------------------------------------------------------------------------------

    def add(self, family: str, positive: bool, kind: str, path: str, text: str, note: str = "") -> None:
        label = {"family": family, "positive": positive, "kind": kind, "note": note or kind}
        self.samples.append((path, text if text.endswith("\n") else text + "\n", label))

    def pick(self, seq):
        return self.r.choice(seq)

    def org(self) -> str:
        return self.pick(ORGS)

    def app(self) -> str:
        return self.pick(APPS)

    def host(self) -> str:
        r = self.r
        return self.pick([f"{self.app()}-db.{self.org()}.internal", f"10.{r.randint(0, 255)}.{r.randint(0, 255)}."
                          f"{r.randint(1, 254)}", f"{self.app()}.{self.pick(REGIONS)}.rds.amazonaws.com",
                          f"db-{r.randint(1, 9)}.{self.org()}-prod.net", f"{self.app()}-primary"])

    def password(self) -> str:
        """A human-chosen or generated password (no quotes, spaces, $ or backslashes)."""
        r = self.r
        style = r.randrange(4)
        if style == 0:
            return rnd(r, ALNUM + "!#%&*+-_=.^~", r.randint(12, 24))
        if style == 1:
            return (self.pick(WORDS).capitalize() + self.pick(["!", "#", "-", "_", "."]) + str(r.randint(10, 9999))
                    + self.pick(WORDS).capitalize() + self.pick(["!", "?", "%", ""]))
        if style == 2:
            return rnd(r, ALNUM, r.randint(16, 32))
        return rnd(r, HEX, 32)

    def url_password(self) -> str:
        return rnd(self.r, ALNUM + "-_.~", self.r.randint(10, 24))

    # --- embedding: a set of (name words, value) pairs rendered in one language ---------------------

    LANGS = ("python", "js", "ts", "go", "java", "csharp", "ruby", "php", "yaml", "env", "ini", "properties",
             "xml", "json", "shell", "powershell", "terraform", "dockerfile", "compose", "k8s", "notebook", "toml")

    def embed(self, pairs: list[Pair], langs: tuple[str, ...] | None = None) -> tuple[str, str, str]:
        lang = self.pick(langs or self.LANGS)
        path, text = getattr(self, f"_lang_{lang}")(pairs)
        return path, text, lang

    def _lang_python(self, pairs: list[Pair]) -> tuple[str, str]:
        r, app = self.r, self.app()
        path = self.pick(["settings.py", f"{app}/settings.py", "config.py", f"src/{app}/config.py",
                          f"scripts/sync_{app}.py", f"{app}/clients.py", "local_settings.py"])
        style = r.randrange(3)
        head = (f'"""Configuration for the {app} service."""\n\nimport logging\nimport os\n\n'
                "logger = logging.getLogger(__name__)\n\n")
        if style == 0:
            body = "DEBUG = False\nALLOWED_HOSTS = [\"" + app + ".internal\"]\n"
            body += "".join(f'{upper(w)} = "{v}"\n' for w, v in pairs)
            body += f"TIMEOUT_SECONDS = {r.randint(5, 120)}\n"
        elif style == 1:
            body = f"CONFIG = {{\n    \"region\": \"{self.pick(REGIONS)}\",\n"
            body += "".join(f'    "{snake(w)}": "{v}",\n' for w, v in pairs)
            body += f"    \"retries\": {r.randint(1, 5)},\n}}\n"
        else:
            cls = pascal((app, "client"))
            body = f"from {app}.client import {cls}\n\n\ndef make_client():\n    return {cls}(\n"
            body += "".join(f'        {snake(w)}="{v}",\n' for w, v in pairs)
            body += f"        timeout={r.randint(5, 60)},\n    )\n"
        return path, head + body

    def _lang_js(self, pairs: list[Pair], ts: bool = False) -> tuple[str, str]:
        r, app = self.r, self.app()
        ext = "ts" if ts else self.pick(["js", "mjs", "cjs"])
        path = self.pick([f"config.{ext}", f"src/{app}/client.{ext}", f"server/index.{ext}", f"lib/{app}.{ext}"])
        if r.random() < 0.5:
            body = "const express = require('express');\nconst app = express();\n\n"
            body += "".join(f"const {camel(w)} = '{v}';\n" for w, v in pairs)
            body += f"\napp.listen({r.choice([3000, 8080, 4000])}, () => console.log('{app} up'));\n"
        else:
            body = "'use strict';\n\nmodule.exports = {\n  env: 'production',\n"
            body += "".join(f"  {camel(w)}: \"{v}\",\n" for w, v in pairs)
            body += f"  port: {r.choice([3000, 8080, 4000])},\n}};\n"
        return path, body

    def _lang_ts(self, pairs: list[Pair]) -> tuple[str, str]:
        path, body = self._lang_js(pairs, ts=True)
        return path, body.replace("const express = require('express');", "import express from 'express';")

    def _lang_go(self, pairs: list[Pair]) -> tuple[str, str]:
        app = self.app()
        path = self.pick(["main.go", "internal/config/config.go", f"cmd/{app}/main.go", f"pkg/{app}/client.go"])
        if self.r.random() < 0.5:
            body = "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\nconst (\n"
            body += "".join(f'\t{camel(w)} = "{v}"\n' for w, v in pairs)
            body += ")\n\nfunc main() {\n\tfmt.Println(\"starting\")\n\t_ = http.ListenAndServe(\":8080\", nil)\n}\n"
        else:
            body = "package config\n\ntype Config struct {\n"
            body += "".join(f"\t{pascal(w)} string\n" for w, _ in pairs)
            body += "}\n\nfunc Default() Config {\n\treturn Config{\n"
            body += "".join(f'\t\t{pascal(w)}: "{v}",\n' for w, v in pairs)
            body += "\t}\n}\n"
        return path, body

    def _lang_java(self, pairs: list[Pair]) -> tuple[str, str]:
        org, app = self.org().replace("-", ""), self.app()
        cls = pascal((app, "config"))
        path = f"src/main/java/com/{org}/{app}/{cls}.java"
        body = f"package com.{org}.{app};\n\nimport java.util.Properties;\n\npublic final class {cls} {{\n"
        if self.r.random() < 0.5:
            body += "".join(f'    private static final String {upper(w)} = "{v}";\n' for w, v in pairs)
        else:
            body += "    public static Properties load() {\n        Properties props = new Properties();\n"
            body += "".join(f'        props.put("{dotted(w)}", "{v}");\n' for w, v in pairs)
            body += "        return props;\n    }\n"
        return path, body + "}\n"

    def _lang_csharp(self, pairs: list[Pair]) -> tuple[str, str]:
        app = pascal((self.app(),))
        body = f"namespace {app}.Services\n{{\n    public static class Settings\n    {{\n"
        body += "".join(f'        public const string {pascal(w)} = "{v}";\n' for w, v in pairs)
        return self.pick(["Program.cs", f"src/{app}/Settings.cs"]), body + "    }\n}\n"

    def _lang_ruby(self, pairs: list[Pair]) -> tuple[str, str]:
        app = self.app()
        body = f"# frozen_string_literal: true\n\n{pascal((app,))}.configure do |config|\n"
        body += "".join(f"  config.{snake(w)} = '{v}'\n" for w, v in pairs)
        return f"config/initializers/{app}.rb", body + "end\n"

    def _lang_php(self, pairs: list[Pair]) -> tuple[str, str]:
        body = "<?php\n\nreturn [\n    'driver' => 'smtp',\n"
        body += "".join(f"    '{snake(w)}' => '{v}',\n" for w, v in pairs)
        return self.pick(["config/services.php", "wp-config.php", "config/app.php"]), body + "];\n"

    def _lang_yaml(self, pairs: list[Pair]) -> tuple[str, str]:
        r, app = self.r, self.app()
        path = self.pick(["config.yaml", "config/application.yml", "values.yaml", "group_vars/all.yml",
                          f"deploy/{app}.yaml", "config/production.yml"])
        body = f"service:\n  name: {app}\n  replicas: {r.randint(1, 6)}\n"
        for w, v in pairs:
            if len(w) > 1 and r.random() < 0.6:
                body += f"{w[0].lower()}:\n  {snake(w[1:])}: {self._yq(v)}\n"
            else:
                body += f"{snake(w)}: {self._yq(v)}\n"
        return path, body + "logging:\n  level: info\n"

    def _yq(self, v: str) -> str:
        if v.startswith(("{", "[", "*", "&", "!", "%", "@", "`")) or ": " in v or " #" in v:
            return f'"{v}"'
        return self.pick([v, v, f'"{v}"', f"'{v}'"])

    def _lang_env(self, pairs: list[Pair]) -> tuple[str, str]:
        path = self.pick([".env", ".env.production", "config/.env.local", ".env.staging"])
        body = f"NODE_ENV=production\nPORT={self.r.choice([3000, 8080, 5000])}\n"
        body += "".join(f"{upper(w)}={self.pick([v, v, f'{chr(34)}{v}{chr(34)}'])}\n" for w, v in pairs)
        return path, body + f"LOG_LEVEL={self.pick(['info', 'debug', 'warn'])}\n"

    def _lang_ini(self, pairs: list[Pair]) -> tuple[str, str]:
        path = self.pick(["config.ini", "settings.ini", f"{self.app()}.cfg", "conf/app.conf"])
        body = f"[server]\nhost = 0.0.0.0\nport = {self.r.choice([8000, 8080, 9000])}\n\n[{self.app()}]\n"
        body += "".join(f"{snake(w)} = {v}\n" for w, v in pairs)
        return path, body


    def _lang_properties(self, pairs: list[Pair]) -> tuple[str, str]:
        path = self.pick(["application.properties", "src/main/resources/application-prod.properties",
                          "config/app.properties"])
        body = f"server.port={self.r.choice([8080, 8443])}\nspring.application.name={self.app()}\n"
        body += "".join(f"{self.pick(['app.', 'integration.', ''])}{dotted(w)}={v}\n" for w, v in pairs)
        return path, body

    def _lang_xml(self, pairs: list[Pair]) -> tuple[str, str]:
        if self.r.random() < 0.5:
            body = '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
            body += '    <add key="Environment" value="Production" />\n'
            body += "".join(f'    <add key="{pascal(w)}" value="{v}" />\n' for w, v in pairs)
            body += "  </appSettings>\n</configuration>\n"
            return self.pick(["Web.config", "App.config", "src/App.config"]), body
        body = '<?xml version="1.0" encoding="UTF-8"?>\n<settings>\n  <server>\n    <id>internal</id>\n'
        body += "".join(f"    <{camel(w)}>{v}</{camel(w)}>\n" for w, v in pairs)
        body += "  </server>\n</settings>\n"
        return self.pick(["settings.xml", "conf/server.xml", "config/integration.xml"]), body

    def _lang_json(self, pairs: list[Pair]) -> tuple[str, str]:
        doc: dict = {"name": self.app(), "environment": "production"}
        if self.r.random() < 0.5:
            doc["credentials"] = {camel(w): v for w, v in pairs}
        else:
            doc.update({snake(w): v for w, v in pairs})
        doc["timeoutMs"] = self.r.randint(1000, 30000)
        path = self.pick(["config.json", "appsettings.Production.json", "config/secrets.json", "settings.json"])
        return path, json.dumps(doc, indent=2)

    def _lang_shell(self, pairs: list[Pair]) -> tuple[str, str]:
        body = "#!/usr/bin/env bash\nset -euo pipefail\n\n"
        body += "".join(f"export {upper(w)}=\"{v}\"\n" for w, v in pairs)
        body += f"\n./bin/{self.app()} --region {self.pick(REGIONS)} \"$@\"\n"
        return self.pick(["deploy.sh", "scripts/run.sh", "bin/bootstrap.sh", "ci/publish.sh"]), body

    def _lang_powershell(self, pairs: list[Pair]) -> tuple[str, str]:
        body = "Set-StrictMode -Version Latest\n$ErrorActionPreference = 'Stop'\n\n"
        body += "".join(f"$env:{upper(w)} = \"{v}\"\n" if self.r.random() < 0.5 else f"${pascal(w)} = '{v}'\n"
                        for w, v in pairs)
        body += f"\n& .\\{self.app()}.exe --env production\n"
        return self.pick(["deploy.ps1", "scripts/Setup.ps1"]), body

    def _lang_terraform(self, pairs: list[Pair]) -> tuple[str, str]:
        if self.r.random() < 0.5:
            body = "".join(f'{snake(w)} = "{v}"\n' for w, v in pairs)
            return self.pick(["terraform.tfvars", "env/prod.auto.tfvars"]), f'region = "{self.pick(REGIONS)}"\n' + body
        body = f'module "{self.app()}" {{\n  source = "./modules/{self.app()}"\n'
        body += "".join(f'  {snake(w)} = "{v}"\n' for w, v in pairs)
        return self.pick(["main.tf", "infra/main.tf"]), body + "}\n"

    def _lang_dockerfile(self, pairs: list[Pair]) -> tuple[str, str]:
        body = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\n"
        body += "".join(f"{self.pick(['ENV', 'ARG'])} {upper(w)}={v}\n" for w, v in pairs)
        return self.pick(["Dockerfile", "docker/Dockerfile"]), body + f'CMD ["python", "-m", "{self.app()}"]\n'

    def _lang_compose(self, pairs: list[Pair]) -> tuple[str, str]:
        app = self.app()
        body = f"services:\n  {app}:\n    image: {self.org()}/{app}:1.{self.r.randint(0, 30)}\n    environment:\n"
        body += "".join(f"      - {upper(w)}={v}\n" for w, v in pairs)
        return self.pick(["docker-compose.yml", "compose.yaml"]), body + "    ports:\n      - \"8080:8080\"\n"

    def _lang_k8s(self, pairs: list[Pair]) -> tuple[str, str]:
        app = self.app()
        body = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {app}-credentials\n  namespace: {self.org()}\n"
                "type: Opaque\n")
        if self.r.random() < 0.5:
            body += "data:\n" + "".join(f"  {upper(w)}: {b64(v.encode())}\n" for w, v in pairs)
        else:
            body += "stringData:\n" + "".join(f"  {upper(w)}: \"{v}\"\n" for w, v in pairs)
        return self.pick([f"k8s/{app}-secret.yaml", "deploy/secret.yaml", "manifests/secrets.yml"]), body

    def _lang_notebook(self, pairs: list[Pair]) -> tuple[str, str]:
        src = ["import pandas as pd\n", "import requests\n", "\n"]
        src += [f'{snake(w)} = "{v}"\n' for w, v in pairs]
        src += ["resp = requests.get(URL, timeout=30)\n", "df = pd.DataFrame(resp.json())"]
        nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [f"# {self.app()} exploration"]},
                        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": src}],
              "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
              "nbformat": 4, "nbformat_minor": 5}
        return self.pick(["analysis.ipynb", f"notebooks/{self.app()}.ipynb"]), json.dumps(nb, indent=1)

    def _lang_toml(self, pairs: list[Pair]) -> tuple[str, str]:
        body = f"[app]\nname = \"{self.app()}\"\n\n[{self.pick(['credentials', 'integrations', 'auth'])}]\n"
        body += "".join(f'{snake(w)} = "{v}"\n' for w, v in pairs)
        return self.pick(["config.toml", "config/production.toml"]), body

    # --- positives -----------------------------------------------------------------------------------

    def pos(self, family: str, kind: str, pairs: list[Pair], langs: tuple[str, ...] | None = None) -> None:
        path, text, lang = self.embed(pairs, langs)
        self.add(family, True, kind, path, text, f"{kind} in {lang}")

    def aws_pair(self) -> tuple[str, str]:
        return "AKIA" + rnd(self.r, BASE32, 16), rnd(self.r, B64, 40)

    def cloud(self, n: int) -> None:
        r = self.r
        builders: list[Callable[[], None]] = []

        def aws_code() -> None:
            kid, sec = self.aws_pair()
            names = self.pick([(("aws", "access", "key", "id"), ("aws", "secret", "access", "key")),
                               (("access", "key"), ("secret", "key")), (("s3", "key", "id"), ("s3", "secret"))])
            self.pos("cloud", "aws key pair", [(names[0], kid), (names[1], sec)])

        def aws_credentials_file() -> None:
            kid, sec = self.aws_pair()
            text = (f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {sec}\nregion = "
                    f"{self.pick(REGIONS)}\n")
            self.add("cloud", True, "aws credentials file", self.pick([".aws/credentials", "aws/credentials"]), text)

        def aws_boto() -> None:
            kid, sec = self.aws_pair()
            text = (f"import boto3\n\ns3 = boto3.client(\n    \"s3\",\n    region_name=\"{self.pick(REGIONS)}\",\n"
                    f"    aws_access_key_id=\"{kid}\",\n    aws_secret_access_key=\"{sec}\",\n)\n")
            self.add("cloud", True, "aws key pair in boto3 call", f"{self.app()}/storage.py", text)

        def gcp_sa() -> None:
            proj = f"{self.org()}-{self.app()}-{r.randint(100, 999)}"
            doc = {"type": "service_account", "project_id": proj, "private_key_id": rnd(r, HEX, 40),
                   "private_key": pem("PRIVATE KEY", pkcs8_body(r)) + "\n",
                   "client_email": f"{self.app()}-sa@{proj}.iam.gserviceaccount.com",
                   "client_id": rnd(r, DIGITS, 21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                   "token_uri": "https://oauth2.googleapis.com/token",
                   "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs"}
            if r.random() < 0.6:
                self.add("cloud", True, "gcp service-account json",
                         self.pick(["service-account.json", f"credentials/{proj}.json", "gcp-key.json"]),
                         json.dumps(doc, indent=2))
            else:
                text = ("import json\n\nfrom google.oauth2 import service_account\n\n"
                        f"INFO = json.loads(r'''{json.dumps(doc)}''')\n")
                text += "creds = service_account.Credentials.from_service_account_info(INFO)\n"
                self.add("cloud", True, "gcp service-account json in python", "gcp_auth.py", text)

        def azure() -> None:
            acct = f"{self.org().replace('-', '')}{self.app()}{r.randint(1, 99)}"[:24]
            key = b64(rbytes(r, 64))
            conn = (f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};"
                    f"EndpointSuffix=core.windows.net")
            self.pos("cloud", "azure storage connection string",
                     [(self.pick([("azure", "storage", "connection", "string"), ("storage", "connection"),
                                  ("blob", "connection", "string")]), conn)],
                     ("python", "json", "env", "yaml", "xml", "csharp", "js", "shell"))

        def digitalocean() -> None:
            tok = "dop_v1_" + rnd(r, HEX, 64)
            self.pos("cloud", "digitalocean dop_v1 token",
                     [(self.pick([("do", "token"), ("digitalocean", "token"), ("digitalocean", "access", "token")]),
                       tok)])

        builders += [aws_code, aws_credentials_file, aws_boto, gcp_sa, azure, digitalocean, aws_code]
        self.run(builders, n)

    def run(self, builders: list[Callable[[], None]], n: int) -> None:
        for i in range(n):
            builders[i % len(builders)]()

    def scm(self, n: int) -> None:
        r = self.r

        def ghp() -> None:
            self.pos("scm_ci", "github ghp_ token (valid crc32)",
                     [(self.pick([("github", "token"), ("gh", "token"), ("github", "pat"), ("git", "auth", "token")]),
                       crc_token(r, "ghp_"))])

        def ghp_remote() -> None:
            tok = crc_token(r, "ghp_")
            text = (f"[core]\n\trepositoryformatversion = 0\n[remote \"origin\"]\n\turl = https://{self.org()}-bot:"
                    f"{tok}@github.com/{self.org()}/{self.app()}.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n")
            self.add("scm_ci", True, "github ghp_ token in git remote url", "git-config", text)

        def fine() -> None:
            tok = "github_pat_" + rnd(r, ALNUM, 22) + "_" + rnd(r, ALNUM, 59)
            self.pos("scm_ci", "github fine-grained github_pat_", [(self.pick([("github", "token"),
                                                                              ("gh", "pat")]), tok)])

        def gitlab() -> None:
            tok = "glpat-" + rnd(r, ALNUM + "-_", 20)
            self.pos("scm_ci", "gitlab glpat- token", [(self.pick([("gitlab", "token"), ("ci", "job", "token"),
                                                                  ("gitlab", "private", "token")]), tok)])

        def gitlab_ci() -> None:
            tok = "glpat-" + rnd(r, ALNUM + "-_", 20)
            text = (f"stages: [build, release]\n\nrelease:\n  stage: release\n  image: node:20\n  script:\n"
                    f"    - npm ci\n    - GITLAB_TOKEN={tok} npx semantic-release\n")
            self.add("scm_ci", True, "gitlab glpat- in .gitlab-ci.yml", ".gitlab-ci.yml", text)

        self.run([ghp, fine, gitlab, ghp_remote, ghp, gitlab_ci], n)

    def chat(self, n: int) -> None:
        r = self.r

        def slack_bot() -> None:
            tok = f"xoxb-{rnd(r, DIGITS, r.randint(10, 13))}-{rnd(r, DIGITS, r.randint(10, 13))}-{rnd(r, ALNUM, 24)}"
            self.pos("chat", "slack xoxb- bot token", [(self.pick([("slack", "bot", "token"), ("slack", "token"),
                                                                  ("bot", "token")]), tok)])

        def slack_hook() -> None:
            url = (f"https://hooks.slack.com/services/T{rnd(r, UPPER + DIGITS, 8)}/B{rnd(r, UPPER + DIGITS, 10)}/"
                   f"{rnd(r, ALNUM, 24)}")
            if r.random() < 0.5:
                self.pos("chat", "slack webhook url", [(self.pick([("slack", "webhook", "url"), ("alert", "webhook"),
                                                                  ("notify", "url")]), url)])
            else:
                text = (f"#!/bin/sh\ncurl -X POST -H 'Content-type: application/json' \\\n"
                        f"  --data '{{\"text\":\"deploy finished\"}}' \\\n  {url}\n")
                self.add("chat", True, "slack webhook url in curl", "scripts/notify.sh", text)

        def discord() -> None:
            url = f"https://discord.com/api/webhooks/{rnd(r, DIGITS, 18)}/{rnd(r, B64URL, 68)}"
            if r.random() < 0.5:
                names = self.pick([("discord", "webhook"), ("webhook", "url")])
                self.pos("chat", "discord webhook url", [(names, url)])
            else:
                text = (f"import requests\n\nWEBHOOK = \"{url}\"\n\n\ndef announce(msg):\n"
                        f"    requests.post(WEBHOOK, json={{\"content\": msg}}, timeout=10)\n")
                self.add("chat", True, "discord webhook url in python", "bot/announce.py", text)

        def telegram() -> None:
            tok = f"{r.randint(10**8, 10**10 - 1)}:AA{rnd(r, B64URL, 33)}"
            if r.random() < 0.5:
                self.pos("chat", "telegram bot token", [(self.pick([("telegram", "bot", "token"), ("tg", "token"),
                                                                   ("bot", "token")]), tok)])
            else:
                text = (f"const fetch = require('node-fetch');\n\nasync function send(chatId, text) {{\n"
                        f"  await fetch(`https://api.telegram.org/bot{tok}/sendMessage`, {{\n    method: 'POST',\n"
                        f"    body: JSON.stringify({{ chat_id: chatId, text }}),\n  }});\n}}\n")
                self.add("chat", True, "telegram bot token in api url", "src/telegram.js", text)

        self.run([slack_bot, slack_hook, discord, telegram], n)

    def payments(self, n: int) -> None:
        r = self.r

        def stripe() -> None:
            tok = "sk_live_" + rnd(r, ALNUM, self.pick([24, 99]))
            self.pos("payments", "stripe sk_live_ key", [(self.pick([("stripe", "secret", "key"), ("stripe", "key"),
                                                                    ("stripe", "api", "key")]), tok)])

        def stripe_call() -> None:
            tok = "sk_live_" + rnd(r, ALNUM, self.pick([24, 99]))
            text = f"import stripe\n\nstripe.api_key = \"{tok}\"\n\n\ndef charge(amount):\n"
            text += "    return stripe.PaymentIntent.create(amount=amount, currency=\"usd\")\n"
            self.add("payments", True, "stripe sk_live_ in stripe.api_key", "payments/stripe_client.py", text)

        def shopify() -> None:
            tok = "shpat_" + rnd(r, HEX, 32)
            self.pos("payments", "shopify shpat_ token", [(self.pick([("shopify", "access", "token"),
                                                                     ("shopify", "admin", "token")]), tok)])

        self.run([stripe, shopify, stripe_call], n)

    def messaging(self, n: int) -> None:
        r = self.r

        def sendgrid() -> None:
            tok = f"SG.{rnd(r, B64URL, 22)}.{rnd(r, B64URL, 43)}"
            self.pos("messaging", "sendgrid api key", [(self.pick([("sendgrid", "api", "key"), ("sendgrid", "key"),
                                                                  ("mail", "api", "key")]), tok)])

        def twilio() -> None:
            sid = "SK" + rnd(r, HEX, 32)
            tok = rnd(r, HEX, 32)
            if r.random() < 0.5:
                self.pos("messaging", "twilio api key sid + secret", [(("twilio", "api", "key"), sid),
                                                                      (("twilio", "api", "secret"), tok)])
            else:
                acct = "AC" + rnd(r, HEX, 32)
                self.pos("messaging", "twilio account sid + auth token", [(("twilio", "account", "sid"), acct),
                                                                          (("twilio", "auth", "token"), tok)])

        def mailgun() -> None:
            tok = self.pick(["key-" + rnd(r, HEX, 32), f"{rnd(r, HEX, 32)}-{rnd(r, HEX, 8)}-{rnd(r, HEX, 8)}"])
            names = self.pick([("mailgun", "api", "key"), ("mailgun", "key")])
            self.pos("messaging", "mailgun api key", [(names, tok)])

        self.run([sendgrid, twilio, mailgun], n)

    def registries(self, n: int) -> None:
        r = self.r

        def npmrc() -> None:
            tok = crc_token(r, "npm_")
            text = f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={tok}\nalways-auth=true\n"
            self.add("registries", True, "npm_ token in .npmrc", self.pick([".npmrc", "frontend/.npmrc"]), text)

        def npm_code() -> None:
            self.pos("registries", "npm_ token", [(self.pick([("npm", "token"), ("npm", "auth", "token")]),
                                                   crc_token(r, "npm_"))])

        def pypi() -> None:
            tok = "pypi-AgEIcHlwaS5vcmc" + rnd(r, B64URL, r.randint(140, 190))
            if r.random() < 0.5:
                text = f"[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = {tok}\n"
                self.add("registries", True, "pypi token in .pypirc", ".pypirc", text)
            else:
                self.pos("registries", "pypi token", [(self.pick([("pypi", "token"), ("twine", "password")]), tok)])

        def docker() -> None:
            tok = "dckr_pat_" + rnd(r, B64URL, 27)
            if r.random() < 0.5:
                text = (f"#!/usr/bin/env bash\nset -e\necho \"{tok}\" | docker login -u {self.org()}ci "
                        "--password-stdin\n"
                        f"docker push {self.org()}/{self.app()}:latest\n")
                self.add("registries", True, "docker hub dckr_pat_ in login script", "ci/push-image.sh", text)
            else:
                self.pos("registries", "docker hub dckr_pat_", [(self.pick([("docker", "hub", "token"),
                                                                           ("dockerhub", "pat")]), tok)])

        self.run([npmrc, pypi, docker, npm_code], n)

    def ai(self, n: int) -> None:
        r = self.r

        def openai() -> None:
            tok = "sk-proj-" + rnd(r, B64URL, 74) + "T3BlbkFJ" + rnd(r, B64URL, 74)
            self.pos("ai", "openai sk-proj- key", [(self.pick([("openai", "api", "key"), ("openai", "key"),
                                                              ("llm", "api", "key")]), tok)])

        def anthropic() -> None:
            tok = "sk-ant-api03-" + rnd(r, B64URL, 93) + "AA"
            self.pos("ai", "anthropic sk-ant-api03- key", [(self.pick([("anthropic", "api", "key"),
                                                                      ("claude", "key")]), tok)])

        def hf() -> None:
            tok = "hf_" + rnd(r, string.ascii_letters, 34)
            self.pos("ai", "hugging face hf_ token", [(self.pick([("hf", "token"), ("huggingface", "token"),
                                                                 ("hub", "token")]), tok)])

        def client_call() -> None:
            tok = "sk-proj-" + rnd(r, B64URL, 74) + "T3BlbkFJ" + rnd(r, B64URL, 74)
            text = f"from openai import OpenAI\n\nclient = OpenAI(api_key=\"{tok}\")\n"
            text += "resp = client.chat.completions.create(model=\"gpt-4o\", messages=[])\n"
            self.add("ai", True, "openai key in client call", f"{self.app()}/llm.py", text)

        self.run([openai, anthropic, hf, client_call], n)

    def databases(self, n: int) -> None:
        r = self.r

        def user() -> str:
            return self.pick(["app", "admin", "svc_" + self.app(), self.app(), "root", "deploy", "etl"])

        def pg() -> None:
            scheme = self.pick(["postgres", "postgresql"])
            url = f"{scheme}://{user()}:{self.url_password()}@{self.host()}:5432/{self.app()}"
            self.pos("databases", "postgres url with password", [(self.pick([("database", "url"), ("db", "url"),
                                                                             ("postgres", "dsn")]), url)])

        def mongo() -> None:
            url = (f"mongodb+srv://{user()}:{self.url_password()}@cluster0.{rnd(r, LOWER + DIGITS, 5)}.mongodb.net/"
                   f"{self.app()}?retryWrites=true&w=majority")
            self.pos("databases", "mongodb+srv url with password", [(self.pick([("mongo", "uri"), ("mongodb", "url")]),
                                                                     url)])

        def jdbc() -> None:
            pw = self.url_password()
            if r.random() < 0.5:
                url = f"jdbc:mysql://{self.host()}:3306/{self.app()}?user={user()}&password={pw}&useSSL=true"
            else:
                url = f"jdbc:sqlserver://{self.host()}:1433;databaseName={self.app()};user=sa;password={pw};"
            text = f"server.port=8080\nspring.datasource.url={url}\nspring.jpa.hibernate.ddl-auto=validate\n"
            self.add("databases", True, "jdbc url with password=", self.pick(
                ["application.properties", "src/main/resources/application-prod.properties"]), text)

        def redis() -> None:
            url = self.pick([f"redis://:{self.url_password()}@{self.app()}-cache:6379/0",
                             f"rediss://default:{self.url_password()}@{self.app()}.{rnd(r, LOWER, 6)}.cache.amazonaws"
                             f".com:6380"])
            self.pos("databases", "redis url with password", [(self.pick([("redis", "url"), ("cache", "url")]), url)])

        def mysql_settings() -> None:
            pw = self.password()
            text = (f"DATABASES = {{\n    \"default\": {{\n        \"ENGINE\": \"django.db.backends.postgresql\",\n"
                    f"        \"NAME\": \"{self.app()}\",\n        \"USER\": \"{user()}\",\n"
                    f"        \"PASSWORD\": \"{pw}\",\n        \"HOST\": \"{self.host()}\",\n        \"PORT\": 5432,\n"
                    f"    }}\n}}\n")
            self.add("databases", True, "django DATABASES password", self.pick(["settings.py", "mysite/settings.py"]),
                     text)

        self.run([pg, mongo, jdbc, redis, mysql_settings], n)

    def private_keys(self, n: int) -> None:
        r = self.r

        def key() -> tuple[str, str]:
            kind = r.randrange(4)
            if kind == 0:
                return "RSA", pem("RSA PRIVATE KEY", rsa_body(r))
            if kind == 1:
                return "EC", pem("EC PRIVATE KEY", ec_body(r))
            if kind == 2:
                return "OpenSSH", pem("OPENSSH PRIVATE KEY", openssh_body(r))
            return "PKCS8", pem("PRIVATE KEY", pkcs8_body(r))

        def file() -> None:
            kind, text = key()
            path = self.pick({"RSA": ["id_rsa", "certs/server.key", "deploy_key.pem"],
                              "EC": ["certs/ec.key", "tls/private.pem"],
                              "OpenSSH": ["id_ed25519", ".ssh/id_ed25519", "deploy/ssh_key"],
                              "PKCS8": ["tls.key", "keys/signing.pem"]}[kind])
            self.add("private_keys", True, f"{kind} private key file", path, text)

        def in_code() -> None:
            kind, text = key()
            style = r.randrange(3)
            if style == 0:
                body = f'SIGNING_KEY = """{text}"""\n'
                self.add("private_keys", True, f"{kind} private key in python", "app/signing.py", body)
            elif style == 1:
                ind = "\n".join("    " + line for line in text.splitlines())
                body = f"tls:\n  enabled: true\n  key: |\n{ind}\n"
                self.add("private_keys", True, f"{kind} private key in yaml block", "values.yaml", body)
            else:
                body = json.dumps({"kid": rnd(r, HEX, 16), "private_key": text + "\n"}, indent=2)
                self.add("private_keys", True, f"{kind} private key in json", "config/jwt-keys.json", body)

        self.run([file, in_code], n)

    def jwts(self, n: int) -> None:
        r = self.r

        def token() -> str:
            alg = self.pick(["HS256", "RS256", "ES256"])
            header = {"alg": alg, "typ": "JWT"}
            if alg != "HS256":
                header["kid"] = rnd(r, B64URL, 20)
            now = r.randint(1_700_000_000, 1_780_000_000)
            payload = {"sub": str(uuid.UUID(int=r.getrandbits(128))), "iss": f"https://auth.{self.org()}.io/",
                       "aud": self.app(), "iat": now, "exp": now + r.choice([3600, 86400, 31536000]),
                       "scope": self.pick(["read write", "admin", "api"])}
            sig = rbytes(r, {"HS256": 32, "RS256": 256, "ES256": 64}[alg])
            return ".".join([b64url(json.dumps(header, separators=(",", ":")).encode()),
                             b64url(json.dumps(payload, separators=(",", ":")).encode()), b64url(sig)])

        def code() -> None:
            self.pos("jwt", "jwt", [(self.pick([("auth", "token"), ("jwt",), ("access", "token"),
                                                ("service", "jwt"), ("bearer", "token")]), token())])

        def curl() -> None:
            text = (f"#!/bin/sh\ncurl -sS https://api.{self.org()}.io/v1/{self.app()} \\\n"
                    f"  -H \"Authorization: Bearer {token()}\" \\\n  -H 'Accept: application/json'\n")
            self.add("jwt", True, "jwt in Authorization header (curl)", "scripts/call-api.sh", text)

        def http_file() -> None:
            text = (f"### list {self.app()}\nGET https://api.{self.org()}.io/v2/{self.app()}\n"
                    f"Authorization: Bearer {token()}\nAccept: application/json\n")
            self.add("jwt", True, "jwt in .http request file", f"requests/{self.app()}.http", text)

        self.run([code, curl, code, http_file], n)

    def generic(self, n: int) -> None:
        names = [("password",), ("db", "password"), ("secret",), ("api", "secret"), ("auth", "token"),
                 ("client", "secret"), ("passwd",), ("smtp", "password"), ("admin", "password"), ("api", "key"),
                 ("secret", "key"), ("access", "token"), ("mysql", "root", "password"), ("jwt", "secret"),
                 ("encryption", "key"), ("ldap", "bind", "password"), ("webhook", "secret"), ("app", "secret")]
        for i in range(n):
            lang = self.LANGS[i % len(self.LANGS)]
            w = self.pick(names)
            value = self.password() if self.r.random() < 0.7 else rnd(self.r, ALNUM, self.r.randint(20, 40))
            path, text, _ = self.embed([(w, value)], (lang,))
            self.add("generic", True, "secret-named assignment", path, text, f"{snake(w)} assignment in {lang}")

    # --- negatives -----------------------------------------------------------------------------------

    def neg(self, family: str, kind: str, pairs: list[Pair], langs: tuple[str, ...] | None = None) -> None:
        path, text, lang = self.embed(pairs, langs)
        self.add(family, False, kind, path, text, f"{kind} in {lang}")

    def placeholders(self, n: int) -> None:
        values = ["<your-api-key>", "changeme", "xxxxxxxx", "${DB_PASSWORD}", "{{ vault_password }}",
                  "%(password)s", "YOUR_API_KEY_HERE", "REPLACE_ME", "********", "<password>",
                  "${SECRET_KEY}", "{{ .Values.db.password }}", "CHANGE_ME_BEFORE_DEPLOY", "your-secret-here"]
        names = [("password",), ("api", "key"), ("db", "password"), ("secret",), ("auth", "token"),
                 ("client", "secret")]
        for i in range(n):
            v = values[i % len(values)]
            self.neg("generic", "placeholder", [(self.pick(names), v)],
                     ("python", "js", "yaml", "env", "ini", "json", "properties", "terraform", "compose", "toml",
                      "xml", "go", "java"))

    def provider_placeholders(self, n: int) -> None:
        r = self.r
        cases = [("payments", ("stripe", "secret", "key"), "sk_live_" + "x" * 24),
                 ("scm_ci", ("github", "token"), "ghp_" + "X" * 36),
                 ("chat", ("slack", "bot", "token"), "xoxb-your-bot-token"),
                 ("cloud", ("aws", "access", "key", "id"), "AKIA" + "X" * 16),
                 ("ai", ("openai", "api", "key"), "sk-proj-..."),
                 ("databases", ("database", "url"), "postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app"),
                 ("databases", ("database", "url"), "postgresql://<user>:<password>@<host>:5432/<db>"),
                 ("registries", ("npm", "token"), "npm_<your-token>"),
                 ("messaging", ("sendgrid", "api", "key"), "SG.your-sendgrid-key"),
                 ("ai", ("hf", "token"), "hf_YOUR_TOKEN")]
        for i in range(n):
            fam, w, v = cases[i % len(cases)]
            self.neg(fam, "provider-format placeholder", [(w, v)], ("python", "env", "yaml", "js", "json", "shell"))
        del r

    def doc_examples(self, n: int) -> None:
        jwt_io = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ij"
                  "oxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
        kid, sec = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        for i in range(n):
            k = i % 4
            if k == 0:
                text = (f"# Configuring credentials\n\nCreate `~/.aws/credentials`:\n\n```ini\n[default]\n"
                        f"aws_access_key_id = {kid}\naws_secret_access_key = {sec}\n```\n")
                self.add("cloud", False, "aws documentation example keys (markdown)",
                         self.pick(["README.md", "docs/setup.md"]), text)
            elif k == 1:
                self.neg("cloud", "aws documentation example keys",
                         [(("aws", "access", "key", "id"), kid), (("aws", "secret", "access", "key"), sec)],
                         ("python", "env", "yaml", "shell", "ini"))
            elif k == 2:
                text = (f"## Authentication\n\nSend the token in the header, e.g.\n\n```\nAuthorization: Bearer "
                        f"{jwt_io}\n```\n\nThe sample above is the one from jwt.io.\n")
                self.add("jwt", False, "jwt.io sample token (markdown)", self.pick(["docs/api.md", "README.md"]), text)
            else:
                self.neg("jwt", "jwt.io sample token", [(("token",), jwt_io)], ("python", "js", "json"))

    def hashes(self, n: int) -> None:
        r = self.r
        for i in range(n):
            sha1, sha256 = rnd(r, HEX, 40), rnd(r, HEX, 64)
            k = i % 7
            if k == 0:
                self.neg("noise", "git sha / sha256 assigned to checksum-like names",
                         [(self.pick([("checksum",), ("sha",), ("commit", "id"), ("sha256",), ("digest",),
                                      ("build", "sha")]), self.pick([sha1, sha256]))],
                         ("python", "js", "go", "yaml", "json", "env", "toml"))
            elif k == 1:
                text = (f"name: ci\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
                        f"      - uses: actions/checkout@{sha1} # v4\n      - uses: actions/setup-node@"
                        f"{rnd(r, HEX, 40)} # v4\n      - run: npm ci && npm test\n")
                self.add("noise", False, "pinned action SHAs", ".github/workflows/ci.yml", text)
            elif k == 2:
                text = f"FROM python:3.12-slim@sha256:{sha256}\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"
                self.add("noise", False, "image digest in Dockerfile", "Dockerfile", text)
            elif k == 3:
                text = "".join(f"{rnd(r, HEX, 64)}  {self.app()}-1.{j}.{r.randint(0, 9)}-linux-amd64.tar.gz\n"
                               for j in range(r.randint(3, 8)))
                self.add("noise", False, "SHA256SUMS file", self.pick(["SHA256SUMS", "dist/checksums.txt"]), text)
            elif k == 4:
                text = (f"class {pascal((self.app(),))} < Formula\n  desc \"CLI\"\n  url \"https://github.com/"
                        f"{self.org()}/{self.app()}/archive/v1.2.3.tar.gz\"\n  sha256 \"{sha256}\"\n"
                        "  license \"MIT\"\nend\n")
                self.add("noise", False, "homebrew formula sha256", f"Formula/{self.app()}.rb", text)
            elif k == 5:
                text = (f"import hashlib\n\nEXPECTED_SHA256 = \"{sha256}\"\nRELEASE_COMMIT = \"{sha1}\"\n\n\n"
                        "def verify(data: bytes) -> bool:\n"
                        "    return hashlib.sha256(data).hexdigest() == EXPECTED_SHA256\n")
                self.add("noise", False, "hash constants in python", "tools/verify_download.py", text)
            else:
                text = json.dumps({"version": "2.4.1", "commit": sha1, "tree": rnd(r, HEX, 40),
                                   "artifacts": [{"name": f"{self.app()}.tgz", "sha256": sha256}]}, indent=2)
                self.add("noise", False, "build manifest with hashes", "build-info.json", text)

    def uuids(self, n: int) -> None:
        r = self.r
        for _ in range(n):
            u = str(uuid.UUID(int=r.getrandbits(128), version=4))
            self.neg("noise", "uuid as identifier", [(self.pick([("tenant", "id"), ("subscription", "id"),
                                                                   ("request", "id"), ("client", "id"),
                                                                   ("workspace", "id"), ("device", "id")]), u)],
                     ("python", "js", "json", "yaml", "env", "terraform", "go"))

    def lock_files(self, n: int) -> None:
        r = self.r
        for i in range(n):
            k = i % 4
            pkgs = [self.pick(WORDS) + "-" + self.pick(["utils", "core", "parser", "js", "lite"]) for _ in range(8)]
            if k == 0:
                doc = {"name": self.app(), "lockfileVersion": 3, "requires": True, "packages": {
                    f"node_modules/{p}": {"version": f"{r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
                                          "resolved": f"https://registry.npmjs.org/{p}/-/{p}-1.0.0.tgz",
                                          "integrity": "sha512-" + b64(rbytes(r, 64)), "license": "MIT"}
                    for p in pkgs}}
                self.add("noise", False, "package-lock.json integrity", "package-lock.json", json.dumps(doc, indent=2))
            elif k == 1:
                text = "".join(
                    f"[[package]]\nname = \"{p}\"\nversion = \"1.{r.randint(0, 9)}.0\"\ndescription = \"\"\n"
                    f"optional = false\npython-versions = \">=3.8\"\nfiles = [\n    {{file = \"{p}-1.0.0-py3-none-any"
                    f".whl\", hash = \"sha256:{rnd(r, HEX, 64)}\"}},\n    {{file = \"{p}-1.0.0.tar.gz\", hash = "
                    f"\"sha256:{rnd(r, HEX, 64)}\"}},\n]\n\n" for p in pkgs)
                self.add("noise", False, "poetry.lock hashes", "poetry.lock", text)
            elif k == 2:
                text = "".join(f"github.com/{self.org()}/{p} v1.{r.randint(0, 9)}.0 h1:{b64(rbytes(r, 32))}\n"
                               f"github.com/{self.org()}/{p} v1.0.0/go.mod h1:{b64(rbytes(r, 32))}\n" for p in pkgs)
                self.add("noise", False, "go.sum hashes", "go.sum", text)
            else:
                text = "# yarn lockfile v1\n\n" + "".join(
                    f"{p}@^1.0.0:\n  version \"1.0.{r.randint(0, 9)}\"\n  resolved \"https://registry.yarnpkg.com/{p}/"
                    f"-/{p}-1.0.0.tgz#{rnd(r, HEX, 40)}\"\n  integrity sha512-{b64(rbytes(r, 64))}\n\n" for p in pkgs)
                self.add("noise", False, "yarn.lock integrity", "yarn.lock", text)

    def bundles(self, n: int) -> None:
        r = self.r
        for i in range(n):
            k = i % 4
            if k == 0:
                chunks = ",".join(f'{r.randint(100, 999)}:"{rnd(r, HEX, 16)}"' for _ in range(12))
                mods = ";".join(f"var {rnd(r, LOWER, 1)}{rnd(r, ALNUM, 2)}=function(e,t,n){{\"use strict\";"
                                f"n.d(t,{{Z:function(){{return o}}}});var o=\"{rnd(r, B64URL, 40)}\"}}"
                                for _ in range(10))
                text = (f"!function(){{var e={{}};{mods};__webpack_require__.u=function(e){{return\"static/chunks/\"+e"
                        f"+\".\"+{{{chunks}}}[e]+\".js\"}}}}();\n//# sourceMappingURL=main.{rnd(r, HEX, 8)}.js.map\n")
                self.add("noise", False, "minified webpack bundle", f"static/js/main.{rnd(r, HEX, 8)}.min.js", text)
            elif k == 1:
                names = [rnd(r, LOWER, r.randint(1, 3)) for _ in range(40)]
                mappings = ";".join(",".join(rnd(r, B64, r.randint(4, 9)) for _ in range(r.randint(5, 15)))
                                    for _ in range(60))
                doc = {"version": 3, "file": "main.js", "sources": [f"webpack:///src/{self.app()}/index.ts"],
                       "names": names, "mappings": mappings}
                self.add("noise", False, "source map", f"static/js/main.{rnd(r, HEX, 8)}.js.map", json.dumps(doc))
            elif k == 2:
                css_classes = " ".join(f".css-{rnd(r, LOWER + DIGITS, 6)}{{display:flex}}" for _ in range(20))
                text = (f"{css_classes}\n@font-face{{font-family:Inter;src:url(data:font/woff2;base64,"
                        f"{b64(b'wOF2' + rbytes(r, 1500))}) format(\"woff2\")}}\n")
                self.add("noise", False, "css with base64 font data uri", f"static/css/app.{rnd(r, HEX, 8)}.css", text)
            else:
                png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rbytes(r, 600)
                text = (f"<!doctype html>\n<html><head><link rel=\"stylesheet\" href=\"/app.css\" integrity=\"sha384-"
                        f"{b64(rbytes(r, 48))}\" crossorigin=\"anonymous\"></head>\n<body><img alt=\"logo\" "
                        f"src=\"data:image/png;base64,{b64(png)}\"></body></html>\n")
                self.add("noise", False, "html with png data uri and SRI hash", "public/index.html", text)

    def prose(self, n: int) -> None:
        paras = [
            "Never commit passwords, API tokens or private keys to the repository. Store them in the secrets manager "
            "and read them at run time.",
            "The access token expires after one hour; the client refreshes it with the refresh token automatically.",
            "If you forgot your password, use the reset link on the login page. Passwords must be at least 12 "
            "characters long.",
            "Set the `DB_PASSWORD` environment variable before starting the service; the secret key is rotated "
            "every 90 days.",
            "Tokens are hashed with SHA-256 before they are stored, so a leaked database does not leak tokens.",
            "password: the password of the service account (required)\ntoken: a personal access token with repo "
            "scope (optional)",
        ]
        for _ in range(n):
            body = f"# {self.app().capitalize()} operations\n\n" + "\n\n".join(self.r.sample(paras, 3)) + "\n"
            self.add("generic", False, "prose about passwords/tokens",
                     self.pick(["docs/SECURITY.md", "README.md", "docs/operations.md", "CONTRIBUTING.md",
                                "docs/faq.txt"]), body)

    def env_reads(self, n: int) -> None:
        forms = [
            ("python", "settings.py", "import os\n\nDB_PASSWORD = os.environ[\"DB_PASSWORD\"]\n"
             "API_TOKEN = os.getenv(\"API_TOKEN\", \"\")\nSECRET_KEY = os.environ.get(\"SECRET_KEY\")\n"),
            ("js", "src/config.js", "module.exports = {\n  password: process.env.DB_PASSWORD,\n"
             "  apiKey: process.env.API_KEY || '',\n  clientSecret: process.env['CLIENT_SECRET'],\n};\n"),
            ("go", "internal/config/env.go", "package config\n\nimport \"os\"\n\nvar (\n"
             "\tdbPassword = os.Getenv(\"DB_PASSWORD\")\n\tapiToken   = os.Getenv(\"API_TOKEN\")\n)\n"),
            ("java", "src/main/java/com/acme/Env.java", "public class Env {\n    String password = "
             "System.getenv(\"DB_PASSWORD\");\n    String token = System.getenv(\"API_TOKEN\");\n}\n"),
            ("ruby", "config/initializers/secrets.rb", "API_KEY = ENV['API_KEY']\nDB_PASSWORD = "
             "ENV.fetch('DB_PASSWORD')\n"),
            ("yaml", "docker-compose.yml", "services:\n  api:\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n"
             "      API_TOKEN: ${API_TOKEN:?set it}\n"),
            ("csharp", "Startup.cs", "var password = Environment.GetEnvironmentVariable(\"DB_PASSWORD\");\n"
             "var apiKey = Configuration[\"ApiKey\"];\n"),
            ("shell", "run.sh", "#!/bin/sh\nexport PGPASSWORD=\"$DB_PASSWORD\"\nTOKEN=\"${GITHUB_TOKEN}\"\n"
             "psql -h db -U app\n"),
        ]
        for i in range(n):
            lang, path, text = forms[i % len(forms)]
            self.add("generic", False, "value read from the environment", path, text, f"env read in {lang}")

    def identifiers(self, n: int) -> None:
        forms = [
            ("auth/views.py", "def login(request, user):\n    password = user.password\n"
             "    token = request.headers.get(\"X-Token\")\n    secret = settings.SECRET_KEY\n"),
            ("src/session.ts", "export class Session {\n  constructor(private readonly auth: Auth) {}\n"
             "  login() {\n    const token = this.auth.accessToken;\n    const password = form.password.value;\n"
             "    return { token: token, apiKey: config.apiKey };\n  }\n}\n"),
            ("internal/db/conn.go", "func connect(cfg Config) {\n\tpassword := cfg.Password\n"
             "\ttoken := cfg.Auth.Token\n\t_ = password\n\t_ = token\n}\n"),
            ("src/main/java/com/acme/Login.java", "class Login {\n  void handle(HttpServletRequest request) {\n"
             "    String password = request.getParameter(\"password\");\n"
             "    String apiKey = props.getProperty(\"api.key\");"
             "\n  }\n}\n"),
            ("app/Http/Controllers/AuthController.php", "<?php\n$password = $request->input('password');\n"
             "$token = $user->api_token;\n"),
            ("cli.py", "import argparse\n\nap = argparse.ArgumentParser()\nap.add_argument(\"--password\", "
             "dest=\"password\")\nargs = ap.parse_args()\nclient = Client(password=args.password, "
             "token=args.api_token)\n"),
        ]
        for i in range(n):
            path, text = forms[i % len(forms)]
            self.add("generic", False, "code identifier as value", path, text)

    def fake_fixtures(self, n: int) -> None:
        forms = [
            ("tests/test_auth.py", "FAKE_TOKEN = \"fake-token-for-tests\"\n"
             "DUMMY_PASSWORD = \"not-a-real-password\"\n\n\n"
             "def test_login(client):\n    assert client.login(\"alice\", DUMMY_PASSWORD)\n"),
            ("tests/fixtures/users.json", json.dumps({"users": [{"name": "alice", "password": "fake-password-1"},
                                                                {"name": "bob", "api_key": "test-api-key-bob"}]},
                                                     indent=2)),
            ("src/auth.test.js", "const FAKE_SECRET = 'fake-secret-for-unit-tests';\n\ntest('signs', () => {\n"
             "  expect(sign({}, FAKE_SECRET)).toBeDefined();\n});\n"),
            ("internal/auth/token_test.go", "package auth\n\nconst fakeToken = \"fake-token-not-real\"\n\n"
             "func TestVerify(t *testing.T) {\n\tif Verify(fakeToken) {\n\t\tt.Fatal(\"accepted\")\n\t}\n}\n"),
            ("spec/api_spec.rb", "RSpec.describe Api do\n  let(:token) { 'fake-token-for-specs' }\n  "
             "let(:password) { 'test-password' }\nend\n"),
        ]
        for i in range(n):
            path, text = forms[i % len(forms)]
            self.add("generic", False, "test fixture marked fake", path, text)

    def public_material(self, n: int) -> None:
        r = self.r
        for i in range(n):
            k = i % 4
            if k == 0:
                body = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
                body += rbytes(r, 262)
                self.add("private_keys", False, "PEM public key", self.pick(["keys/public.pem", "jwt_public.pem"]),
                         pem("PUBLIC KEY", body))
            elif k == 1:
                body = bytes.fromhex("308203") + rbytes(r, 900)
                self.add("private_keys", False, "PEM certificate", self.pick(["certs/ca.crt", "tls/server.crt",
                                                                               "ca-bundle.pem"]),
                         pem("CERTIFICATE", body))
            elif k == 2:
                lines = [f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{b64(rbytes(r, 33))[:43]} {self.pick(WORDS)}@laptop",
                         f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{b64(rbytes(r, 384))} deploy@{self.app()}"]
                self.add("private_keys", False, "ssh public keys", self.pick(["authorized_keys",
                                                                               ".ssh/authorized_keys"]),
                         "\n".join(lines))
            else:
                cert = pem("CERTIFICATE", bytes.fromhex("308203") + rbytes(r, 700))
                ind = "\n".join("    " + line for line in cert.splitlines())
                self.add("private_keys", False, "certificate in yaml", "values.yaml",
                         f"ingress:\n  tls:\n    enabled: true\n    certificate: |\n{ind}\n")

    def publishable(self, n: int) -> None:
        r = self.r
        for i in range(n):
            tok = "pk_live_" + rnd(r, ALNUM, self.pick([24, 99]))
            if i % 2 == 0:
                self.neg("payments", "stripe publishable pk_live_",
                         [(self.pick([("stripe", "publishable", "key"), ("next", "public", "stripe", "key")]), tok)],
                         ("env", "js", "ts", "json", "yaml"))
            else:
                text = (f"<script src=\"https://js.stripe.com/v3/\"></script>\n<script>\n  const stripe = "
                        f"Stripe('{tok}');\n  const elements = stripe.elements();\n</script>\n")
                self.add("payments", False, "stripe publishable pk_live_ in html", "public/checkout.html", text)

    def plain_urls(self, n: int) -> None:
        values = [("database", "url"), ("redis", "url"), ("api", "base", "url"), ("mongo", "uri"), ("repo", "url")]
        for i in range(n):
            w = values[i % len(values)]
            v = {"database": f"postgres://{self.host()}:5432/{self.app()}", "redis": f"redis://{self.app()}-cache:6379/0",
                 "api": f"https://api.{self.org()}.io/v2/{self.app()}",
                 "mongo": f"mongodb://mongo-0.mongo:27017/{self.app()}?replicaSet=rs0",
                 "repo": f"https://deploy@github.com/{self.org()}/{self.app()}.git"}[w[0]]
            self.neg("databases", "url without credentials", [(w, v)], ("python", "env", "yaml", "json", "properties"))

    # --- the whole corpus ----------------------------------------------------------------------------

    def build(self) -> None:
        self.cloud(44)
        self.scm(30)
        self.chat(28)
        self.payments(18)
        self.messaging(24)
        self.registries(24)
        self.ai(24)
        self.databases(32)
        self.private_keys(24)
        self.jwts(16)
        self.generic(88)
        self.placeholders(42)
        self.provider_placeholders(30)
        self.doc_examples(16)
        self.hashes(32)
        self.uuids(16)
        self.lock_files(12)
        self.bundles(16)
        self.prose(10)
        self.env_reads(16)
        self.identifiers(12)
        self.fake_fixtures(10)
        self.public_material(16)
        self.publishable(10)
        self.plain_urls(10)


def pem(label: str, der: bytes) -> str:
    return f"-----BEGIN {label}-----\n{wrap64(b64(der))}\n-----END {label}-----"


def rsa_body(r: random.Random) -> bytes:
    return bytes.fromhex("308204a40201000282010100") + rbytes(r, 1180)


def ec_body(r: random.Random) -> bytes:
    return (bytes.fromhex("307702010104 20".replace(" ", "")) + rbytes(r, 32)
            + bytes.fromhex("a00a06082a8648ce3d030107a144034200 04".replace(" ", "")) + rbytes(r, 64))


def openssh_body(r: random.Random) -> bytes:
    return (b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00"
            b"\x003\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + rbytes(r, 300))


def pkcs8_body(r: random.Random) -> bytes:
    return bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8") + rbytes(r, 1190)


def write(corpus: Corpus, out: Path) -> dict[str, dict]:
    order = list(range(len(corpus.samples)))
    corpus.r.shuffle(order)
    labels: dict[str, dict] = {}
    for idx, i in enumerate(order, 1):
        path, text, label = corpus.samples[i]
        rel = f"s{idx:04d}/{path}"
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        labels[rel] = label
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        if not args.force:
            sys.exit(f"{args.out} is not empty (use --force to replace it)")
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(args.seed)
    corpus.build()
    labels = write(corpus, args.out)
    pos = Counter(v["family"] for v in labels.values() if v["positive"])
    neg = Counter(v["family"] for v in labels.values() if not v["positive"])
    print(f"{len(labels)} files in {args.out}: {sum(pos.values())} positive, {sum(neg.values())} negative")
    for fam in sorted(set(pos) | set(neg)):
        print(f"  {fam:14} positive {pos[fam]:4}  negative {neg[fam]:4}")


if __name__ == "__main__":
    main()
