#!/usr/bin/env python3
"""Read a checkout of robusta-dev/robusta with Python's ast module (never importing it) and
print Robusta's vocabulary as JSON: actions, triggers, sinks, params models and event classes.

hack/catalogue/main.go runs this script, merges the hand-written notes and writes the Go
files; see hack/catalogue/README.md. Only the standard library is used.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------------------------------
# Hand-maintained overlays: facts the source states outside the type annotations.

# Params the source types as a free str but looks up in a closed set at run time.
# Key: (class declaring the field, field) -> the values, or "Enum:Class" for the member
# names of an Enum class of the source (what `Class[value]` accepts).
ENUM_OVERLAY = {
    # ResourceChartItemType[params.item_type] (playbooks/robusta_playbooks/alerts_integration.py:367)
    ("AlertResourceGraphEnricherParams", "item_type"): "Enum:ResourceChartItemType",
    # ResourceChartResourceType[...] (playbooks/robusta_playbooks/alerts_integration.py:366,
    # pod_enrichments.py:63, src/robusta/core/playbooks/node_playbook_utils.py:29,
    # container_playbook_utils.py:61)
    ("ResourceGraphEnricherParams", "resource_type"): "Enum:ResourceChartResourceType",
    # ChartValuesFormat[params.chart_values_format] (playbooks/robusta_playbooks/alerts_integration.py:326)
    ("CustomGraphEnricherParams", "chart_values_format"): "Enum:ChartValuesFormat",
    # graph overrides: src/robusta/core/playbooks/prometheus_enrichment_utils.py:621-630
    ("OverrideGraph", "resource_type"): "Enum:ResourceChartResourceType",
    ("OverrideGraph", "item_type"): "Enum:ResourceChartItemType",
    ("OverrideGraph", "values_format"): "Enum:ChartValuesFormat",
    # FindingSeverity.from_severity raises on anything else; MEDIUM maps to HIGH
    # (src/robusta/core/reporting/base.py:44-57, used by common_actions.py:171)
    ("FindingFields", "severity"): ["DEBUG", "INFO", "LOW", "MEDIUM", "HIGH"],
    # FindingSeverity[params.severity] (playbooks/robusta_playbooks/common_actions.py:81)
    ("FindingOverrides", "severity"): "Enum:FindingSeverity",
    # RegexReplacementStyle[...] (src/robusta/core/playbooks/oom_killer_utils.py:44,
    # playbooks/robusta_playbooks/job_actions.py:233, restart_loop_reporter.py:31)
    ("LogEnricherParams", "regex_replacement_style"): "Enum:RegexReplacementStyle",
    ("ReportCrashLoopParams", "regex_replacement_style"): "Enum:RegexReplacementStyle",
    # The documented values; the runner does not reject others but they do not work as
    # meant: related_pods renders anything but "json" as a table
    # (playbooks/robusta_playbooks/k8s_resource_enrichments.py:53,260), and an
    # on_prometheus_alert status other than these never fires
    # (src/robusta/integrations/prometheus/trigger.py:64-88).
    ("RelatedPodParams", "output_format"): ["table", "json"],
    ("PrometheusAlertTrigger", "status"): ["firing", "resolved", "all"],
}

# Params the runner still reads but documents as replaced.
DEPRECATED_OVERLAY = {
    # playbooks/robusta_playbooks/krr.py:119
    ("KRRParams", "args"): "use krr_args instead",
    # playbooks/robusta_playbooks/popeye.py:85
    ("PopeyeParams", "args"): "use popeye_args instead",
}

# Kubernetes kind -> the chart's kubewatch.config.resource key (helm/robusta/values.yaml).
# PersistentVolumeClaim and NetworkPolicy are missing on purpose: the chart has no key for
# them and kubewatch's resource config (robusta-dev/kubewatch config/config.go, type
# Resource) has no field for them either, so their triggers are not fed by the stock setup.
KIND_TO_CHART_RESOURCE = {
    "Deployment": "deployment",
    "ReplicaSet": "replicaset",
    "DaemonSet": "daemonset",
    "StatefulSet": "statefulset",
    "Service": "services",
    "Pod": "pod",
    "Job": "job",
    "Node": "node",
    "HorizontalPodAutoscaler": "hpa",
    "ClusterRole": "clusterrole",
    "ClusterRoleBinding": "clusterrolebinding",
    "ServiceAccount": "serviceaccount",
    "PersistentVolume": "persistentvolume",
    "Namespace": "namespace",
    "ConfigMap": "configmap",
    "Secret": "secret",
    "Event": "event",
    "Ingress": "ingress",
}

# ---------------------------------------------------------------------------------------
# Source index


class Module:
    def __init__(self, name, path, tree):
        self.name = name
        self.path = path  # relative to the checkout
        self.tree = tree
        self.classes = {}
        self.functions = {}
        self.imports = {}  # local name -> (module, name)
        self.star = []  # modules imported with *
        self.aliases = {}  # module-level NAME = <type expression>
        is_pkg = path.endswith("__init__.py")
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level:
                    parts = name.split(".")
                    base = parts if is_pkg else parts[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([mod] if mod else []))
                for a in node.names:
                    if a.name == "*":
                        self.star.append(mod)
                    else:
                        self.imports[a.asname or a.name] = (mod, a.name)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.aliases[node.targets[0].id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.aliases[node.target.id] = node.value


class Source:
    def __init__(self, root):
        self.root = root
        self.modules = {}
        self.by_class = {}
        for top in ("src", "playbooks"):
            base = os.path.join(root, top)
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d not in ("tests", "test", "__pycache__"))
                for fn in sorted(filenames):
                    if not fn.endswith(".py"):
                        continue
                    full = os.path.join(dirpath, fn)
                    rel = os.path.relpath(full, root)
                    modpath = os.path.relpath(full, base)[:-3].replace(os.sep, ".")
                    if modpath.endswith(".__init__"):
                        modpath = modpath[: -len(".__init__")]
                    with open(full, encoding="utf-8") as f:
                        tree = ast.parse(f.read(), filename=rel)
                    m = Module(modpath, rel, tree)
                    self.modules[modpath] = m
                    for cname in m.classes:
                        self.by_class.setdefault(cname, []).append(m)

    def resolve(self, name, module, seen=None):
        """Find where a name used in module is defined: ("class", Module, ClassDef),
        ("alias", Module, expr) or None."""
        if seen is None:
            seen = set()
        key = (module.name, name)
        if key in seen:
            return None
        seen.add(key)
        if name in module.classes:
            return ("class", module, module.classes[name])
        if name in module.imports:
            mod, orig = module.imports[name]
            target = self.modules.get(mod)
            if target is not None:
                r = self.resolve(orig, target, seen)
                if r:
                    return r
            else:
                sub = self.modules.get(mod + "." + orig)
                if sub is not None:
                    return None
        if name in module.aliases:
            return ("alias", module, module.aliases[name])
        for mod in module.star:
            target = self.modules.get(mod)
            if target is not None:
                r = self.resolve(name, target, seen)
                if r:
                    return r
        return None

    def resolve_class(self, name, module):
        r = self.resolve(name, module)
        if r and r[0] == "class":
            return r[1], r[2]
        if name in module.imports:
            mod = module.imports[name][0]
            if mod.split(".")[0] not in ("robusta", "robusta_playbooks"):
                # a library's class (hikaru's EnvVar is Kubernetes' EnvVar), not one
                # of Robusta's that happens to share the name
                return None, None
        cands = self.by_class.get(name, [])
        if len(cands) == 1:
            return cands[0], cands[0].classes[name]
        return None, None


def src_line(module, node):
    return "%s:%d" % (module.path, node.lineno)


def base_name(expr):
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Subscript):
        return base_name(expr.value)
    return None


class Extractor:
    def __init__(self, src):
        self.src = src
        self.models = {}  # name -> model dict
        self.model_keys = {}  # name -> (module path, lineno) to catch two classes of one name
        self.pending = []
        self.warnings = []
        self.used_overlays = set()

    # -- class hierarchy ------------------------------------------------------------

    def bases(self, module, cls):
        out = []
        for b in cls.bases:
            n = base_name(b)
            if n is None:
                continue
            bm, bc = self.src.resolve_class(n, module)
            out.append((n, bm, bc))
        return out

    def mro(self, module, cls):
        """C3 linearisation over the classes found in the source (unknown bases are leaves)."""

        def lin(m, c, depth=0):
            if depth > 50:
                raise RuntimeError("class hierarchy too deep at %s" % c.name)
            seqs = []
            for n, bm, bc in self.bases(m, c):
                if bc is None:
                    seqs.append([(n, None, None)])
                else:
                    seqs.append(lin(bm, bc, depth + 1))
            seqs.append([(b[0], b[1], b[2]) for b in self.bases(m, c)])
            result = [(c.name, m, c)]
            seqs = [list(s) for s in seqs if s]
            while seqs:
                for s in seqs:
                    head = s[0]
                    if not any(head[0] in [x[0] for x in t[1:]] for t in seqs):
                        break
                else:
                    # not C3-consistent; fall back to depth-first order
                    head = seqs[0][0]
                result.append(head)
                seqs = [[x for x in s if x[0] != head[0]] for s in seqs]
                seqs = [s for s in seqs if s]
            return result

        return lin(module, cls)

    def is_subclass_of(self, module, cls, names):
        return any(n in names for n, _, _ in self.mro(module, cls)[1:])

    # -- types ----------------------------------------------------------------------

    def enum_values(self, module, cls):
        vals = []
        kind = "str"
        for node in cls.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name.startswith("_"):
                    continue
                v = node.value
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    vals.append(v.value)
                elif isinstance(v, ast.Constant) and isinstance(v.value, int):
                    vals.append(str(v.value))
                    kind = "int"
                elif isinstance(v, ast.Call) and base_name(v.func) == "auto":
                    vals.append(str(len(vals) + 1))
                    kind = "int"
        return kind, vals

    def norm(self, expr, module, depth=0):
        """Normalise an annotation. Returns (type dict, optional, enum or None)."""
        if depth > 20:
            return {"Kind": "any"}, False, None
        if expr is None:
            return {"Kind": "any"}, False, None
        if isinstance(expr, ast.Constant):
            if expr.value is None:
                return {"Kind": "any"}, True, None
            if isinstance(expr.value, str):
                try:
                    return self.norm(ast.parse(expr.value, mode="eval").body, module, depth + 1)
                except SyntaxError:
                    return {"Kind": "any"}, False, None
            return {"Kind": "any"}, False, None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return self.union([expr.left, expr.right], module, depth)
        if isinstance(expr, ast.Subscript):
            head = base_name(expr.value)
            args = expr.slice
            items = list(args.elts) if isinstance(args, ast.Tuple) else [args]
            if head == "Optional":
                t, _, enum = self.norm(items[0], module, depth + 1)
                return t, True, enum
            if head == "Union":
                return self.union(items, module, depth)
            if head in ("List", "list", "Set", "set", "FrozenSet", "frozenset", "Tuple", "tuple", "Sequence", "Iterable"):
                # an enum of the elements has no place in Type; only the element kind is kept
                elem, _, _ = self.norm(items[0], module, depth + 1)
                return {"Kind": "list", "Elem": elem}, False, None
            if head in ("Dict", "dict", "Mapping", "DefaultDict"):
                val = items[1] if len(items) > 1 else None
                elem, _, _ = self.norm(val, module, depth + 1)
                return {"Kind": "dict", "Elem": elem}, False, None
            if head == "Literal":
                vals = [str(i.value) for i in items if isinstance(i, ast.Constant)]
                return {"Kind": "str"}, False, vals
            if head in ("Type", "ClassVar"):
                return {"Kind": "any"}, False, None
            return self.norm(expr.value, module, depth + 1)
        if isinstance(expr, ast.Call):
            fn = base_name(expr.func)
            if fn in ("constr",):
                return {"Kind": "str"}, False, None
            if fn in ("conint",):
                return {"Kind": "int"}, False, None
            if fn in ("confloat",):
                return {"Kind": "float"}, False, None
            if fn in ("conlist",):
                elem, _, _ = self.norm(expr.args[0] if expr.args else None, module, depth + 1)
                return {"Kind": "list", "Elem": elem}, False, None
            return {"Kind": "any"}, False, None
        name = base_name(expr)
        if name is None:
            return {"Kind": "any"}, False, None
        simple = {
            "str": "str", "SecretStr": "str", "StrictStr": "str", "AnyUrl": "str", "HttpUrl": "str", "AnyHttpUrl": "str",
            "int": "int", "PositiveInt": "int", "NonNegativeInt": "int", "StrictInt": "int",
            "float": "float", "PositiveFloat": "float",
            "bool": "bool", "StrictBool": "bool",
            "datetime": "datetime",
            "Any": "any", "object": "any", "bytes": "str",
        }
        if name in simple:
            k = simple[name]
            return {"Kind": k}, name == "Any", None
        if name in ("dict", "Dict", "Mapping"):
            return {"Kind": "dict", "Elem": {"Kind": "any"}}, False, None
        if name in ("list", "List", "Set", "set", "tuple", "Tuple", "Sequence"):
            return {"Kind": "list", "Elem": {"Kind": "any"}}, False, None
        if name == "None":
            return {"Kind": "any"}, True, None
        if isinstance(expr, ast.Name):
            r = self.src.resolve(name, module)
            if r and r[0] == "alias":
                return self.norm(r[2], r[1], depth + 1)
        cm, cls = self.src.resolve_class(name, module)
        if cls is None:
            self.warnings.append("%s: type %s not found in the source; typed as any" % (module.path, ast.unparse(expr)))
            return {"Kind": "any"}, False, None
        if self.is_subclass_of(cm, cls, ("Enum", "IntEnum", "StrEnum")):
            kind, vals = self.enum_values(cm, cls)
            if self.is_subclass_of(cm, cls, ("str",)):
                kind = "str"
            return {"Kind": kind}, False, vals
        if self.is_subclass_of(cm, cls, ("BaseModel",)):
            self.want_model(cm, cls)
            return {"Kind": "object", "Model": cls.name}, False, None
        return {"Kind": "any"}, False, None

    def union(self, items, module, depth):
        opts = []
        optional = False
        for it in items:
            t, opt, enum = self.norm(it, module, depth + 1)
            optional = optional or opt
            if isinstance(it, ast.Constant) and it.value is None or (isinstance(it, ast.Name) and it.id == "None"):
                continue
            # str and bytes both normalise to str: one option is enough
            if any(t == seen for seen, _ in opts):
                continue
            opts.append((t, enum))
        if len(opts) == 1:
            return opts[0][0], optional, opts[0][1]
        return {"Kind": "union", "Options": [t for t, _ in opts]}, optional, None

    # -- models ---------------------------------------------------------------------

    def want_model(self, module, cls):
        name = cls.name
        where = (module.path, cls.lineno)
        prev = self.model_keys.get(name)
        if prev is not None:
            if prev != where:
                raise SystemExit("two params classes named %s: %s:%d and %s:%d" % (name, prev[0], prev[1], where[0], where[1]))
            return name
        self.model_keys[name] = where
        self.pending.append((module, cls))
        return name

    def own_fields(self, module, cls):
        """Fields declared in one class body, in order: (name, annotation, default expr,
        has_default, untyped)."""
        out = []
        for node in cls.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                n = node.target.id
                if n.startswith("_"):
                    continue
                if isinstance(node.annotation, ast.Subscript) and base_name(node.annotation.value) == "ClassVar":
                    continue
                out.append((n, node.annotation, node.value, node.value is not None, False, node.lineno))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                n = node.targets[0].id
                if n.startswith("_"):
                    continue
                v = node.value
                if isinstance(v, ast.Call) and base_name(v.func) in ("validator", "root_validator", "PrivateAttr", "staticmethod", "classmethod", "property"):
                    continue
                if isinstance(v, ast.Lambda):
                    continue
                out.append((n, None, v, True, True, node.lineno))
        # pydantic v1 adds the annotated fields first, then the un-annotated ones
        return [f for f in out if not f[4]] + [f for f in out if f[4]]

    def config_extra_allow(self, module, cls):
        for node in cls.body:
            if isinstance(node, ast.ClassDef) and node.name == "Config":
                for st in node.body:
                    if isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "extra" for t in st.targets):
                        txt = ast.unparse(st.value)
                        if "allow" in txt:
                            return True
                        return False
        return None

    def infer_type(self, value, module=None):
        """pydantic v1 types an un-annotated field by its default's class."""
        if isinstance(value, ast.Name) and module is not None:
            r = self.src.resolve(value.id, module)
            if r and r[0] == "alias":
                return self.infer_type(r[2], r[1])
        if isinstance(value, ast.Constant):
            v = value.value
            if isinstance(v, bool):
                return {"Kind": "bool"}
            if isinstance(v, int):
                return {"Kind": "int"}
            if isinstance(v, float):
                return {"Kind": "float"}
            if isinstance(v, str):
                return {"Kind": "str"}
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            return {"Kind": "list", "Elem": {"Kind": "any"}}
        if isinstance(value, ast.Dict):
            return {"Kind": "dict", "Elem": {"Kind": "any"}}
        return {"Kind": "any"}

    def default_of(self, value):
        """Default text and whether the field has a default (Field(...) without default is required)."""
        if value is None:
            return "", False
        if isinstance(value, ast.Call) and base_name(value.func) == "Field":
            d = None
            if value.args:
                d = value.args[0]
            for kw in value.keywords:
                if kw.arg == "default":
                    d = kw.value
                elif kw.arg == "default_factory":
                    return ast.unparse(kw.value) + "()", True
            if d is None or (isinstance(d, ast.Constant) and d.value is Ellipsis):
                return "", False
            return ast.unparse(d), True
        if isinstance(value, ast.Constant) and value.value is Ellipsis:
            return "", False
        return ast.unparse(value), True

    def overlay_enum(self, owner, name):
        ov = ENUM_OVERLAY.get((owner, name))
        if isinstance(ov, str):
            cname = ov.split(":", 1)[1]
            cands = self.src.by_class.get(cname, [])
            if len(cands) != 1:
                raise SystemExit("enum overlay: %d classes named %s" % (len(cands), cname))
            m = cands[0]
            c = m.classes[cname]
            ov = [t.targets[0].id for t in c.body
                  if isinstance(t, ast.Assign) and len(t.targets) == 1 and isinstance(t.targets[0], ast.Name)
                  and not t.targets[0].id.startswith("_")]
            if not ov:
                raise SystemExit("enum overlay: %s has no members" % cname)
        return ov

    def make_param(self, owner, module, name, ann, value, has_default, untyped):
        if untyped:
            t, optional, enum = self.infer_type(value, module), False, None
            python = ""
        else:
            t, optional, enum = self.norm(ann, module)
            python = ast.unparse(ann)
        default, has_default = self.default_of(value) if has_default else ("", False)
        required = not has_default and not optional
        p = {"Name": name, "Python": python, "Type": t, "Required": required, "Default": default}
        ov = self.overlay_enum(owner, name)
        if ov is not None:
            enum = ov
            self.used_overlays.add(("enum", owner, name))
        if enum:
            p["Enum"] = list(enum)
        dep = DEPRECATED_OVERLAY.get((owner, name))
        if dep:
            p["Deprecated"] = dep
            self.used_overlays.add(("deprecated", owner, name))
        return p

    def collect(self, module, cls, depth=0):
        """Fields and extra-allowed of a class the way pydantic v1's metaclass builds them:
        the bases' fields in reversed base order (a key seen again keeps its position and
        takes the later value), then the class's own; Config is inherited the same way."""
        if depth > 50:
            raise RuntimeError("class hierarchy too deep at %s" % cls.name)
        fields = {}
        extra = None
        for n, bm, bc in reversed(self.bases(module, cls)):
            if bc is None:
                continue
            bf, be = self.collect(bm, bc, depth + 1)
            fields.update(bf)
            if be is not None:
                extra = be
        e = self.config_extra_allow(module, cls)
        if e is not None:
            extra = e
        for fname, ann, value, has_default, untyped, _ in self.own_fields(module, cls):
            if untyped and fname in fields and not fields[fname][4]:
                # an un-annotated redefinition keeps the inherited annotation (resolved
                # where it was written) and takes the new default
                prev = fields[fname]
                fields[fname] = (prev[0], prev[1], value, True, False, prev[5])
                continue
            fields[fname] = (module, ann, value, has_default, untyped, cls.name)
        return fields, extra

    def fixed_by_init(self, module, cls):
        """Fields that a custom __init__ along the MRO passes to super().__init__ as a
        fixed value (not one of its own parameters): the class sets them, so they are not
        the user's to give (OomKillParams sets resource_type)."""
        fixed = {}
        for n, m, c in self.mro(module, cls):
            if c is None:
                continue
            init = own_method(c, "__init__")
            if init is None:
                continue
            own = {a.arg for a in init.args.args + init.args.kwonlyargs}
            for node in ast.walk(init):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__":
                    for kw in node.keywords:
                        if kw.arg and kw.arg not in own and kw.arg not in fixed:
                            fixed[kw.arg] = ast.unparse(kw.value)
        return fixed

    def build_model(self, module, cls):
        fields, extra = self.collect(module, cls)
        fixed = self.fixed_by_init(module, cls)
        params = []
        for fname, (m, ann, value, has_default, untyped, owner) in fields.items():
            # overlays are keyed by the class that declares the field, so subclasses get them too
            p = self.make_param(owner, m, fname, ann, value, has_default, untyped)
            if fname in fixed:
                p["Required"] = False
                p["Default"] = fixed[fname]
            params.append(p)
        return {"Name": cls.name, "Source": src_line(module, cls), "Params": params, "ExtraAllowed": bool(extra)}

    def drain(self):
        while self.pending:
            module, cls = self.pending.pop(0)
            self.models[cls.name] = self.build_model(module, cls)

    def add_model(self, model):
        if model["Name"] in self.models or model["Name"] in self.model_keys:
            raise SystemExit("model name clash: %s" % model["Name"])
        self.model_keys[model["Name"]] = (model["Source"], 0)
        self.models[model["Name"]] = model


