"""The command line of skft, one module per command (``_demo``, ``_advise``).

:func:`skft.__main__.main` builds the parser from each module's ``add_parser`` and calls
the chosen command's ``run(args, stdout, stderr)``, which returns the exit status
(``_main``: every failure one line on stderr, exit 2). Reading the inputs of ``advise``:
``_files`` (regular files only, size cap, no pickles), ``_text`` (delimiter, header line,
index column), ``_io`` (arrays and label vectors), ``_inputs`` (cross-checks and the
intercept); ``--verbose`` stages are printed by :class:`skft.utils._stages.StageLog`.
"""
