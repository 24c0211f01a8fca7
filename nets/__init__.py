"""Neural Net Lab's logic, importable without Streamlit: engine (training), runs (saved runs), inspect
(looking inside a network), server (jobs, identities), coach (the doctor, outcomes), link (the link
codec), calculators, scratch (the NumPy network), playground and export; see docs/code-map.md."""
