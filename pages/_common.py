"""The one call every page makes first (ensure_app_entry); the pages' helpers live beside it by what they serve.

pages/_service.py: the job service and the folders, from nets.settings · pages/_identity.py: sign-in,
lecturer mode, access · pages/_cached.py: datasets, models, evaluations · pages/_runpick.py: finding
runs and the run picker · pages/_upload_ui.py: one uploaded image · pages/_train_state.py: the Train
page's form state. None of them is a page (app.py lists the pages).
"""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st


def ensure_app_entry() -> None:
    """Call first on every page, before any widget. On a fresh server a first visit straight to
    /train finds a pages/ folder and runs the page alone through Streamlit's legacy discovery,
    without app.py's navigation and sidebar (streamlit#9624); AppTest does the same on every run.
    Then run app.py here instead: it sets up navigation and runs this same page, in this same run,
    so no widget event is lost."""
    from streamlit.runtime.pages_manager import PagesManager
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
        st.stop()
