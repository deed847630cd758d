"""memtype's man pages, made at build time: the prose is written by hand in
mdoc templates (docs/man/memtype.{1,3,7}.in), and what must not drift from
the code is generated into them: memtype(1)'s SYNOPSIS and each command's
options from the command's argument parsers (cli.parsers()), its
ENVIRONMENT from core/types/options.def (options.load()).

Placeholders in a template, each alone on a line:
  @VERSION@          (anywhere in a line) the project version
  @LIBDIR@           (anywhere in a line) the library directory under the
                     prefix (CMAKE_INSTALL_LIBDIR: lib, lib/x86_64-linux-gnu)
  @SYNOPSIS@         one synopsis block per command
  @COMMAND name@     the .It line of a command: its synopsis
  @OPTIONS name@     the list of the command's options (memtype run: only
                     those that set no MEMTYPE_* variable; the others are
                     listed under ENVIRONMENT with their flag)
  @ENVIRONMENT@      every MEMTYPE_* variable: flag, meaning, default, values
A template that names no @COMMAND@ for a command the parsers have is an
error: a new command cannot go undocumented.

    python3 -m memtype_report.manpage --options-def core/types/options.def \\
        --version 0.1.0 --libdir lib --template docs/man/memtype.1.in --output memtype.1
"""
import argparse
import re
import sys

MANY = 16  # a command with more options shows "[options]" in its synopsis


def text(s):
    """s as an mdoc text line (or lines): backslashes escaped, a leading
    period or quote made literal, hyphens printed as ASCII minus signs (so
    that a flag copied from the page works), names with an underscore never
    hyphenated."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    s = re.sub(r"(?<![\w\\])(?=\w*_)", r"\\%", s)  # never hyphenate MEMTYPE_TRASH
    lines = []
    for line in s.split("\n"):
        if line[:1] in (".", "'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def arg(s):
    """s as one argument on a macro line: quoted when it has spaces, escaped;
    a word mdoc would take for a macro or a delimiter is made literal."""
    s = s.replace("\\", "\\e").replace('"', '\\(dq')
    if s in ("", ".", ",", ";", ":", "(", ")", "[", "]", "|") or re.match(r"^[A-Z][a-z][a-z]?$", s):
        s = "\\&" + s
    return '"%s"' % s if " " in s else s


def _flag(opt):
    """--lines as the argument of .Fl (which adds one hyphen)."""
    return opt[1:]


def _metavar(a):
    """The name of an option's value, lower case as in FreeBSD's pages: its
    metavar, else n for a number, else its name."""
    if isinstance(a.metavar, str) and a.metavar:
        return a.metavar.lower()
    if a.type in (int, float):
        return "n"
    return a.dest.lower()


def _options(p, skip=()):
    return [a for a in p._actions  # argparse keeps no public list of its actions
            if a.option_strings and not isinstance(a, argparse._HelpAction) and a.dest not in skip]


def _positionals(p):
    return [a for a in p._actions if not a.option_strings]


def _option_synopsis(a):
    """The synopsis words of an option: .Op Fl -lines Ar n."""
    f = "Fl %s" % _flag(a.option_strings[0])
    if a.nargs == 0:
        return "Op %s" % f
    if a.choices:
        return "Op %s Ar %s" % (f, arg(_metavar(a)))
    if a.nargs == "?":
        return "Op %s Op Ar %s" % (f, arg(_metavar(a)))
    return "Op %s Ar %s" % (f, arg(_metavar(a)))


def _positional_synopsis(a):
    if a.nargs == argparse.REMAINDER:
        return ["Op Fl \\-", "Ar program", "Op Ar argument ..."]
    if a.choices:
        return ["Cm " + " | ".join(str(c) for c in a.choices)]
    m = arg(_metavar(a))
    if a.nargs == "+":
        return ["Ar %s ..." % m]
    if a.nargs == "*":
        return ["Op Ar %s ..." % m]
    if a.nargs == "?":
        return ["Op Ar %s" % m]
    return ["Ar %s" % m]


def synopsis_lines(name, p):
    """The macro lines of a command's synopsis, after .Nm."""
    out = ["Cm " + name]
    opts = _options(p)
    if len(opts) > MANY:
        out.append("Op Ar options")
    else:
        out += [_option_synopsis(a) for a in opts]
    for a in _positionals(p):
        out += _positional_synopsis(a)
    return ["." + line for line in out]


