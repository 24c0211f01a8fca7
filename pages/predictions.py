import streamlit as st

st.title("predictions")
st.info("This page is being built.")
