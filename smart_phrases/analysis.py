"""Static checks of a phrase's Jinja syntax tree, so mistakes are reported with their line.

The sandbox would stop the same things at render time; checking the tree first means
an admin learns about `{{ ''.__class__ }}`, a typo'd field or an undeclared variable
from `lint` with a file and line, not from a failed prompt on a Monday morning.
Types are tracked just far enough to know what `effort` is in
`{% for effort in episode.efforts %}`.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Final, Union, get_args, get_origin, get_type_hints

from jinja2 import Environment, nodes

from smart_phrases.context import (
    ClientContext,
    ClinicianContext,
    DigestContext,
    EpisodeContext,
    PracticeContext,
    RenderContext,
    SummaryContext,
)
from smart_phrases.environment import (
    FIELDS,
    LOOP_ATTRIBUTES,
    TEMPLATE_TYPES,
    Audience,
    ClientRef,
    Format,
)

SCALAR: Final = "scalar"
LOOP: Final = "loop"
UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Seq:
    item: TypeRef


TypeRef = Union[type, Seq, str]  # noqa: UP007 - a runtime alias; `|` cannot mix str and classes

TOP_LEVEL: Final = tuple(f.name for f in fields(RenderContext))
"""Every variable name a phrase can ever be given (the `RenderContext` fields)."""

_AUDIENCE_TOP_LEVEL: Final[Mapping[Audience, frozenset[str]]] = {
    "client": frozenset({"client", "clinician", "episode", "practice", "today"}),
    "clinician": frozenset({"client", "clinician", "episode", "practice", "summary", "today"}),
    "cct": frozenset({"client", "clinician", "episode", "practice", "digest", "today"}),
}

FORBIDDEN_NODES: Final[Mapping[type[nodes.Node], str]] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.AssignBlock: "set ... endset",
    nodes.FilterBlock: "filter ... endfilter",
    nodes.EvalContextModifier: "autoescape",
    nodes.ScopedEvalContextModifier: "autoescape",
}

_SAME_SEQUENCE_FILTERS: Final = frozenset(
    {"sort", "reverse", "list", "unique", "select", "reject", "selectattr", "rejectattr"}
)
_ITEM_FILTERS: Final = frozenset({"first", "last", "min", "max"})
_ATTRIBUTE_FILTERS: Final = frozenset(
    {"map", "sort", "sum", "min", "max", "unique", "selectattr", "rejectattr"}
)


def _type_of_hint(hint: object) -> TypeRef:
    if isinstance(hint, type) and hint in FIELDS:
        return hint
    if get_origin(hint) is tuple:
        args = get_args(hint)
        return Seq(_type_of_hint(args[0]) if args else UNKNOWN)
    if get_origin(hint) in (Union, types.UnionType):
        real = [arg for arg in get_args(hint) if arg is not type(None)]
        return _type_of_hint(real[0]) if len(real) == 1 else SCALAR
    return SCALAR


FIELD_TYPES: Final[Mapping[type, Mapping[str, TypeRef]]] = {
    cls: {name: _type_of_hint(hint) for name, hint in get_type_hints(cls).items()}
    for cls in TEMPLATE_TYPES
}


def top_level_types(audience: Audience) -> dict[str, TypeRef]:
    """What each variable is for a phrase of `audience`; non-client phrases get `ClientRef`."""
    return {
        "client": ClientContext if audience == "client" else ClientRef,
        "clinician": ClinicianContext,
        "episode": EpisodeContext,
        "practice": PracticeContext,
        "summary": SummaryContext,
        "digest": DigestContext,
        "today": SCALAR,
    }


def unavailable_reason(name: str, audience: Audience, fmt: Format) -> str | None:
    """Why `name` may not be used by this kind of phrase, or None when it may.

    These rules are the privacy rules of DESIGN: clinical text only into the chart
    note, client names only into the client's chat, the digest only to CCT.
    """
    if name not in TOP_LEVEL:
        return f"unknown variable '{name}' (phrases can use: {', '.join(TOP_LEVEL)})"
    if name == "summary" and (audience != "clinician" or fmt != "plain"):
        return (
            "'summary' is clinical note text: only plain-format clinician phrases "
            "(the chart note) may use it"
        )
    if name not in _AUDIENCE_TOP_LEVEL[audience]:
        return f"'{name}' is not available to {audience} phrases"
    return None


#: Fields that carry a clinician's own words about the client: like `summary`, only the chart
#: note (a plain-format clinician phrase) may use them.
CLINICIAN_WORDS = frozenset({("episode", "early_discharge")})


def field_problem(
    name: str, field: str, audience: Audience, fmt: Format | None = None
) -> str | None:
    if (name, field) in CLINICIAN_WORDS and (audience != "clinician" or fmt != "plain"):
        return (
            f"'{name}.{field}' is the clinician's own words about the client: only "
            "plain-format clinician phrases (the chart note) may use it"
        )
    kind = top_level_types(audience)[name]
    if isinstance(kind, type) and field in FIELDS[kind]:
        return None
    if name == "client" and field == "first_name":
        return (
            "client.first_name is only available to client-audience phrases "
            "(a client's name never goes to clinicians' Slack or the CCT)"
        )
    if isinstance(kind, type):
        return f"'{name}' has no field '{field}' (fields: {', '.join(sorted(FIELDS[kind]))})"
    return f"'{name}' is a plain value and has no fields"


def check_declarations(
    declared: Mapping[str, int], audience: Audience, fmt: Format
) -> list[tuple[int, str]]:
    """Validate the header's `variables` keys: `name` or `name.field`, allowed for this phrase."""
    found: list[tuple[int, str]] = []
    for variable, line in declared.items():
        parts = variable.split(".")
        reason = unavailable_reason(parts[0], audience, fmt)
        if reason is None and len(parts) > 2:
            reason = (
                f"declare a variable or one field of it (like 'episode.efforts'), not '{variable}'"
            )
        if reason is None and len(parts) == 2:
            reason = field_problem(parts[0], parts[1], audience, fmt)
        if reason is not None:
            found.append((line, f"header variable '{variable}': {reason}"))
    return found