def _help(a):
    """An action's help as argparse prints it: a format string (%(default)s,
    %% for a percent sign)."""
    h = a.help or ""
    params = {k: v for k, v in vars(a).items() if v is not argparse.SUPPRESS}
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(c) for c in params["choices"])
    try:
        h = h % params
    except (KeyError, TypeError, ValueError):
        pass
    if a.choices and a.option_strings and not all(str(c) in h for c in a.choices):
        h += " (one of: %s)" % ", ".join(str(c) for c in a.choices)
    return h


def options_list(p, skip=()):
    """A .Bl list of the command's options with their help."""
    opts = _options(p, skip)
    if not opts:
        return []
    out = [".Bl -tag -width Ds"]
    for a in opts:
        head = " Ns , ".join("Fl %s" % _flag(o) for o in a.option_strings)
        if a.nargs == "?":
            head += " Ns Op = Ns Ar %s" % arg(_metavar(a))
        elif a.nargs != 0:
            head += " Ar %s" % arg(_metavar(a))
        out.append(".It " + head)
        out.append(text(_help(a)))
    out.append(".El")
    return out


def environment(rows, run_parser):
    """Every MEMTYPE_* variable, in the order of the options table."""
    flags = {}
    for a in _options(run_parser):
        flags[a.dest] = a.option_strings
    out = [".Bl -tag -width Ds"]
    for o in rows:
        head = "Ev %s" % o.env
        if o.field in flags:
            head += " Pq " + " Ns , ".join("Fl %s" % _flag(f) for f in flags[o.field])
        out.append(".It " + head)
        h = o.help[0].upper() + o.help[1:]
        out.append(text(h + ("" if h.endswith(".") else ".")))
        default = o.default_text()
        if default:
            out += ["Default:", ".Ql %s ;" % arg(default)]
        else:
            out.append("Default: none;")
        out.append(text("accepted: %s." % o.accepted()))
    out.append(".El")
    return out


def render(template, rows, parsers, version, libdir="lib"):
    """The page: the template with its placeholders filled."""
    used = set()
    out = []
    for line in template.split("\n"):
        line = line.replace("@VERSION@", version).replace("@LIBDIR@", libdir)
        m = re.match(r"^@(SYNOPSIS|ENVIRONMENT|COMMAND|OPTIONS)(?: (\w+))?@$", line)
        if not m:
            if re.search(r"@[A-Z]+( \w+)?@", line):
                raise ValueError("unknown placeholder in %r" % line)
            out.append(line)
            continue
        what, name = m.groups()
        if what == "SYNOPSIS":
            for n, p in parsers.items():
                out.append(".Nm")
                out += synopsis_lines(n, p)
        elif what == "ENVIRONMENT":
            out += environment(rows, parsers["run"])
        else:
            if name not in parsers:
                raise ValueError("@%s %s@: no such command" % (what, name))
            if what == "COMMAND":
                used.add(name)
                out += [".It Xo", ".Nm"] + synopsis_lines(name, parsers[name]) + [".Xc"]
            else:
                skip = {o.field for o in rows} if name == "run" else ()
                out += options_list(parsers[name], skip)
    if used and used != set(parsers):
        raise ValueError("the template documents no command %s"
                         % ", ".join(sorted(set(parsers) - used)))
    return "\n".join(out)


def main(argv=None):
    from . import cli
    from . import completion
    from . import options as opts
    p = argparse.ArgumentParser(prog="python3 -m memtype_report.manpage")
    p.add_argument("--options-def", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--libdir", default="lib")
    p.add_argument("--template", required=True)
    p.add_argument("--output", required=True)
    args = p.parse_args(argv)
    rows = opts.load(args.options_def)
    with open(args.template, encoding="utf-8") as f:
        template = f.read()
    try:
        page = render(template, rows, cli.parsers(rows), args.version, args.libdir)
    except ValueError as e:
        print("manpage: %s: %s" % (args.template, e), file=sys.stderr)
        return 1
    completion._write(args.output, page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
