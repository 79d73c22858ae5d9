"""The command line of skft, one module per command (``_demo``, ``_advise``).

:func:`skft.__main__.main` builds the parser from each module's ``add_parser`` and calls
the chosen command's ``run(args, stdout, stderr)``, which returns the exit status.
"""
