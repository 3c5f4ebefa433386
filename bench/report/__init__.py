"""Leaderboards and reports over a results folder.

``aggregate`` (records -> per-configuration seed statistics, ranks), ``stats`` (paired bootstrap,
McNemar), ``tables`` (Markdown/LaTeX/HTML/CSV/JSON), ``plots`` (matplotlib PNGs), ``site`` (the
static HTML leaderboard) and ``commands`` (``bench report`` / ``bench compare``).
"""
