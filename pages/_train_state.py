"""The Train page's form state in plain session keys, and filling it from elsewhere (a preset, a doctor's follow-up)."""
from __future__ import annotations

import streamlit as st

from nets.engine.config import TrainConfig

# The Train page's form lives in a plain session key (widget keys vanish when the user leaves a page).
TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX = "train_cfg", "tw_"
# Whether the Train page's form is open, and the doctor's last fix to announce above it.
TRAIN_EDIT_KEY, TRAIN_FIXED_KEY = "train_editing", "train_doctor_fixed"
# The Build page's network (a tuple of nets.engine.netspec layers); Train's "Edit in the builder" fills it.
BUILDER_KEY = "builder_layers"


def load_train_config(cfg: TrainConfig, four_configs: bool = False) -> None:
    """Fill the Train page's form with `cfg` on its next run (a preset, a doctor's follow-up)."""
    st.session_state[TRAIN_CFG_KEY] = cfg.to_dict()
    for key in [k for k in st.session_state if str(k).startswith(TRAIN_WIDGET_PREFIX)]:
        del st.session_state[key]
    st.session_state[TRAIN_WIDGET_PREFIX + "four"] = four_configs
    st.session_state[TRAIN_EDIT_KEY] = True  # the form opens, showing what was filled in
