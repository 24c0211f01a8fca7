import streamlit as st

from pages._common import ensure_app_entry

ensure_app_entry()

st.title("Cross-entropy and KL")
st.info("This page is being built.")
