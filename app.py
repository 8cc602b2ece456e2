"""The dashboard: ``streamlit run app.py`` opens it on the bundled sample incident.

Thin on purpose: the pages live in ``analyzer/ui`` and read the database through
``analyzer.api``. ``analyzer dashboard --db FILE`` opens it on another database.
"""

from analyzer.ui.navigation import run

run()
