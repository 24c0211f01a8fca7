"""Neural Net Lab core: data, models, the training engine, runs, evaluation and explainers.

Importable without Streamlit; every page of the app is a thin layer over this package.
"""
