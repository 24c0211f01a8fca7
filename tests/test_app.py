from streamlit.testing.v1 import AppTest


def test_app_starts_and_shows_home():
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("Neural Net Lab")
    assert any("Device" in c.value for c in at.sidebar.caption)
    names = at.dataframe[0].value["dataset"].tolist()
    assert names[:1] == ["mnist-mini"] and at.dataframe[0].value["status"][0] == "ready offline"
