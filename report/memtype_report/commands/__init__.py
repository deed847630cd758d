"""The commands of `memtype`, one module each (run, report, diff, sweep,
stat and top, options, completion): its argument parser, `parser()`, and
what it does, `main()`. cli.py dispatches to them."""
