"""Rewrites Python string literals holding a secret into a call to the project's secret helper, with LibCST.

The literal is found by its position (the finding's line) and by its value. Only a plain literal whose
whole value is the secret (or the connection URI holding it) is replaced; an f-string, a concatenation,
a literal spread over lines or a secret inside a longer string is left alone with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import PositionProvider

from secretsweep.migrate.plan import HELPER_FUNCTION, HELPER_MODULE


@dataclass(frozen=True)
class LiteralTarget:
    """One occurrence to replace: the value the literal must evaluate to, where, and the call replacing it."""

    line: int
    value: bytes  # the whole literal value expected (a secret or a connection URI); memory only
    secret_name: str
    key: str | None
    fingerprint: str = ""

    def __repr__(self) -> str:  # never the value
        return f"LiteralTarget(line={self.line}, secret_name={self.secret_name!r}, key={self.key!r})"


def _call(target: LiteralTarget) -> cst.Call:
    args = [cst.Arg(cst.SimpleString(_quote(target.secret_name)))]
    if target.key:
        args.append(cst.Arg(cst.SimpleString(_quote(target.key))))
    return cst.Call(func=cst.Name(HELPER_FUNCTION), args=args)


def _on_line(code: bytes, first_line: int, t: LiteralTarget) -> bool:
    """Whether the secret sits in `code` (a node's source, starting at `first_line`) on the target's line."""
    idx = code.find(t.value)
    if idx < 0:  # written with escapes: trust the literal's first line
        return first_line == t.line
    return first_line + code[:idx].count(b"\n") == t.line


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ReplaceSecretLiteral(VisitorBasedCodemodCommand):
    """Replace the string literals named by `targets` with `get_secret(name[, key])` and import the helper."""

    DESCRIPTION = "Replace secret string literals with a Secrets Manager lookup."
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, context: CodemodContext, targets: Sequence[LiteralTarget], path: str = "<file>",
                 helper_module: str = HELPER_MODULE) -> None:
        super().__init__(context)
        self.targets = list(targets)
        self.path = path
        self.helper_module = helper_module
        self.done: set[int] = set()  # indexes of targets replaced
        self.warnings: list[str] = []
        self.refused: set[str] = set()  # fingerprints left in place
        self._inside_unsafe = 0

    # f-strings and concatenations: the parts are never replaced.
    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check_unsafe(node, "an f-string")
        self._inside_unsafe += 1

    def leave_FormattedString(self, original_node: cst.FormattedString,
                              updated_node: cst.FormattedString) -> cst.FormattedString:
        self._inside_unsafe -= 1
        return updated_node

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._check_unsafe(node, "an implicit string concatenation")
        self._inside_unsafe += 1

    def leave_ConcatenatedString(self, original_node: cst.ConcatenatedString,
                                 updated_node: cst.BaseExpression) -> cst.BaseExpression:
        self._inside_unsafe -= 1
        return updated_node

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, (cst.Add, cst.Modulo)):
            self._check_unsafe(node, "a concatenation" if isinstance(node.operator, cst.Add) else "a % format")
            self._inside_unsafe += 1

    def leave_BinaryOperation(self, original_node: cst.BinaryOperation,
                              updated_node: cst.BaseExpression) -> cst.BaseExpression:
        if isinstance(original_node.operator, (cst.Add, cst.Modulo)):
            self._inside_unsafe -= 1
        return updated_node

    def _check_unsafe(self, node: cst.CSTNode, what: str) -> None:
        if self._inside_unsafe:
            return
        pos = self.get_metadata(PositionProvider, node)
        code = cst.Module([]).code_for_node(node).encode("utf-8", "surrogatepass")
        for i, t in enumerate(self.targets):
            if i not in self.done and _on_line(code, pos.start.line, t):
                self._refuse(t, f"{self.path}:{t.line}: the secret is part of {what}; left unchanged, "
                                f"move it to the secret helper by hand")

    def _refuse(self, t: LiteralTarget, message: str) -> None:
        if t.fingerprint not in self.refused or message not in self.warnings:
            self.warnings.append(message)
        self.refused.add(t.fingerprint)

    def leave_SimpleString(self, original_node: cst.SimpleString,
                           updated_node: cst.SimpleString) -> cst.BaseExpression:
        if self._inside_unsafe:
            return updated_node
        pos = self.get_metadata(PositionProvider, original_node)
        try:
            value = original_node.evaluated_value
        except Exception:  # an invalid escape: never ours to touch
            return updated_node
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        for i, t in enumerate(self.targets):
            if i in self.done or t.fingerprint in self.refused or t.value not in raw:
                continue
            if not _on_line(original_node.value.encode("utf-8", "surrogatepass"), pos.start.line, t):
                continue
            if pos.start.line != pos.end.line:
                self._refuse(t, f"{self.path}:{t.line}: the secret is in a string spread over lines; left unchanged")
                return updated_node
            if raw != t.value:
                self._refuse(t, f"{self.path}:{t.line}: the secret is only part of a longer string; left unchanged")
                return updated_node
            if isinstance(value, bytes):
                self._refuse(t, f"{self.path}:{t.line}: the secret is a bytes literal; left unchanged")
                return updated_node
            self.done.add(i)
            # Every literal holding this value on this line is the same secret: mark them all done.
            self.done.update(j for j, o in enumerate(self.targets) if o.line == t.line and o.value == t.value)
            AddImportsVisitor.add_needed_import(self.context, self.helper_module, HELPER_FUNCTION)
            return _call(t)
        return updated_node

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return tree.visit(self)


@dataclass
class PythonRewrite:
    code: str
    replaced: int
    warnings: list[str]
    refused: set[str]  # fingerprints with a location left unchanged


def rewrite_python(source: str, targets: Sequence[LiteralTarget], path: str = "<file>",
                   helper_module: str = HELPER_MODULE) -> PythonRewrite:
    """Rewrite `source`; the result parses (checked) and every target is either replaced or refused."""
    context = CodemodContext(filename=path)
    command = ReplaceSecretLiteral(context, targets, path, helper_module)
    module = cst.parse_module(source)
    new = command.transform_module(module)
    code = new.code
    missing = [t for i, t in enumerate(command.targets) if i not in command.done and t.fingerprint not in
               command.refused]
    for t in missing:
        command._refuse(t, f"{path}:{t.line}: the secret is not in a plain string literal there (a comment or a "
                           "docstring?); left unchanged")
    if command.done:
        compile(code, path, "exec")  # the rewritten file must parse
    return PythonRewrite(code, len(command.done), command.warnings, command.refused)