# ---------------------------------------------------------------------------------------
# Actions


def find_method(ex, module, cls, name):
    """First definition of method name along the MRO: (module, class, FunctionDef)."""
    for n, m, c in ex.mro(module, cls):
        if c is None:
            continue
        for node in c.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return m, c, node
    return None, None, None


def own_method(cls, name):
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def positional(fn):
    return list(fn.args.posonlyargs) + list(fn.args.args)


def manual_info(ex, src, event):
    """Whether an action of this event class can run without a trigger, and the event
    attributes it then needs / accepts (the class's own from_params parameter type)."""
    m, c = src.resolve_class(event, src.modules["robusta.core.model.events"])
    if c is None:
        m, c = event_classes_index[event]
    fp = own_method(c, "from_params")
    if fp is None:
        return False, [], []
    args = [a for a in positional(fp) if a.arg not in ("self", "cls")]
    if not args or args[0].annotation is None:
        return True, [], []
    am, ac = src.resolve_class(base_name(args[0].annotation), m)
    if ac is None:
        raise SystemExit("cannot resolve from_params parameter of %s" % event)
    model = ex.build_model(am, ac)
    req = [p["Name"] for p in model["Params"] if p["Required"]]
    opt = [p["Name"] for p in model["Params"] if not p["Required"]]
    return True, req, opt


