"""Train: choose a configuration, start a background job, watch it live, stop it, follow the doctor;
share the configuration as a lesson link, or open one (an inside-training lesson asks for a prediction
first and reveals the answer when its finding appears). The form is pages/_train_form.py, the live
panel pages/_train_live.py; this page composes them."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from nets.engine.catalog import BUNDLED, download_notice
from nets.engine.config import ConfigError, TrainConfig, four_configs, four_configs_text, validate
from nets.engine.models import ModelError
from nets.coach.dynamics import first_findings
from nets.engine.naming import default_name, is_generated
from nets.files import CheckpointError
from nets.link import inside
from nets.link.train import Lesson, decode, encode
from nets.text import plain
from pages._common import ensure_app_entry
from pages._identity import access, identity, session_owner, shows_paths
from pages._link import link_ui, problems_ui
from pages._lrfind import lrfind_ui
from pages._service import checkpoints_root, data_dir, job_manager
from pages._train_state import TRAIN_CFG_KEY, TRAIN_EDIT_KEY, TRAIN_FIXED_KEY, TRAIN_WIDGET_PREFIX, load_train_config
from pages._train_form import Form, config_ui, current_config, params_ui
from pages._train_live import FIXED_SCROLL_KEY, JOB_KEY, attach, jobs_list_ui, live_ui

FOUR_FIELDS = frozenset({"optimizer", "lr", "momentum", "loss"})  # what the four configurations set

ensure_app_entry()

CFG_KEY, WIDGET_PREFIX, EDIT_KEY, FIXED_KEY = TRAIN_CFG_KEY, TRAIN_WIDGET_PREFIX, TRAIN_EDIT_KEY, TRAIN_FIXED_KEY
LESSON = Path(__file__).resolve().parent.parent / "assets" / "train.md"
LESSON_KEY, SHARE_HIDE_KEY = "train_lesson", "share_hide"
PREDICT_KEY, INSIDE_RUNS_KEY = "inside_predict", "inside_runs"  # the prediction; {job id: {"guess", "reveal"}}
INSIDE_INTRO = LESSON.parent / "inside_training.md"
INSIDE_EVERY = 1.5  # seconds between looks for a lesson's finding while its run trains
# Our own constant script (no user text in it): Streamlit scrolls its main container, not the window.
SCROLL_TOP = ("<script>for (const el of [document.querySelector('[data-testid=\"stMain\"]'), "
              "document.scrollingElement]) { if (el) el.scrollTo({top: 0}); }</script>")


# ------------------------------------------------------------------------------ lesson links
def lesson_ui() -> frozenset[str]:
    """A lesson link fills the form once per session (pages/_link.py); the controls it names stay locked
    for the session."""
    state = link_ui(LESSON_KEY, decode, opened)
    pinned = state.get("pinned", [])
    if pinned and (editing() or not inside_lesson()):  # with the form folded, a lesson's question needs the room
        st.info(f"Lesson: your lecturer fixed {len(pinned)} setting{'s' if len(pinned) != 1 else ''} (shown "
                "greyed out with their values); change the others as you like.")
    problems_ui(state)
    return frozenset(pinned)


def opened(lesson: Lesson) -> dict:
    """A new lesson link: its configuration in the form; kept with it, what pin() and four_locked() read."""
    load_train_config(lesson.cfg, lesson.four)
    st.session_state.pop(PREDICT_KEY, None)
    return {"cfg": lesson.cfg.to_dict(), "four": lesson.four,
            "inside": lesson.inside if lesson.inside in inside.BY_KEY else ""}


def pin(cfg: TrainConfig, pinned: frozenset[str]) -> TrainConfig:
    """The lesson's values for the locked fields, whatever else changed them (a doctor's fix)."""
    state = st.session_state.get(LESSON_KEY)
    if not state or not pinned:
        return cfg
    lesson = TrainConfig.from_dict(state["cfg"])
    return replace(cfg, **{f: getattr(lesson, f) for f in pinned if f in TrainConfig.__dataclass_fields__})


def four_locked(form: Form) -> bool:
    """The coursework's four configurations set the optimizer, learning rate and loss themselves: a
    lesson that locks any of those (or the switch) keeps the switch as the lesson says. Run before the
    form, so the form knows whether its optimizer, rate, momentum and loss are used."""
    state = st.session_state.get(LESSON_KEY) or {}
    locked = "four" in form.pinned or bool(form.pinned & FOUR_FIELDS)
    if locked:
        st.session_state[WIDGET_PREFIX + "four"] = bool(state.get("four")) and "four" in form.pinned
    form.four = bool(st.session_state.get(WIDGET_PREFIX + "four"))
    return locked


def four_ui(form: Form) -> bool:
    key, locked = WIDGET_PREFIX + "four", four_locked(form)
    return st.toggle("Four configurations", key=key, disabled=locked,
                     help=f"The coursework's four configurations: train this network four times, {four_configs_text()}, "
                          "then compare them side by side."
                          + (" Fixed by your lecturer for this lesson." if locked else ""))


def share_ui(form: Form, cfg: TrainConfig, problem: str | None) -> None:
    with st.expander("Share as lesson link"):
        if problem:
            st.caption("Fix the settings above first: a lesson link pins a configuration that trains.")
            return
        four = bool(st.session_state.get(WIDGET_PREFIX + "four"))
        chosen = st.session_state.get(SHARE_HIDE_KEY, [])
        labels = {**form.labels, "four": form.labels.get("four", "Four configurations")}
        st.multiselect("Controls to lock for students", [*labels, *(f for f in chosen if f not in labels)],
                       key=SHARE_HIDE_KEY, format_func=lambda f: f"{labels.get(f, f)} ({f})")
        st.code(encode(cfg, set(st.session_state[SHARE_HIDE_KEY]), st.context.url, four=four), language=None)
        st.caption("Students who open this link get this page with these settings; the locked controls show "
                   "their values greyed out, the others they can change. A link pins settings, not data: a "
                   "folder dataset must be on this server.")


# ------------------------------------------------------------------------------ inside-training lessons
def inside_lessons_ui() -> None:
    """The lessons as links: each opens this page filled in, with its question."""
    with st.expander("🔬 Lessons: inside training"):
        st.markdown(INSIDE_INTRO.read_text(encoding="utf-8"))
        for lesson in inside.LESSONS:
            st.markdown(f"- [{lesson.title}]({lesson.link()}): {lesson.question.split('. ')[0]}.")


def inside_lesson() -> inside.InsideLesson | None:
    return inside.BY_KEY.get((st.session_state.get(LESSON_KEY) or {}).get("inside", ""))


def verdict(lesson: inside.InsideLesson, run: dict, cfg: TrainConfig) -> tuple[str, bool]:
    """The reveal in words (our own text and a finding's), and whether the prediction was right."""
    got = run["reveal"]
    what = inside.OUTCOMES[got["got"]].split(":")[0]
    if lesson.changed(cfg):
        return f"**{what}.** (You changed the lesson's settings: this is your own network's story.)", False
    guess = run.get("guess")
    said = ("You predicted this: well done." if guess == got["got"] else
            f"You predicted: {inside.OUTCOMES[guess].split(':')[0].lower()}." if guess else "You made no prediction.")
    return f"**{what}.** {said}", guess == got["got"]


def finding_sentence(run: dict) -> str:
    """The doctor's finding that answered the lesson, as a sentence ('' when the run ended without one)."""
    text = run["reveal"].get("text") or ""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def reveal_of(lesson: inside.InsideLesson, job_id: str) -> dict | None:
    """The lesson's answer for a job, once known (kept in the session); None while it is not."""
    run = st.session_state.setdefault(INSIDE_RUNS_KEY, {}).get(job_id)
    if run is None or run.get("reveal"):
        return run
    v = job_manager().view(job_id, access())
    if v is None or not hasattr(v, "dynamics"):  # gone (a restarted server): nothing more to wait for
        run["gone"] = True
        return run
    got = inside.reveal(lesson, first_findings(v.dynamics), ended=not v.active)
    if got is not None:
        run["reveal"] = {"got": got.got, "text": got.finding.text if got.finding else "", "final": got.final}
        run["cfg"] = v.config.to_dict()
    return run


def inside_ui(lesson: inside.InsideLesson) -> None:
    """Predict before training; the answer when the lesson's finding appears or the run ends."""
    job = st.session_state.get(JOB_KEY)
    run = reveal_of(lesson, job) if job else None
    if run and run.get("reveal"):
        text, right = verdict(lesson, run, TrainConfig.from_dict(run["cfg"]))
        # one line where the prediction's line was, so the charts stay in view at 1366×768
        said, why = st.columns([7, 1], vertical_alignment="center")
        said.markdown(f"{'✅' if right else '💡'} :{'green' if right else 'blue'}-background[{text}]")
        with why.popover("Why?", type="tertiary", width="stretch"):
            if found := finding_sentence(run):
                st.markdown(f"**Measured:** {found}")
            st.markdown(lesson.why())
    elif run and not run.get("gone"):
        @st.fragment(run_every=INSIDE_EVERY)
        def waiting():
            if reveal_of(lesson, job).get("reveal"):
                st.rerun()
            guess = run.get("guess")
            st.caption(f"🔮 **{lesson.title}.** Your prediction: "
                       f"{inside.OUTCOMES[guess].split(':')[0].lower() if guess else 'none'}. The answer comes "
                       "when the layer statistics show it, or when the run ends.")
        waiting()
    if editing():
        st.markdown(f"🔮 **{lesson.title}.** {lesson.question}")
        st.radio("Your prediction, before you press Train", list(inside.OUTCOMES), format_func=inside.OUTCOMES.get,
                 index=None, key=PREDICT_KEY)


# ------------------------------------------------------------------------------ the page
def editing() -> bool:
    """The form is open unless a job is on show and the user has not asked to edit."""
    return st.session_state.get(EDIT_KEY, True) or not st.session_state.get(JOB_KEY)


def train_bar_ui(form: Form, cfg: TrainConfig, problem: str | None, summary: str) -> bool:
    """The top bar a lecturer presses: run name, Train, the four-configuration switch, and what will
    train in one line. Returns whether this run should train as the four configurations."""
    name_col, train_col, four_col, edit_col = st.columns([3.4, 1.2, 2.8, 1.4], vertical_alignment="bottom")
    with name_col:
        form.widget(st.text_input, "Run name", "name", cfg.name, max_chars=80, label_visibility="collapsed",
                    placeholder=f"Run name (automatic: {default_name(cfg)})")
    with four_col:
        four = four_ui(form)
    signed_in = bool(identity())
    # A key, so the button keeps its identity when its help text (the summary) changes: on a busy
    # server a click can land on the button drawn for the previous settings, and must still count.
    why = (summary.replace("**", "") if signed_in else
           "Sign in with your name in the sidebar first: your runs are kept under it.")
    pressed = train_col.button("Train", key="train_go", type="primary", width="stretch",
                               disabled=problem is not None or not signed_in, help=why)
    if not editing():
        edit_col.button("Edit settings", width="stretch",
                        on_click=lambda: st.session_state.update({EDIT_KEY: True}))
    elif st.session_state.get(JOB_KEY):
        edit_col.button("Hide settings", width="stretch",
                        on_click=lambda: st.session_state.update({EDIT_KEY: False}))
    if summary and editing():  # with the form folded, the live panel's own title says what trains
        st.markdown(summary)  # with the four configurations on, it says what the four runs use
    if (fixed := st.session_state.get(FIXED_KEY)) and editing():
        st.success(fixed)  # the doctor's follow-up, beside Train: in view without scrolling
        if st.session_state.pop(FIXED_SCROLL_KEY, False):  # pressed below the charts: the page goes back up
            st.html(SCROLL_TOP, unsafe_allow_javascript=True)
    if (notice := download_notice(cfg.dataset, data_dir())):
        st.caption(f"⬇️ {notice} Offline, choose a bundled dataset ({', '.join(BUNDLED)}).")
    if pressed:
        submit(cfg, four)
    return four


def submit(cfg: TrainConfig, four: bool) -> None:
    manager = job_manager()
    try:
        if four:
            jobs = manager.submit_group(four_configs(cfg), owner=session_owner())
            attach(jobs[0].id, jobs[0].group)
        else:
            job = manager.submit(cfg, owner=session_owner()).id
            attach(job)
            if inside_lesson():  # this run answers the lesson's question: keep the prediction made for it
                st.session_state.setdefault(INSIDE_RUNS_KEY, {})[job] = {"guess": st.session_state.get(PREDICT_KEY)}
    except (ConfigError, ModelError, CheckpointError) as e:  # refused (budget, quota, disk): why, in words
        st.error(plain(e))
    else:
        st.session_state[EDIT_KEY] = False  # the live panel takes the screen; Edit brings the form back
        st.session_state.pop(FIXED_KEY, None)
        st.rerun()


st.title("🏋️ Train")
# Less empty space above the title: at 1366×768 the bar, the live panel and its charts fit one screen.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}</style>")
form = Form(pinned=lesson_ui())
if JOB_KEY not in st.session_state and st.query_params.get("job"):
    attach(st.query_params["job"])  # a refreshed tab picks its job up again
elif (shown := st.session_state.get(JOB_KEY)) and st.query_params.get("job") != shown:
    st.query_params["job"] = shown  # st.navigation dropped it on a page switch: a refresh needs it

if (lesson := inside_lesson()) is not None:
    inside_ui(lesson)
bar, live, settings = st.container(), st.container(), st.container()
before = current_config()  # the settings the name box's text was made for, if the app made it
four_locked(form)
with settings:
    if editing():
        st.markdown(LESSON.read_text())
        cfg, problem = config_ui(form, pin(current_config(), form.pinned))
    else:
        cfg, problem = pin(current_config(), form.pinned), None
        try:
            validate(cfg)
        except ConfigError as e:
            problem = str(e)
if WIDGET_PREFIX + "name" in st.session_state:  # the name box sits in the bar, drawn after the form
    cfg = replace(cfg, name=str(st.session_state[WIDGET_PREFIX + "name"]).strip())
cfg = pin(cfg, form.pinned)
if cfg.name and "name" not in form.pinned and is_generated(cfg.name, before) and default_name(cfg) != default_name(before):
    # A name the app made for other settings (a rerun's, a doctor's follow-up's) is made again from
    # these; a name the user typed stays.
    cfg = replace(cfg, name="")
    st.session_state[WIDGET_PREFIX + "name"] = ""
st.session_state[CFG_KEY] = cfg.to_dict()
summary, count_problem = params_ui(cfg, form.four)
problem = problem or count_problem
# What the server allows one job (parameters, memory, time, data): refused before Train, not after.
problem = problem or job_manager().budget_problem(cfg)
with bar:
    if problem:
        st.error(plain(problem))  # a configuration error may quote a value from a link
    train_bar_ui(form, cfg, problem, summary)
with live:
    lrfind_ui(cfg, problem, "lesson" if "lr" in form.pinned else "four" if form.four else None)
    live_ui(form.pinned)
jobs_list_ui()
inside_lessons_ui()
if LESSON_KEY not in st.session_state:
    share_ui(form, cfg, problem)
if shows_paths():
    st.caption(f"Runs are saved in `{checkpoints_root()}`.")
