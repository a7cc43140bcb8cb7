"""Churn decision dashboard: ``streamlit run app.py``.

The entry point only sets up navigation, the shared sidebar and the URL; each
page in ``app_pages/`` answers one question and draws what ``churn`` computes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

FAVICON = Path(__file__).with_name("static") / "favicon.png"
# The favicon is a file the server serves: a Material icon here would be fetched from Google's
# font host, which an offline machine or a firewall blocks.
st.set_page_config(page_title="Churn decisions", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page(
        "app_pages/overview.py",
        title="Can we rely on it?",
        icon=":material/verified:",
        default=True,
    ),
    st.Page("app_pages/decide.py", title="Decide", icon=":material/tune:"),
    st.Page("app_pages/why.py", title="Why?", icon=":material/psychology_alt:"),
    st.Page("app_pages/customers.py", title="Customers", icon=":material/group:"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:"),
    st.Page("app_pages/fairness.py", title="Is it fair?", icon=":material/balance:"),
    st.Page("app_pages/monitor.py", title="Is it still working?", icon=":material/monitor_heart:"),
    st.Page("app_pages/campaign.py", title="Did it work?", icon=":material/science:"),
    st.Page("app_pages/data.py", title="Use your own data", icon=":material/upload_file:"),
]
navigation = st.navigation(PAGES)

# The library (pandas and Altair for the first page: about 0.7 s on a cold start) is imported
# after the page set-up and the navigation are sent, so the browser draws the frame and the
# sidebar while the server imports. LightGBM and scikit-learn (another second) are imported
# by the pages that score or train, and by ``warm_up`` once the first page has run.
from churn.errors import ChurnInputError  # noqa: E402
from churn.formatting import percent  # noqa: E402
from app_pages.common import (  # noqa: E402
    current_artifact,
    current_banners,
    current_scenario,
    show_input_error,
    sync_query_params,
    warm_up,
)

artifact = show_input_error(current_artifact)
scenario = current_scenario()
for problem in st.session_state.pop("scenario_problems", ()):
    st.warning(f"The shared link could not be used in full: {problem}; the default is shown.")
sync_query_params()
for message in current_banners():  # staleness and significant drift, on every page
    st.warning(message, icon=":material/warning:")

with st.sidebar:
    st.caption("Data and model")
    st.markdown(f"**{artifact.info.source or 'uploaded table'}**")
    st.caption(
        f"{artifact.info.rows:,} customers, {percent(artifact.info.churn_rate)} churned · "
        f"model `{artifact.fingerprint[:12]}` · trained "
        f"{artifact.info.trained_at.replace('T', ' ')[:16]} UTC"
    )

try:
    navigation.run()
except ChurnInputError as exc:  # bad input anywhere on a page: one sentence, no traceback
    st.error(str(exc))
warm_up()  # the next page's model and libraries, built while this one is read