def is_action_decorator(d):
    if isinstance(d, ast.Name) and d.id == "action":
        return True
    if isinstance(d, ast.Call) and base_name(d.func) == "action":
        return True
    return False


def find_actions(src):
    found = []
    for modname in sorted(src.modules):
        m = src.modules[modname]
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(is_action_decorator(d) for d in node.decorator_list):
                found.append((node.name, m, node))
        # NAME = action(NAME): registration by a call instead of the decorator
        for node in m.tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and base_name(node.value.func) == "action"
                and node.value.args
                and isinstance(node.value.args[0], ast.Name)
            ):
                fname = node.value.args[0].id
                fm = m
                if fname not in m.functions and fname in m.imports:
                    mod, orig = m.imports[fname]
                    fm = src.modules.get(mod)
                    fname_def = orig
                else:
                    fname_def = fname
                if fm is None or fname_def not in fm.functions:
                    raise SystemExit("%s:%d: cannot find the function registered by action()" % (m.path, node.lineno))
                found.append((node.targets[0].id, fm, fm.functions[fname_def]))
    return found


# ---------------------------------------------------------------------------------------
# Event classes

event_classes_index = {}


def find_events(ex, src):
    if "ExecutionBaseEvent" not in src.modules["robusta.core.model.events"].classes:
        raise SystemExit("ExecutionBaseEvent not found in src/robusta/core/model/events.py")
    out = {}
    for modname in sorted(src.modules):
        m = src.modules[modname]
        for cname, c in m.classes.items():
            names = [n for n, _, _ in ex.mro(m, c)]
            if "ExecutionBaseEvent" not in names:
                continue
            if cname in out:
                raise SystemExit("two event classes named %s" % cname)
            event_classes_index[cname] = (m, c)
            out[cname] = (m, c)
    events = []
    for cname in sorted(out):
        m, c = out[cname]
        bases = []
        for n, bm, bc in ex.bases(m, c):
            if bc is not None and n in out:
                bases.append(n)
        events.append({"Name": cname, "Bases": bases, "Source": src_line(m, c)})
    return events


