"""Reads core/types/options.def, the one table of MEMTYPE_* variables, so that
`memtype options`, `memtype run` flags and docs/options.md all come from it."""
import re
from dataclasses import dataclass

ROW = re.compile(r'^MT_OPT\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(-?\w+|"[^"]*")\s*,\s*(-?\w+)\s*,'
                 r'\s*(-?\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')

VALUES = re.compile(r'^MT_OPT_VALUES\(\s*(\w+)\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')

# `memtype run` flags that are not the variable's name: --types meant three
# things (run: naming rules; report: the table; sweep: the types to fail).
FLAGS = {"TYPES": "--type-rules"}
OLD_FLAGS = {"TYPES": ("--types",)}   # deprecated, still accepted


@dataclass
class Option:
    field: str
    name: str      # without the MEMTYPE_ prefix
    kind: str      # BOOL, INT, ACTION
    default: str
    minimum: str
    maximum: str
    help: str
    values: tuple = ()   # an enumeration's words (MT_OPT_VALUES), else ()
    more: str = ""       # what else its own check accepts

    @property
    def env(self):
        return "MEMTYPE_" + self.name

    @property
    def flag(self):
        return FLAGS.get(self.name, "--" + self.name.lower().replace("_", "-"))

    @property
    def old_flags(self):
        """Deprecated spellings of the flag that still work."""
        return OLD_FLAGS.get(self.name, ())

    def default_text(self):
        if self.kind == "STR":
            return self.default.strip('"')
        if self.kind == "ACTION":
            return {"0": "abort", "-1": "continue"}.get(self.default, "exit:%s" % self.default)
        return self.default

    def accepted(self):
        if self.kind == "BOOL":
            return "0, 1, yes, no, on, off"
        if self.kind == "ACTION":
            return "abort, continue, exit:N (N in 0..255)"
        if self.kind == "STR" and self.values:
            return ", ".join(self.values) + ("; or %s" % self.more if self.more else "")
        if self.kind == "STR":
            return "a string (%s..%s characters)" % (self.minimum, self.maximum)
        return "%s..%s (K, M, G suffixes)" % (self.minimum, self.maximum)


def load(path):
    rows, values = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.strip())
            if m:
                rows.append(Option(*m.groups()))
            m = VALUES.match(line.strip())
            if m:
                values[m.group(1)] = (tuple(m.group(2).split("|")), m.group(3))
    for o in rows:
        o.values, o.more = values.get(o.name, ((), ""))
    if not rows:
        raise ValueError("%s: no MT_OPT rows found" % path)
    return rows


def markdown(rows):
    out = ["# memtype options", "",
           "Generated from `core/types/options.def` by `memtype options --markdown`; do not edit.",
           "Every variable is read once at start. An unknown `MEMTYPE_*` name is warned about;",
           "an invalid value stops the program with a message naming the accepted values.",
           "In secure-execution mode (setuid programs) all of them are ignored.", "",
           "| variable | `memtype run` flag | default | accepted | meaning |",
           "|---|---|---|---|---|"]
    for o in rows:
        flag = "`%s`" % o.flag + "".join(" (`%s`: deprecated)" % f for f in o.old_flags)
        out.append("| `%s` | %s | `%s` | %s | %s |" % (o.env, flag, o.default_text(),
                                                     o.accepted(), o.help))
    return "\n".join(out) + "\n"


def text(rows):
    width = max(len(o.env) for o in rows)
    out = []
    for o in rows:
        out.append("%-*s  default %-8s %s" % (width, o.env, o.default_text(), o.help))
        out.append("%-*s  accepted: %s; flag %s" % (width, "", o.accepted(), o.flag))
    return "\n".join(out) + "\n"
