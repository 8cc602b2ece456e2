"""The dashboard: ``streamlit run app.py`` opens it on the bundled sample incident.

Thin on purpose: an ``st.App`` whose server imports the pages and warms the database before
it takes its first request (``analyzer/ui/startup.py``); each session runs the pages script
(``analyzer/ui/streamlit_app.py``), whose pages live in ``analyzer/ui`` and read the
database through ``analyzer.api``. ``analyzer dashboard --db FILE`` opens it on another
database.
"""

import streamlit as st

from analyzer.ui import startup

app = st.App(startup.PAGES_SCRIPT, lifespan=startup.lifespan)
