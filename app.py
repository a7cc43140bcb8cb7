"""Churn decision dashboard: ``streamlit run app.py``.

The entry point only sets up navigation and the shared sidebar; each page in
``pages/`` answers one question and draws what ``churn`` computes.
"""

from __future__ import annotations

import streamlit as st

from pages.common import current_artifact, show_input_error

st.set_page_config(page_title="Churn decisions", page_icon=":material/insights:", layout="wide")

pages = [
    st.Page(
        "pages/overview.py", title="Can we rely on it?", icon=":material/verified:", default=True
    ),
]
navigation = st.navigation(pages)

artifact = show_input_error(current_artifact)
with st.sidebar:
    st.caption("Data and model")
    st.markdown(f"**{artifact.info['source'] or 'uploaded table'}**")
    st.caption(
        f"{artifact.info['rows']:,} customers · model `{artifact.fingerprint[:12]}` · "
        f"trained {artifact.info['trained_at'].replace('T', ' ')[:16]} UTC"
    )

navigation.run()