class _Checker:
    def __init__(
        self, env: Environment, audience: Audience, fmt: Format, declared: Iterable[str]
    ) -> None:
        self.env = env
        self.audience = audience
        self.fmt = fmt
        self.declared = frozenset(declared)
        self.types = top_level_types(audience)
        self.found: list[tuple[int, str]] = []

    def report(self, node: nodes.Node, message: str) -> None:
        entry = (node.lineno, message)
        if entry not in self.found:
            self.found.append(entry)

    # statements -----------------------------------------------------------------------

    def visit(self, node: nodes.Node, scope: dict[str, TypeRef]) -> None:
        for kind, tag in FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                self.report(
                    node,
                    f"'{{% {tag} %}}' is not allowed in a phrase; keep each phrase one flat file",
                )
                return
        if isinstance(node, nodes.Expr):
            self.expr(node, scope)
        elif isinstance(node, nodes.For):
            self.visit_for(node, scope)
        elif isinstance(node, nodes.Assign):
            self.expr(node.node, scope)
            self.bind(node.target, UNKNOWN, scope)
        elif isinstance(node, nodes.With):
            for value in node.values:
                self.expr(value, scope)
            inner = dict(scope)
            for target in node.targets:
                self.bind(target, UNKNOWN, inner)
            for child in node.body:
                self.visit(child, inner)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def visit_for(self, node: nodes.For, scope: dict[str, TypeRef]) -> None:
        iterated = self.expr(node.iter, scope)
        inner = dict(scope)
        inner["loop"] = LOOP
        item = iterated.item if isinstance(iterated, Seq) else UNKNOWN
        self.bind(node.target, item if isinstance(node.target, nodes.Name) else UNKNOWN, inner)
        if node.test is not None:
            self.expr(node.test, inner)
        for child in node.body:
            self.visit(child, inner)
        for child in node.else_:
            self.visit(child, scope)

    def bind(self, target: nodes.Node, kind: TypeRef, scope: dict[str, TypeRef]) -> None:
        names = [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))
        for name in names:
            if name.name in TOP_LEVEL:
                self.report(
                    name, f"'{name.name}' is a phrase variable; give the local another name"
                )
            scope[name.name] = kind

    # expressions ----------------------------------------------------------------------

    def expr(self, node: nodes.Node, scope: dict[str, TypeRef]) -> TypeRef:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            return self.context_ref(node, None)
        if isinstance(node, nodes.Getattr):
            return self.attribute(node, node.node, node.attr, scope)
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.attribute(node, node.node, node.arg.value, scope)
            base = self.expr(node.node, scope)
            self.expr(node.arg, scope)
            if isinstance(base, Seq):
                return base if isinstance(node.arg, nodes.Slice) else base.item
            return UNKNOWN
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Test):
            if node.name not in self.env.tests:
                self.report(node, f"unknown test '{node.name}'")
            self.children(node, scope)
            return SCALAR
        if isinstance(node, nodes.Call):
            callee = node.node
            is_loop_helper = (
                isinstance(callee, nodes.Getattr)
                and isinstance(callee.node, nodes.Name)
                and scope.get(callee.node.name) == LOOP
                and callee.attr in {"cycle", "changed"}
            )
            if not is_loop_helper:
                self.report(
                    node, "calling functions or methods is not available in phrases; use filters"
                )
            self.children(node, scope)
            return UNKNOWN
        if isinstance(node, nodes.Const):
            return SCALAR
        self.children(node, scope)
        return UNKNOWN

    def children(self, node: nodes.Node, scope: dict[str, TypeRef]) -> None:
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child, scope)
            else:
                self.children(child, scope)

    def context_ref(self, node: nodes.Name, field: str | None) -> TypeRef:
        name = node.name
        if name not in TOP_LEVEL:
            self.report(
                node, f"undeclared variable '{name}' (phrases can use: {', '.join(TOP_LEVEL)})"
            )
            return UNKNOWN
        reason = unavailable_reason(name, self.audience, self.fmt)
        if reason is not None:
            self.report(node, reason)
            return UNKNOWN
        path = name
        if field is not None:
            problem = field_problem(name, field, self.audience, self.fmt)
            if problem is not None:
                self.report(node, problem)
                return UNKNOWN
            path = f"{name}.{field}"
        covered = (
            name in self.declared
            or path in self.declared
            or (field is None and any(d.startswith(name + ".") for d in self.declared))
        )
        if not covered:
            self.report(node, f"uses '{path}' but the header does not declare it under variables")
        return self.types[name]

    def attribute(
        self, node: nodes.Node, base: nodes.Node, attr: str, scope: dict[str, TypeRef]
    ) -> TypeRef:
        if attr.startswith("_"):
            self.report(node, f"'{attr}' is a private attribute; the sandbox does not allow it")
            self.expr(base, scope)
            return UNKNOWN
        if isinstance(base, nodes.Name) and base.name not in scope:
            kind = self.context_ref(base, attr)
            if isinstance(kind, type) and attr in FIELDS[kind]:
                return FIELD_TYPES[kind][attr]
            return UNKNOWN
        kind = self.expr(base, scope)
        if kind == LOOP:
            if attr not in LOOP_ATTRIBUTES:
                self.report(
                    node, f"loop has no '{attr}' (use {', '.join(sorted(LOOP_ATTRIBUTES))})"
                )
            return SCALAR
        if isinstance(kind, type) and kind in FIELDS:
            if attr in FIELDS[kind]:
                return FIELD_TYPES[kind][attr]
            self.report(
                node,
                f"{kind.__name__} has no field '{attr}' "
                f"(fields: {', '.join(sorted(FIELDS[kind]))})",
            )
            return UNKNOWN
        if kind != UNKNOWN or not isinstance(base, nodes.Name):
            self.report(
                node,
                f"'.{attr}' reads into a value that is not a phrase variable; only fields of "
                "the phrase variables (and of the items you loop over) can be read",
            )
        else:
            self.report(node, f"'.{attr}' reads into '{base.name}', which is not a phrase variable")
        return UNKNOWN

    def filter(self, node: nodes.Filter, scope: dict[str, TypeRef]) -> TypeRef:
        if node.name not in self.env.filters:
            available = ", ".join(sorted(self.env.filters))
            self.report(node, f"unknown filter '{node.name}' (available: {available})")
        base = self.expr(node.node, scope) if node.node is not None else UNKNOWN
        for arg in node.args:
            self.expr(arg, scope)
        for keyword in node.kwargs:
            self.expr(keyword.value, scope)
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                self.expr(extra, scope)
        if node.name in _ATTRIBUTE_FILTERS:
            self.attribute_argument(node, base)
        if node.name in {"default", "d"}:
            return base
        if node.name in _SAME_SEQUENCE_FILTERS:
            return base if isinstance(base, Seq) else UNKNOWN
        if node.name in _ITEM_FILTERS:
            return base.item if isinstance(base, Seq) else UNKNOWN
        return UNKNOWN

    def attribute_argument(self, node: nodes.Filter, base: TypeRef) -> None:
        """`map(attribute='x')`, `selectattr('x')`: attribute names given as text are fields too."""
        names: list[str] = []
        names += [
            kw.value.value
            for kw in node.kwargs
            if kw.key == "attribute" and isinstance(kw.value, nodes.Const)
        ]
        if (
            node.name in {"selectattr", "rejectattr"}
            and node.args
            and isinstance(node.args[0], nodes.Const)
        ):
            names.append(node.args[0].value)
        item = base.item if isinstance(base, Seq) else UNKNOWN
        for dotted in names:
            first = str(dotted).split(".")[0]
            if first.startswith("_"):
                self.report(
                    node, f"'{first}' is a private attribute; the sandbox does not allow it"
                )
            elif isinstance(item, type) and item in FIELDS and first not in FIELDS[item]:
                self.report(node, f"{item.__name__} has no field '{first}'")


def check_template(
    tree: nodes.Template,
    env: Environment,
    audience: Audience,
    fmt: Format,
    declared: Iterable[str],
) -> list[tuple[int, str]]:
    """All static problems in `tree` as (line, message), in document order."""
    checker = _Checker(env, audience, fmt, declared)
    scope: dict[str, TypeRef] = {}
    for child in tree.body:
        checker.visit(child, scope)
    if audience == "client":
        for data in tree.find_all(nodes.TemplateData):
            if "<" in data.data or ">" in data.data:
                checker.report(
                    data,
                    "client phrases go to the client chat and are previewed in Slack, "
                    "so their text cannot contain markup ('<' or '>')",
                )
    return sorted(checker.found, key=lambda item: item[0])
