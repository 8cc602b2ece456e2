"""The script each session runs (``app.py`` and ``serve.py`` name it in their ``st.App``)."""

from analyzer.ui.navigation import run

run()
