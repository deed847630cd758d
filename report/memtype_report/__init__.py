"""memtype's command-line tools and report readers (Python standard library only).

Layout, readers first, views last; a module imports only from the lines above
its own:

    progress.py             the progress line of a long command, on a terminal
    dump.py, live.py        readers: a dump file, a running process's live file
    symbolize.py            addresses to function (file:line), offline
    model.py                the model: processes, the table's rows (TypeRow),
                            leaks, heap errors, injected failures, growth
    formats.py, flame.py, html.py
                            machine-readable views: JSON, folded stacks, the
                            page's flame graph, the page
    forms/                  `memtype report`'s forms, one module each (types,
                            leaks, errors, failures, waste, json_out, folded,
                            html_out): show(dumps, args) prints the model
    commands/               one module per command (run, report, diff, sweep,
                            stat, options, completion): parser() and main()
    cli.py                  usage, parsers(), main(): a command line to its module
    options.py, completion.py, manpage.py, target.py
                            the options table, the generated completion and man
                            pages, the look at a program before `memtype run`

A new report form is a module of forms/ and a flag in commands/report.py; a
new figure of a type is a field of model.TypeRow, filled in merge_types()."""
