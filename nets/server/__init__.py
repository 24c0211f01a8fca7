"""The classroom server: the job service and its workers (local or Ray), who is who, the doctor, outcomes, lesson links, uploads and the log."""
