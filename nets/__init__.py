"""Neural Net Lab's logic, importable without Streamlit: engine (training), runs (saved runs), inspect
(looking inside a network), server (jobs, identities, the doctor), calculators, scratch (the NumPy
network) and export; see README.md's map of nets/."""