# ---------------------------------------------------------------------------------------
# Triggers


def return_name(fn):
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and node.value is not None:
            return base_name(node.value)
    return None


def super_init_kwargs(ex, module, cls):
    """kind / operation set by the __init__ chain: the first value found along the MRO."""
    got = {}
    for n, m, c in ex.mro(module, cls):
        if c is None:
            continue
        init = own_method(c, "__init__")
        if init is None:
            continue
        for node in ast.walk(init):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__":
                for kw in node.keywords:
                    if kw.arg in ("kind", "operation", "operations") and kw.arg not in got:
                        got[kw.arg] = kw.value
    kind = got.get("kind")
    kind = kind.value if isinstance(kind, ast.Constant) else None
    op = "all"
    if "operations" in got and isinstance(got["operations"], ast.List) and len(got["operations"].elts) == 1:
        op = got["operations"].elts[0].value
    elif "operation" in got:
        v = got["operation"]
        if isinstance(v, ast.Attribute):
            op = v.attr.lower()
    return kind, op


def trigger_model(ex, module, cls, model_name):
    """Params of a trigger class: its custom __init__'s parameters when it has one (pydantic
    v1 then calls cls(**params), so other keys are a TypeError), else its fields."""
    im, ic, init = find_method(ex, module, cls, "__init__")
    fields_model = ex.build_model(module, cls)
    custom = init is not None and (init.args.args[1:] or init.args.kwonlyargs) and init.args.kwarg is None
    if not custom:
        fields_model["Name"] = model_name
        return fields_model, False
    byname = {p["Name"]: p for p in fields_model["Params"]}
    args = init.args.args[1:]
    defaults = [None] * (len(args) - len(init.args.defaults)) + list(init.args.defaults)
    params = []
    for a, d in zip(args, defaults):
        field = byname.get(a.arg)
        if field is not None and field["Type"]["Kind"] != "any":
            # the __init__ hands the value to the pydantic field of the same name, whose
            # type is what gets validated
            p = dict(field)
        else:
            p = ex.make_param(cls.name, im, a.arg, a.annotation, None, False, a.annotation is None)
        p["Default"] = ast.unparse(d) if d is not None else ""
        p["Required"] = d is None
        ov = ex.overlay_enum(cls.name, a.arg)
        if ov:
            p["Enum"] = list(ov)
            ex.used_overlays.add(("enum", cls.name, a.arg))
        params.append(p)
    return {"Name": model_name, "Source": src_line(im, init), "Params": params, "ExtraAllowed": False}, True


