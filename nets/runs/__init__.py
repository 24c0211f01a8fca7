"""Saved runs: folders under `checkpoints/` (the portable record), an SQLite index of them (what
lists and filters read), crash-consistent weights, stored evaluations, recovery and clean-up.

    folder    one run folder: create, read, update, weights swapped with their record, load a model
    rows      an index row, the filters and orders of a query, the access rule as SQL
    index     the SQLite index: write, query, rebuild, sync with the folders
    manage    rename, share, star, delete (each asks nets.runs.access), clean-up policy, disk use
    recovery  start-up recovery after a killed process
    evals     the test evaluation stored once per weights file
    recorder  the training listener that writes a run as it trains
"""
from nets.files import (CheckpointError, atomic_write_bytes, atomic_write_json, load_into, load_state_dict,
                     save_weights)
from nets.runs.evals import EVAL_FILE, load_evaluation, save_evaluation, stored_evaluation
from nets.runs.folder import (DEFAULT_ROOT, MODEL_FILE, RUN_FILE, Run, build_for_run, check_run_id, create_run,
                     folder_ids, get_run, index, list_runs, load_model, new_run_id, read_run, save_best,
                     update_run, versions)
from nets.runs.index import INDEX_FILE, RunIndex
from nets.runs.rows import PAGE_SIZE, RunFilter, RunRow, kept_accuracy
from nets.runs.manage import (UNFINISHED, CleanUp, check_disk_budget, clean_up, clean_up_candidates, delete_run,
                     disk_budget_problem, disk_usage, owner_usage, rename_run, set_shared, set_starred)
from nets.runs.recorder import RunRecorder
from nets.runs.recovery import Recovered, recover, recover_interrupted

__all__ = [
    "CheckpointError", "atomic_write_bytes", "atomic_write_json", "load_into", "load_state_dict", "save_weights",
    "EVAL_FILE", "load_evaluation", "save_evaluation", "stored_evaluation",
    "DEFAULT_ROOT", "MODEL_FILE", "RUN_FILE", "Run", "build_for_run", "check_run_id", "create_run", "folder_ids",
    "get_run", "index", "list_runs", "load_model", "new_run_id", "read_run", "save_best", "update_run", "versions",
    "INDEX_FILE", "PAGE_SIZE", "RunFilter", "RunIndex", "RunRow", "kept_accuracy",
    "UNFINISHED", "CleanUp", "check_disk_budget", "clean_up", "clean_up_candidates", "delete_run",
    "disk_budget_problem", "disk_usage", "owner_usage",
    "rename_run", "set_shared", "set_starred", "RunRecorder", "Recovered", "recover", "recover_interrupted",
]
