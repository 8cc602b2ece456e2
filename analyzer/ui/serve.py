"""The file ``analyzer dashboard`` hands to ``streamlit run`` (the same app as the repo's app.py).

An ``st.App``: the server prepares itself (``startup.py``) before it takes requests.
"""

import streamlit as st

from analyzer.ui import startup

app = st.App(startup.PAGES_SCRIPT, lifespan=startup.lifespan)