def find_triggers(ex, src, chart_resources):
    tm = src.modules["robusta.core.playbooks.trigger"]
    tcls = tm.classes["Trigger"]
    keys = []
    for n, m, c in reversed(ex.mro(tm, tcls)):
        if c is None:
            continue
        for fname, ann, value, has_default, untyped, line in ex.own_fields(m, c):
            keys.append((fname, m, ann, line))
    triggers = []
    seen = set()
    for key, m, ann, line in keys:
        if key in seen:
            raise SystemExit("trigger key %s defined twice" % key)
        seen.add(key)
        inner = ann
        if isinstance(inner, ast.Subscript) and base_name(inner.value) == "Optional":
            inner = inner.slice
        if isinstance(inner, ast.Subscript) and base_name(inner.value) == "Union":
            # on_schedule: one of several trigger classes, each with one key of its own
            opts = []
            event = None
            for el in inner.slice.elts:
                cm, cc = src.resolve_class(base_name(el), m)
                _, _, fn = find_method(ex, cm, cc, "get_execution_event_type")
                ev = return_name(fn)
                if event and ev != event:
                    raise SystemExit("%s: union members produce different events" % key)
                event = ev
                for fname, fann, value, has_default, untyped, _ in ex.own_fields(cm, cc):
                    p = ex.make_param(cc.name, cm, fname, fann, value, has_default, untyped)
                    # exactly one form is given; each is optional on its own
                    p["Required"] = False
                    opts.append(p)
            model_name = "ScheduleTriggerParams"
            ex.add_model({"Name": model_name, "Source": "%s:%d" % (m.path, line), "Params": opts, "ExtraAllowed": False})
            triggers.append({
                "Key": key, "Source": "%s:%d" % (m.path, line), "Event": event, "Params": model_name,
                "Strict": False, "ChangeFilters": False,
            })
            continue
        cname = base_name(inner)
        cm, cc = src.resolve_class(cname, m)
        if cc is None:
            raise SystemExit("cannot resolve trigger class %s" % cname)
        _, _, fn = find_method(ex, cm, cc, "get_execution_event_type")
        event = return_name(fn) if fn is not None else None
        if not event:
            raise SystemExit("no execution event for %s" % cname)
        model, strict = trigger_model(ex, cm, cc, cname)
        ex.add_model(model)
        t = {
            "Key": key, "Source": src_line(cm, cc), "Event": event, "Params": cname,
            "Strict": strict, "ChangeFilters": any(p["Name"] == "change_filters" for p in model["Params"]),
        }
        names = [n for n, _, _ in ex.mro(cm, cc)]
        if "K8sBaseTrigger" in names:
            kind, op = super_init_kwargs(ex, cm, cc)
            t["Kind"] = kind or ""
            t["Operation"] = op
            res = KIND_TO_CHART_RESOURCE.get(kind, "")
            t["ChartResource"] = res
            if kind == "Any":
                # fed by every resource kubewatch watches
                t["WatchedByDefault"] = any(chart_resources.values())
            else:
                t["WatchedByDefault"] = bool(chart_resources.get(res, False)) if res else False
        triggers.append(t)
    return triggers


