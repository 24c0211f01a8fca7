import streamlit as st

from pages._common import ensure_app_entry

ensure_app_entry()

st.title("Activation maps and Grad-CAM")
st.info("This page is being built.")
