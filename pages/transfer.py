import streamlit as st

from pages._common import ensure_app_entry

ensure_app_entry()

st.title("Pretrained ResNets")
st.info("This page is being built.")
