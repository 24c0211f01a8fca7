import streamlit as st

from pages._common import ensure_app_entry

ensure_app_entry()

st.title("Augmentation preview")
st.info("This page is being built.")
