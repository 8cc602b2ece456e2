"""The script ``analyzer dashboard`` hands to ``streamlit run`` (same as the repo's app.py)."""

from analyzer.ui.navigation import run

run()
