"""The upload of one image on the pages that classify or transform it: the widget, its checks and the cached decode."""
from __future__ import annotations

import streamlit as st


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes, filename: str):
    """Image bytes read safely (nets.inspect.imageio), cached by the bytes themselves."""
    from nets.inspect.imageio import MAX_BYTES, read_image
    return read_image(data, MAX_BYTES, filename=filename)


def upload_image_ui():
    """An uploaded image, decoded, and its file name; stops the page with a plain message when
    there is none or it is not a usable image."""
    from nets.inspect.imageio import MAX_BYTES, SUFFIXES, ImageError, check_size
    # No per-widget size limit: the browser would refuse a big file with only a red icon while the
    # previous file's result stayed on the page. The server takes it and check_size says why not.
    upload = st.file_uploader(f"Upload a PNG, JPEG, WebP, BMP or GIF image (at most {MAX_BYTES // 2**20} MB)",
                              type=list(SUFFIXES))
    if upload is None:
        st.info(f"Choose an image file (at most {MAX_BYTES // 2**20} MB).")
        st.stop()
    try:
        check_size(upload.size)  # the browser's limit is not enforced by the server
        return decode_image(upload.getvalue(), upload.name), upload.name
    except ImageError as e:
        st.error(f"{upload.name}: {e}")
        st.stop()