def chart_kubewatch_resources(root):
    """kubewatch.config.resource of helm/robusta/values.yaml, read line by line (no yaml
    module needed): {key: bool}."""
    path = os.path.join(root, "helm", "robusta", "values.yaml")
    out = {}
    state = 0
    indent = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.split("#", 1)[0].rstrip()
            if not stripped.strip():
                continue
            ind = len(stripped) - len(stripped.lstrip())
            text = stripped.strip()
            if state == 0 and ind == 0 and text == "kubewatch:":
                state = 1
            elif state == 1:
                if ind == 0:
                    break
                if text == "config:":
                    state = 2
            elif state == 2:
                if text == "resource:":
                    state = 3
                    indent = None
            elif state == 3:
                if indent is None:
                    indent = ind
                if ind < indent:
                    break
                k, v = text.split(":", 1)
                out[k.strip()] = v.strip() == "true"
    if not out:
        raise SystemExit("kubewatch.config.resource not found in helm/robusta/values.yaml")
    return out


# ---------------------------------------------------------------------------------------
# Sinks


def find_sinks(ex, src):
    sinks = []
    for modname in sorted(src.modules):
        m = src.modules[modname]
        for cname, c in m.classes.items():
            if not any(base_name(b) == "SinkConfigBase" for b in c.bases):
                continue
            fields = ex.own_fields(m, c)
            if len(fields) != 1:
                raise SystemExit("%s: expected one field in %s" % (m.path, cname))
            key, ann, _, _, _, _ = fields[0]
            pm, pc = src.resolve_class(base_name(ann), m)
            if pc is None:
                raise SystemExit("cannot resolve sink params %s" % ast.unparse(ann))
            ex.want_model(pm, pc)
            _, _, fn = find_method(ex, pm, pc, "_get_sink_type")
            typ = None
            if fn is not None:
                for node in ast.walk(fn):
                    if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
                        typ = node.value.value
            if not typ:
                raise SystemExit("no sink type for %s" % pc.name)
            sinks.append({"Key": key, "Type": typ, "Params": pc.name, "Source": src_line(m, c)})
    return sinks


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--robusta", default="/work/robusta-src")
    args = ap.parse_args()
    root = os.path.abspath(args.robusta)
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SystemExit("unexpected git rev-parse output %r" % commit)
    src = Source(root)
    ex = Extractor(src)

    events = find_events(ex, src)
    event_names = {e["Name"] for e in events}

    actions = []
    for name, m, fn in find_actions(src):
        args_ = positional(fn)
        if not args_:
            raise SystemExit("%s: action %s has no event parameter" % (src_line(m, fn), name))
        ev = base_name(args_[0].annotation)
        if ev not in event_names:
            raise SystemExit("%s: action %s: unknown event class %s" % (src_line(m, fn), name, ev))
        params = ""
        if len(args_) > 1 and args_[1].annotation is not None:
            pm, pc = src.resolve_class(base_name(args_[1].annotation), m)
            if pc is None:
                raise SystemExit("%s: cannot resolve params class of %s" % (src_line(m, fn), name))
            params = ex.want_model(pm, pc)
        runnable, req, opt = manual_info(ex, src, ev)
        actions.append({
            "Name": name, "Source": src_line(m, fn), "Event": ev, "Params": params,
            "ManualRunnable": runnable, "ManualParams": req, "ManualOptional": opt,
        })
    names = [a["Name"] for a in actions]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise SystemExit("actions defined twice: %s" % ", ".join(dups))

    triggers = find_triggers(ex, src, chart_kubewatch_resources(root))
    sinks = find_sinks(ex, src)
    ex.drain()

    # an overlay entry that matched nothing is stale: the source moved
    for kind, table in (("enum", ENUM_OVERLAY), ("deprecated", DEPRECATED_OVERLAY)):
        for owner, name in table:
            if (kind, owner, name) not in ex.used_overlays:
                raise SystemExit("%s overlay %s.%s matches no extracted field" % (kind, owner, name))

    for w in ex.warnings:
        print("warning: " + w, file=sys.stderr)

    out = {
        "RobustaCommit": commit,
        "Actions": sorted(actions, key=lambda a: a["Name"]),
        "Triggers": sorted(triggers, key=lambda t: t["Key"]),
        "Sinks": sorted(sinks, key=lambda s: s["Key"]),
        "Models": [ex.models[k] for k in sorted(ex.models)],
        "Events": events,
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
